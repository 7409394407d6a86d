// The final stage's decisions and checks, apart from its PID 1 main so that
// they can be tested: which verb leads where, in which order mounts come
// off, what counts as a userspace process, and the verification of the
// ruleset, links and sysctls against the armed manifest (with repair).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/exitrd_layout.h"
#include "halt/manifest.h"
#include "halt/proc_status.h"
#include "halt/watch_state.h"  // the watcher's state, here before it had a module
#include "net/sysctl.h"

namespace haltfw {

enum class FinalAction {
    kFirewall,  ///< Verify, lock down, report, stay inert: the halted firewall.
    kHalt,      ///< An ordinary halt (no valid manifest): stop the machine.
    kPowerOff,
    kReboot,
    kKexec,
};

/// The verb table. systemd-shutdown passes the verb as argv[1]: "halt",
/// "poweroff", "reboot" or "kexec". Only "halt" with a valid manifest
/// becomes the firewall; anything unknown reboots, so the machine never
/// hangs on a verb it did not expect.
FinalAction DecideAction(std::string_view verb, bool manifest_valid);

const char* FinalActionName(FinalAction a);

struct MountEntry {
    int id = 0;
    int parent = 0;
    std::string point;   ///< Unescaped mount point.
    std::string options; ///< Per-mount options: "rw,nosuid,nodev".
    std::string fstype;
};

/// Parses /proc/self/mountinfo text, in its order (creation order).
std::vector<MountEntry> ParseMountinfo(std::string_view text);

/// The mount points to take off, children before parents (deepest first),
/// every mount but "/" and those in `keep`.
std::vector<std::string> UnmountOrder(const std::vector<MountEntry>& mounts, const std::vector<std::string>& keep);

/// True for a /proc/PID/stat line of a kernel thread (PF_KTHREAD in the
/// flags field); false for userspace, or for a line that cannot be parsed.
bool IsKernelThreadStat(std::string_view stat);

/// One verification against the manifest, for the report.
struct Check {
    std::string name;    ///< "ruleset", "links", "sysctls"...
    bool ok = false;
    bool repaired = false;
    std::string detail;  ///< A line for people.
};

/// Dumps the live ruleset and compares its digest with the manifest's; on a
/// difference restores the manifest's ruleset over netlink and compares
/// again. *digest gets the final live digest, and *generation (if given)
/// the ruleset generation it was read at. The digest leaves owned tables
/// (the shutdown guard's) out, and a restore leaves them be. It never holds
/// a dump and the armed ruleset at once; with the ruleset left in the
/// manifest's file (ManifestRuleset::kLeaveInFile) it reads it from there
/// only to restore it.
/// Nothing is read while the kernel's stamp (nft/ruleset_stamp.h) is still
/// the manifest's (arm's) or `proven` (the watcher's last proof): the
/// ruleset is then the armed one, and *digest the armed digest.
/// With `read` set the ruleset is read whatever the stamp says: after a
/// device was deleted or made again (VerifyWireguard repaired one), a
/// netdev chain or flowtable may have lost its hook on it with no new
/// generation.
Check VerifyRuleset(const Manifest& m, std::string* digest, uint32_t* generation = nullptr,
                    const RulesetStamp* proven = nullptr, bool read = false);

/// What RemakeDevices did, for VerifyLinks to report with its own.
struct DeviceRepairs {
    std::vector<std::string> repairs;
    std::vector<std::string> problems;
    /// Links that are not the devices armed (ManifestLink::ifindex): made
    /// again since arm, by a unit, under the same name and kind.
    std::vector<std::string> notes;
    /// A device was deleted or made, here or since arm: a flowtable or
    /// netdev chain may have lost its hook with no new generation, so read
    /// the ruleset whole.
    bool changed = false;
};

/// Each bridge and VLAN apply made (ManifestLink::bridge, vlan_parent) as
/// armed. One a unit deleted on the way down (ifupdown's bridge and vlan
/// hooks do at ifdown) is made again, parents first, down, with its
/// options and the manifest's sysctls for it: IPv6 is off on the invisible
/// bridge before it is ever up, so it never sends a frame of its own (one
/// whose sysctls cannot be written is deleted again). Any link whose index
/// is not the armed one was made again since arm: the ruleset is read
/// whole then too. A device of
/// another kind under its name, or a VLAN with another ID or parent, is
/// deleted and made again; a bridge whose options differ (STP turned on)
/// is set back. Runs before VerifyWireguard and VerifyRuleset (a flowtable
/// may name the device, and a restore needs it to exist); VerifyLinks then
/// puts back its ports, up state, addresses and routes.
DeviceRepairs RemakeDevices(const Manifest& m);

/// Each link up with its addresses and routes; a link that is down is set
/// up, a missing address or route added (a route that went with a deleted
/// address or link, say), a configured MTU set again. `devices` (what
/// RemakeDevices did) goes into the same line.
Check VerifyLinks(const Manifest& m, int* addresses, const DeviceRepairs& devices = {});

/// Each armed WireGuard device (Manifest::wireguard) as armed: a device of
/// that name and kind with the armed private key, listen port, fwmark and
/// peers (public and preshared keys, allowed IPs, configured endpoints and
/// keepalives). A device a unit deleted on the way down (wg-quick@'s and
/// ifupdown's stops do) is made again, one of another kind under its name
/// deleted first, and one that differs set back (WgDeviceDifferences,
/// endpoints aside: a peer may have roamed, and the kernel follows it; the
/// endpoints the kernel learnt are kept); each read back once more. Runs
/// before VerifyRuleset (a flowtable or netdev chain may name the device,
/// and a restore needs it to exist) and VerifyLinks (which puts back its
/// addresses, routes and up state). Detail: "wg0 with 2 peers as armed",
/// then "; repaired: wg0 recreated" or "; FAILED: ...". Never a key.
Check VerifyWireguard(const Manifest& m);

/// Each sysctl at its value; a wrong one is written, then checked again.
Check VerifySysctls(const Manifest& m);

/// The report's 'panic:' line (without "panic: ") from the live
/// kernel.panic and kernel.panic_on_oops as read (`err` when kernel.panic
/// could not be): what a kernel panic does to the halted box. Pure:
///   "reboot 10 s after a kernel panic (kernel.panic = 10, kernel.panic_on_oops = 1)"
///   "reboot at once after a kernel panic (kernel.panic = -1, kernel.panic_on_oops = 0)"
///   "the box stays down after a kernel panic (kernel.panic = 0: no panic-reboot)"
std::string PanicLine(std::string_view panic, std::string_view on_oops, std::string_view err = {});

/// The state file's name alone, as cli/haltfw_main.cc still spells it;
/// new code uses kExitrdWatchState (base/exitrd_layout.h).
inline constexpr const char* kWatchStateName = kExitrdWatchState + 1;

// The forwarding switches (ForwardingOff's, and the IPV4FD and IPV6FD that
// `haltfw watch` opens for the watcher, chrooted where there is no /proc):
// kForwardingSysctls in net/sysctl.h.

/// Turns forwarding off for every family, and sets each armed bridge down
/// (a bridge obeys no forwarding switch): what a box whose ruleset cannot
/// be verified must do. *down gets the bridges set down; returns what it
/// could not switch off.
std::vector<std::string> ForwardingOff(const Manifest& m, std::vector<std::string>* down);

}  // namespace haltfw
