#include "core/wireguard_plan.h"

#include <algorithm>
#include <map>
#include <memory>

namespace haltfw {
namespace {

std::string Quote(const std::string& s) { return QuoteValue(s); }

std::vector<Prefix> Sorted(std::vector<Prefix> v) {
    std::sort(v.begin(), v.end());
    return v;
}

const WgPeer* FindPeer(const WgDevice& d, const WgKey& key) {
    for (const WgPeer& p : d.peers)
        if (p.public_key == key) return &p;
    return nullptr;
}

// A peer's differences, each "peer 'NAME': WHAT".
void PeerDifferences(const std::string& name, const WgPeer& want, const WgPeer& have, std::vector<std::string>* out) {
    const std::string who = "peer " + Quote(name) + ": ";
    bool psk_same = want.preshared_key.has_value() == have.preshared_key.has_value() &&
                    (!want.preshared_key || *want.preshared_key == *have.preshared_key);
    if (!psk_same) out->push_back(who + "preshared key");
    if (want.endpoint && want.endpoint != have.endpoint)
        out->push_back(who + "endpoint " + FormatWgEndpoint(*want.endpoint) + " (was " +
                       (have.endpoint ? FormatWgEndpoint(*have.endpoint) : std::string("none")) + ")");
    if (want.keepalive_s != have.keepalive_s)
        out->push_back(who + "persistent keepalive " + std::to_string(want.keepalive_s) + " s (was " +
                       std::to_string(have.keepalive_s) + " s)");
    if (Sorted(want.allowed_ips) != Sorted(have.allowed_ips)) out->push_back(who + "allowed IPs");
}

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
    std::vector<std::string> out;
    bool key_same = want.private_key.has_value() == have.private_key.has_value() &&
                    (!want.private_key || *want.private_key == *have.private_key);
    if (!key_same) out.push_back("private key");
    if (want.listen_port && want.listen_port != have.listen_port)
        out.push_back("listen port " + std::to_string(want.listen_port) + " (was " + std::to_string(have.listen_port) +
                      ")");
    if (want.fwmark != have.fwmark)
        out.push_back("fwmark " + std::to_string(want.fwmark) + " (was " + std::to_string(have.fwmark) + ")");
    std::vector<const PeerConfig*> names = PeersOf(cfg, ifc.role);
    for (size_t i = 0; i < want.peers.size(); ++i) {
        const std::string name = i < names.size() ? names[i]->name : "?";
        if (const WgPeer* h = FindPeer(have, want.peers[i].public_key))
            PeerDifferences(name, want.peers[i], *h, &out);
        else
            out.push_back("add peer " + Quote(name));
    }
    for (const WgPeer& h : have.peers)
        if (!FindPeer(want, h.public_key)) out.push_back("remove peer " + EncodeWgKey(h.public_key));
    return out;
}

WgDevice KeepLearned(const WgDevice& want, const WgDevice& have) {
    WgDevice d = want;
    if (d.listen_port == 0) d.listen_port = have.listen_port;
    for (WgPeer& p : d.peers)
        if (const WgPeer* h = FindPeer(have, p.public_key); h && !p.endpoint) p.endpoint = h->endpoint;
    return d;
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
        const WgPeer* have = p->public_key ? FindPeer(live, *p->public_key) : nullptr;
        named.push_back(have);
        out.push_back("  peer " + p->name + ": " + (have ? PeerState(*have, now) : "MISSING on the device"));
    }
    for (const WgPeer& h : live.peers)
        if (std::find(named.begin(), named.end(), &h) == named.end())
            out.push_back("  peer " + EncodeWgKey(h.public_key) + " (not in the config): " + PeerState(h, now));
    return out;
}

}  // namespace haltfw
