// The CLI's half of the ruleset watcher's handshake. The watcher is
// `haltfw-final --watch`, which haltfw-watch.service runs chrooted into the
// exitrd with argv[0] "@haltfw-watch" (final/haltfw_final.cc holds its
// half). It says where it stands in one line, EXITRD/haltfw.watch
// (halt/watch_state.h: pid, standby or watching, guard tables), written
// whole and renamed into place; the CLI sets it watching with SIGUSR1.
// The steps, one function each:
//
//   arm     StartWatcherOnStandby  start it, or restart one that watches or
//                                  runs a replaced program, and wait for it
//   halt    SetWatcherWatching     start it if it is missing, signal it, and
//                                  wait until it says it watches
//           StandDownWatcher       haltfw.target did not start: stop it
//   disarm  StopWatcher            systemd stops it; one still there is killed
//   status  WatcherStatusLine
//
// Every effect (the state file, signals, processes, systemd, the clock and
// the waiting) goes through WatcherEffects, so each step is tested with an
// in-memory fake (watcher_link_test.cc), as ArmHalt is with ArmEffects.
//
// How the real effects wait (LinuxWatcherEffects), each wait bounded by a
// deadline:
//  - for the state file: inotify on the exitrd directory, which wakes on
//    the rename that puts a new state in place;
//  - for a watcher to end: its pidfd (pidfd_open(2), kernel >= 5.3), which
//    polls readable once the process has exited, zombie or reaped;
//  - for systemd to stop haltfw-watch.service: the watcher's pidfd first
//    (its exit is what the stop job waits for), then the unit's ActiveState
//    asked every 10 ms. systemd announces the end of a job (JobRemoved) only
//    on a bus connection that listens for it, which SystemdManager does not
//    (systemd_bus.h); the poll is bounded by the same deadline.
// Where an event source is missing (no exitrd directory yet, a kernel
// without pidfd_open) a wait ends after 10 ms and the caller reads again.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "arm/say.h"
#include "halt/watch_state.h"

namespace haltfw {

class SystemdManager;

inline constexpr const char* kWatchUnit = "haltfw-watch.service";

/// The longest each wait lasts.
inline constexpr std::chrono::seconds kNewWatcherWait{10};  ///< A started watcher writes its state.
inline constexpr std::chrono::seconds kWatchingWait{30};    ///< A signalled watcher says it watches.
inline constexpr std::chrono::seconds kUnitStopWait{5};     ///< systemd stops the unit.
inline constexpr std::chrono::seconds kKilledWait{2};       ///< A killed watcher is gone.
/// How often the unit's state is asked while waiting for it to stop.
inline constexpr std::chrono::milliseconds kUnitPoll{10};

/// A job for haltfw-watch.service, in job mode "replace".
enum class UnitJob { kStart, kRestart, kStop };

/// Why WatcherEffects::Wait returned.
enum class Woke {
    kChanged,   ///< The state file was replaced (or may have been).
    kExited,    ///< The process waited on has exited (or is no longer there).
    kDeadline,  ///< Nothing happened before `until`.
};

/// The effects of the handshake. LinuxWatcherEffects does them; tests use a
/// fake.
class WatcherEffects {
public:
    using Clock = std::chrono::steady_clock;
    virtual ~WatcherEffects() = default;

    /// The state file, parsed; false if it is absent or not one well-formed
    /// line (ReadWatchState).
    virtual bool ReadState(WatchState* ws) = 0;
    /// Removes the state file; a missing one is fine.
    virtual void RemoveState() = 0;
    /// Whether `pid` is a running watcher: a live process whose argv[0] is
    /// kWatcherArgv0 (a zombie has no argv; a reused pid has another).
    virtual bool IsWatcher(long pid) = 0;
    /// Whether the program `pid` runs is the exitrd's file no more (arm
    /// replaced the final stage under it).
    virtual bool ProgramReplaced(long pid) = 0;
    /// SIGUSR1; *err is strerror's text.
    virtual bool SignalWatching(long pid, std::string* err) = 0;
    /// SIGKILL; the result is seen in IsWatcher.
    virtual void Kill(long pid) = 0;
    /// Asks systemd for a job for haltfw-watch.service (not waiting for it).
    virtual bool Unit(UnitJob job, std::string* err) = 0;
    /// haltfw-watch.service's ActiveState ("active", "inactive", ...).
    virtual bool UnitState(std::string* state, std::string* err) = 0;
    virtual Clock::time_point Now() = 0;
    /// Returns when the state file is replaced, when process `pid` (0: no
    /// process) exits, or at `until`, whichever comes first; it may return
    /// early, so callers read again and wait again up to their deadline.
    /// A state file replaced after the last ReadState always wakes it.
    virtual Woke Wait(long pid, Clock::time_point until) = 0;
};

/// The real effects, for the state file in `exitrd`. Talks to systemd
/// through `systemd` if given, else through a connection of its own, made
/// when first needed (a failed connect is the job's error).
std::unique_ptr<WatcherEffects> LinuxWatcherEffects(const std::string& exitrd, SystemdManager* systemd = nullptr);

/// arm's last step: haltfw-watch.service, on standby until a halt, started
/// now so that the halt costs no process start for it. One that runs on
/// standby is left alone (it reads the manifest only when the halt begins,
/// so arming again needs nothing of it); it is restarted if arm has just
/// replaced its program, or if it is watching (a halt that was started and
/// then failed or was cancelled: on a live box it would undo every change
/// to the ruleset), and then waited for (kNewWatcherWait). Without systemd
/// (`no_systemd_why` not empty) nothing is started.
void StartWatcherOnStandby(WatcherEffects* fx, const std::string& no_systemd_why, const Say& say);

/// halt's hand-over: sets the watcher watching. (The manifest that this
/// halt's arm wrote says at which ruleset generation it read the armed
/// ruleset: while nothing has committed since, the watcher skips its first
/// dump, seconds of a CPU the shutdown needs at a large set.) Arm started
/// it on standby; if it is not there
/// (it failed, or was stopped) it is started now and waited for
/// (kNewWatcherWait). Then waits (kWatchingWait) until the watcher says it
/// watches, and so holds its guard (the owned copy of the armed ruleset:
/// nft_guard.h), before the halt starts haltfw.target: ordering dependencies
/// could not give that, since systemd runs the stop jobs of a transaction
/// before its start jobs. Once watching it checks the whole ruleset first,
/// so a change made before it got there is put back as well as one after.
/// Without a watcher the halt still happens (a warning says so); the final
/// stage then restores a changed ruleset on its own, later.
void SetWatcherWatching(WatcherEffects* fx, const Say& say);

/// After a halt whose haltfw.target did not start: a watching watcher would
/// undo the admin's changes to the live box, so it is stopped, and its
/// state, which would read as if it had watched a later halt, removed.
void StandDownWatcher(WatcherEffects* fx, const Say& say);

/// disarm's first step: the watcher runs chrooted into the exitrd, which
/// cannot be unmounted under it (a lazy detach would leave it running on a
/// copy no one sees). With systemd (`systemd`) haltfw-watch.service is
/// stopped whether or not the watcher has written its state yet (arm may
/// have started it a moment ago), waiting kUnitStopWait; a watcher still
/// there after that (or without systemd) is killed and waited for
/// (kKilledWait). False if it lives on (said as an error): disarm then
/// changes nothing.
bool StopWatcher(WatcherEffects* fx, bool systemd, const Say& say);

/// status's "watch:" line.
std::string WatcherStatusLine(WatcherEffects* fx);

}  // namespace haltfw
