// The netconsole target at the halt ([halt] netconsole): the final stage
// makes sure the target arm made still sends, and that the kernel log's
// messages reach it, before it prints the report.
#pragma once

#include <string>

#include "halt/netconsole.h"

namespace haltfw {

/// Mounts configfs on kExitrdConfigfs for the moment (systemd took
/// /sys/kernel/config off; the target outlives that, halt/netconsole.h),
/// checks the target against `armed` and makes it again if it is gone,
/// disabled (its device went away and came back) or different, then takes
/// the mount off. Then lets the report through to it: netconsole sends
/// only what passes the console log level (kernel.printk's first field),
/// so a level below 7 is raised to 7 (info, the report's level, and the
/// nft `log` statements' warning pass), and /dev/kmsg's rate limit is
/// turned off (kernel.printk_devkmsg = on: it would drop all but the first
/// ten of the report's lines). Returns the report's line, without
/// "netconsole: "; *sending: the target is enabled as armed and the report
/// will reach it.
std::string NetconsoleAtHalt(const NetconsoleTarget& armed, bool* sending);

}  // namespace haltfw
