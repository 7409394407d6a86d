#include "core/plan.h"

#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <map>
#include <utility>

#include "net/sysctl.h"

namespace haltfw {
namespace {

std::string Quote(const std::string& s) { return QuoteValue(s); }

std::string Where(const ResolvedInterface& r) {
    return "interface '" + r.config->role + "' (" + r.link->name + ")";
}

// The live addresses and routes, indexed once per plan: looking each
// wanted one up in a list was n^2 for 100,000 addresses. Where two match,
// the first in the dump is the one found, as a scan finds it.
class LiveIndex {
public:
    explicit LiveIndex(const NetState& s) {
        for (const Address& a : s.addresses) addresses_.emplace(std::pair(a.ifindex, a.prefix), &a);
        for (const Route& r : s.routes) routes_.emplace(std::pair(r.dst, r.metric), &r);
    }
    const Address* FindAddress(int ifindex, const Prefix& p) const { return Find(addresses_, std::pair(ifindex, p)); }
    // The route the kernel would replace: same destination and metric in
    // the main table (the key NLM_F_REPLACE matches on).
    const Route* FindRoute(const Route& r) const { return Find(routes_, std::pair(r.dst, r.metric)); }

private:
    template <typename Map, typename Key>
    static typename Map::mapped_type Find(const Map& m, const Key& k) {
        auto it = m.find(k);
        return it == m.end() ? nullptr : it->second;
    }
    std::map<std::pair<int, Prefix>, const Address*> addresses_;
    std::map<std::pair<Prefix, uint32_t>, const Route*> routes_;
};

void PlanLink(const ResolvedInterface& r, Plan* plan) {
    const InterfaceConfig& c = *r.config;
    const Link& l = *r.link;
    if (c.mtu && *c.mtu != l.mtu) {
        Action a{ActionKind::kLinkMtu,
                 Where(r) + ": set mtu " + std::to_string(*c.mtu) + " (was " + std::to_string(l.mtu) + ")"};
        a.line = c.mtu_line;
        a.ifindex = l.index;
        a.mtu = *c.mtu;
        a.previous_mtu = l.mtu;
        plan->actions.push_back(a);
    }
    if (!l.up()) {
        Action a{ActionKind::kLinkUp, Where(r) + ": set up"};
        a.line = c.line;
        a.ifindex = l.index;
        plan->actions.push_back(a);
    }
}

void PlanAddresses(const ResolvedInterface& r, const LiveIndex& live, Plan* plan) {
    for (const AddressSpec& want : r.config->addresses) {
        const Address* have = live.FindAddress(r.link->index, want.prefix);
        if (have && !have->finite()) continue;
        Action a{have ? ActionKind::kMakePermanent : ActionKind::kAddAddress,
                 Where(r) + (have ? ": make address " + FormatPrefix(want.prefix) + " static (it has a lifetime of " +
                                        std::to_string(have->valid_lft) + " s)"
                                  : ": add address " + FormatPrefix(want.prefix))};
        a.line = want.line;
        a.ifindex = r.link->index;
        a.prefix = want.prefix;
        plan->actions.push_back(a);
    }
}

std::string DescribeRoute(const Route& r) {
    std::string s = r.dst.len == 0 ? std::string("default") : FormatPrefix(r.dst);
    if (r.gateway) s += " via " + FormatIp(*r.gateway);
    uint32_t implied = r.dst.addr.family == AF_INET6 ? 1024 : 0;  // see WantedRoutes
    if (r.metric != implied) s += " metric " + std::to_string(r.metric);
    return s;
}

void PlanRoutes(const ResolvedInterface& r, const NetState& state, const LiveIndex& live, Plan* plan) {
    for (const auto& [want, line] : WantedRoutes(*r.config, r.link->index)) {
        const Route* have = live.FindRoute(want);
        if (have && have->gateway == want.gateway && have->oif == want.oif) continue;
        Action a{ActionKind::kReplaceRoute, Where(r) + ": route " + DescribeRoute(want)};
        if (have) {
            const Link* old = state.FindLinkByIndex(have->oif);
            a.what += " (replaces " + DescribeRoute(*have) + (old ? " dev " + old->name : "") + ")";
            a.previous_route = *have;
        }
        a.line = line;
        a.ifindex = r.link->index;
        a.route = want;
        plan->actions.push_back(a);
    }
}

void PlanSysctls(const Config& cfg, const PlanInputs& in, Plan* plan) {
    for (const SysctlSetting& s : cfg.sysctls) {
        std::string now;
        if (!in.read_sysctl(s.key, &now)) {
            // A built-in default this kernel lacks (IPv6 disabled, say) is
            // nothing to apply; one the config asks for is an error.
            if (s.line > 0)
                plan->problems.Error(cfg.path, s.line, "sysctl " + Quote(s.key) + ": no such setting in this kernel");
            continue;
        }
        if (SysctlValuesEqual(now, s.value)) continue;
        Action a{ActionKind::kSysctl, "sysctl " + s.key + " = " + s.value + " (was " + now + ")"};
        a.line = s.line;
        a.name = s.key;
        a.value = s.value;
        a.previous_value = now;
        plan->actions.push_back(a);
    }
}

}  // namespace

std::vector<ResolvedInterface> ResolveInterfaces(const Config& cfg, const NetState& state) {
    // Indexed, first link in dump order first, as NetState::FindLink and
    // FindLinkByMac choose: n interfaces against m links in n log m.
    std::map<std::string, const Link*> by_name;
    std::map<MacAddr, const Link*> by_mac;
    for (const Link& l : state.links) {
        by_name.emplace(l.name, &l);
        if (l.mac) by_mac.emplace(*l.mac, &l);
    }
    std::vector<ResolvedInterface> out;
    for (const InterfaceConfig& c : cfg.interfaces) {
        const Link* l = nullptr;
        if (c.mac) {
            if (auto it = by_mac.find(*c.mac); it != by_mac.end()) l = it->second;
        } else if (auto it = by_name.find(c.device); it != by_name.end()) {
            l = it->second;
        }
        out.push_back({&c, l});
    }
    return out;
}

std::vector<std::pair<Route, int>> WantedRoutes(const InterfaceConfig& ifc, int ifindex) {
    std::vector<std::pair<Route, int>> out;
    auto route = [ifindex](const Prefix& dst, std::optional<IpAddr> via, uint32_t metric) {
        // The kernel stores an IPv6 route given metric 0 with metric 1024
        // (IP6_RT_PRIO_USER; seen on 6.1 and 6.18): want what it will hold,
        // or the next plan would not recognise the route as present.
        if (dst.addr.family == AF_INET6 && metric == 0) metric = 1024;
        Route r;
        r.dst = dst;
        r.gateway = via;
        r.oif = ifindex;
        r.metric = metric;
        r.table = RT_TABLE_MAIN;
        r.protocol = RTPROT_STATIC;
        r.type = RTN_UNICAST;
        r.scope = via ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
        return r;
    };
    for (const auto* gw : {&ifc.gateway, &ifc.gateway6}) {
        if (!*gw) continue;
        IpAddr any{(*gw)->prefix.addr.family, {}};
        out.push_back({route({any, 0}, (*gw)->prefix.addr, 0), (*gw)->line});
    }
    for (const RouteSpec& r : ifc.routes) out.push_back({route(r.dst, r.via, r.metric), r.line});
    return out;
}

Plan ComputePlan(const Config& cfg, const NetState& state, const PlanInputs& in) {
    Plan plan;
    plan.interfaces = ResolveInterfaces(cfg, state);
    for (const ResolvedInterface& r : plan.interfaces) {
        if (r.link) continue;
        std::string what = r.config->mac ? "no device has mac " + Quote(FormatMac(*r.config->mac))
                                         : "device " + Quote(r.config->device) + " does not exist";
        plan.problems.Error(cfg.path, r.config->line, "interface " + Quote(r.config->role) + ": " + what);
    }
    if (!plan.problems.ok()) {
        // Still say which sysctls this kernel lacks, so that one check
        // lists every problem.
        Plan sysctls;
        PlanSysctls(cfg, in, &sysctls);
        for (const Diagnostic& d : sysctls.problems.errors()) plan.problems.Error(d.file, d.line, d.message);
        return plan;
    }

    for (const std::string& m : cfg.halt.modules) {
        if (in.module_present(m)) continue;
        Action a{ActionKind::kLoadModule, "load module " + m};
        a.name = m;
        plan.actions.push_back(a);
    }
    if (!in.ruleset_current) {
        Action a{ActionKind::kRuleset, "load the ruleset (" + DescribeRulesetSources(cfg) + ") in one transaction"};
        plan.actions.push_back(a);
    }
    // Then links (an address on a down link is not used), addresses (a
    // gateway needs its on-link prefix) and routes.
    for (const ResolvedInterface& r : plan.interfaces) PlanLink(r, &plan);
    LiveIndex live(state);
    for (const ResolvedInterface& r : plan.interfaces) PlanAddresses(r, live, &plan);
    for (const ResolvedInterface& r : plan.interfaces) PlanRoutes(r, state, live, &plan);
    PlanSysctls(cfg, in, &plan);
    return plan;
}

}  // namespace haltfw
