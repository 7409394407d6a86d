#include "core/plan.h"

#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <utility>

#include "core/topology.h"
#include "core/wireguard_plan.h"
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

// The link an action is on: a device this plan creates has index 0 until
// apply looks it up by name.
void OnLink(const Link& l, Action* a) {
    a->ifindex = l.index;
    if (l.index == 0) a->device = l.name, a->on_new_link = true;
}

void PlanLink(const ResolvedInterface& r, Plan* plan) {
    const InterfaceConfig& c = *r.config;
    const Link& l = *r.link;
    if (c.mtu && *c.mtu != l.mtu) {
        Action a{ActionKind::kLinkMtu, Where(r) + ": set mtu " + std::to_string(*c.mtu) +
                                           (l.index ? " (was " + std::to_string(l.mtu) + ")" : "")};
        a.line = c.mtu_line;
        OnLink(l, &a);
        a.mtu = *c.mtu;
        a.previous_mtu = l.mtu;
        plan->actions.push_back(a);
    }
    if (!l.up()) {
        Action a{ActionKind::kLinkUp, Where(r) + ": set up"};
        a.line = c.line;
        OnLink(l, &a);
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
        OnLink(*r.link, &a);
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
        OnLink(*r.link, &a);
        a.route = want;
        plan->actions.push_back(a);
    }
}

// The modules this plan loads so that configured sysctls exist
// (SysctlModule), each once, with the first such setting: one is missing
// only when its key cannot be read and its module is not in the kernel.
std::vector<std::pair<std::string, const SysctlSetting*>> ModulesForSysctls(const Config& cfg, const PlanInputs& in) {
    std::vector<std::pair<std::string, const SysctlSetting*>> out;
    for (const SysctlSetting& s : cfg.sysctls) {
        std::string m = SysctlModule(s.key), now;
        if (s.line <= 0 || m.empty() || in.module_present(m) || in.read_sysctl(s.key, &now)) continue;
        if (std::none_of(out.begin(), out.end(), [&](const auto& o) { return o.first == m; })) out.push_back({m, &s});
    }
    return out;
}

// A sysctl with nothing to read at plan time. With no `module`, one of a
// device this plan creates: no undo, the device goes with the rollback.
// Else one whose key appears once the plan has loaded `module`: apply
// reads its value just before the write (plan.h, previous_at_apply).
void PlanUnreadSysctl(const SysctlSetting& s, const std::string& module, Plan* plan) {
    Action a{ActionKind::kSysctl, "sysctl " + s.key + " = " + s.value +
                                      (module.empty() ? " (new device)" : " (once " + module + " is loaded)")};
    a.line = s.line;
    a.name = s.key;
    a.value = s.value;
    a.on_new_link = module.empty();
    a.previous_at_apply = !module.empty();
    plan->actions.push_back(a);
}

// `loading`: the modules this plan loads (ModulesForSysctls). `only` picks the
// settings this pass plans (all when unset).
void PlanSysctls(const Config& cfg, const PlanInputs& in, const std::set<std::string>& loading, Plan* plan,
                 const std::function<bool(const SysctlSetting&)>& only = nullptr) {
    for (const SysctlSetting& s : cfg.sysctls) {
        if (only && !only(s)) continue;
        std::string now;
        if (!in.read_sysctl(s.key, &now)) {
            // A built-in default this kernel lacks (IPv6 disabled, say) is
            // nothing to apply; one the config asks for is an error, unless
            // the module that makes it is to be loaded first.
            if (s.line > 0 && loading.count(SysctlModule(s.key))) PlanUnreadSysctl(s, SysctlModule(s.key), plan);
            else if (s.line > 0)
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

// ---- Devices haltfw creates (topology.h) -----------------------------------

// What the topology part of a plan knows: the live links by name, and the
// devices this plan creates.
struct Topology {
    const NetState& state;
    std::set<std::string> creating;

    bool Exists(const std::string& dev) const { return state.FindLink(dev) || creating.count(dev); }
};

// The other link of an action: by index when it exists, else by name.
void SetPeer(const Topology& t, const std::string& name, Action* a) {
    if (const Link* l = t.state.FindLink(name)) a->peer = l->index;
    else a->peer_name = name;
}

// A device that exists already must be what the config makes of it.
bool CheckExisting(const Config& cfg, const InterfaceConfig& c, const Link& l, const Topology& t, Plan* plan) {
    const std::string where = "interface " + Quote(c.role) + ": device " + Quote(c.device) + " exists";
    auto problem = [&](const std::string& what) {
        plan->problems.Error(cfg.path, c.kind_line, where + what + "; delete it, and apply creates it as configured");
        return false;
    };
    const char* want = c.IsBridge() ? "bridge" : "vlan";
    if (l.kind != want)
        return problem(" and is " + (l.kind.empty() ? std::string("no ") + want : "a " + Quote(l.kind)) +
                       ", not a " + (c.IsBridge() ? "bridge" : "VLAN"));
    if (c.IsVlan()) {
        const Link* parent = t.state.FindLinkByIndex(l.parent);
        if (l.vlan_id != c.vlan_id || !parent || parent->name != c.vlan_parent)
            return problem(" as VLAN " + std::to_string(l.vlan_id) + " on " +
                           (parent ? Quote(parent->name) : "ifindex " + std::to_string(l.parent)) + ", not VLAN " +
                           std::to_string(c.vlan_id) + " on " + Quote(c.vlan_parent));
    }
    return true;
}

// Creates what is missing, in CreationOrder; problems for what cannot be.
void PlanCreate(const Config& cfg, Topology* t, Plan* plan) {
    for (const InterfaceConfig* c : CreationOrder(cfg.interfaces)) {
        const std::string where = "interface " + Quote(c->role) + ": ";
        auto missing = [&](const char* what, const std::string& dev) {
            if (!t->Exists(dev))
                plan->problems.Error(cfg.path, c->kind_line, where + what + Quote(dev) + " does not exist");
        };
        for (const std::string& p : c->bridge_ports) missing("bridge port ", p);
        if (c->IsVlan()) missing("vlan parent ", c->vlan_parent);
        // An invisible bridge's ports carry no address; turning IPv6 off on
        // one deletes its IPv6 addresses for good, so no rollback could put
        // them back: refused before anything changes.
        if (c->IsSilentBridge())
            for (const std::string& p : c->bridge_ports) {
                const Link* l = t->state.FindLink(p);
                if (!l) continue;
                for (const Address& a : t->state.addresses) {
                    const IpAddr& ip = a.prefix.addr;
                    bool link_local6 = ip.family == AF_INET6 && ip.bytes[0] == 0xfe && (ip.bytes[1] & 0xc0) == 0x80;
                    if (a.ifindex != l->index || link_local6) continue;
                    plan->problems.Error(cfg.path, c->kind_line,
                                         where + "bridge port " + Quote(p) + " holds address " +
                                             FormatPrefix(a.prefix) +
                                             ", and the ports of a bridge with no address carry none: remove it "
                                             "first ('ip address del " + FormatPrefix(a.prefix) + " dev " + p + "')");
                }
            }
        if (const Link* l = t->state.FindLink(c->device)) {
            CheckExisting(cfg, *c, *l, *t, plan);
            continue;
        }
        t->creating.insert(c->device);
        Action a{c->IsBridge() ? ActionKind::kCreateBridge : ActionKind::kCreateVlan, ""};
        a.line = c->kind_line;
        a.device = c->device;
        if (c->IsBridge()) {
            a.what = "interface '" + c->role + "': create bridge " + c->device + " (STP off, multicast snooping off)";
            a.bridge_options = {kBridgeStpState, kBridgeAgeingCentis, kBridgeMcastSnooping};
        } else {
            a.what = "interface '" + c->role + "': create VLAN " + c->device + " (ID " + std::to_string(c->vlan_id) +
                     " on " + c->vlan_parent + ")";
            a.vlan_id = c->vlan_id;
            SetPeer(*t, c->vlan_parent, &a);
        }
        plan->actions.push_back(a);
    }
}

// A bridge's options and ports: extra ports released, missing ones added.
// A port another bridge (or bond) holds is a problem, not taken from it.
void PlanPorts(const Config& cfg, const Topology& t, Plan* plan) {
    for (const InterfaceConfig& c : cfg.interfaces) {
        if (!c.IsBridge() || c.device.empty()) continue;
        const std::string where = "interface '" + c.role + "' (" + c.device + "): ";
        const Link* br = t.state.FindLink(c.device);
        if (br && br->kind == "bridge") {
            Link::BridgeOptions want{kBridgeStpState, kBridgeAgeingCentis, kBridgeMcastSnooping};
            if (br->bridge && !(*br->bridge == want)) {
                Action a{ActionKind::kBridgeOptions, where + "set STP off, ageing 300 s, multicast snooping off"};
                a.line = c.kind_line;
                a.ifindex = br->index;
                a.bridge_options = want;
                a.previous_bridge_options = *br->bridge;
                plan->actions.push_back(a);
            }
            for (const Link& l : t.state.links) {
                if (l.master != br->index) continue;
                if (std::find(c.bridge_ports.begin(), c.bridge_ports.end(), l.name) != c.bridge_ports.end()) continue;
                Action a{ActionKind::kSetMaster, where + "release port " + l.name + " (not in the config)"};
                a.line = c.kind_line;
                a.ifindex = l.index;
                a.previous_master = br->index;
                plan->actions.push_back(a);
            }
        }
        for (const std::string& p : c.bridge_ports) {
            const Link* l = t.state.FindLink(p);
            if (l && br && l->master == br->index) continue;
            if (l && l->master) {
                const Link* m = t.state.FindLinkByIndex(l->master);
                plan->problems.Error(cfg.path, c.kind_line,
                                     "interface " + Quote(c.role) + ": bridge port " + Quote(p) + " is a port of " +
                                         (m ? Quote(m->name) : "ifindex " + std::to_string(l->master)) +
                                         " already: release it first ('ip link set " + p + " nomaster')");
                continue;
            }
            Action a{ActionKind::kSetMaster, where + "add port " + p};
            a.line = c.kind_line;
            if (l) a.ifindex = l->index;
            else a.device = p, a.on_new_link = true;
            SetPeer(t, c.device, &a);
            plan->actions.push_back(a);
        }
    }
}

// Bridge ports and VLAN parents that are no interface of the config: up,
// like the rest (a VLAN carries nothing over a parent that is down).
void PlanPortsUp(const Config& cfg, const Topology& t, Plan* plan) {
    std::set<std::string> roles, done;
    for (const InterfaceConfig& c : cfg.interfaces) roles.insert(c.device);
    for (const InterfaceConfig& c : cfg.interfaces) {
        std::vector<std::string> lowers = c.bridge_ports;
        if (c.IsVlan()) lowers.push_back(c.vlan_parent);
        for (const std::string& p : lowers) {
            if (roles.count(p) || !done.insert(p).second) continue;
            const Link* l = t.state.FindLink(p);
            if (l && l->up()) continue;
            Action a{ActionKind::kLinkUp, "interface '" + c.role + "' (" + c.device + "): set " +
                                              (c.IsVlan() ? "parent " : "port ") + p + " up"};
            a.line = c.kind_line;
            if (l) a.ifindex = l->index;
            else a.device = p, a.on_new_link = true;
            plan->actions.push_back(a);
        }
    }
}

}  // namespace

std::string SysctlModule(const std::string& key) {
    if (key.rfind("net.netfilter.nf_conntrack_", 0) == 0 || key == "net.nf_conntrack_max") return "nf_conntrack";
    return "";
}

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
        return StaticRoute(dst, via, ifindex, metric);
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
    const std::vector<std::pair<std::string, const SysctlSetting*>> sysctl_modules = ModulesForSysctls(cfg, in);
    std::set<std::string> loading;
    for (const auto& [m, s] : sysctl_modules) loading.insert(m);
    for (const ResolvedInterface& r : plan.interfaces) {
        if (r.link || r.config->IsBridge() || r.config->IsVlan() || IsWireguard(*r.config)) continue;  // created below
        std::string what = r.config->mac ? "no device has mac " + Quote(FormatMac(*r.config->mac))
                                         : "device " + Quote(r.config->device) + " does not exist";
        plan.problems.Error(cfg.path, r.config->line, "interface " + Quote(r.config->role) + ": " + what);
    }
    if (!plan.problems.ok()) {
        // Still say which sysctls this kernel lacks, so that one check
        // lists every problem.
        // (Not those of the devices apply would create.)
        std::set<std::string> created;
        for (const InterfaceConfig* c : CreationOrder(cfg.interfaces)) created.insert(c->device);
        for (const InterfaceConfig& c : cfg.interfaces)
            if (IsWireguard(c)) created.insert(c.device);
        Plan sysctls;
        PlanSysctls(cfg, in, loading, &sysctls,
                    [&](const SysctlSetting& s) { return !created.count(SysctlKeyDevice(s.key)); });
        for (const Diagnostic& d : sysctls.problems.errors()) plan.problems.Error(d.file, d.line, d.message);
        return plan;
    }

    for (const std::string& m : cfg.halt.modules) {
        if (in.module_present(m) || loading.count(m)) continue;
        Action a{ActionKind::kLoadModule, "load module " + m};
        a.name = m;
        plan.actions.push_back(a);
    }
    for (const auto& [m, s] : sysctl_modules) {
        Action a{ActionKind::kLoadModule, "load module " + m + " (" + s->key + " exists only once it is loaded)"};
        a.line = s->line;
        a.name = m;
        plan.actions.push_back(a);
    }
    // The devices to create, then the sysctls of every device created or
    // enslaved (IPv6 off on an invisible bridge before it can take a
    // link-local address), then bridge options and ports.
    const size_t first_device_action = plan.actions.size();
    Topology topo{state, {}};
    PlanCreate(cfg, &topo, &plan);
    // WireGuard devices sit on nothing and nothing sits on them: created
    // and configured (key, port, peers) before their sysctls and addresses.
    PlanWireguard(cfg, state, in, &topo.creating, &plan);
    if (!plan.problems.ok()) return plan;
    std::set<std::string> early_devices = topo.creating;
    for (const InterfaceConfig* c : CreationOrder(cfg.interfaces)) early_devices.insert(c->device);
    for (const InterfaceConfig& c : cfg.interfaces) early_devices.insert(c.bridge_ports.begin(), c.bridge_ports.end());
    auto early = [&](const SysctlSetting& s) { return early_devices.count(SysctlKeyDevice(s.key)) > 0; };
    for (const SysctlSetting& s : cfg.sysctls)
        if (topo.creating.count(SysctlKeyDevice(s.key))) PlanUnreadSysctl(s, "", &plan);
    PlanSysctls(cfg, in, loading, &plan,
                [&](const SysctlSetting& s) { return early(s) && !topo.creating.count(SysctlKeyDevice(s.key)); });
    PlanPorts(cfg, topo, &plan);
    if (!plan.problems.ok()) return plan;
    // The ruleset goes in once the devices apply creates exist (a flowtable
    // or a netdev chain that names one cannot load before), and before
    // anything that could forward: these are down, with no address and no
    // port. What changes existing links (a port's sysctls, a port joining
    // a bridge, an existing bridge's options, an existing WireGuard
    // device's peers) comes after it; and a rollback releases the ports
    // before it puts the previous ruleset back.
    if (!in.ruleset_current) {
        auto creates = [&](const Action& a) {
            switch (a.kind) {
                case ActionKind::kCreateBridge:
                case ActionKind::kCreateVlan:
                case ActionKind::kCreateWireguard: return true;
                case ActionKind::kWireguard: return a.on_new_link;
                case ActionKind::kSysctl: return topo.creating.count(SysctlKeyDevice(a.name)) > 0;
                default: return false;
            }
        };
        auto first = plan.actions.begin() + static_cast<std::ptrdiff_t>(first_device_action);
        auto rest = std::stable_partition(first, plan.actions.end(), creates);
        Action a{ActionKind::kRuleset, "load the ruleset (" + DescribeRulesetSources(cfg) + ") in one transaction"};
        plan.actions.insert(rest, a);
    }

    // Then links (an address on a down link is not used), addresses (a
    // gateway needs its on-link prefix) and routes. A device this plan
    // creates stands in by name until apply knows its index.
    std::vector<ResolvedInterface> wanted = plan.interfaces;
    std::deque<Link> pending;
    for (ResolvedInterface& r : wanted) {
        if (r.link || !topo.creating.count(r.config->device)) continue;
        pending.push_back(Link{.name = r.config->device});
        r.link = &pending.back();
    }
    PlanPortsUp(cfg, topo, &plan);
    for (const ResolvedInterface& r : wanted) PlanLink(r, &plan);
    LiveIndex live(state);
    for (const ResolvedInterface& r : wanted) PlanAddresses(r, live, &plan);
    for (const ResolvedInterface& r : wanted) PlanRoutes(r, state, live, &plan);
    PlanSysctls(cfg, in, loading, &plan, [&](const SysctlSetting& s) { return !early(s); });
    return plan;
}

}  // namespace haltfw
