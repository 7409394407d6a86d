// sysctls under /proc/sys. Keys are written as sysctl(8) writes them: dots
// separate levels, and a '/' stands for a dot inside a name
// ("net.ipv4.conf.eth0/100.forwarding" is /proc/sys/net/ipv4/conf/eth0.100/forwarding).
#pragma once

#include <string>

namespace haltfw {

/// "net.ipv4.ip_forward" -> "/proc/sys/net/ipv4/ip_forward". Pure.
std::string SysctlPath(const std::string& key, const std::string& root = "/proc/sys");

/// Reads the value, trailing newline removed. Errors read
/// "read net.ipv4.ip_forward: No such file or directory".
bool ReadSysctl(const std::string& key, std::string* value, std::string* err);
bool WriteSysctl(const std::string& key, const std::string& value, std::string* err);

/// Compares the way the kernel prints: runs of white space are equal (a
/// tab-separated value such as tcp_rmem reads back with tabs).
bool SysctlValuesEqual(const std::string& a, const std::string& b);

}  // namespace haltfw
