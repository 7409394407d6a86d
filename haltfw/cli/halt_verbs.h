// The verbs of the halt: arm, disarm, halt and watch (halt_verbs.cc), and
// the lines status gives about them.
#pragma once

#include <string>

namespace haltfw::cli {

/// status's "armed:" line: whether the box is armed, and with the ruleset
/// `live_digest` (empty: not read).
std::string ArmedStatus(const std::string& live_digest);

/// status's "watch:" line (arm/watcher_link.h).
std::string WatcherStatus();

}  // namespace haltfw::cli
