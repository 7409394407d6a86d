// The box's hardware watchdogs as sysfs shows them
// (/sys/class/watchdog/watchdogN: identity, state, nowayout, timeout), for
// check. systemd 252 closes a watchdog it runs (RuntimeWatchdogSec) with the
// magic close on its way to a halt, which stops it, unless the driver was
// loaded with nowayout: such a watchdog cannot be stopped, nothing feeds it
// once userspace is gone, and it resets the halted box when its timeout
// runs out.
// The final stage reads them with the same reader (halt/watchdogs.h, where
// the Watchdog value lives) and stops every one that runs.
#pragma once

#include <string>
#include <vector>

#include "halt/watchdogs.h"

namespace haltfw {

/// Every watchdogN under `class_dir`, in name order; none if there is no
/// such directory (no watchdog driver). An attribute that cannot be read
/// reads as its default (not active, may be stopped, timeout 0).
std::vector<Watchdog> ReadWatchdogs(const std::string& class_dir = "/sys/class/watchdog");

}  // namespace haltfw
