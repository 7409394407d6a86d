// The verbs that only read: check, status, show-ruleset and digest. They
// take no run lock (haltfw_main.cc says when another haltfw is changing
// what they read).
#include <ctime>
#include <memory>
#include <string>

#include "cli/halt_verbs.h"
#include "cli/live_state.h"
#include "cli/verbs.h"
#include "core/bridge_filter.h"
#include "core/gateway.h"
#include "core/wireguard_plan.h"
#include "net/net_addr.h"
#include "net/sysctl.h"
#include "net/wireguard.h"
#include "nft/nft_digest.h"
#include "nft/nft_dump.h"

namespace haltfw::cli {

int CheckVerb(const Globals& g, const VerbArgs&, ChangeWindow*) {
    Snapshot snap;
    if (int rc = TakeSnapshot(g, &snap); rc != kOk) return rc;
    const Config& cfg = snap.cfg;
    const Live& live = snap.live;
    const Plan& plan = snap.plan;
    Readiness r = AssessLive(cfg, snap.program, live, plan);

    out.Result("config: " + g.config + ": ok (" + Count(cfg.interfaces.size(), "interface") + ", " +
               DescribeRulesetSources(cfg) + ")");
    out.Result("ruleset: accepted by the kernel in check mode");
    if (plan.problems.ok()) {
        out.Result("pending: " + (plan.Empty() ? std::string("none, the live state matches the config")
                                               : std::to_string(plan.actions.size()) + " changes for 'haltfw apply'"));
        // A module load changes the whole kernel, not only this namespace:
        // said whatever the verbosity.
        for (const Action& a : plan.actions)
            if (a.kind == ActionKind::kLoadModule) out.Result("  " + a.what);
            else out.Say(Priority::kDebug, "  " + a.what);
    }
    PrintReadiness(r);
    out.Result(std::string(r.ready() ? "ready to halt" : "NOT ready to halt") + " (" +
                   Count(r.blockers.size(), "blocker") + ", " + Count(r.warnings.size(), "warning") + ")",
               r.ready() ? Priority::kNotice : Priority::kErr);
    return r.ready() ? kOk : kNotReady;
}

namespace {

// A WireGuard interface's peers, as the kernel has them now: never a
// private or preshared key. *wg is opened on first need.
void SayWireguard(const Config& cfg, const InterfaceConfig& ifc, std::unique_ptr<WgSocket>* wg) {
    std::string err;
    WgDevice live;
    if ((!*wg && !(*wg = WgSocket::Open(&err))) || !(*wg)->GetDevice(ifc.device, &live, &err)) {
        out.Result("  wireguard: cannot read: " + err, Priority::kWarning);
        return;
    }
    for (const std::string& line : WireguardStatusLines(cfg, ifc, live, time(nullptr))) out.Result(line);
}

}  // namespace

int StatusVerb(const Globals& g, const VerbArgs&, ChangeWindow*) {
    Snapshot snap;
    if (int rc = TakeSnapshot(g, &snap); rc != kOk) {
        // The config is broken now, but whether the box is armed (and with
        // what) still matters: a halt would use what was armed.
        NftRuleset rs;
        std::string err;
        if (rc == kBadInput && DumpRuleset(&rs, &err)) out.Result(ArmedStatus(RulesetDigest(rs)));
        return rc;
    }
    const Live& live = snap.live;
    const Plan& plan = snap.plan;

    std::unique_ptr<WgSocket> wg;
    for (const ResolvedInterface& r : plan.interfaces) {
        if (!r.link) {
            out.Result("interface " + r.config->role + ": missing", Priority::kWarning);
            continue;
        }
        out.Result("interface " + r.config->role + ": " + r.link->name + " " + (r.link->up() ? "up" : "DOWN") +
                   " mtu " + std::to_string(r.link->mtu));
        for (const AddressSpec& a : r.config->addresses) {
            bool have = false;
            for (const Address& x : live.net.addresses) have |= x.ifindex == r.link->index && x.prefix == a.prefix;
            out.Result("  address " + FormatPrefix(a.prefix) + (have ? "" : " MISSING"));
        }
        if (IsWireguard(*r.config)) SayWireguard(snap.cfg, *r.config, &wg);
    }
    for (const char* k : kForwardingSysctls) {
        std::string v, err;
        out.Result(std::string("sysctl ") + k + " = " + (ReadSysctl(k, &v, &err) ? v : "?"));
    }
    out.Result("ruleset digest: " + live.digest);
    out.Result("ruleset: " + AppliedVerdict(live));
    out.Result(ArmedStatus(live.digest));
    out.Result(WatcherStatus());
    out.Result("pstore: " + PstoreStatus());
    bool in_sync = plan.problems.ok() && plan.Empty();
    out.Result("state: " + (in_sync ? std::string("matches the config")
                                    : "differs from the config (" + std::to_string(plan.actions.size()) +
                                          " pending changes)"));
    return in_sync ? kOk : kNotReady;
}

// The profiles' nft text (gateway, then bridge-filter), and the rules files
// that follow it in the same transaction. Everything else is an nft comment, so the output
// can go to `nft -c -f -`. Reads the config only: no root, no kernel.
int ShowRulesetVerb(const Globals& g, const VerbArgs&, ChangeWindow*) {
    Config cfg;
    if (!LoadConfigOrSay(g, &cfg)) return kBadInput;
    out.Result("# What 'haltfw apply' loads for " + g.config + ", after 'flush ruleset', in one transaction.");
    const bool profile = cfg.gateway || cfg.bridge_filter;
    if (cfg.gateway) out.Result(GatewayRuleset(cfg));
    if (cfg.bridge_filter) out.Result(BridgeFilterRuleset(cfg));
    if (!profile) out.Result("# No [gateway] or [bridge-filter]: the ruleset is the [ruleset] files alone.");
    if (cfg.rule_files.empty()) {
        out.Result("# No [ruleset] files follow.");
        return kOk;
    }
    out.Result(std::string("# ") + (profile ? "Then the" : "The") + " [ruleset] files, in this order:");
    for (const RuleFile& f : cfg.rule_files) out.Result("#   " + f.path + " (line " + std::to_string(f.line) + ")");
    return kOk;
}

int DigestVerb(const Globals&, const VerbArgs& args, ChangeWindow*) {
    NftRuleset rs;
    std::string err;
    uint32_t generation = 0;
    if (!DumpRuleset(&rs, &err, &generation)) {
        Fail(err);
        return kSystem;
    }
    if (args.dump && !rs.objects.empty()) out.Result(DescribeRuleset(rs));
    out.Say(Priority::kDebug, "read at ruleset generation " + std::to_string(generation));
    out.Result(RulesetDigest(rs));
    return kOk;
}

}  // namespace haltfw::cli
