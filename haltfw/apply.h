// Executing a plan, all or nothing. Each action that succeeds records how to
// undo it; when one fails, the undo steps run in reverse order, so the
// network is left as it was found (addresses removed, routes, MTUs and
// sysctls put back, the previous ruleset reloaded).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nft_dump.h"
#include "plan.h"

namespace haltfw {

/// The changes apply makes to the system. LinuxSystem does them for real;
/// tests use a recording fake.
class System {
public:
    virtual ~System() = default;
    virtual bool SetLinkMtu(int ifindex, uint32_t mtu, std::string* err) = 0;
    virtual bool SetLinkUp(int ifindex, bool up, std::string* err) = 0;
    virtual bool AddAddress(int ifindex, const Prefix& p, bool replace, std::string* err) = 0;
    virtual bool DelAddress(int ifindex, const Prefix& p, std::string* err) = 0;
    virtual bool ReplaceRoute(const Route& r, std::string* err) = 0;
    virtual bool DelRoute(const Route& r, std::string* err) = 0;
    virtual bool LoadModule(const std::string& name, std::string* err) = 0;
    virtual bool WriteSysctl(const std::string& key, const std::string& value, std::string* err) = 0;
    /// The live ruleset, dumped over netlink (nft_dump.h), for the undo.
    virtual bool SaveRuleset(NftRuleset* rs, std::string* err) = 0;
    /// Puts a saved ruleset back in one transaction (nft_restore.h).
    virtual bool RestoreRuleset(const NftRuleset& rs, std::string* err) = 0;
    /// Commits an nft program in one transaction.
    virtual bool CommitRuleset(const std::string& program, std::string* err) = 0;
};

/// Opens the rtnetlink socket the real system needs.
std::unique_ptr<System> OpenLinuxSystem(std::string* err);

struct ApplyResult {
    bool ok = true;
    std::string error;                    ///< The failed action and why.
    std::string cause;                    ///< Why, alone (e.g. nft's messages).
    int error_line = 0;                   ///< Config line of the failed action.
    ActionKind failed = ActionKind::kRuleset;  ///< Kind of the failed action.
    std::vector<std::string> rollback_failures;  ///< Undo steps that failed too.
};

/// Runs the plan's actions in order. `program` is the ruleset program for a
/// kRuleset action. `progress` gets one line per action and per undo step.
ApplyResult ApplyPlan(const Plan& plan, const std::string& program, System* sys,
                      const std::function<void(const std::string&)>& progress);

}  // namespace haltfw
