#include "core/apply.h"

#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "core/nft_load.h"
#include "nft/nft_restore.h"
#include "net/rtnl.h"
#include "net/wireguard.h"
#include "net/sysctl.h"

extern char** environ;

namespace haltfw {
namespace {

struct Undo {
    std::string what;
    std::function<bool(System*, std::string*)> run;
    // Run even when the action failed: it may have failed half done.
    bool even_if_failed = false;
};

bool PerformResolved(const Action& a, const std::string& program, System* sys, Undo* undo, std::string* err);

// A link this plan created, deleted by name: the undo of its creation.
Undo DeleteByName(const std::string& name) {
    return {"delete " + name, [name](System* s, std::string* e) {
                int i = 0;
                return s->LinkIndex(name, &i, e) && s->DeleteLink(i, e);
            }};
}

// Fills in the indexes of links created earlier in the plan, looked up by
// name (plan.h, Action::device and peer_name).
bool Resolve(Action* a, System* sys, std::string* err) {
    if (a->ifindex == 0 && !a->device.empty() && a->kind != ActionKind::kCreateBridge &&
        a->kind != ActionKind::kCreateVlan && a->kind != ActionKind::kCreateWireguard) {
        if (!sys->LinkIndex(a->device, &a->ifindex, err)) return false;
        a->route.oif = a->ifindex;
    }
    if (a->peer == 0 && !a->peer_name.empty() && !sys->LinkIndex(a->peer_name, &a->peer, err)) return false;
    return true;
}

// Performs one action and returns how to undo it (an empty `run` when there
// is nothing to undo).
bool Perform(const Action& planned, const std::string& program, System* sys, Undo* undo, std::string* err) {
    Action a = planned;
    if (!Resolve(&a, sys, err)) return false;
    bool done = PerformResolved(a, program, sys, undo, err);
    // On a link this plan created, the link's deletion undoes it all.
    if (a.on_new_link && a.kind != ActionKind::kSetMaster) *undo = {};
    return done;
}

bool PerformResolved(const Action& a, const std::string& program, System* sys, Undo* undo, std::string* err) {
    switch (a.kind) {
        case ActionKind::kCreateBridge:
            *undo = DeleteByName(a.device);
            return sys->CreateBridge(a.device, a.bridge_options, err);
        case ActionKind::kCreateWireguard:
            *undo = DeleteByName(a.device);
            return sys->CreateWireguard(a.device, err);
        case ActionKind::kWireguard:
            // A device this plan created goes with the rollback (Perform).
            // A set is not atomic: a device too large for one message goes
            // in several, the first replacing every peer, and the kernel
            // applies a message's attributes in order before one it refuses
            // (a port in use, say). So a failed set is undone too.
            if (a.previous_wireguard)
                *undo = {"put back its previous WireGuard configuration",
                         [a](System* s, std::string* e) { return s->SetWireguard(*a.previous_wireguard, e); },
                         true};
            return sys->SetWireguard(*a.wireguard, err);
        case ActionKind::kCreateVlan:
            *undo = DeleteByName(a.device);
            return sys->CreateVlan(a.device, a.peer, a.vlan_id, err);
        case ActionKind::kSetMaster:
            *undo = {a.previous_master ? "put it back as a port of ifindex " + std::to_string(a.previous_master)
                                       : std::string("release it"),
                     [a](System* s, std::string* e) { return s->SetMaster(a.ifindex, a.previous_master, e); }};
            return sys->SetMaster(a.ifindex, a.peer, err);
        case ActionKind::kBridgeOptions:
            *undo = {"put back the bridge options", [a](System* s, std::string* e) {
                         return s->SetBridgeOptions(a.ifindex, a.previous_bridge_options, e);
                     }};
            return sys->SetBridgeOptions(a.ifindex, a.bridge_options, err);
        case ActionKind::kLinkMtu:
            *undo = {"restore mtu " + std::to_string(a.previous_mtu),
                     [a](System* s, std::string* e) { return s->SetLinkMtu(a.ifindex, a.previous_mtu, e); }};
            return sys->SetLinkMtu(a.ifindex, a.mtu, err);
        case ActionKind::kLinkUp:
            *undo = {"set link down again",
                     [a](System* s, std::string* e) { return s->SetLinkUp(a.ifindex, false, e); }};
            return sys->SetLinkUp(a.ifindex, true, err);
        case ActionKind::kAddAddress:
            *undo = {"remove address " + FormatPrefix(a.prefix),
                     [a](System* s, std::string* e) { return s->DelAddress(a.ifindex, a.prefix, e); }};
            return sys->AddAddress(a.ifindex, a.prefix, false, err);
        case ActionKind::kMakePermanent:
            // The remaining lifetime of the old address cannot be given back
            // exactly; the address itself stays, which is what matters.
            *undo = {};
            return sys->AddAddress(a.ifindex, a.prefix, true, err);
        case ActionKind::kReplaceRoute:
            if (a.previous_route)
                *undo = {"put back the previous route",
                         [a](System* s, std::string* e) { return s->ReplaceRoute(*a.previous_route, e); }};
            else
                *undo = {"remove the route", [a](System* s, std::string* e) { return s->DelRoute(a.route, e); }};
            return sys->ReplaceRoute(a.route, err);
        case ActionKind::kLoadModule:
            *undo = {};  // a loaded module harms nothing; unloading could
            return sys->LoadModule(a.name, err);
        case ActionKind::kRuleset: {
            // The undo puts back the netlink dump, not nft's text listing:
            // the same bytes the final stage restores from, which need no
            // parser (nft cannot read back every listing it prints, e.g.
            // iptables-nft's xt expressions). Dynamic sets come back empty
            // and counters at zero, as after any reload.
            auto previous = std::make_shared<NftRuleset>();
            if (!sys->SaveRuleset(previous.get(), err)) {
                *err = "save the previous ruleset: " + *err;
                return false;
            }
            *undo = {"reload the previous ruleset",
                     [previous](System* s, std::string* e) { return s->RestoreRuleset(*previous, e); }};
            return sys->CommitRuleset(program, err);
        }
        case ActionKind::kSysctl: {
            std::string previous = a.previous_value;
            // A key the plan could not read, its module not loaded then
            // (plan.h): read now, after the load. Still missing is a typo
            // under the module's prefix, which no load mends.
            if (a.previous_at_apply) {
                if (!sys->ReadSysctl(a.name, &previous, err)) {
                    *err = "no such setting in this kernel, even with " + SysctlModule(a.name) + " loaded (" + *err +
                           ")";
                    return false;
                }
                if (SysctlValuesEqual(previous, a.value)) return true;
            }
            *undo = {"restore " + a.name + " = " + previous,
                     [a, previous](System* s, std::string* e) { return s->WriteSysctl(a.name, previous, e); }};
            return sys->WriteSysctl(a.name, a.value, err);
        }
    }
    *err = "unknown action";
    return false;
}

class LinuxSystem : public System {
public:
    explicit LinuxSystem(std::unique_ptr<RtnlSocket> rtnl) : rtnl_(std::move(rtnl)) {}

    bool SetLinkMtu(int i, uint32_t mtu, std::string* e) override { return rtnl_->SetLinkMtu(i, mtu, e); }
    bool SetLinkUp(int i, bool up, std::string* e) override { return rtnl_->SetLinkUp(i, up, e); }
    bool AddAddress(int i, const Prefix& p, bool r, std::string* e) override { return rtnl_->AddAddress(i, p, r, e); }
    bool DelAddress(int i, const Prefix& p, std::string* e) override { return rtnl_->DelAddress(i, p, e); }
    bool ReplaceRoute(const Route& r, std::string* e) override { return rtnl_->ReplaceRoute(r, e); }
    bool DelRoute(const Route& r, std::string* e) override { return rtnl_->DelRoute(r, e); }
    bool WriteSysctl(const std::string& k, const std::string& v, std::string* e) override {
        return haltfw::WriteSysctl(k, v, e);
    }
    bool ReadSysctl(const std::string& k, std::string* v, std::string* e) override {
        return haltfw::ReadSysctl(k, v, e);
    }
    bool SaveRuleset(NftRuleset* rs, std::string* e) override { return DumpRuleset(rs, e); }
    bool RestoreRuleset(const NftRuleset& rs, std::string* e) override { return haltfw::RestoreRuleset(rs, e); }
    bool CommitRuleset(const std::string& p, std::string* e) override { return NftCommit(p, e); }
    bool CreateBridge(const std::string& n, const Link::BridgeOptions& o, std::string* e) override {
        return rtnl_->CreateBridge(n, o, e);
    }
    bool SetBridgeOptions(int i, const Link::BridgeOptions& o, std::string* e) override {
        return rtnl_->SetBridgeOptions(i, o, e);
    }
    bool CreateVlan(const std::string& n, int p, uint16_t id, std::string* e) override {
        return rtnl_->CreateVlan(n, p, id, e);
    }
    bool SetMaster(int i, int m, std::string* e) override { return rtnl_->SetMaster(i, m, e); }
    bool DeleteLink(int i, std::string* e) override { return rtnl_->DeleteLink(i, e); }
    bool LinkIndex(const std::string& n, int* i, std::string* e) override { return rtnl_->LinkIndex(n, i, e); }
    bool CreateWireguard(const std::string& n, std::string* e) override { return rtnl_->CreateWireguard(n, e); }
    // The generic netlink socket is opened on first need: a config without
    // WireGuard never asks for the family (nor loads the module).
    bool SetWireguard(const WgDevice& d, std::string* e) override {
        if (!wg_ && !(wg_ = WgSocket::Open(e))) return false;
        return wg_->SetDevice(d, e);
    }

    // modprobe rather than finit_module(): it resolves dependencies, aliases
    // and the module directory, which haltfw has no business duplicating.
    bool LoadModule(const std::string& name, std::string* err) override {
        const char* argv[] = {"modprobe", "--quiet", "--", name.c_str(), nullptr};
        pid_t pid = 0;
        int rc = posix_spawnp(&pid, "modprobe", nullptr, nullptr, const_cast<char**>(argv), environ);
        if (rc != 0) {
            *err = "modprobe " + name + ": " + std::strerror(rc);
            return false;
        }
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            *err = "modprobe " + name + ": failed (exit status " +
                   std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")";
            return false;
        }
        return true;
    }

private:
    std::unique_ptr<RtnlSocket> rtnl_;
    std::unique_ptr<WgSocket> wg_;
};

}  // namespace

std::unique_ptr<System> OpenLinuxSystem(std::string* err) {
    std::unique_ptr<RtnlSocket> rtnl = RtnlSocket::Open(err);
    if (!rtnl) return nullptr;
    return std::make_unique<LinuxSystem>(std::move(rtnl));
}

StopWay ShorterWay(const std::vector<Action>& actions, size_t next, const std::vector<ActionKind>& undo_kinds) {
    // (ruleset transactions, other requests): a ruleset commit or reload is
    // a transaction the kernel validates whole, milliseconds for a few rules
    // and about a second for 100,000 elements; an address, route or sysctl
    // is one request of tens of microseconds.
    auto work = [](auto first, auto last, auto kind) {
        std::pair<size_t, size_t> w{0, 0};
        for (auto it = first; it != last; ++it) ++(kind(*it) == ActionKind::kRuleset ? w.first : w.second);
        return w;
    };
    auto finish = work(actions.begin() + static_cast<std::ptrdiff_t>(std::min(next, actions.size())), actions.end(),
                       [](const Action& a) { return a.kind; });
    auto undo = work(undo_kinds.begin(), undo_kinds.end(), [](ActionKind k) { return k; });
    return finish < undo ? StopWay::kFinish : StopWay::kRollBack;
}

ApplyResult ApplyPlan(const Plan& plan, const std::string& program, System* sys,
                      const std::function<void(const std::string&)>& progress, const std::function<bool()>& stop) {
    ApplyResult result;
    std::vector<Undo> journal;
    std::vector<ActionKind> undo_kinds;
    bool stop_seen = false;
    for (size_t i = 0; i < plan.actions.size(); ++i) {
        const Action& a = plan.actions[i];
        // Asked between actions, never inside one: each is whole in itself
        // (one netlink request, one ruleset transaction).
        if (!stop_seen && stop && stop()) {
            stop_seen = true;
            if (ShorterWay(plan.actions, i, undo_kinds) == StopWay::kRollBack) {
                progress("stopping: rolling back " + std::to_string(journal.size()) + " change" +
                         (journal.size() == 1 ? "" : "s") + " is shorter than finishing");
                result.ok = false;
                result.stopped = true;
                result.error = "stopped before '" + a.what + "'";
                result.failed = a.kind;
                break;
            }
            progress("stopping: finishing the last " + std::to_string(plan.actions.size() - i) + " of " +
                     std::to_string(plan.actions.size()) + " changes is shorter than rolling back");
        }
        progress(a.what);
        Undo undo;
        std::string err;
        if (Perform(a, program, sys, &undo, &err)) {
            if (!undo.run) continue;
            undo.what = "undo '" + a.what + "': " + undo.what;
            journal.push_back(std::move(undo));
            undo_kinds.push_back(a.kind);
            continue;
        }
        if (undo.run && undo.even_if_failed) {
            undo.what = "undo '" + a.what + "': " + undo.what;
            journal.push_back(std::move(undo));
        }
        result.ok = false;
        result.error = a.what + ": " + err;
        result.cause = err;
        result.error_line = a.line;
        result.failed = a.kind;
        break;
    }
    if (result.ok) return result;

    for (auto it = journal.rbegin(); it != journal.rend(); ++it) {
        progress("rollback: " + it->what);  // names the action it undoes
        std::string err;
        if (!it->run(sys, &err)) result.rollback_failures.push_back(it->what + ": " + err);
    }
    return result;
}

}  // namespace haltfw
