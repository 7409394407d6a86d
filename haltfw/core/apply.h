// Executing a plan, all or nothing. Each action that succeeds records how to
// undo it; when one fails, the undo steps run in reverse order, so the
// network is left as it was found (addresses removed, routes, MTUs and
// sysctls put back, the previous ruleset reloaded).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nft/nft_dump.h"
#include "core/plan.h"

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
    /// Reads a sysctl (for a key that exists only once the plan loaded its
    /// module, Action::previous_at_apply); false with *err when it cannot.
    virtual bool ReadSysctl(const std::string& key, std::string* value, std::string* err) = 0;
    /// The live ruleset, dumped over netlink (nft_dump.h), for the undo.
    virtual bool SaveRuleset(NftRuleset* rs, std::string* err) = 0;
    /// Puts a saved ruleset back in one transaction (nft_restore.h).
    virtual bool RestoreRuleset(const NftRuleset& rs, std::string* err) = 0;
    /// Commits an nft program in one transaction.
    virtual bool CommitRuleset(const std::string& program, std::string* err) = 0;
    /// Links haltfw creates (topology.h), found by name once created.
    virtual bool CreateBridge(const std::string& name, const Link::BridgeOptions& o, std::string* err) = 0;
    virtual bool SetBridgeOptions(int ifindex, const Link::BridgeOptions& o, std::string* err) = 0;
    virtual bool CreateVlan(const std::string& name, int parent, uint16_t id, std::string* err) = 0;
    virtual bool SetMaster(int ifindex, int master, std::string* err) = 0;
    virtual bool DeleteLink(int ifindex, std::string* err) = 0;
    virtual bool LinkIndex(const std::string& name, int* ifindex, std::string* err) = 0;
    /// A WireGuard device (net/wireguard.h): created down and unconfigured,
    /// then set whole (its peers replaced).
    virtual bool CreateWireguard(const std::string& name, std::string* err) = 0;
    virtual bool SetWireguard(const WgDevice& d, std::string* err) = 0;
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
    /// `stop` said yes and the plan was rolled back from the action
    /// `error` names (`ok` false). A plan finished anyway is `ok`.
    bool stopped = false;
};

/// What a plan asked to stop halfway does: whichever way to a whole state
/// is shorter (docs/design.md, "How apply stays whole").
enum class StopWay { kRollBack, kFinish };

/// The shorter way when asked to stop before `actions[next]`, with
/// `undo_kinds` the kinds of the actions done that have an undo step.
/// Work is counted as (ruleset transactions, other requests), compared in
/// that order: one ruleset transaction, commit or reload, outweighs any
/// number of address, route or sysctl writes. A tie rolls back: stopping
/// was asked for. Pure.
StopWay ShorterWay(const std::vector<Action>& actions, size_t next, const std::vector<ActionKind>& undo_kinds);

/// Runs the plan's actions in order. `program` is the ruleset program for a
/// kRuleset action. `progress` gets one line per action and per undo step.
/// `stop`, if given, is asked before each action (a signal is held, say);
/// once it says yes, the plan goes the ShorterWay and it is not asked again.
ApplyResult ApplyPlan(const Plan& plan, const std::string& program, System* sys,
                      const std::function<void(const std::string&)>& progress,
                      const std::function<bool()>& stop = nullptr);

}  // namespace haltfw
