// What the last successful apply loaded, kept per network namespace under
// the state directory (/run/haltfw, or $HALTFW_STATE_DIR), so that a second
// apply of the same config knows the ruleset is already in place and leaves
// it (and its counters and dynamic sets) alone, and status can compare.
//
// The kernel's ruleset generation id, not a digest, says whether the ruleset
// changed since: it is exact (every commit bumps it) and costs one small
// request, where a digest means dumping the whole ruleset.
#pragma once

#include <cstdint>
#include <string>

namespace haltfw {

struct AppliedState {
    std::string config;      ///< Config path it was applied from.
    std::string input_hash;  ///< RulesetInputHash of the rules files.
    uint32_t generation = 0; ///< Ruleset generation id right after the load.
};

/// $HALTFW_STATE_DIR if set, else /run/haltfw.
std::string StateDir();

/// The file for the current network namespace: STATE_DIR/applied-NETNS_INODE.
std::string AppliedStatePath();

/// False with *err empty when there is no state file (nothing applied yet).
bool ReadAppliedState(AppliedState* st, std::string* err);
/// Writes atomically (temporary file and rename).
bool WriteAppliedState(const AppliedState& st, std::string* err);

}  // namespace haltfw
