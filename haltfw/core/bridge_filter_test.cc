// The bridge-filter profile: [bridge-filter] parsing and its errors (exact
// text), the generated nft text against golden files in
// tests/data/bridge-filter/ (the appliance's kernel checks each in nft's
// check mode: tests/guest/topology/bridge_filter.sh; this machine's kernel
// has no bridge conntrack), and check's br_netfilter warning.
//
// To regenerate the golden files after an intended change, run the unit tests
// with HALTFW_UPDATE_GOLDEN=1 and read the diff before committing it.
#include "core/bridge_filter.h"
#include "core/config_test_support.h"
#include "core/golden_test_support.h"

#include <catch2/catch.hpp>

#include <map>

#include "core/gateway.h"
#include "core/nft_load.h"
#include "core/readiness.h"

using namespace haltfw;

namespace {

// The bridge on lines 1-3; [bridge-filter] and anything else appended.
const char* kBridge = R"([interface.lan]
device = br0
bridge = eth0 eth1
)";

const char* kProfile = "[bridge-filter]\nbridge = lan\ninside = eth1\noutside = eth0\n";

}  // namespace

TEST_CASE("bridge-filter: the generated text matches the golden files exactly") {
    const char* names[] = {"minimal", "forwards", "quiet-log"};
    for (const char* name : names) {
        SECTION(name) {
            Config c = ParseValid(ReadTestData("bridge-filter", std::string(name) + ".conf"));
            std::string text = BridgeFilterRuleset(c);
            CheckGolden("bridge-filter", std::string(name) + ".nft", text);
            CHECK(RulesetProgram(c) == "flush ruleset\n" + text);
        }
    }
}

TEST_CASE("bridge-filter: parsed values and defaults") {
    Config c = ParseValid(std::string(kBridge) + R"([bridge-filter]
bridge = lan
inside = eth1
outside = eth0
forward = tcp 443 192.0.2.10
forward = udp 27015-27030 2001:db8:2::20
forward = tcp 443 192.0.2.11     # another host: no clash
)");
    REQUIRE(c.bridge_filter);
    const BridgeFilterConfig& bf = *c.bridge_filter;
    CHECK(bf.line == 4);
    CHECK(bf.bridge == "lan");
    CHECK(bf.bridge_line == 5);
    CHECK(bf.inside == std::vector<std::string>{"eth1"});
    CHECK(bf.inside_line == 6);
    CHECK(bf.outside == std::vector<std::string>{"eth0"});
    CHECK(bf.outside_line == 7);
    CHECK(bf.icmp);
    CHECK(bf.icmp_line == 0);
    CHECK_FALSE(bf.log_drops);
    CHECK(bf.log_drops_line == 0);
    REQUIRE(bf.forwards.size() == 3);
    CHECK(bf.forwards[0].proto == "tcp");
    CHECK(bf.forwards[0].first == 443);
    CHECK(bf.forwards[0].last == 443);
    CHECK(bf.forwards[0].to_port == 0);
    CHECK(FormatIp(bf.forwards[0].host) == "192.0.2.10");
    CHECK(bf.forwards[1].first == 27015);
    CHECK(bf.forwards[1].last == 27030);
    CHECK(FormatIp(bf.forwards[1].host) == "2001:db8:2::20");
    CHECK(bf.forwards[2].line == 10);
    CHECK(c.rule_files.empty());  // [bridge-filter] alone is a ruleset
    CHECK_FALSE(c.gateway);

    Config set = ParseValid(std::string(kBridge) + kProfile + "icmp = no\nlog-drops = yes\n");
    CHECK_FALSE(set.bridge_filter->icmp);
    CHECK(set.bridge_filter->icmp_line == 8);
    CHECK(set.bridge_filter->log_drops);
    CHECK(set.bridge_filter->log_drops_line == 9);
}

TEST_CASE("bridge-filter: a bridge routes nothing: no forwarding sysctls, unlike [gateway]") {
    Config c = ParseValid(std::string(kBridge) + kProfile);
    for (const SysctlSetting& s : c.sysctls) {
        INFO(s.key);
        CHECK(s.key != "net.ipv4.ip_forward");
        CHECK(s.key != "net.ipv6.conf.all.forwarding");
    }
}

TEST_CASE("bridge-filter: every bad key and value names its line") {
    auto e = ConfigErrors(std::string(kBridge) + R"([bridge-filter]
bridge = lan
inside = eth1
outside = eth0
bridge = lan
icmp = on
log-drops = sometimes
colour = blue
forward = tcp 80
forward = icmp 8 192.0.2.10
forward = tcp 0 192.0.2.10
forward = tcp 90-80 192.0.2.10
forward = tcp 80-x 192.0.2.10
forward = tcp 8080 192.0.2.10 80
forward = tcp 8080 192.0.2.300
forward = tcp 8080 224.0.0.1
forward = udp 5000-5010 192.0.2.10
forward = udp 5005 192.0.2.10
forward = udp 5005 192.0.2.11
forward = tcp 22 ff02::1
forward = tcp 22 ::
forward = tcp 22 2001:db8::1
forward = tcp 20-22 2001:db8::1
inside = eth1
forward = tcp 7 255.255.255.255
forward = tcp 7 127.0.0.1
forward = tcp 7 0.0.0.0
)");
    REQUIRE(e ==
            std::vector<std::string>{
                "haltfw.conf:8: 'bridge' given twice (first on line 5)",
                "haltfw.conf:9: [bridge-filter] icmp 'on': expected yes or no",
                "haltfw.conf:10: [bridge-filter] log-drops 'sometimes': expected yes or no",
                "haltfw.conf:11: unknown key 'colour' in [bridge-filter]",
                "haltfw.conf:12: [bridge-filter] forward 'tcp 80': expected 'PROTO PORT[-PORT] HOST'",
                "haltfw.conf:13: [bridge-filter] forward 'icmp 8 192.0.2.10': protocol 'icmp': expected tcp or udp",
                "haltfw.conf:14: [bridge-filter] forward 'tcp 0 192.0.2.10': port '0': not a port number (1 to 65535)",
                "haltfw.conf:15: [bridge-filter] forward 'tcp 90-80 192.0.2.10': ports '90-80': the first port must "
                "be below the last",
                "haltfw.conf:16: [bridge-filter] forward 'tcp 80-x 192.0.2.10': ports '80-x': expected FIRST-LAST, "
                "port numbers from 1 to 65535",
                "haltfw.conf:17: [bridge-filter] forward 'tcp 8080 192.0.2.10 80': a bridge translates nothing: give "
                "no second port (expected 'PROTO PORT[-PORT] HOST')",
                "haltfw.conf:18: [bridge-filter] forward 'tcp 8080 192.0.2.300': host '192.0.2.300': not an IPv4 or "
                "IPv6 address",
                "haltfw.conf:19: [bridge-filter] forward 'tcp 8080 224.0.0.1': host '224.0.0.1': not a host's address "
                "(unspecified, loopback, multicast or broadcast)",
                "haltfw.conf:21: [bridge-filter] forward 'udp 5005 192.0.2.10': udp port 5005 is already forwarded "
                "(line 20)",
                "haltfw.conf:23: [bridge-filter] forward 'tcp 22 ff02::1': host 'ff02::1': not a host's address "
                "(unspecified, loopback, multicast or broadcast)",
                "haltfw.conf:24: [bridge-filter] forward 'tcp 22 ::': host '::': not a host's address (unspecified, "
                "loopback, multicast or broadcast)",
                "haltfw.conf:26: [bridge-filter] forward 'tcp 20-22 2001:db8::1': tcp port 20-22 is already "
                "forwarded (line 25)",
                "haltfw.conf:27: 'inside' given twice (first on line 6)",
                "haltfw.conf:28: [bridge-filter] forward 'tcp 7 255.255.255.255': host '255.255.255.255': not a "
                "host's address (unspecified, loopback, multicast or broadcast)",
                "haltfw.conf:29: [bridge-filter] forward 'tcp 7 127.0.0.1': host '127.0.0.1': not a host's address "
                "(unspecified, loopback, multicast or broadcast)",
                "haltfw.conf:30: [bridge-filter] forward 'tcp 7 0.0.0.0': host '0.0.0.0': not a host's address "
                "(unspecified, loopback, multicast or broadcast)",
            });
}

TEST_CASE("bridge-filter: the bridge must be an invisible bridge of the config") {
    // No such role.
    CHECK(ConfigErrors(std::string(kBridge) + "[bridge-filter]\nbridge = nowhere\ninside = eth1\noutside = eth0\n") ==
          std::vector<std::string>{"haltfw.conf:5: [bridge-filter] bridge 'nowhere': no section [interface.nowhere]"});
    // A role that is no bridge.
    CHECK(ConfigErrors("[interface.lan]\ndevice = eth1\n[bridge-filter]\nbridge = lan\ninside = eth1\noutside = "
                       "eth0\n") ==
          std::vector<std::string>{"haltfw.conf:4: [bridge-filter] bridge 'lan': interface 'lan' is no bridge (it has "
                                   "no 'bridge =' line); the profile filters an invisible bridge"});
    // A bridge with an address: a routed LAN, not the invisible bridge.
    CHECK(ConfigErrors(std::string(kBridge) + "address = 192.0.2.1/24\n" + kProfile) ==
          std::vector<std::string>{
              "haltfw.conf:6: [bridge-filter] bridge 'lan': interface 'lan' has an address (line 4); the profile is "
              "for the invisible bridge, which has none (a bridge with an address is a routed LAN: see [gateway])"});
    // No keys at all; empty values.
    CHECK(ConfigErrors("[bridge-filter]\n") ==
          std::vector<std::string>{
              "haltfw.conf:1: [bridge-filter]: no 'bridge =' (the role of the invisible bridge's [interface.ROLE] "
              "section)",
              "haltfw.conf:1: [bridge-filter]: no 'inside =' (the bridge's ports on the protected side)",
              "haltfw.conf:1: [bridge-filter]: no 'outside =' (the bridge's ports on the other side)",
          });
    CHECK(ConfigErrors(std::string(kBridge) + "[bridge-filter]\nbridge =\ninside =\noutside = eth0 eth0\n") ==
          std::vector<std::string>{
              "haltfw.conf:5: [bridge-filter] bridge: empty role name",
              "haltfw.conf:6: [bridge-filter] inside: no port named",
              "haltfw.conf:7: [bridge-filter] outside: port 'eth0' listed twice",
          });
    CHECK(ConfigErrors(std::string(kBridge) + "[bridge-filter]\nbridge = lan br1\ninside = eth1\noutside = eth0\n") ==
          std::vector<std::string>{"haltfw.conf:5: [bridge-filter] bridge 'lan br1': one role only"});
}

TEST_CASE("bridge-filter: every port of the bridge on exactly one side") {
    const std::string three = "[interface.lan]\ndevice = br0\nbridge = eth0 eth1 eth2\n[bridge-filter]\nbridge = lan\n";
    // A port on both sides; a port of another bridge's name; a port on neither.
    CHECK(ConfigErrors(three + "inside = eth1 eth5\noutside = eth0 eth1\n") ==
          std::vector<std::string>{
              "haltfw.conf:6: [bridge-filter] inside 'eth5': not a port of bridge 'br0' (interface 'lan', line 3), "
              "whose ports are eth0 eth1 eth2",
              "haltfw.conf:7: [bridge-filter] outside 'eth1': also inside (line 6); a port is on one side only",
              "haltfw.conf:7: [bridge-filter] outside = eth0 eth1: one port only (between two outside ports an "
              "outside host could make a connection tracking entry that lets it in); put a switch in front of it",
              "haltfw.conf:5: [bridge-filter] bridge 'lan': port 'eth2' of bridge 'br0' (interface 'lan', line 3) is "
              "neither inside nor outside; every port is on one side",
          });
    // The bridge device itself is no port.
    CHECK(ConfigErrors(three + "inside = eth1 eth2 eth0\noutside = br0\n") ==
          std::vector<std::string>{
              "haltfw.conf:7: [bridge-filter] outside 'br0': not a port of bridge 'br0' (interface 'lan', line 3), "
              "whose ports are eth0 eth1 eth2"});
    // Two outside ports: the traffic between them would pass, and with it a
    // conntrack entry an outside host shapes to let itself in.
    CHECK(ConfigErrors(three + "inside = eth1\noutside = eth0 eth2\n") ==
          std::vector<std::string>{
              "haltfw.conf:7: [bridge-filter] outside = eth0 eth2: one port only (between two outside ports an "
              "outside host could make a connection tracking entry that lets it in); put a switch in front of it"});
    CHECK(ConfigErrors(three + "inside = eth1 eth2\noutside = eth0\n").empty());
}

TEST_CASE("bridge-filter: what the profile would cut off, and what may stand beside it") {
    // A VLAN of the box on the bridge: the profile lets nothing reach the box.
    CHECK(ConfigErrors(std::string(kBridge) + kProfile +
                       "[interface.mgmt]\ndevice = br0.9\nvlan = br0 9\naddress = 192.0.2.2/24\n") ==
          std::vector<std::string>{"haltfw.conf:5: [bridge-filter] bridge 'lan': interface 'mgmt' (line 10) is a VLAN "
                                   "on 'br0', and the profile lets nothing between the box and the bridge"});
    // The gateway's WAN cannot be the invisible bridge.
    const std::string lan = "[interface.office]\ndevice = eth2\naddress = 192.0.2.1/24\n";
    auto e =
        ConfigErrors(std::string(kBridge) + lan + kProfile + "[gateway]\nlan = office\nwan = lan\nmasquerade = no\n");
    REQUIRE_FALSE(e.empty());
    CHECK(e.back() == "haltfw.conf:8: [bridge-filter] bridge 'lan': also the [gateway] wan (line 13); the invisible "
                      "bridge has no address to route through");
    // A gateway between two other interfaces and an invisible bridge beside
    // it: two tables, one transaction.
    Config both = ParseValid(std::string(kBridge) + kProfile + R"([interface.wan]
device = eth2
address = 198.51.100.1/24
[interface.office]
device = eth3
address = 192.0.2.1/24
[gateway]
lan = office
wan = wan
[ruleset]
file = /etc/haltfw/extra.nft
)");
    std::string gw = GatewayRuleset(both), br = BridgeFilterRuleset(both);
    REQUIRE_FALSE(gw.empty());
    REQUIRE_FALSE(br.empty());
    CHECK(RulesetProgram(both) == "flush ruleset\n" + gw + br + "include \"/etc/haltfw/extra.nft\"\n");
    CHECK(DescribeRulesetSources(both) == "the gateway and bridge-filter profiles and 1 rules file");
    CHECK(DescribeRulesetSources(ParseValid(std::string(kBridge) + kProfile)) == "the bridge-filter profile");
}

TEST_CASE("bridge-filter: the chains: the box takes and sends nothing; sides and ports") {
    std::string t = BridgeFilterRuleset(ParseValid(std::string(kBridge) + kProfile));
    CHECK(t.find("table bridge bridge_filter {\n") != std::string::npos);
    CHECK(t.find("\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n") != std::string::npos);
    CHECK(t.find("\tchain output {\n\t\ttype filter hook output priority filter; policy drop;\n") != std::string::npos);
    CHECK(t.find("\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n") !=
          std::string::npos);
    CHECK(t.find("\t\tmeta ibrname != \"br0\" accept\n") != std::string::npos);
    CHECK(t.find("\t\tmeta obrname != \"br0\" accept\n") != std::string::npos);
    CHECK(t.find("\t\tiifname \"eth1\" oifname \"eth0\" ether type { ip, ip6 } accept\n") != std::string::npos);
    // One port a side: no same-side rule; the tagged drop precedes conntrack.
    CHECK(t.find("oifname \"eth1\" accept") == std::string::npos);
    CHECK(t.find("ether type { 8021q, 8021ad } drop") < t.find("ct state established,related accept"));
    CHECK(t.find("log") == std::string::npos);

    Config two = ParseValid("[interface.lan]\ndevice = br0\nbridge = eth0 eth1 eth2\n[bridge-filter]\nbridge = "
                            "lan\ninside = eth1 eth2\noutside = eth0\nlog-drops = yes\n");
    std::string u = BridgeFilterRuleset(two);
    CHECK(u.find("\t\tiifname { \"eth1\", \"eth2\" } oifname { \"eth1\", \"eth2\" } accept\n") != std::string::npos);
    CHECK(u.find("log prefix \"haltfw bridge drop: \" level warn\n\t}") != std::string::npos);
}

TEST_CASE("bridge-filter: a changed [bridge-filter] key changes the ruleset's input hash") {
    auto hash = [](const std::string& extra) {
        Config c = ParseValid(std::string(kBridge) + kProfile + extra);
        std::string h, err;
        REQUIRE(RulesetInputHash(c, &h, &err));
        return h;
    };
    CHECK(hash("") == hash(""));
    CHECK(hash("") != hash("icmp = no\n"));
    CHECK(hash("") != hash("forward = tcp 80 192.0.2.10\n"));
}

TEST_CASE("bridge-filter: check warns when br_netfilter passes bridged traffic to the IP hooks") {
    Config c = ParseValid(std::string(kBridge) + kProfile);
    std::map<std::string, std::string> sysctls;
    ReadinessInputs in;
    in.config = &c;
    in.read_sysctl = [&](const std::string& k, std::string* v) {
        auto it = sysctls.find(k);
        if (it == sysctls.end()) return false;
        *v = it->second;
        return true;
    };
    Readiness none;
    CheckBridgeNetfilter(in, &none);  // not loaded: the keys do not exist
    CHECK(none.warnings.empty());
    REQUIRE(none.fine.size() == 1);

    sysctls = {{"net.bridge.bridge-nf-call-iptables", "0\n"}, {"net.bridge.bridge-nf-call-ip6tables", "0\n"}};
    Readiness off;
    CheckBridgeNetfilter(in, &off);
    CHECK(off.warnings.empty());

    sysctls["net.bridge.bridge-nf-call-iptables"] = "1\n";
    Readiness on;
    CheckBridgeNetfilter(in, &on);
    CHECK(on.warnings == std::vector<std::string>{
                             "bridge-filter: br_netfilter is loaded (net.bridge.bridge-nf-call-iptables = 1): what "
                             "'br0' forwards also passes the ip, ip6 and inet families' hooks, where a forward chain "
                             "that does not accept it (the gateway profile's does not) drops it and NAT rules may "
                             "rewrite it; set those keys to 0 in [sysctl], or unload br_netfilter"});

    Config plain = ParseValid("[ruleset]\nfile = r.nft\n");
    in.config = &plain;
    Readiness without;
    CheckBridgeNetfilter(in, &without);
    CHECK(without.warnings.empty());
    CHECK(without.fine.empty());
}
