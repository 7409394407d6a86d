// The box's hardware watchdogs as sysfs shows them
// (/sys/class/watchdog/watchdogN: identity, state, nowayout, timeout, dev),
// read the same way by check (core/readiness.cc: one that runs and cannot
// be stopped is a blocker) and by the final stage, which stops every one
// that runs with the magic close (final/watchdog_stop.h) and reports each
// on a 'watchdog:' line of its own. Why the final stage must, although
// systemd 252 stops the one it runs (RuntimeWatchdogSec) on its way to a
// halt: a watchdog another program fed and that was killed in the shutdown
// without the magic close keeps running, nothing feeds it any more, and it
// resets the halted box (docs/design.md, "Watchdogs").
//
// The reader allocates a few small strings per watchdog and never throws:
// the final stage, built without exceptions, uses it as PID 1.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace haltfw {

struct Watchdog {
    std::string name;      ///< "watchdog0".
    std::string identity;  ///< The driver's name for it ("i6300ESB timer").
    bool active = false;   ///< state "active": running, and opened (or left running) by userspace.
    bool nowayout = false; ///< It cannot be stopped once started.
    int timeout_s = 0;     ///< 0 when sysfs does not say.
    unsigned major = 0, minor = 0;  ///< Its character device (sysfs "dev"); both 0 when sysfs does not say.
};

/// Where sysfs lists them.
inline constexpr const char* kWatchdogClassDir = "/sys/class/watchdog";

/// Every watchdogN under `class_dir` (kWatchdogClassDir), in name order;
/// none if there is no such directory (no watchdog driver). An attribute
/// that cannot be read reads as its default (not active, may be stopped,
/// timeout 0, no device). (The CLI's core/watchdogs.h: ReadWatchdogs.)
std::vector<Watchdog> ScanWatchdogs(const std::string& class_dir);

/// A sysfs number of seconds ("30\n"): 0 for anything but a plain decimal
/// number from 1 to 2^31-1. Pure.
int SysfsSeconds(std::string_view text);

/// A sysfs "dev" attribute ("250:1\n") into *major and *minor; false (and
/// both 0) for anything else. Pure.
bool ParseDevNumber(std::string_view text, unsigned* major, unsigned* minor);

/// What the final stage found and did for one watchdog.
struct WatchdogOutcome {
    Watchdog found;             ///< As sysfs showed it before anything was done.
    bool tried = false;         ///< The magic close was tried (it ran: found.active).
    std::string error;          ///< Why the try could not be made or finished; "" if it was.
    bool active_after = false;  ///< sysfs's state after the try (found.active without one).
    bool unknown = false;       ///< No sysfs: only its /dev node was seen (found.name is the node's path).
    std::string unknown_why;    ///< Why sysfs could not be read (for `unknown`).
};

/// The final stage's hands on the watchdogs (final/watchdog_stop.cc; a
/// fake in the tests).
class WatchdogDevices {
public:
    virtual ~WatchdogDevices() = default;
    /// The watchdogs as sysfs shows them now (ScanWatchdogs); false, with
    /// *why, if sysfs cannot be read at all.
    virtual bool Scan(std::vector<Watchdog>* found, std::string* why) = 0;
    /// The /dev/watchdog* nodes, for when sysfs cannot be read.
    virtual std::vector<std::string> Nodes() = 0;
    /// Opens `w`'s device, writes the magic 'V' and closes it; false, with
    /// *err, if a step failed.
    virtual bool MagicClose(const Watchdog& w, std::string* err) = 0;
};

/// Tries the magic close on every watchdog that runs, and on no other:
/// opening one that does not run would start it (and one with nowayout
/// could then never be stopped). Then reads the state of those it tried
/// again (one sysfs no longer lists counts as still running). Without
/// sysfs it touches nothing and returns the /dev nodes as `unknown` (one
/// outcome with an empty name if there are none).
std::vector<WatchdogOutcome> StopRunningWatchdogs(WatchdogDevices* devices);

/// Whether the halted box keeps this watchdog from resetting it: not
/// running, or no longer running after the try. One whose state could not
/// be read cannot be vouched for. Pure.
bool WatchdogQuiet(const WatchdogOutcome& o);

/// The report's lines, one per watchdog ("watchdog: none" for none), e.g.
///   watchdog: watchdog0 (i6300ESB timer) not running
///   watchdog: watchdog1 (i6300ESB timer) stopped with the magic close
///   watchdog: watchdog1 (i6300ESB timer) cannot be stopped (nowayout): the box resets in 30 s
///   watchdog: watchdog1 (iTCO_wdt) STILL RUNNING after the magic close: the box resets in 30 s
///   watchdog: watchdog1 (iTCO_wdt) running; its magic close FAILED: open(/.watchdog): ...; the box resets in 30 s
///   watchdog: /dev/watchdog0: its state cannot be read (mount sysfs on /sys: ...); left alone
///   watchdog: none seen, but sysfs cannot be read (mount sysfs on /sys: ...)
/// A failure always carries one of the words verify-console looks for
/// (halt/report.h: "cannot ", "STILL ", "FAILED"); the others none. Pure.
std::vector<std::string> WatchdogReportLines(const std::vector<WatchdogOutcome>& outcomes);

}  // namespace haltfw
