#include "core/gateway.h"

#include <sys/socket.h>

#include <algorithm>

namespace haltfw {
namespace {

using profile_text::FormatRange;
using profile_text::From;
using profile_text::Join;
using profile_text::Ports;
using profile_text::Quoted;
using profile_text::ValueOrSet;
using profile_text::Writer;
constexpr const char* kEchoLimit = profile_text::kEchoLimit;

std::vector<std::string> Ipv4Addresses(const InterfaceConfig& ifc) {
    std::vector<std::string> out;
    for (const AddressSpec& a : ifc.addresses)
        if (a.prefix.addr.family == AF_INET) out.push_back(FormatIp(a.prefix.addr));
    return out;
}

// What every part of the table needs to know.
struct Profile {
    const GatewayConfig& gw;
    // The LAN zones, as `lan =` lists them, then the VPN zones, as `vpn =`
    // does: a VPN zone is a LAN zone whose WireGuard port is open on the WAN.
    std::vector<const InterfaceConfig*> lans;
    const InterfaceConfig& wan;
    std::vector<std::string> lan_devs;       // quoted device names of the LAN zones
    std::vector<std::string> isolated_devs;  // of the zones `isolate =` lists
    std::vector<std::string> trusted_devs;   // of the others
    std::string lan_if, wan_if;              // "\"lan0\"" or "{ \"lan0\", \"guest0\" }"
    std::string lan_to_wan, wan_to_lan;      // "iifname ... oifname ..."
    std::vector<Prefix> lan_prefixes;        // of every LAN zone
    bool Isolated(const InterfaceConfig& lan) const {
        return std::find(gw.isolate.begin(), gw.isolate.end(), lan.role) != gw.isolate.end();
    }
    bool Vpn(const InterfaceConfig& zone) const {
        return std::find(gw.vpns.begin(), gw.vpns.end(), zone.role) != gw.vpns.end();
    }
    // "lan = lan" or "lan = lan, vpn = vpn": the keys that name the zones.
    std::string ZoneKeys() const {
        return "lan = " + Join(gw.lans, " ") + (gw.vpns.empty() ? "" : ", vpn = " + Join(gw.vpns, " "));
    }
};

std::vector<std::string> PrefixTexts(const std::vector<Prefix>& v, int family = AF_UNSPEC) {
    std::vector<std::string> out;
    for (const Prefix& x : v)
        if (family == AF_UNSPEC || x.addr.family == family) out.push_back(FormatPrefix(x));
    return out;
}

// Sorted, without duplicates or prefixes inside another one: a valid nft
// interval set.
std::vector<Prefix> Outermost(std::vector<Prefix> all);

void Header(const Profile& p, Writer* w) {
    std::vector<std::string> wan4 = Ipv4Addresses(p.wan);
    w->Comment(0, "haltfw gateway profile, generated from [gateway] " + From(p.gw.line) + " of haltfw.conf.");
    for (const InterfaceConfig* lan : p.lans) {
        std::string key = p.Vpn(*lan) ? "vpn = " + lan->role + " " + From(p.gw.vpn_line) + ": WireGuard device "
                                      : "lan = " + lan->role + " " + From(p.gw.lan_line) + ": device ";
        std::string port = p.Vpn(*lan) ? ", listen-port " + std::to_string(lan->wireguard->listen_port) + " " +
                                             From(lan->wireguard->listen_port_line)
                                       : "";
        w->Comment(0, "  " + key + lan->device + port + ", prefixes " + Join(PrefixTexts(LanPrefixes(*lan)), ", ") +
                          (p.Isolated(*lan) ? "; isolate " + From(p.gw.isolate_line) : ""));
    }
    w->Comment(0, "  wan = " + p.gw.wan + " " + From(p.gw.wan_line) + ": device " + p.wan.device + ", IPv4 addresses " +
                      (wan4.empty() ? "none" : Join(wan4, ", ")));
    w->Comment(0, "Policy, for a box that runs no services once halted: input drops all but");
    w->Comment(0, "replies, loopback and the ICMP the box needs; forward drops all but LAN->WAN,");
    w->Comment(0, "replies both ways and the forwards; output accepts.");
    if (!p.gw.vpns.empty()) {
        w->Comment(0, "VPN zones (vpn =) are LAN zones; input also accepts their WireGuard ports on");
        w->Comment(0, "the WAN.");
    }
    w->Comment(0, "Your own rules: [ruleset] files load after this text, in the same transaction.");
    w->Comment(0, "Add to input_extra or forward_extra (jumped to just before the drop), or to");
    w->Comment(0, "dstnat and srcnat; a table of your own can drop more but not accept more.");
}

// Named sets, so that a rules file can add a prefix the LAN sends from
// ("add element inet gateway lan4 { ... }") without rewriting the rules.
void Sets(const Profile& p, Writer* w) {
    std::vector<std::string> sections;
    for (const InterfaceConfig* lan : p.lans) sections.push_back("[interface." + lan->role + "]");
    w->Comment(1, "The LAN's prefixes: networks of the addresses and routes of " + Join(sections, ", ") + ".");
    for (int family : {AF_INET, AF_INET6}) {
        std::vector<std::string> elems = PrefixTexts(p.lan_prefixes, family);
        w->Line(1, family == AF_INET ? "set lan4 {" : "set lan6 {");
        w->Line(2, family == AF_INET ? "type ipv4_addr" : "type ipv6_addr");
        w->Line(2, "flags interval");
        if (!elems.empty()) w->Line(2, "elements = { " + Join(elems, ", ") + " }");
        w->Line(1, "}");
        w->Blank();
    }
}

// fastpath = yes: the software fast path. A connection the forward chain
// accepted goes into the flowtable with its first established packet;
// from then on the ingress hook forwards its packets (NAT included) before
// prerouting, so that they skip every chain. The kernel drops the entry
// when the connection ends or idles out, and the connection's next packet
// meets the chains again.
void Flowtable(const Profile& p, Writer* w) {
    if (!p.gw.fastpath) return;
    std::vector<std::string> devs = p.lan_devs;
    devs.push_back(p.wan_if);
    w->Comment(1, "fastpath = yes " + From(p.gw.fastpath_line) + ": established TCP and UDP connections between these");
    w->Comment(1, "devices are forwarded from the ingress hook; their later packets skip the chains.");
    if (!p.gw.vpns.empty())
        w->Comment(1, "vpn = " + Join(p.gw.vpns, " ") + " " + From(p.gw.vpn_line) +
                          ": the WireGuard devices too (a tunnel's packets enter, decrypted, at theirs).");
    w->Line(1, "flowtable fastpath {");
    w->Line(2, "hook ingress priority filter");
    w->Line(2, "devices = { " + Join(devs, ", ") + " }");
    w->Line(1, "}");
    w->Blank();
}

void Antispoof(const Profile& p, Writer* w) {
    w->Comment(1, "Anti-spoofing by the configured prefixes: LAN sources only from the LAN side,");
    w->Comment(1, "and only those from it (and, for neighbour discovery, IPv6 link-local and ::).");
    w->Comment(1, "At priority raw, before conntrack: a spoofed packet leaves no state. rp_filter");
    w->Comment(1, "covers IPv4 only and a [sysctl] line may turn it off; a fib lookup would");
    w->Comment(1, "follow the routes, not the config.");
    w->Line(1, "chain antispoof {");
    w->Line(2, "type filter hook prerouting priority raw; policy accept;");
    w->Line(2, "iifname " + p.wan_if + " ip saddr @lan4 drop");
    w->Line(2, "iifname " + p.wan_if + " ip6 saddr @lan6 drop");
    if (p.lans.size() == 1) {
        w->Line(2, "iifname " + p.lan_if + " ip saddr != @lan4 drop");
        w->Line(2, "iifname " + p.lan_if + " ip6 saddr != @lan6 ip6 saddr != { ::, fe80::/10 } drop");
    } else {
        // Zones: each sends from its own prefixes only, so that no zone can
        // pass for another (isolate matches by interface and by address).
        for (const InterfaceConfig* lan : p.lans) {
            std::vector<Prefix> own = LanPrefixes(*lan);
            std::string dev = Quoted(lan->device);
            std::vector<std::string> v4 = PrefixTexts(own, AF_INET), v6 = PrefixTexts(own, AF_INET6);
            w->Line(2, "iifname " + dev +
                           (v4.empty() ? " meta nfproto ipv4 drop" : " ip saddr != " + ValueOrSet(v4) + " drop"));
            v6.insert(v6.end(), {"::", "fe80::/10"});
            w->Line(2, "iifname " + dev + " ip6 saddr != " + ValueOrSet(v6) + " drop");
        }
    }
    w->Line(1, "}");
    w->Blank();
}

// The log rule before a drop policy, when log-drops = yes.
void LogDrops(const Profile& p, Writer* w) {
    if (!p.gw.log_drops) return;
    w->Comment(2, "log-drops = yes " + From(p.gw.log_drops_line) + ": to the kernel log (the console), rate-limited");
    w->Line(2, profile_text::LogDropStatement("haltfw drop: "));
}

// An empty chain that a rules file may fill: the base chain jumps to it just
// before its drop policy (and the drop log).
void ExtraChain(const char* name, Writer* w) {
    w->Line(1, std::string("chain ") + name + " {");
    w->Line(1, "}");
    w->Blank();
}

// vpn = ROLE ...: each WireGuard device's port, from the WAN. In the inet
// table `udp dport` matches IPv4 and IPv6 alike, as the device listens on
// both. Nothing but a valid handshake gets an answer: WireGuard drops the
// rest silently.
void WireguardPorts(const Profile& p, Writer* w) {
    for (const InterfaceConfig* zone : p.lans) {
        if (!p.Vpn(*zone)) continue;
        const WireguardInterfaceConfig& wg = *zone->wireguard;
        w->Comment(2, "vpn = " + zone->role + " " + From(p.gw.vpn_line) + ": WireGuard's port for " + zone->device +
                          " (listen-port on line " + std::to_string(wg.listen_port_line) +
                          ") from the WAN, IPv4 and IPv6");
        w->Line(2, "iifname " + p.wan_if + " udp dport " + std::to_string(wg.listen_port) + " accept");
    }
}

void Input(const Profile& p, Writer* w) {
    w->Comment(1, "The box itself: it runs no services once halted.");
    w->Line(1, "chain input {");
    w->Line(2, "type filter hook input priority filter; policy drop;");
    w->Line(2, "iif \"lo\" accept");
    w->Comment(2, "IPv6 neighbour discovery, never dropped: without it no IPv6 reaches the box or");
    w->Comment(2, "passes it. Solicitations and advertisements (the kernel checks hop limit 255),");
    w->Comment(2, "and MLD queries, so that snooping switches keep the box's solicited-node");
    w->Comment(2, "groups. Not router advertisements (static addressing; a forwarding box ignores");
    w->Comment(2, "them), nor redirects.");
    w->Line(2, "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, mld-listener-query } accept");
    if (!p.isolated_devs.empty()) {
        w->Comment(2, "isolate = " + Join(p.gw.isolate, " ") + " " + From(p.gw.isolate_line) +
                          ": nothing else of the box, on any address");
        w->Line(2, "iifname " + ValueOrSet(p.isolated_devs) + " drop");
    }
    if (p.gw.icmp) {
        w->Comment(2, "icmp = yes " + From(p.gw.icmp_line) + ": echo to the box, rate-limited, ahead of the conntrack");
        w->Comment(2, "rule: a ping's requests share one conntrack entry, established after a reply.");
        w->Line(2, std::string("icmp type echo-request ") + kEchoLimit + " accept");
        w->Line(2, std::string("icmpv6 type echo-request ") + kEchoLimit + " accept");
        w->Line(2, "icmp type echo-request drop");
        w->Line(2, "icmpv6 type echo-request drop");
    } else {
        w->Comment(2, "icmp = no " + From(p.gw.icmp_line) + ": no echo to the box");
    }
    w->Line(2, "ct state established,related accept");
    w->Line(2, "ct state invalid drop");
    WireguardPorts(p, w);
    w->Line(2, "jump input_extra");
    LogDrops(p, w);
    w->Line(1, "}");
    w->Blank();
    ExtraChain("input_extra", w);
}

void Blocks(const Profile& p, Writer* w) {
    for (const BlockSpec& b : p.gw.blocks) {
        const ServiceGroup* g = FindServiceGroup(b.name);
        if (!g) continue;  // ParseConfig refused it
        std::vector<std::string> parts;
        for (const auto* ranges : {&g->tcp, &g->udp}) {
            std::vector<std::string> v;
            for (const PortRange& r : *ranges) v.push_back(FormatRange(r));
            if (!v.empty()) parts.push_back((ranges == &g->tcp ? "tcp " : "udp ") + Join(v, ", "));
        }
        w->Comment(2, "block = " + b.name + " " + From(b.line) + ": " + std::string(g->what) + " (" +
                          Join(parts, "; ") + "), LAN->WAN");
        if (!g->tcp.empty()) w->Line(2, p.lan_to_wan + " tcp dport " + Ports(g->tcp) + " drop");
        if (!g->udp.empty()) w->Line(2, p.lan_to_wan + " udp dport " + Ports(g->udp) + " drop");
    }
}

// The forwarded connections, after translation: daddr and dport are the LAN
// host's. `ct status dnat` keeps the rule to connections dstnat translated,
// from the WAN or, by the WAN address, from the LAN (hairpin). IPv6 is not
// translated: the host's port is opened from the WAN side.
void ForwardAccepts(const Profile& p, Writer* w) {
    for (const ForwardSpec& f : p.gw.forwards) {
        PortRange lan_ports = f.to_port ? PortRange{f.to_port, f.to_port} : PortRange{f.first, f.last};
        std::string match = f.proto + " dport " + FormatRange(lan_ports);
        if (f.host.family == AF_INET) {
            w->Comment(2, "forward = " + f.text + " " + From(f.line) + ": translated in dstnat");
            w->Line(2, "ct status dnat ip daddr " + FormatIp(f.host) + " " + match + " accept");
        } else {
            w->Comment(2, "forward = " + f.text + " " + From(f.line) + ": IPv6, not translated");
            w->Line(2, p.wan_to_lan + " ip6 daddr " + FormatIp(f.host) + " " + match + " accept");
        }
    }
}

void Forward(const Profile& p, Writer* w) {
    w->Comment(1, "Through the box.");
    w->Line(1, "chain forward {");
    w->Line(2, "type filter hook forward priority filter; policy drop;");
    if (!p.isolated_devs.empty()) {
        w->Comment(2, "isolate = " + Join(p.gw.isolate, " ") + " " + From(p.gw.isolate_line) +
                          ": no traffic between an isolated zone and another LAN zone, either way and");
        w->Comment(2, "whatever its state, except the forwards reached by the WAN address (translated in dstnat).");
        w->Line(2, "iifname " + ValueOrSet(p.isolated_devs) + " oifname " + p.lan_if + " ct status & dnat == 0 drop");
        w->Line(2, "iifname " + p.lan_if + " oifname " + ValueOrSet(p.isolated_devs) + " ct status & dnat == 0 drop");
    }
    if (p.gw.icmp) {
        w->Comment(
            2, "icmp = yes " + From(p.gw.icmp_line) + ": echo from the WAN side to LAN hosts (IPv6, or IPv4 routed");
        w->Comment(2, "to the LAN), rate-limited ahead of the conntrack rule as in input.");
        w->Line(2, p.wan_to_lan + " icmp type echo-request " + kEchoLimit + " accept");
        w->Line(2, p.wan_to_lan + " icmpv6 type echo-request " + kEchoLimit + " accept");
        w->Line(2, p.wan_to_lan + " icmp type echo-request drop");
        w->Line(2, p.wan_to_lan + " icmpv6 type echo-request drop");
    } else {
        w->Comment(2, "icmp = no " + From(p.gw.icmp_line) + ": no echo from the WAN side to LAN hosts");
    }
    if (p.gw.fastpath) {
        w->Comment(2, "fastpath = yes " + From(p.gw.fastpath_line) + ": an accepted connection's first established packet");
        w->Comment(2, "moves it to the flowtable; no later packet of it is counted or logged here.");
        w->Line(2, "ct state established meta l4proto { tcp, udp } flow add @fastpath");
    } else {
        w->Comment(2, "fastpath = no " + From(p.gw.fastpath_line) + ": every packet through the box passes this chain");
    }
    w->Comment(2, "Replies, both ways; 'related' carries the ICMP errors of tracked connections");
    w->Comment(2, "(packet too big: path MTU discovery).");
    w->Line(2, "ct state established,related accept");
    w->Line(2, "ct state invalid drop");
    Blocks(p, w);
    w->Comment(2, p.ZoneKeys() + ", wan = " + p.gw.wan + ": new connections from the LAN to the WAN");
    w->Line(2, p.lan_to_wan + " accept");
    if (p.trusted_devs.size() > 1) {
        w->Comment(2, p.ZoneKeys() + ": new connections between the LAN zones not isolated");
        w->Line(2, "iifname " + ValueOrSet(p.trusted_devs) + " oifname " + ValueOrSet(p.trusted_devs) + " accept");
    }
    ForwardAccepts(p, w);
    w->Line(2, "jump forward_extra");
    LogDrops(p, w);
    w->Line(1, "}");
    w->Blank();
    ExtraChain("forward_extra", w);
}

void Output(Writer* w) {
    w->Comment(1, "From the box: its ICMP errors, neighbour discovery, and whatever it sends");
    w->Comment(1, "before it halts.");
    w->Line(1, "chain output {");
    w->Line(2, "type filter hook output priority filter; policy accept;");
    w->Line(1, "}");
    w->Blank();
}

// Port forwards, by the WAN's IPv4 address(es), arriving on either side: from
// the WAN, and from the LAN (hairpin: LAN hosts use the same address as the
// rest of the world).
void Dstnat(const Profile& p, Writer* w) {
    std::string wan4 = ValueOrSet(Ipv4Addresses(p.wan));
    w->Comment(1, "Port forwards, by the WAN's IPv4 address, from the WAN and from the LAN (hairpin).");
    w->Line(1, "chain dstnat {");
    w->Line(2, "type nat hook prerouting priority dstnat; policy accept;");
    if (std::none_of(p.gw.forwards.begin(), p.gw.forwards.end(),
                     [](const ForwardSpec& f) { return f.host.family == AF_INET; }))
        w->Comment(2, "no IPv4 'forward ='");
    for (const ForwardSpec& f : p.gw.forwards) {
        if (f.host.family != AF_INET) continue;
        std::string to = FormatIp(f.host) + (f.to_port ? ":" + std::to_string(f.to_port) : "");
        w->Comment(2, "forward = " + f.text + " " + From(f.line));
        std::vector<std::string> sides = p.lan_devs;
        sides.push_back(p.wan_if);
        w->Line(2, "iifname " + ValueOrSet(sides) + " ip daddr " + wan4 + " " + f.proto + " dport " +
                       FormatRange({f.first, f.last}) + " dnat ip to " + to);
    }
    w->Line(1, "}");
    w->Blank();
}

void Srcnat(const Profile& p, Writer* w) {
    std::vector<std::string> lines;
    for (const ForwardSpec& f : p.gw.forwards)
        if (f.host.family == AF_INET) lines.push_back(std::to_string(f.line));
    w->Comment(1, "Source translation.");
    w->Line(1, "chain srcnat {");
    w->Line(2, "type nat hook postrouting priority srcnat; policy accept;");
    if (p.gw.masquerade) {
        // `ip saddr` also keeps IPv6 out: in the inet family a bare
        // masquerade would translate IPv6 too.
        w->Comment(2, "masquerade = yes " + From(p.gw.masquerade_line) + ": LAN->WAN IPv4 leaves with the WAN address");
        w->Line(2, "oifname " + p.wan_if + " ip saddr @lan4 masquerade");
    } else {
        w->Comment(2,
                   "masquerade = no " + From(p.gw.masquerade_line) + ": LAN addresses leave as they are (routed LAN)");
    }
    if (!lines.empty()) {
        // Without it the LAN host would answer the LAN client directly, from
        // its own address, and the client would drop the reply.
        w->Comment(2, "Hairpin for the forwards (line" + std::string(lines.size() == 1 ? " " : "s ") +
                          Join(lines, ", ") + "): a LAN client reaching a forward by");
        w->Comment(2, "the WAN address is translated to the box's LAN address, so replies come back");
        w->Comment(2, "through the box (at postrouting there is no iifname: the LAN source tells).");
        w->Line(2, "oifname " + p.lan_if + " ip saddr @lan4 ct status dnat masquerade");
    }
    w->Line(1, "}");
}

bool Contains(const Prefix& outer, const Prefix& inner) {
    return outer.len <= inner.len && outer.contains(inner.addr);
}

}  // namespace

const std::vector<ServiceGroup>& ServiceGroups() {
    static const std::vector<ServiceGroup> groups = {
        {"msrpc", "Microsoft RPC endpoint mapper", {{135, 135}}, {{135, 135}}},
        {"netbios", "NetBIOS and SMB file sharing", {{137, 139}, {445, 445}}, {{137, 139}}},
        {"smtp", "mail sent straight to mail servers, as spam bots do", {{25, 25}}, {}},
        {"telnet", "Telnet, which IoT malware spreads by", {{23, 23}, {2323, 2323}}, {}},
    };
    return groups;
}

const ServiceGroup* FindServiceGroup(std::string_view name) {
    for (const ServiceGroup& g : ServiceGroups())
        if (g.name == name) return &g;
    return nullptr;
}

std::string ServiceGroupNames() {
    std::vector<std::string> names;
    for (const ServiceGroup& g : ServiceGroups()) names.emplace_back(g.name);
    return Join(names, ", ");
}

std::vector<Prefix> LanPrefixes(const InterfaceConfig& lan) {
    std::vector<Prefix> all;
    for (const AddressSpec& a : lan.addresses) all.push_back(a.prefix.network());
    for (const RouteSpec& r : lan.routes)
        if (r.dst.len > 0) all.push_back(r.dst.network());
    return Outermost(std::move(all));
}

namespace {

std::vector<Prefix> Outermost(std::vector<Prefix> all) {
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    std::vector<Prefix> out;
    for (const Prefix& p : all) {
        bool inside = false;
        for (const Prefix& q : all) inside |= !(q == p) && Contains(q, p);
        if (!inside) out.push_back(p);
    }
    return out;
}

}  // namespace

std::string GatewayRuleset(const Config& cfg) {
    if (!cfg.gateway) return {};
    const GatewayConfig& gw = *cfg.gateway;
    const InterfaceConfig* wan = cfg.FindRole(gw.wan);
    if (!wan || wan->device.empty() || gw.lans.empty()) return {};
    Profile p{gw, {}, *wan, {}, {}, {}, "", Quoted(wan->device), "", "", {}};
    std::vector<Prefix> all;
    std::vector<std::string> roles = gw.lans;
    roles.insert(roles.end(), gw.vpns.begin(), gw.vpns.end());
    for (const std::string& role : roles) {
        const InterfaceConfig* lan = cfg.FindRole(role);
        if (!lan || lan->device.empty()) return {};
        if (p.Vpn(*lan) && (!lan->wireguard || lan->wireguard->listen_port == 0)) return {};  // ParseConfig refused it
        p.lans.push_back(lan);
        p.lan_devs.push_back(Quoted(lan->device));
        (p.Isolated(*lan) ? p.isolated_devs : p.trusted_devs).push_back(Quoted(lan->device));
        for (const Prefix& x : LanPrefixes(*lan)) all.push_back(x);
    }
    p.lan_prefixes = Outermost(std::move(all));
    p.lan_if = ValueOrSet(p.lan_devs);
    p.lan_to_wan = "iifname " + p.lan_if + " oifname " + p.wan_if;
    p.wan_to_lan = "iifname " + p.wan_if + " oifname " + p.lan_if;

    Writer w;
    Header(p, &w);
    w.Line(0, std::string("table inet ") + kGatewayTable + " {");
    Sets(p, &w);
    Flowtable(p, &w);
    Antispoof(p, &w);
    Input(p, &w);
    Forward(p, &w);
    Output(&w);
    Dstnat(p, &w);
    Srcnat(p, &w);
    w.Line(0, "}");
    return w.Take();
}

}  // namespace haltfw
