// What the last successful apply loaded, kept per network namespace under
// the state directory (/run/haltfw, or $HALTFW_STATE_DIR), so that a second
// apply of the same config knows the ruleset is already in place and leaves
// it (and its counters and dynamic sets) alone, and status can compare.
//
// The kernel's ruleset generation id says whether a commit changed the
// ruleset since (every commit bumps it; it costs one small request). It is
// not enough alone: another namespace, whose id counts from 1 too, can
// reach the same number with a foreign ruleset. So the file is keyed by the
// namespace's cookie (SO_NETNS_COOKIE: never reused while the kernel runs,
// unlike the namespace's inode number, which a new namespace can get again),
// and it records the digest of the ruleset apply left, which the live
// ruleset's must match before anything is called unchanged.
#pragma once

#include <cstdint>
#include <string>

#include "net/netns_cookie.h"

namespace haltfw {

struct AppliedState {
    std::string config;      ///< Config path it was applied from.
    std::string input_hash;  ///< RulesetInputHash of the rules files.
    uint32_t generation = 0; ///< Ruleset generation id right after the load.
    std::string digest;      ///< RulesetDigest of the ruleset right after the load.
    uint64_t netns = 0;      ///< The namespace's cookie (ReadAppliedState checks it).
};

/// $HALTFW_STATE_DIR if set, else /run/haltfw.
std::string StateDir();

/// The file for the current network namespace: STATE_DIR/applied-COOKIE.
bool AppliedStatePath(std::string* path, std::string* err);

/// False with *err empty when there is no state file (nothing applied yet
/// in this namespace). A file without a digest (an older haltfw's) or for
/// another namespace is an error, so nothing is taken as unchanged by it.
bool ReadAppliedState(AppliedState* st, std::string* err);
/// Writes atomically (temporary file and rename), with the current
/// namespace's cookie.
bool WriteAppliedState(const AppliedState& st, std::string* err);
/// Removes the current namespace's file (none there is no error).
bool RemoveAppliedState(std::string* err);

}  // namespace haltfw
