#include "core/wireguard_plan.h"

#include <algorithm>
#include <map>
#include <memory>

namespace haltfw {
namespace {

std::string Quote(const std::string& s) { return QuoteValue(s); }

}  // namespace

WgDevice WantedWireguard(const Config& cfg, const InterfaceConfig& ifc) {
    WgDevice d;
    d.name = ifc.device;
    d.private_key = ifc.wireguard->private_key;
    d.listen_port = ifc.wireguard->listen_port;
    for (const PeerConfig* p : PeersOf(cfg, ifc.role)) {
        WgPeer w;
        w.public_key = p->public_key.value_or(WgKey{});
        w.preshared_key = p->preshared_key;
        w.endpoint = p->endpoint;
        w.keepalive_s = p->keepalive_s;
        for (const AllowedIpSpec& a : p->allowed_ips) w.allowed_ips.push_back(a.prefix);
        d.peers.push_back(std::move(w));
    }
    return d;
}

std::vector<std::string> WireguardDifferences(const Config& cfg, const InterfaceConfig& ifc, const WgDevice& want,
                                              const WgDevice& have) {
    std::vector<std::string> names;
    for (const PeerConfig* p : PeersOf(cfg, ifc.role)) names.push_back(p->name);
    return WgDeviceDifferences(want, have, names);
}

void PlanWireguard(const Config& cfg, const NetState& state, const PlanInputs& in, std::set<std::string>* creating,
                   Plan* plan) {
    for (const InterfaceConfig& c : cfg.interfaces) {
        if (!IsWireguard(c) || c.device.empty() || !c.wireguard->private_key) continue;
        const std::string where = "interface " + Quote(c.role);
        auto want = std::make_shared<WgDevice>(WantedWireguard(cfg, c));
        const size_t n = want->peers.size();
        const std::string peers = std::to_string(n) + (n == 1 ? " peer" : " peers");
        Action set{ActionKind::kWireguard, ""};
        set.line = c.wireguard->key_line;
        set.device = c.device;
        const Link* l = state.FindLink(c.device);
        if (!l) {
            Action create{ActionKind::kCreateWireguard, where + ": create WireGuard device " + c.device};
            create.line = c.wireguard->key_line;
            create.device = c.device;
            plan->actions.push_back(create);
            creating->insert(c.device);
            set.what = where + " (" + c.device + "): set its WireGuard key, " +
                       (want->listen_port ? "listen port " + std::to_string(want->listen_port)
                                          : std::string("a listen port the kernel picks")) +
                       " and " + peers;
            set.on_new_link = true;
            set.wireguard = want;
            plan->actions.push_back(set);
            continue;
        }
        if (l->kind != "wireguard") {
            plan->problems.Error(cfg.path, c.wireguard->key_line,
                                 where + ": device " + Quote(c.device) + " exists and is " +
                                     (l->kind.empty() ? std::string("no WireGuard device") : "a " + Quote(l->kind) +
                                                                                                 " device") +
                                     "; delete it, and apply creates it as configured");
            continue;
        }
        auto have = std::make_shared<WgDevice>();
        std::string err;
        if (!in.read_wireguard || !in.read_wireguard(c.device, have.get(), &err)) {
            plan->problems.Error(cfg.path, c.wireguard->key_line,
                                 where + " (" + c.device + "): cannot read the WireGuard device: " +
                                     (in.read_wireguard ? err : "no reader"));
            continue;
        }
        std::vector<std::string> diffs = WireguardDifferences(cfg, c, *want, *have);
        if (diffs.empty()) continue;
        std::string list;
        for (const std::string& d : diffs) list += (list.empty() ? "" : "; ") + d;
        set.what = where + " (" + c.device + "): set WireGuard, " + peers + " (" + list + ")";
        set.ifindex = l->index;
        set.wireguard = std::make_shared<WgDevice>(KeepLearned(*want, *have));
        set.previous_wireguard = have;
        plan->actions.push_back(set);
    }
}

namespace {

std::string PeerState(const WgPeer& p, int64_t now) {
    std::string s = "endpoint " + (p.endpoint ? FormatWgEndpoint(*p.endpoint) : std::string("none yet"));
    if (p.last_handshake_s == 0) s += ", no handshake yet";
    else s += ", latest handshake " + std::to_string(std::max<int64_t>(0, now - p.last_handshake_s)) + " s ago";
    return s + ", rx " + std::to_string(p.rx_bytes) + " B, tx " + std::to_string(p.tx_bytes) + " B";
}

}  // namespace

std::vector<std::string> WireguardStatusLines(const Config& cfg, const InterfaceConfig& ifc, const WgDevice& live,
                                              int64_t now) {
    std::vector<std::string> out;
    const size_t n = live.peers.size();
    out.push_back("  wireguard: public key " + EncodeWgKey(live.public_key) + ", listen port " +
                  std::to_string(live.listen_port) + ", " + std::to_string(n) + (n == 1 ? " peer" : " peers"));
    std::vector<const WgPeer*> named;
    for (const PeerConfig* p : PeersOf(cfg, ifc.role)) {
        const WgPeer* have = p->public_key ? FindWgPeer(live, *p->public_key) : nullptr;
        named.push_back(have);
        out.push_back("  peer " + p->name + ": " + (have ? PeerState(*have, now) : "MISSING on the device"));
    }
    for (const WgPeer& h : live.peers)
        if (std::find(named.begin(), named.end(), &h) == named.end())
            out.push_back("  peer " + EncodeWgKey(h.public_key) + " (not in the config): " + PeerState(h, now));
    return out;
}

}  // namespace haltfw
