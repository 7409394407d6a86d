#include "core/bridge_filter.h"

#include <sys/socket.h>

#include "core/profile_text.h"
#include "core/readiness.h"
#include "net/sysctl.h"

namespace haltfw {
namespace {

using profile_text::FormatRange;
using profile_text::From;
using profile_text::Join;
using profile_text::Quoted;
using profile_text::ValueOrSet;
using profile_text::Writer;

// What every part of the table needs to know.
struct Profile {
    const BridgeFilterConfig& bf;
    const InterfaceConfig& bridge;
    std::string br;                 // "\"br0\""
    std::string in_if, out_if;      // "\"eth1\"" or "{ \"eth1\", \"eth2\" }"
    std::string out_to_in, in_to_out;  // "iifname ... oifname ..."
};

std::vector<std::string> QuotedAll(const std::vector<std::string>& v) {
    std::vector<std::string> out;
    for (const std::string& s : v) out.push_back(Quoted(s));
    return out;
}

void Header(const Profile& p, Writer* w) {
    w->Comment(0,
               "haltfw bridge-filter profile, generated from [bridge-filter] " + From(p.bf.line) + " of haltfw.conf.");
    w->Comment(0, "  bridge = " + p.bf.bridge + " " + From(p.bf.bridge_line) + ": device " + p.bridge.device +
                      ", ports " + Join(p.bridge.bridge_ports, " "));
    w->Comment(0, "  inside = " + Join(p.bf.inside, " ") + " " + From(p.bf.inside_line) + "; outside = " +
                      Join(p.bf.outside, " ") + " " + From(p.bf.outside_line));
    w->Comment(0, "Policy: nothing of " + p.bridge.device + " reaches the box or leaves it; between the sides,");
    w->Comment(0, "the inside starts connections outward, the outside gets replies and the forwards in.");
    w->Comment(0, "Your own rules: [ruleset] files load after this text, in the same transaction.");
    w->Comment(0, "Add to forward_extra (jumped to just before the drop); a table of your own can");
    w->Comment(0, "drop more but not accept more.");
}

// The box itself, at layer 2: the bridge has no address, and these chains
// make sure nothing reaches its stack or leaves it even if one appeared.
void Input(const Profile& p, Writer* w) {
    w->Comment(1, "Frames for the box itself (a broadcast's copy for the other ports goes through");
    w->Comment(1, "forward, not here).");
    w->Line(1, "chain input {");
    w->Line(2, "type filter hook input priority filter; policy drop;");
    w->Comment(2, "Other bridges of the box are not this profile's.");
    w->Line(2, "meta ibrname != " + p.br + " accept");
    w->Line(1, "}");
    w->Blank();
}

void Output(const Profile& p, Writer* w) {
    w->Comment(1, "Frames from the box itself.");
    w->Line(1, "chain output {");
    w->Line(2, "type filter hook output priority filter; policy drop;");
    w->Line(2, "meta obrname != " + p.br + " accept");
    w->Line(1, "}");
}

// Ports on one side, as through a plain switch: the profile judges only
// what crosses between the sides.
void SameSide(const Profile& p, Writer* w) {
    for (const auto* side : {&p.bf.inside, &p.bf.outside}) {
        if (side->size() < 2) continue;
        const bool in = side == &p.bf.inside;
        const std::string ifs = in ? p.in_if : p.out_if;
        w->Comment(2, std::string(in ? "inside = " : "outside = ") + Join(*side, " ") + " " +
                          From(in ? p.bf.inside_line : p.bf.outside_line) + ": between ports of one side, anything");
        w->Line(2, "iifname " + ifs + " oifname " + ifs + " accept");
    }
}

void Echo(const Profile& p, Writer* w) {
    if (!p.bf.icmp) {
        w->Comment(2, "icmp = no " + From(p.bf.icmp_line) + ": no echo from outside to inside hosts");
        return;
    }
    w->Comment(2, "icmp = yes " + From(p.bf.icmp_line) + ": echo from outside to inside hosts, rate-limited,");
    w->Comment(2, "ahead of the conntrack rule: a ping's requests share one conntrack entry,");
    w->Comment(2, "established after a reply.");
    w->Line(2, p.out_to_in + " icmp type echo-request " + profile_text::kEchoLimit + " accept");
    w->Line(2, p.out_to_in + " icmpv6 type echo-request " + profile_text::kEchoLimit + " accept");
    w->Line(2, p.out_to_in + " icmp type echo-request drop");
    w->Line(2, p.out_to_in + " icmpv6 type echo-request drop");
}

// forward = ...: not translated; the host's port is opened from outside.
void Forwards(const Profile& p, Writer* w) {
    for (const ForwardSpec& f : p.bf.forwards) {
        w->Comment(2, "forward = " + f.text + " " + From(f.line));
        w->Line(2, p.out_to_in + (f.host.family == AF_INET ? " ip daddr " : " ip6 daddr ") + FormatIp(f.host) + " " +
                       f.proto + " dport " + FormatRange({f.first, f.last}) + " accept");
    }
}

void Forward(const Profile& p, Writer* w) {
    w->Comment(1, "Through the bridge.");
    w->Line(1, "chain forward {");
    w->Line(2, "type filter hook forward priority filter; policy drop;");
    w->Comment(2, "Other bridges of the box are not this profile's.");
    w->Line(2, "meta ibrname != " + p.br + " accept");
    SameSide(p, w);
    w->Comment(2, "VLAN-tagged frames (802.1Q, 802.1ad) between the sides: the rules below judge");
    w->Comment(2, "untagged frames only, and conntrack would track a tagged packet as if untagged.");
    w->Line(2, "ether type { 8021q, 8021ad } drop");
    Echo(p, w);
    w->Comment(2, "Replies, both ways; 'related' carries the ICMP errors of tracked connections.");
    w->Line(2, "ct state established,related accept");
    w->Line(2, "ct state invalid drop");
    w->Comment(2, "Both ways: ARP, and IPv6 neighbour discovery with router solicitations and");
    w->Comment(2, "advertisements (conntrack leaves all of them untracked).");
    w->Line(2, "ether type arp accept");
    w->Line(2, "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert } accept");
    w->Comment(2, "DHCP servers outside answering clients inside: a reply to a broadcast (IPv4) or");
    w->Comment(2, "multicast (IPv6) request is no reply to conntrack.");
    w->Line(2, p.out_to_in + " ether type ip udp sport 67 udp dport 68 accept");
    w->Line(2, p.out_to_in + " ether type ip6 udp sport 547 udp dport 546 accept");
    w->Comment(2, "inside " + From(p.bf.inside_line) + " to outside " + From(p.bf.outside_line) +
                      ": IPv4 and IPv6, new connections included");
    w->Line(2, p.in_to_out + " ether type { ip, ip6 } accept");
    Forwards(p, w);
    w->Comment(2, "Everything else: other ethertypes, and from outside what is no reply nor forward.");
    w->Line(2, "jump forward_extra");
    if (p.bf.log_drops) {
        w->Comment(2, "log-drops = yes " + From(p.bf.log_drops_line) +
                          ": to the kernel log (the console), rate-limited");
        w->Line(2, profile_text::LogDropStatement(kBridgeDropLogPrefix));
    }
    w->Line(1, "}");
    w->Blank();
    w->Line(1, "chain forward_extra {");
    w->Line(1, "}");
    w->Blank();
}

}  // namespace

std::string BridgeFilterRuleset(const Config& cfg) {
    if (!cfg.bridge_filter) return {};
    const BridgeFilterConfig& bf = *cfg.bridge_filter;
    const InterfaceConfig* bridge = cfg.FindRole(bf.bridge);
    if (!bridge || !bridge->IsBridge() || bridge->device.empty() || bf.inside.empty() || bf.outside.empty()) return {};
    Profile p{bf, *bridge, Quoted(bridge->device), ValueOrSet(QuotedAll(bf.inside)),
              ValueOrSet(QuotedAll(bf.outside)), "", ""};
    p.out_to_in = "iifname " + p.out_if + " oifname " + p.in_if;
    p.in_to_out = "iifname " + p.in_if + " oifname " + p.out_if;

    Writer w;
    Header(p, &w);
    w.Line(0, std::string("table bridge ") + kBridgeFilterTable + " {");
    Input(p, &w);
    Forward(p, &w);
    Output(p, &w);
    w.Line(0, "}");
    return w.Take();
}

void CheckBridgeNetfilter(const ReadinessInputs& in, Readiness* r) {
    if (!in.config->bridge_filter || !in.read_sysctl) return;
    std::vector<std::string> on;
    for (const char* key : {"net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables"}) {
        std::string v;
        if (!in.read_sysctl(key, &v) || SysctlValuesEqual(v, "0")) continue;
        while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
        on.push_back(std::string(key) + " = " + v);
    }
    const InterfaceConfig* br = in.config->FindRole(in.config->bridge_filter->bridge);
    const std::string dev = br ? br->device : in.config->bridge_filter->bridge;
    if (on.empty()) {
        r->fine.push_back("bridge-filter: what '" + dev +
                          "' forwards passes the bridge family's hooks only (br_netfilter is not loaded or passes "
                          "nothing on)");
        return;
    }
    r->warnings.push_back("bridge-filter: br_netfilter is loaded (" + Join(on, ", ") + "): what '" + dev +
                          "' forwards also passes the ip, ip6 and inet families' hooks, where a forward chain that "
                          "does not accept it (the gateway profile's does not) drops it and NAT rules may rewrite "
                          "it; set those keys to 0 in [sysctl], or unload br_netfilter");
}

}  // namespace haltfw
