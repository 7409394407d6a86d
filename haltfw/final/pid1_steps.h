// The steps of haltfw-final's PID 1 path (final/haltfw_final.cc reads as
// their timeline): processes, mounts, swap, the lockdown, the watcher's
// end, and staying PID 1. Each returns what the report says of it; none
// throws or exits, and a step that fails with nothing to mend it says so
// on the console.
#pragma once

#include <pthread.h>

#include <string>
#include <string_view>
#include <vector>

#include "halt/ctrl_alt_del.h"
#include "halt/manifest.h"
#include "nft/ruleset_stamp.h"

namespace haltfw {

/// Mounts /proc if systemd-shutdown left none; false (said on the console)
/// if it could not: the process scans, the mount list, the memory figures
/// and the lockdown's sysctls then fail, and the report shows it.
bool EnsureProc();

// ---- processes -------------------------------------------------------------

struct ProcessScan {
    std::vector<std::string> userspace;  ///< "PID (comm)" of userspace processes but us.
    int kernel_threads = 0;
};

/// /proc's processes but PID 1 and `spare` (the ruleset watcher, which the
/// final stage stops itself once the ruleset is verified; 0: none).
ProcessScan ScanProcesses(long spare = 0);

/// Reaps every child that has ended.
void ReapChildren();

/// SIGKILL to every userspace process but `spare`: systemd-shutdown leaves
/// those whose argv[0] starts with '@' (root storage daemons), and nothing
/// may run once halted. Waits up to 5 s for them to die; *scan holds what
/// is left. Returns the killed, "PID (comm), ...", or "".
std::string KillLeftovers(ProcessScan* scan, long spare = 0);

// ---- the ruleset watcher's end ---------------------------------------------

/// The ruleset watcher, if one is alive: it guarded the ruleset through
/// the shutdown transaction if `haltfw halt` set it watching. Returns its
/// pid (its state file names it, and its argv[0] is the watcher's), or 0.
long LiveWatcher();

/// The generation at which the watcher last knew the user's ruleset to be
/// the armed one, as a stamp of this boot (VerifyRuleset need not read a
/// ruleset that is still there); generation 0 if it knows of none.
RulesetStamp WatcherProof();

/// Ends the watcher (`pid`, 0 if none was alive) once the final stage has
/// verified the ruleset: with it goes its guard, the owned copy of the
/// armed ruleset, which held until then. Returns the report's line, and
/// the times it restored the ruleset (*restored; -1: it never watched).
/// (Not the CLI's StopWatcher, which stops haltfw-watch.service at disarm.)
std::string EndWatcher(long pid, int* restored);

// ---- mounts, swap, memory --------------------------------------------------

struct UnmountResult {
    int unmounted = 0;
    std::vector<std::string> lazy;
    std::vector<std::string> left;
};

/// Takes off every mount but / and /proc, deepest first; a mount still
/// busy after a few passes is detached lazily (reported), which frees it
/// once unused.
UnmountResult UnmountAll();

/// The active swap areas (/proc/swaps).
std::vector<std::string> ActiveSwaps();

/// swapoff for each of `swaps`, saying on the console why one failed;
/// returns what is still active after.
std::vector<std::string> SwapsOff(const std::vector<std::string>& swaps);

/// MemTotal - MemAvailable in KiB; *total gets MemTotal.
long MemUsedKib(long* total);

// ---- the lockdown ----------------------------------------------------------

/// kernel.sysrq, written on a thread of its own beside the unmounts.
/// Turning sysrq off unregisters its keyboard handler, and the kernel
/// waits there for RCU grace periods: 20 ms under QEMU (ftrace:
/// input_close_device and input_unregister_handle), asleep, which the
/// unmounts use. Without a thread (pthread_create failed) the write
/// happens at once, in line.
struct SysrqWrite {
    std::string value;
    bool ok = false;
    bool threaded = false;
    pthread_t thread{};
};
void StartSysrqWrite(int value, SysrqWrite* w);
/// Waits for the write; whether it succeeded.
bool FinishSysrqWrite(SysrqWrite* w);

/// The lockdown's first part, as soon as the leftovers are dead: with
/// kernel.modprobe empty the kernel starts no usermode helper for modules
/// at all (kernel.modules_disabled would not stop the spawn); the uevent
/// helper off. Returns what could not be set.
std::vector<std::string> HelpersOff();

/// The rest, and the report's line: sysrq (written by then:
/// StartSysrqWrite) and Ctrl-Alt-Del as configured.
std::string Lockdown(const Manifest& m, std::vector<std::string> failed, bool sysrq_ok);

// ---- staying PID 1 ---------------------------------------------------------

/// PID 1's end without haltfw-inert: waits for signals for ever (PID 1
/// may never exit, the kernel would panic). SIGCHLD reaps, SIGINT
/// (Ctrl-Alt-Del) does `cad`, the rest changes nothing.
[[noreturn]] void Inert(CtrlAltDelAction cad);

/// PID 1's last exec: haltfw-inert (kExitrdInert), with the manifest's
/// Ctrl-Alt-Del word as it is (haltfw-inert parses it with the same
/// ParseCtrlAltDel and says so on the console if it knows no such word),
/// `--heartbeat N` when the manifest's heartbeat is N > 0, and `--kmsg`
/// (its lines to the kernel log too) when `kmsg` (netconsole is armed).
/// Without it in the exitrd, or if the exec fails, the final stage stays
/// PID 1 itself (Inert, with no heartbeat) and its files stay in memory.
[[noreturn]] void BecomeInert(const std::string& ctrl_alt_del, int heartbeat_s, bool kmsg);

}  // namespace haltfw
