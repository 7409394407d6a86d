// Guards: runtime drop-ins that keep systemd's shutdown transaction from
// tearing the firewall down before the final stage runs. On Debian 12 the
// stop of nftables.service flushes the ruleset (seen in QEMU: the halted box
// then forwards un-NATed), networking.service and ifup@.service run ifdown,
// wg-quick@.service deletes its WireGuard device.
// A drop-in in /run/systemd/system/UNIT.d/ with an empty `ExecStop=`, then
// a daemon-reload, turns each stop into a no-op. /run is a tmpfs: the
// guards vanish at the next boot by themselves.
//
// Pure, except SysRoot and ReadGuardFacts at the end.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace haltfw {

inline constexpr const char* kDropInName = "50-haltfw.conf";

/// A unit haltfw may guard, and why its stop must not run.
struct GuardableUnit {
    std::string unit;
    std::string why;  ///< For the drop-in's comment.
};

/// Every unit haltfw may guard, in the order it writes them.
const std::vector<GuardableUnit>& GuardableUnits();

/// What the guards depend on, read from the system.
struct GuardFacts {
    /// The guardable units that exist (have a unit file).
    std::set<std::string> present;
    /// /etc/default/netfilter-persistent sets FLUSH_ON_STOP=1.
    bool netfilter_persistent_flushes = false;
    bool firewalld_installed = false;
    /// CleanupOnExit as firewalld reads it: anything but no/false is yes,
    /// and a missing setting is yes.
    bool firewalld_cleanup = true;
    bool firewalld_cleanup_set = false;  ///< The config file says it.
};

struct DropIn {
    std::string unit;
    std::string path;     ///< UNIT_DIR/UNIT.d/50-haltfw.conf
    std::string content;
};

/// UNIT_DIR/UNIT.d/50-haltfw.conf
std::string DropInPath(const std::string& unit_dir, const std::string& unit);

/// The drop-ins arm writes under `unit_dir`, for the units present:
/// nftables.service, networking.service, ifup@.service, wg-quick@.service,
/// and netfilter-persistent.service when it flushes on stop.
std::vector<DropIn> GuardDropIns(const GuardFacts& f, const std::string& unit_dir);

/// Managers no drop-in can stop from destroying the firewall at the halt:
/// firewalld with CleanupOnExit=yes flushes in its SIGTERM handler, not in
/// an ExecStop. Each is a sentence naming the fix.
std::vector<std::string> GuardBlockers(const GuardFacts& f);

/// FLUSH_ON_STOP from /etc/default/netfilter-persistent (shell syntax, the
/// last assignment wins; the script flushes only for "1").
bool ParseFlushOnStop(std::string_view defaults_file);

/// CleanupOnExit from firewalld.conf; *set false (and true returned) when
/// the file does not say. firewalld treats "no" and "false", in any case,
/// as no, and anything else as yes.
bool ParseCleanupOnExit(std::string_view conf, bool* set);

/// $HALTFW_SYSROOT, or "" for the real system: the tree arm reads unit files
/// and settings from and writes its drop-ins into. Tests point it into a
/// scratch directory; then systemd is never contacted.
std::string SysRoot();

/// SYSROOT/run/systemd/system: where runtime drop-ins go.
std::string RuntimeUnitDir(const std::string& sysroot);

/// Looks for the guardable units in SYSROOT/{etc,lib,usr/lib}/systemd/system
/// and reads the netfilter-persistent and firewalld settings.
bool ReadGuardFacts(const std::string& sysroot, GuardFacts* f, std::string* err);

}  // namespace haltfw
