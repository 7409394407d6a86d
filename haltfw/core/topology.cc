#include "core/topology.h"

#include <algorithm>
#include <functional>
#include <map>
#include <unordered_map>
#include <utility>

#include "base/quote.h"
#include "core/readiness.h"
#include "net/sysctl.h"

namespace haltfw {
namespace {

std::string Quote(const std::string& s) { return QuoteValue(s); }

std::string RoleAt(const InterfaceConfig& c, int line) {
    return "interface " + Quote(c.role) + " (line " + std::to_string(line) + ")";
}

bool HasLayer3(const InterfaceConfig& c) {
    return !c.addresses.empty() || c.gateway || c.gateway6 || !c.routes.empty();
}

// The devices a created interface sits on: a bridge's ports, a VLAN's parent.
std::vector<std::string> Lowers(const InterfaceConfig& c) {
    if (c.IsBridge()) return c.bridge_ports;
    if (c.IsVlan() && !c.vlan_parent.empty()) return {c.vlan_parent};
    return {};
}

// Created interfaces by device name, for the walks below (first one wins;
// a device named twice is an error of its own).
std::unordered_map<std::string, const InterfaceConfig*> CreatedByDevice(const std::vector<InterfaceConfig>& ifs) {
    std::unordered_map<std::string, const InterfaceConfig*> out;
    for (const InterfaceConfig& c : ifs)
        if ((c.IsBridge() || c.IsVlan()) && !c.device.empty()) out.emplace(c.device, &c);
    return out;
}

void CheckPort(const InterfaceConfig& c, const std::string& port, const InterfaceConfig* other,
               std::map<std::string, const InterfaceConfig*>* port_of, const std::string& path, Diagnostics* diags) {
    const std::string where = "interface " + Quote(c.role) + ": bridge port " + Quote(port);
    auto error = [&](const std::string& what) { diags->Error(path, c.kind_line, where + what); };
    if (port == c.device) return error(" is the bridge itself");
    auto [it, fresh] = port_of->emplace(port, &c);
    if (!fresh) return error(" is already a port of " + RoleAt(*it->second, it->second->kind_line));
    if (!other || other == &c) return;
    if (other->IsBridge())
        return error(" is the bridge of " + RoleAt(*other, other->kind_line) +
                     "; a bridge cannot be a port of another bridge");
    if (other->kind_key == "wireguard-key")
        return error(" is the WireGuard device of " + RoleAt(*other, other->kind_line) +
                     "; a bridge takes only Ethernet devices");
    if (HasLayer3(*other))
        error(" is " + RoleAt(*other, other->line) +
              ", which has addresses or routes: a port's own addresses receive nothing (the bridge takes its "
              "frames); put them on the bridge");
}

// Devices that sit on each other in a circle (a VLAN on a bridge that has
// the VLAN as a port): each circle reported once, at the line of the
// interface where the walk closes it.
void CheckLoops(const std::vector<InterfaceConfig>& ifs, const std::string& path, Diagnostics* diags) {
    auto created = CreatedByDevice(ifs);
    enum State { kNew, kOnPath, kDone };
    std::map<const InterfaceConfig*, State> state;
    std::vector<const InterfaceConfig*> walk;
    std::function<void(const InterfaceConfig*)> visit = [&](const InterfaceConfig* c) {
        state[c] = kOnPath;
        walk.push_back(c);
        for (const std::string& lower : Lowers(*c)) {
            auto it = created.find(lower);
            if (it == created.end() || it->second == c) continue;  // itself: reported by CheckPort/vlan
            const InterfaceConfig* next = it->second;
            if (state[next] == kNew) {
                visit(next);
            } else if (state[next] == kOnPath) {
                std::string circle;
                bool in = false;
                for (const InterfaceConfig* w : walk) {
                    in |= w == next;
                    if (in) circle += Quote(w->device) + " -> ";
                }
                diags->Error(path, c->kind_line,
                             "interface " + Quote(c->role) + ": devices in a loop: " + circle + Quote(next->device) +
                                 " (a bridge sits on its ports, a VLAN on its parent)");
            }
        }
        walk.pop_back();
        state[c] = kDone;
    };
    for (const InterfaceConfig& c : ifs)
        if (created.count(c.device) && created[c.device] == &c && state[&c] == kNew) visit(&c);
}

}  // namespace

std::string DeviceSysctlKey(const char* family, const std::string& dev, const char* leaf) {
    std::string key = std::string("net.") + family + ".conf.";
    for (char c : dev) key += c == '.' ? '/' : c;
    return key + "." + leaf;
}


std::vector<SysctlSetting> SilentBridgeSysctls(const InterfaceConfig& ifc) {
    std::vector<SysctlSetting> out;
    out.push_back({DeviceSysctlKey("ipv6", ifc.device, "disable_ipv6"), "1", ifc.kind_line});
    for (const std::string& p : ifc.bridge_ports)
        out.push_back({DeviceSysctlKey("ipv6", p, "disable_ipv6"), "1", ifc.kind_line});
    out.push_back({DeviceSysctlKey("ipv4", ifc.device, "arp_ignore"), kSilentArpIgnore, ifc.kind_line});
    return out;
}

void CheckTopology(const std::vector<InterfaceConfig>& ifs, const std::string& path, Diagnostics* diags) {
    std::unordered_map<std::string, const InterfaceConfig*> by_device;
    for (const InterfaceConfig& c : ifs)
        if (!c.device.empty()) by_device.emplace(c.device, &c);
    auto role_of = [&](const std::string& dev) -> const InterfaceConfig* {
        auto it = by_device.find(dev);
        return it == by_device.end() ? nullptr : it->second;
    };
    std::map<std::string, const InterfaceConfig*> port_of;
    std::map<std::pair<std::string, uint16_t>, const InterfaceConfig*> vlans;
    bool named = true;
    for (const InterfaceConfig& c : ifs) {
        if (!c.IsBridge() && !c.IsVlan()) continue;
        const std::string where = "interface " + Quote(c.role) + ": ";
        if (c.device.empty()) {
            named = false;
            if (c.mac)
                diags->Error(path, c.kind_line,
                             where + c.kind_key + ": haltfw creates this device, so it is named by 'device =', "
                                                  "not chosen by 'mac ='");
            continue;
        }
        for (const std::string& p : c.bridge_ports) CheckPort(c, p, role_of(p), &port_of, path, diags);
        if (!c.IsVlan() || c.vlan_parent.empty()) continue;
        const std::string vlan = where + "vlan parent " + Quote(c.vlan_parent);
        const InterfaceConfig* parent = role_of(c.vlan_parent);
        if (c.vlan_parent == c.device) {
            diags->Error(path, c.kind_line, vlan + " is the device itself");
        } else if (parent && parent->kind_key == "wireguard-key") {
            diags->Error(path, c.kind_line,
                         vlan + " is the WireGuard device of " + RoleAt(*parent, parent->kind_line) +
                             "; 802.1Q needs an Ethernet device");
        }
        auto [it, fresh] = vlans.emplace(std::pair(c.vlan_parent, c.vlan_id), &c);
        if (!fresh)
            diags->Error(path, c.kind_line,
                         where + "VLAN " + std::to_string(c.vlan_id) + " on " + Quote(c.vlan_parent) + " is already " +
                             RoleAt(*it->second, it->second->kind_line));
    }
    if (named) CheckLoops(ifs, path, diags);
}

std::vector<const InterfaceConfig*> CreationOrder(const std::vector<InterfaceConfig>& ifs) {
    auto created = CreatedByDevice(ifs);
    std::vector<const InterfaceConfig*> out;
    std::map<const InterfaceConfig*, int> seen;  // 1 on the walk, 2 placed
    std::function<void(const InterfaceConfig*)> place = [&](const InterfaceConfig* c) {
        if (seen[c]) return;  // placed, or a loop (CheckTopology refuses those)
        seen[c] = 1;
        for (const std::string& lower : Lowers(*c))
            if (auto it = created.find(lower); it != created.end() && it->second != c) place(it->second);
        seen[c] = 2;
        out.push_back(c);
    };
    for (const InterfaceConfig& c : ifs)
        if (auto it = created.find(c.device); it != created.end() && it->second == &c) place(&c);
    return out;
}

void CheckSilentBridges(const ReadinessInputs& in, Readiness* r) {
    for (const ResolvedInterface& ri : *in.interfaces) {
        const InterfaceConfig& c = *ri.config;
        if (!c.IsSilentBridge() || !ri.link) continue;  // a missing device is a blocker already
        const Link& br = *ri.link;
        const std::string where = "interface '" + c.role + "' (" + br.name + "), a bridge with no address";
        if (br.kind != "bridge") {
            r->blockers.push_back(where + ": " + Quote(br.name) + " is " +
                                  (br.kind.empty() ? std::string("no bridge")
                                                   : "a " + Quote(br.kind) + ", not a bridge"));
            continue;
        }
        size_t before = r->blockers.size();
        auto layer3 = [&](const Link& l, const std::string& what) {
            for (const Address& a : in.state->addresses)
                if (a.ifindex == l.index)
                    r->blockers.push_back(where + ": " + what + " holds address " + FormatPrefix(a.prefix) +
                                          ", so the box answers at layer 3 there (an invisible bridge has none: "
                                          "remove it, or give the bridge an 'address')");
            std::string v;
            const std::string key = DeviceSysctlKey("ipv6", l.name, "disable_ipv6");
            if (in.read_sysctl && in.read_sysctl(key, &v) && !SysctlValuesEqual(v, "1"))
                r->blockers.push_back(where + ": IPv6 is on for " + what + " (" + key + " = " + v +
                                      "): it takes a link-local address and answers neighbour solicitations; "
                                      "'haltfw apply' turns it off");
        };
        layer3(br, "the bridge");
        std::string v;
        const std::string arp = DeviceSysctlKey("ipv4", br.name, "arp_ignore");
        if (in.read_sysctl && in.read_sysctl(arp, &v) && !SysctlValuesEqual(v, kSilentArpIgnore))
            r->blockers.push_back(where + ": the bridge answers ARP for the box's addresses on other interfaces (" +
                                  arp + " = " + v + ", not " + kSilentArpIgnore + "); 'haltfw apply' sets it");
        if (br.bridge && br.bridge->stp_state != kBridgeStpState)
            r->blockers.push_back(where + ": STP is on: the bridge sends BPDUs from its own MAC address, and the "
                                          "kernel ran /sbin/bridge-stp; 'haltfw apply' turns it off");
        if (br.bridge && br.bridge->mcast_snooping != kBridgeMcastSnooping)
            r->warnings.push_back(where + ": multicast snooping is on: with no querier on the segment, multicast can "
                                          "stop reaching hosts once halted; 'haltfw apply' turns it off");
        for (const std::string& p : c.bridge_ports) {
            const Link* l = in.state->FindLink(p);
            if (!l) {
                r->blockers.push_back(where + ": port " + Quote(p) + " does not exist");
                continue;
            }
            if (l->master != br.index) {
                const Link* m = l->master ? in.state->FindLinkByIndex(l->master) : nullptr;
                r->blockers.push_back(where + ": " + Quote(p) + " is not its port" +
                                      (m ? " (it is a port of " + Quote(m->name) + ")" : ""));
            }
            if (!l->up()) r->blockers.push_back(where + ": port " + Quote(p) + " is down");
            layer3(*l, "port " + Quote(p));
        }
        for (const Link& l : in.state->links)
            if (l.master == br.index &&
                std::find(c.bridge_ports.begin(), c.bridge_ports.end(), l.name) == c.bridge_ports.end())
                r->blockers.push_back(where + ": " + Quote(l.name) +
                                      " is a port the config does not list; the halted box would bridge it "
                                      "('haltfw apply' releases it)");
        if (r->blockers.size() == before)
            r->fine.push_back(where + ": " + std::to_string(c.bridge_ports.size()) +
                              (c.bridge_ports.size() == 1 ? " port" : " ports") +
                              ", nothing of the box at layer 3 (no address, IPv6 off, no ARP replies)");
    }
}

}  // namespace haltfw
