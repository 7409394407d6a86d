#include "core/watchdogs.h"

namespace haltfw {

std::vector<Watchdog> ReadWatchdogs(const std::string& class_dir) { return ScanWatchdogs(class_dir); }

}  // namespace haltfw
