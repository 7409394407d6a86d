// The kernel's netconsole, as haltfw uses it: one dynamic target under
// configfs (CONFIG_NETCONSOLE_DYNAMIC, Debian 12's 6.1 kernel), named
// kNetconsoleTarget, that sends the kernel log over UDP to one collector.
// Arm creates it (arm.h); the final stage checks it and puts it back if the
// kernel disabled it or it is gone (haltfw_final.cc).
//
// What the kernel does with a target (drivers/net/netconsole.c, 6.1):
//   - it lives in the kernel's target list, not in the mount: configfs
//     pins its own superblock while a subsystem is registered, so a target
//     outlives every unmount of configfs (systemd takes
//     /sys/kernel/config off at shutdown) and comes back whole on the next
//     mount;
//   - when its device unregisters (or joins a bond or bridge) the kernel
//     disables it ("network logging stopped on interface ... as it
//     unregistered") and it stays disabled; a device that only goes down
//     keeps it enabled, sending nothing until the device is up again;
//   - its parameters can change only while it is disabled, and a target
//     that once had an IPv6 address refuses an IPv4 one: haltfw replaces a
//     target (rmdir, mkdir) rather than editing it;
//   - it sends through netpoll, straight to the driver: no routing, no
//     neighbour resolution (the MAC is a parameter, broadcast by default)
//     and no netfilter hook, so no ruleset can drop it.
// The configfs functions take the mount point of configfs, so that the
// final stage can use a mount of its own.
#pragma once

#include <string>
#include <string_view>

namespace haltfw {

/// Where systemd mounts configfs.
inline constexpr const char* kConfigfsRoot = "/sys/kernel/config";
/// The target's directory name under ROOT/netconsole/.
inline constexpr const char* kNetconsoleTarget = "haltfw";

/// A target's parameters in configfs's own text (what reading the files
/// gives back, without the newline): "eth1", "192.0.2.1", "192.0.2.10",
/// "6666", "ff:ff:ff:ff:ff:ff".
struct NetconsoleTarget {
    std::string dev;
    std::string local_ip;
    std::string remote_ip;
    std::string remote_port;
    std::string remote_mac;

    bool operator==(const NetconsoleTarget&) const = default;

    /// "192.0.2.10:6666 via eth1" ("[2001:db8::10]:6666 via eth1").
    std::string Describe() const;
};

/// What configfs holds under ROOT/netconsole/kNetconsoleTarget.
struct NetconsoleState {
    bool present = false;
    bool enabled = false;
    NetconsoleTarget target;  ///< When present.
};

/// The netconsole subsystem's directory: ROOT/netconsole.
std::string NetconsoleDir(const std::string& root);

/// Reads the target. No subsystem directory, or no target: present false,
/// and true. False, with *err ("open(PATH): REASON"), if a file of a target
/// that is there cannot be read.
bool ReadNetconsole(const std::string& root, NetconsoleState* st, std::string* err);

/// Makes the target `t`, enabled: removes one already there, makes the
/// directory, writes the parameters, then 1 to `enabled` (the kernel then
/// sets up netpoll on the device, which must exist). On a failure the
/// half-made target is removed again; *err names the file and the reason
/// ("write(ROOT/netconsole/haltfw/enabled): No such device").
bool WriteNetconsole(const std::string& root, const NetconsoleTarget& t, std::string* err);

/// Removes the target (the kernel disables it first); one that is not
/// there is success with *removed false.
bool RemoveNetconsole(const std::string& root, bool* removed, std::string* err);

/// What is wrong with the target found, for the report: "" when it is
/// `armed`, enabled; else "gone", "disabled, as the kernel leaves it when
/// its device goes away", "changed to 192.0.2.99:6666 via eth1 (mac ...)".
/// Pure.
std::string NetconsoleDrift(const NetconsoleTarget& armed, const NetconsoleState& found);

/// The console log level, kernel.printk's first field ("7\t4\t1\t7"); -1
/// if the text has none. Pure.
int ConsoleLogLevel(std::string_view printk);

/// Puts configfs back as `st` says it was: the target made again (enabled
/// or not), or removed if it was absent. For undo.
bool RestoreNetconsole(const std::string& root, const NetconsoleState& st, std::string* err);

}  // namespace haltfw
