// Is the box fit to halt? Blockers are conditions under which the halted
// box would not go on filtering and forwarding as configured (a lease that
// will expire, a statement that waits for a daemon, a table that vanishes
// with its owner); warnings are things a careful operator wants to know.
// Pure: everything it judges comes in as values.
#pragma once

#include <string>
#include <vector>

#include "config.h"
#include "netstate.h"
#include "nft_dump.h"
#include "plan.h"

namespace haltfw {

struct ReadinessInputs {
    const Config* config = nullptr;
    const NetState* state = nullptr;
    const std::vector<ResolvedInterface>* interfaces = nullptr;
    /// The config's ruleset as the kernel holds it (live after apply, or a
    /// trial load); nullptr when it could not be read, with the reason in
    /// `ruleset_note`.
    const NftRuleset* ruleset = nullptr;
    std::string ruleset_note;
    /// The live ruleset (may be another one than the config's).
    const NftRuleset* live = nullptr;
    bool firewalld_installed = false;
    bool networkmanager_installed = false;
};

struct Readiness {
    std::vector<std::string> blockers;
    std::vector<std::string> warnings;
    bool ready() const { return blockers.empty(); }
};

Readiness AssessReadiness(const ReadinessInputs& in);

}  // namespace haltfw
