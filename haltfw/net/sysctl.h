// sysctls under /proc/sys. Keys are written as sysctl(8) writes them: dots
// separate levels, and a '/' stands for a dot inside a name
// ("net.ipv4.conf.eth0/100.forwarding" is /proc/sys/net/ipv4/conf/eth0.100/forwarding).
//
// A key is a name, never a path: CheckSysctlKey is the one rule every key
// haltfw reads or writes passes (config, plan, manifest, final stage), and
// ReadSysctl/WriteSysctl refuse any other key themselves, so that no caller
// can reach /proc/sys/kernel through "net.//.kernel.hostname".
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

// QuoteValue, for the callers that name a refused key (the final stage).
#include "base/quote.h"

namespace haltfw {

/// The most a value may hold: /proc/sys's integer and bitmap handlers
/// silently parse only the first page of a write (__do_proc_dointvec,
/// proc_do_large_bitmap: "left > PAGE_SIZE - 1"). Pure.
inline constexpr size_t kSysctlValueMax = 4095;

/// The two switches of forwarding, IPv4's then IPv6's: what a config turns
/// on unless told otherwise, what the readiness check reads, and what the
/// final stage and the watcher turn off to fail closed.
inline constexpr const char* kForwardingSysctls[2] = {"net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"};

/// The keys outside net.* that haltfw may set, each by its exact name: what
/// the kernel does on a panic, and what makes it panic ([halt] panic-reboot
/// sets the first two). Once halted a panic is the one event that can still
/// end the firewall, and whether it reboots (into the halted firewall again,
/// on an appliance) is the operator's call. None of them starts a process
/// or reaches a file.
inline constexpr const char* kPanicSysctls[] = {
    "kernel.panic",           "kernel.panic_on_oops",           "kernel.panic_on_warn",
    "kernel.unknown_nmi_panic", "kernel.panic_on_unrecovered_nmi", "kernel.panic_on_io_nmi",
    "kernel.softlockup_panic", "kernel.hung_task_panic",
};

/// True when `key` is a sysctl haltfw may touch: one of kPanicSysctls, or
/// "net." and then dot-separated non-empty components of letters, digits,
/// '_', '-', '@', '+' and '/' (sysctl(8)'s stand-in for a '.' in an
/// interface name), none of which reads "." or ".." once '/' is turned back
/// into '.'. Otherwise false with *why, e.g. "empty component",
/// "only keys under net.* (and the kernel.* panic settings) can be set". Pure.
bool CheckSysctlKey(std::string_view key, std::string* why);

/// True when `value` may be written: non-empty, at most kSysctlValueMax
/// bytes, no control byte but tab and space, and no number the kernel reads
/// otherwise than a person would (the kernel parses with base 0: "010" is
/// octal 8 to it, "08" is an error). Otherwise false with *why. Pure.
bool CheckSysctlValue(std::string_view value, std::string* why);

/// The value as the kernel prints it back: white-space separated words;
/// each number (decimal, 0x hex, or octal that reads the same in decimal)
/// in plain decimal; several numbers separated by tabs, as proc_dointvec
/// prints them, other words by one space. "01" -> "1", "64 \t" -> "64",
/// "4096 87380  6291456" -> "4096\t87380\t6291456", "reno  cubic" ->
/// "reno cubic". Pure.
std::string SysctlKernelForm(std::string_view value);

/// Compares the way the kernel prints: equal kernel forms.
bool SysctlValuesEqual(std::string_view a, std::string_view b);

/// "net.ipv4.ip_forward" -> "/proc/sys/net/ipv4/ip_forward". Pure; the key
/// is not checked (see CheckSysctlKey).
std::string SysctlPath(const std::string& key, const std::string& root = "/proc/sys");

/// Reads the value, trailing newline removed. Errors read
/// "read net.ipv4.ip_forward: No such file or directory"; a key that fails
/// CheckSysctlKey is refused without a system call.
bool ReadSysctl(const std::string& key, std::string* value, std::string* err);
/// Writes the value in one write(); a key that fails CheckSysctlKey is
/// refused without a system call.
bool WriteSysctl(const std::string& key, const std::string& value, std::string* err);

/// The device a per-device key names ("net.ipv4.conf.DEV.LEAF",
/// "net.ipv6.conf.DEV.LEAF", "net.ipv4.neigh.DEV.LEAF",
/// "net.ipv6.neigh.DEV.LEAF"), with '/' turned back into '.'; "" for any
/// other key, and for "all" and "default".
std::string SysctlKeyDevice(const std::string& key);

}  // namespace haltfw
