// The box's hardware watchdogs as sysfs shows them
// (/sys/class/watchdog/watchdogN: identity, state, nowayout, timeout), for
// check. systemd 252 closes a watchdog it runs (RuntimeWatchdogSec) with the
// magic close on its way to a halt, which stops it, unless the driver was
// loaded with nowayout: such a watchdog cannot be stopped, nothing feeds it
// once userspace is gone, and it resets the halted box when its timeout
// runs out.
#pragma once

#include <string>
#include <vector>

namespace haltfw {

struct Watchdog {
    std::string name;      ///< "watchdog0".
    std::string identity;  ///< The driver's name for it ("i6300ESB timer").
    bool active = false;   ///< state "active": running, fed by someone.
    bool nowayout = false; ///< It cannot be stopped once started.
    int timeout_s = 0;     ///< 0 when sysfs does not say.
};

/// Every watchdogN under `class_dir`, in name order; none if there is no
/// such directory (no watchdog driver). An attribute that cannot be read
/// reads as its default (not active, may be stopped, timeout 0).
std::vector<Watchdog> ReadWatchdogs(const std::string& class_dir = "/sys/class/watchdog");

}  // namespace haltfw
