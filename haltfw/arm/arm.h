// Arming: everything `haltfw arm` prepares after apply so that the next
// `haltfw halt` ends in the halted firewall, and `haltfw disarm` takes back.
//
//   - the exitrd: a tmpfs on /run/initramfs with the final stage as
//     `shutdown` (a static binary) and the armed manifest;
//   - the guards: drop-ins that keep the shutdown from flushing the ruleset
//     or deconfiguring interfaces, then a daemon-reload.
//
// All or nothing: each step records how to undo itself, and a failure
// undoes every step before it, newest first, so a failed arm leaves the
// halt preparation as it found it (nothing armed, or the previous arm).
// The steps go through ArmEffects, so the sequence and its undo are tested
// with a fake; BuildManifest and ArmedVerdict are pure.
//
// No module is preloaded here beyond apply's [halt] modules: the ruleset
// commit itself made the kernel load every module the ruleset uses
// (nft_* expressions, nft_chain_nat, conntrack helpers and loggers are
// requested while the transaction is built), nothing unloads modules at
// shutdown, and so the final stage's restore of the same ruleset finds
// them all loaded even after it empties kernel.modprobe.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "arm/guards.h"
#include "arm/exitrd.h"
#include "halt/manifest.h"
#include "halt/netconsole.h"
#include "nft/nft_dump.h"
#include "core/plan.h"

namespace haltfw {

/// Reads a live sysctl as the kernel prints it; false if it does not exist.
using SysctlReader = std::function<bool(const std::string& key, std::string* value)>;

/// The config's sysctls the halted box must keep: every `net.` key (the
/// built-in hardening defaults included) and the kernel.* panic settings
/// (net/sysctl.h: kPanicSysctls; [halt] panic-reboot's among them), all
/// the config admits. Once halted the packet path is all that is left, and
/// each of these shapes it: forwarding above all, but also rp_filter,
/// redirects and source routing, conntrack limits; the panic settings
/// decide whether a panic ends the halted firewall or reboots into it
/// again. The final stage checks each and writes back any that changed.
std::vector<std::pair<std::string, std::string>> HaltSysctls(const Config& cfg);

/// The manifest for the applied config: version, the ruleset and its
/// digest, each configured link (role, kernel name now, configured
/// addresses and routes, a bridge's ports), each WireGuard device as the
/// config wants it (WantedWireguard: a listen port the config leaves to the
/// kernel is 0 here, for the caller to fill in from the live device),
/// HaltSysctls, and [halt]'s ctrl-alt-del and sysrq. Where
/// `read_live` reads a sysctl whose live value equals the config's up to
/// white space, the live text is kept (the kernel prints tcp_rmem with tabs,
/// and the final stage compares exactly). Interfaces without a link are
/// left out (readiness refuses to arm with one). Pure.
Manifest BuildManifest(const Config& cfg, const std::vector<ResolvedInterface>& ifs, const NftRuleset& ruleset,
                       const SysctlReader& read_live = nullptr);

/// The effects arming needs. LinuxArmEffects does them; tests use a fake.
class ArmEffects {
public:
    virtual ~ArmEffects() = default;
    /// See MountExitrd in exitrd.h.
    virtual bool MountExitrd(const std::string& root, bool* mounted, bool* created_dir, std::string* err) = 0;
    virtual bool UnmountExitrd(const std::string& root, bool* lazy, std::string* err) = 0;
    /// False with *err empty when the file does not exist.
    virtual bool ReadFile(const std::string& path, std::string* content, std::string* err) = 0;
    /// *same: the file exists and holds exactly `content` (a missing file
    /// is success with *same false). Without reading it into memory: the
    /// exitrd's libraries are megabytes, compared on every arm and halt.
    virtual bool SameContent(const std::string& path, const std::string& content, bool* same, std::string* err) = 0;
    /// Atomic (temporary file and rename).
    virtual bool WriteFile(const std::string& path, const std::string& content, unsigned mode, std::string* err) = 0;
    virtual bool WriteManifest(const std::string& path, const Manifest& m, std::string* err) = 0;
    /// A missing file is success with *removed false.
    virtual bool RemoveFile(const std::string& path, bool* removed, std::string* err) = 0;
    virtual bool MakeDir(const std::string& path, bool* created, std::string* err) = 0;
    /// Removes an empty directory; a missing or non-empty one is left, with
    /// success and *removed false.
    virtual bool RemoveDir(const std::string& path, bool* removed, std::string* err) = 0;
    /// systemd daemon-reload.
    virtual bool Reload(std::string* err) = 0;
    /// The netconsole target (halt/netconsole.h): read, made (replacing
    /// one there), put back as read, removed. The defaults stand for a
    /// kernel with no target and no netconsole: tests that do not care.
    virtual bool ReadNetconsole(NetconsoleState* st, std::string*) {
        *st = NetconsoleState{};
        return true;
    }
    virtual bool WriteNetconsole(const NetconsoleTarget&, std::string* err) {
        *err = "no netconsole here";
        return false;
    }
    virtual bool RestoreNetconsole(const NetconsoleState& st, std::string* err) {
        if (!st.present) return true;
        *err = "no netconsole here";
        return false;
    }
};

/// [halt] netconsole's target for the resolved interfaces: its role's
/// device, the address that holds the collector in its prefix, the port,
/// and the MAC: netconsole-mac if given, else what `neighbour` knows of the
/// collector on that device now (the kernel's neighbour entry), else
/// broadcast (netconsole's own default: every host on the link gets the
/// log). *mac_from says which ("netconsole-mac", "the neighbour table",
/// "broadcast: no neighbour entry"). None without [halt] netconsole or
/// with its role's device missing (readiness refuses that). Pure.
std::optional<NetconsoleTarget> NetconsoleFor(
    const Config& cfg, const std::vector<ResolvedInterface>& ifs,
    const std::function<std::optional<MacAddr>(const std::string& dev, const IpAddr& ip)>& neighbour,
    std::string* mac_from);

/// The kernel's neighbour entry for `ip` on `dev`, if it is complete: IPv4
/// from /proc/net/arp; IPv6 has none there (none: broadcast).
std::optional<MacAddr> NeighbourMac(const std::string& dev, const IpAddr& ip);

/// The real effects; `reload` does the daemon-reload (over sd-bus).
std::unique_ptr<ArmEffects> LinuxArmEffects(std::function<bool(std::string*)> reload);

struct ArmPlan {
    std::string exitrd;        ///< Root of the exitrd.
    /// The final stage as /shutdown, and its loader and libraries if it has
    /// any (LoadExitrdFiles), paths inside the exitrd.
    std::vector<ExitrdFile> files;
    /// haltfw-inert as /haltfw-inert (LoadInertFile), or none: the final
    /// stage then stays PID 1 itself, and arm removes one an earlier arm
    /// left.
    std::optional<ExitrdFile> inert;
    /// The exitrd already holds the final stage, its libraries and
    /// haltfw-inert as the last arm recorded them (ExitrdRecordCurrent):
    /// `files` and `inert` are then empty and nothing of them is compared
    /// or written; `recorded_files` says how many there are besides
    /// haltfw-inert, `recorded_inert` whether it is one of them.
    bool files_current = false;
    size_t recorded_files = 0;
    bool recorded_inert = false;
    /// For the record of an arm that read the files: the ExitrdContext
    /// stamped before they were listed.
    ExitrdContext context;
    Manifest manifest;
    /// Where manifest.netconsole's MAC came from (NetconsoleFor).
    std::string netconsole_mac_from;
    std::vector<DropIn> guards;
    std::string no_guards_why; ///< When `guards` is empty, why.
    bool reload = false;       ///< systemd runs: daemon-reload after changing guards.
    std::string no_reload_why; ///< Else why not ("systemd is not running").
};

struct ArmResult {
    bool ok = true;
    std::string error;                        ///< The failed step and why.
    std::vector<std::string> undo_failures;   ///< Undo steps that failed too.
};

/// Mounts the exitrd (or reuses haltfw's), installs the final stage as
/// ROOT/shutdown (0755) and haltfw-inert as ROOT/haltfw-inert, writes the guards (0644) and reloads systemd if
/// one changed, and writes the manifest last: its presence is what turns
/// the next halt into the halted firewall. Files already holding the
/// wanted bytes are left alone, so arming twice changes nothing the second
/// time (and with `files_current` the exitrd's are not even compared). On a failure every step done is undone (previous
/// files put back, new ones removed, the mount taken off, systemd reloaded again). `progress` gets one line per step
/// and per undo step.
ArmResult ArmHalt(const ArmPlan& p, ArmEffects* fx, const std::function<void(const std::string&)>& progress);

struct DisarmPlan {
    std::string exitrd;
    bool exitrd_mounted = false;  ///< haltfw's tmpfs is mounted on it.
    std::string unit_dir;         ///< Where the guards are.
    bool reload = false;
    std::string no_reload_why;
};

struct DisarmResult {
    bool ok = true;
    int removed = 0;                  ///< Files, guards and mounts taken away.
    std::vector<std::string> errors;  ///< Steps that failed (the rest still ran).
};

/// Removes the manifest, unmounts the exitrd (with the final stage in it),
/// removes every haltfw guard and reloads systemd if one was removed. Leaves
/// the network alone. Goes on past a failed step and reports each.
DisarmResult DisarmHalt(const DisarmPlan& p, ArmEffects* fx, const std::function<void(const std::string&)>& progress);

/// What status reads to say whether the box is armed.
struct ArmFacts {
    std::string exitrd;
    bool mounted = false;          ///< Some mount on the exitrd root.
    bool usable = false;           ///< ... and it is a tmpfs allowing exec.
    std::string mount_desc;        ///< "ext4 (rw,noexec)" for messages.
    bool final_ok = false;         ///< ROOT/shutdown is there and executable.
    bool manifest_present = false;
    std::string manifest_error;    ///< Present but unreadable or invalid.
    std::string armed_digest;
    std::string live_digest;       ///< Empty if not read.
    std::vector<std::string> guards_missing;
    std::vector<std::string> guards_changed;
};

/// "armed: yes (digest D, manifest PATH)" or "armed: no (REASON; ...)". Pure.
std::string ArmedVerdict(const ArmFacts& f, bool* armed);

}  // namespace haltfw
