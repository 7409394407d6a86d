// What the verbs that read the config and the kernel start from: the config
// (with its ruleset sent through the kernel in check mode), the live state
// and whether its ruleset is the one this config loaded, and the halt
// readiness judged on them. Each function says its problems (log.h) and
// returns false, or an exit code (verbs.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/config.h"
#include "core/plan.h"
#include "core/readiness.h"
#include "core/state_file.h"
#include "net/netstate.h"
#include "nft/nft_dump.h"
#include "cli/verbs.h"

namespace haltfw::cli {

/// nft's own messages name the rules file, line and column: said as they
/// are, then that nothing changed.
void RulesetFailed(const std::string& nft_messages);

/// The config alone; says every error and returns false if there was one.
bool LoadConfigOrSay(const Globals& g, Config* cfg);

/// The config plus (with `check_ruleset`) a check-mode pass of its ruleset
/// through the kernel: the common first step of every verb that reads the
/// config. apply skips the ruleset pass: its commit comes first and fails
/// whole. Says every problem; returns false if there was one.
bool LoadChecked(const Globals& g, Config* cfg, std::string* program, bool check_ruleset = true);

/// The plan's view of the live system: sysctls, loaded modules.
PlanInputs LiveInputs(bool ruleset_current);

/// What the kernel holds now, and whether its ruleset is what this config
/// loaded (same rules files and the files they include, no commit since:
/// same generation id, and the same digest as apply left: state_file.h).
struct Live {
    NetState net;
    NftRuleset ruleset;     ///< With `with_ruleset`, or when the state file matched.
    std::string digest;     ///< Likewise; empty when the ruleset was not read.
    uint32_t ruleset_generation = 0;  ///< The generation `ruleset` was read at.
    std::string input_hash;
    uint32_t generation = 0;
    AppliedState applied;
    bool has_applied = false;
    bool ruleset_current = false;
};

/// Adds the ruleset and its digest to a Live read without them (or read at
/// another generation than the one it now has).
bool AddRuleset(Live* live);

/// check and status dump the ruleset to judge and show it; apply only when
/// the state file says the ruleset is the one it loaded (it may hold a
/// million elements), to compare the digests.
bool ReadLive(const Config& cfg, bool with_ruleset, Live* live);

/// The live ruleset against the last apply's record, as status's "ruleset:"
/// line says it.
std::string AppliedVerdict(const Live& live);

/// The halt readiness of the live state, as check and arm judge it: the
/// readiness rules, the plan's problems, and the managers no guard can stop.
Readiness AssessLive(const Config& cfg, const std::string& program, const Live& live, const Plan& plan);

/// Each blocker and warning, one result line each.
void PrintReadiness(const Readiness& r);

/// "1 blocker", "2 blockers".
std::string Count(size_t n, const std::string& what);

/// What check and status start from: the config (with the ruleset sent
/// through the kernel in check mode), the live state with its ruleset, and
/// the plan between them. Filled in place: the plan points into the rest.
struct Snapshot {
    Config cfg;
    std::string program;
    Live live;
    Plan plan;
};

/// Returns kOk, or the exit code.
int TakeSnapshot(const Globals& g, Snapshot* s);

}  // namespace haltfw::cli
