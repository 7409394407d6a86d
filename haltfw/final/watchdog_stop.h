// The hardware watchdogs, as one step of haltfw-final's PID 1 path: every
// one that runs is stopped with the magic close (open, 'V', close) where
// its driver allows, so that the halted box is not reset. systemd 252
// stops the one it ran itself (RuntimeWatchdogSec) before it execs
// systemd-shutdown for a halt; what is left running here is one that some
// other program fed and that died in the shutdown without the magic close
// (the kernel then says "watchdog did not stop!" and leaves it running), or
// one whose driver was loaded with nowayout, which nothing can stop.
// docs/design.md, "Watchdogs".
#pragma once

#include <vector>

#include "halt/watchdogs.h"

namespace haltfw {

/// Every hardware watchdog as sysfs shows it, each running one tried with
/// the magic close and its state read again (halt/watchdogs.h:
/// StopRunningWatchdogs): the report's 'watchdog:' lines. Mounts sysfs on
/// /sys if systemd-shutdown left none there (UnmountAll takes it off with
/// the rest). Opens each device through a node of its own in the exitrd,
/// made from sysfs's device number, so it needs no /dev.
std::vector<WatchdogOutcome> StopWatchdogs();

}  // namespace haltfw
