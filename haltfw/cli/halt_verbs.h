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

/// The 'pstore:' line of arm's manifest and of status, without "pstore: ":
/// a crash before this boot, if the kernel kept a record of it
/// (core/pstore.h), read under HALTFW_SYSROOT. What it left out is said at
/// debug level.
std::string PstoreStatus();

}  // namespace haltfw::cli
