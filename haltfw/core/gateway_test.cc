// The gateway profile: [gateway] parsing and its errors (exact text), and the
// generated nft text against golden files in tests/data/gateway/ (each also
// goes through the real kernel's check mode: tests/netns/gateway_nft_check.sh).
//
// To regenerate the golden files after an intended change, run the unit tests
// with HALTFW_UPDATE_GOLDEN=1 and read the diff before committing it.
#include "core/gateway.h"
#include "core/config_test_support.h"
#include "core/golden_test_support.h"

#include <catch2/catch.hpp>

#include "core/nft_load.h"

using namespace haltfw;

namespace {

// Two interfaces; [gateway] and anything else appended by each test.
const char* kInterfaces = R"([interface.wan]
device = eth0
address = 198.51.100.1/24
[interface.lan]
device = eth1
address = 192.0.2.1/24
address = 2001:db8:2::1/64
)";

}  // namespace

TEST_CASE("gateway: the generated text matches the golden files exactly") {
    const char* names[] = {"minimal", "forwards", "ipv6", "block-log", "zones", "fastpath"};
    for (const char* name : names) {
        SECTION(name) {
            Config c = ParseValid(ReadTestData("gateway", std::string(name) + ".conf"));
            std::string text = GatewayRuleset(c);
            CheckGolden("gateway", std::string(name) + ".nft", text);
        }
    }
}

TEST_CASE("gateway: each golden config saved on Windows (CRLF and a byte order mark) gives the same program") {
    const char* names[] = {"minimal", "forwards", "ipv6", "block-log", "zones", "fastpath"};
    for (const char* name : names) {
        SECTION(name) {
            std::string lf = ReadTestData("gateway", std::string(name) + ".conf"), crlf = "\xEF\xBB\xBF";
            for (char c : lf) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
            REQUIRE(crlf.size() > lf.size() + 3);
            Config a = ParseValid(lf, "/etc/haltfw/haltfw.conf"), b = ParseValid(crlf, "/etc/haltfw/haltfw.conf");
            CHECK(GatewayRuleset(b) == ReadTestData("gateway", std::string(name) + ".nft"));
            CHECK(RulesetProgram(b) == RulesetProgram(a));
        }
    }
}

TEST_CASE("gateway: parsed values and defaults") {
    Config c = ParseValid(std::string(kInterfaces) + R"([gateway]
lan = lan
wan = wan
forward = tcp 8080 192.0.2.10 80
forward = udp 27015-27030 192.0.2.20
forward = tcp 8080 2001:db8:2::10   # a different family: no clash
block = smtp netbios
)");
    REQUIRE(c.gateway);
    const GatewayConfig& gw = *c.gateway;
    CHECK(gw.line == 8);
    CHECK(gw.lans == std::vector<std::string>{"lan"});
    CHECK(gw.wan_line == 10);
    CHECK(gw.masquerade);
    CHECK(gw.masquerade_line == 0);
    CHECK(gw.icmp);
    CHECK_FALSE(gw.log_drops);
    REQUIRE(gw.forwards.size() == 3);
    CHECK(gw.forwards[0].proto == "tcp");
    CHECK(gw.forwards[0].first == 8080);
    CHECK(gw.forwards[0].last == 8080);
    CHECK(gw.forwards[0].to_port == 80);
    CHECK(FormatIp(gw.forwards[0].host) == "192.0.2.10");
    CHECK(gw.forwards[1].first == 27015);
    CHECK(gw.forwards[1].last == 27030);
    CHECK(gw.forwards[1].to_port == 0);
    REQUIRE(gw.blocks.size() == 2);
    CHECK(gw.blocks[0].name == "smtp");
    CHECK(gw.blocks[1].line == 14);
    CHECK(c.rule_files.empty());  // [gateway] alone is a ruleset
}

TEST_CASE("gateway: forwarding is turned on unless [sysctl] says otherwise") {
    Config c = ParseValid(std::string(kInterfaces) + "[gateway]\nlan = lan\nwan = wan\n");
    // + accept_ra and autoconf for eth0 and eth1, + the two forwarding keys.
    REQUIRE(c.sysctls.size() == DefaultSysctls().size() + 4 + 2);
    CHECK(c.sysctls[c.sysctls.size() - 2].key == "net.ipv4.ip_forward");
    CHECK(c.sysctls[c.sysctls.size() - 2].value == "1");
    CHECK(c.sysctls.back().key == "net.ipv6.conf.all.forwarding");
    CHECK(c.sysctls.back().line == 0);

    Config off = ParseValid(std::string(kInterfaces) +
                            "[sysctl]\nnet.ipv6.conf.all.forwarding = 0\n[gateway]\nlan = lan\nwan = wan\n");
    REQUIRE(off.sysctls.size() == DefaultSysctls().size() + 4 + 2);
    CHECK(off.sysctls[DefaultSysctls().size()].key == "net.ipv6.conf.all.forwarding");
    CHECK(off.sysctls[DefaultSysctls().size()].value == "0");
    CHECK(off.sysctls.back().key == "net.ipv4.ip_forward");

    Config none = ParseValid("[ruleset]\nfile = r.nft\n");
    CHECK(none.sysctls.size() == DefaultSysctls().size());
}

TEST_CASE("gateway: every bad key and value names its line") {
    auto e = ConfigErrors(std::string(kInterfaces) + R"([gateway]
lan = lan
wan = wan
lan = wan
masquerade = maybe
icmp = on
log-drops = yes
log-drops = no
colour = blue
forward = tcp 8080
forward = icmp 8 192.0.2.10
forward = tcp 0 192.0.2.10
forward = tcp 90-80 192.0.2.10
forward = tcp 80-x 192.0.2.10
forward = tcp 8000-8010 192.0.2.10 80
forward = tcp 8080 192.0.2.300 80
forward = tcp 8080 192.0.2.10 99999
forward = tcp 443 2001:db8:2::10 8443
forward = udp 5000-5010 192.0.2.10
forward = udp 5005 192.0.2.11
forward = tcp 22 10.0.0.1
forward = tcp 23 192.0.2.1
block = netbios nfs
block = netbios
block =
)");
    REQUIRE(e ==
            std::vector<std::string>{
                "haltfw.conf:11: 'lan' given twice (first on line 9)",
                "haltfw.conf:12: [gateway] masquerade 'maybe': expected yes or no",
                "haltfw.conf:13: [gateway] icmp 'on': expected yes or no",
                "haltfw.conf:15: 'log-drops' given twice (first on line 14)",
                "haltfw.conf:16: unknown key 'colour' in [gateway]",
                "haltfw.conf:17: [gateway] forward 'tcp 8080': expected 'PROTO PORT[-PORT] LANHOST [PORT]'",
                "haltfw.conf:18: [gateway] forward 'icmp 8 192.0.2.10': protocol 'icmp': expected tcp or udp",
                "haltfw.conf:19: [gateway] forward 'tcp 0 192.0.2.10': WAN port '0': not a port number (1 to 65535)",
                "haltfw.conf:20: [gateway] forward 'tcp 90-80 192.0.2.10': WAN ports '90-80': the first port must be "
                "below the last",
                "haltfw.conf:21: [gateway] forward 'tcp 80-x 192.0.2.10': WAN ports '80-x': expected FIRST-LAST, port "
                "numbers from 1 to 65535",
                "haltfw.conf:22: [gateway] forward 'tcp 8000-8010 192.0.2.10 80': a WAN port range keeps its ports on "
                "the LAN host: give no LAN port",
                "haltfw.conf:23: [gateway] forward 'tcp 8080 192.0.2.300 80': LAN host '192.0.2.300': not an IPv4 or "
                "IPv6 address",
                "haltfw.conf:24: [gateway] forward 'tcp 8080 192.0.2.10 99999': LAN port '99999': not a port number (1 "
                "to 65535)",
                "haltfw.conf:25: [gateway] forward 'tcp 443 2001:db8:2::10 8443': IPv6 is forwarded untranslated: the "
                "LAN port must be the WAN port (or left out)",
                "haltfw.conf:27: [gateway] forward 'udp 5005 192.0.2.11': udp port 5005 is already forwarded (line 26)",
                "haltfw.conf:30: [gateway] block 'nfs': unknown service group (known: msrpc, netbios, smtp, telnet)",
                "haltfw.conf:31: [gateway] block 'netbios' given twice (first on line 30)",
                "haltfw.conf:32: [gateway] block: no service group named (known: msrpc, netbios, smtp, telnet)",
                "haltfw.conf:28: [gateway] forward 'tcp 22 10.0.0.1': LAN host '10.0.0.1' is outside the LAN's "
                "prefixes (192.0.2.0/24, 2001:db8:2::/64)",
                "haltfw.conf:29: [gateway] forward 'tcp 23 192.0.2.1': LAN host '192.0.2.1' is the box's own address; "
                "the box runs no services once halted",
            });
}

TEST_CASE("gateway: the roles must name two interfaces the profile can use") {
    CHECK(ConfigErrors(R"([interface.wan]
mac = 52:54:00:12:34:56
address = 2001:db8:1::1/64
[interface.lan]
device = eth1
address = 192.0.2.1/24
gateway = 192.0.2.254
route = 0.0.0.0/0 via 192.0.2.253
[gateway]
lan = lan
wan = wan
)") == std::vector<std::string>{
           "haltfw.conf:8: interface 'lan': route '0.0.0.0/0 via 192.0.2.253': a second IPv4 default route of metric 0 "
           "(the first: "
           "gateway '192.0.2.254' of interface 'lan', line 7); the kernel keeps one route per destination and metric: "
           "give them "
           "different metrics",
           "haltfw.conf:11: [gateway] wan 'wan': interface 'wan' is chosen by 'mac'; the profile's rules match "
           "interface names: give it 'device ='",
           "haltfw.conf:10: [gateway] lan 'lan': interface 'lan' has the default route ('gateway' on line 7); the "
           "profile sends the LAN to the WAN",
           "haltfw.conf:10: [gateway] lan 'lan': interface 'lan' has the default route ('route' on line 8); the "
           "profile sends the LAN to the WAN",
       });
    CHECK(
        ConfigErrors("[interface.a]\ndevice = eth0\naddress = 192.0.2.1/24\n[gateway]\nlan = a\nwan = a\n") ==
        std::vector<std::string>{
            "haltfw.conf:6: [gateway] wan 'a': the same interface as lan (line 5); the two sides need two interfaces"});
    CHECK(ConfigErrors(
              "[interface.wan]\ndevice = eth0\n[interface.lan]\ndevice = eth1\n[gateway]\nlan = lan\nwan = wan\n") ==
          std::vector<std::string>{"haltfw.conf:6: [gateway] lan 'lan': interface 'lan' has no address; the profile "
                                   "needs the LAN's prefixes"});
    CHECK(ConfigErrors("[gateway]\nlan = x\n") ==
          std::vector<std::string>{
              "haltfw.conf:2: [gateway] lan 'x': no section [interface.x]",
              "haltfw.conf:1: [gateway]: no 'wan =' (the role of the WAN's [interface.ROLE] section)",
          });
    CHECK(ConfigErrors("[gateway]\nwan =\n") ==
          std::vector<std::string>{
              "haltfw.conf:2: [gateway] wan: empty role name",
              "haltfw.conf:1: [gateway]: no 'lan =' (the role of the LAN's [interface.ROLE] section)",
          });
}

TEST_CASE("gateway: zones: every bad lan and isolate names its line") {
    const std::string ifs = std::string(kInterfaces) + "[interface.guest]\ndevice = guest0\n";
    // kInterfaces: wan (eth0) on lines 1-3, lan (eth1) on 4-7; guest on 8-9.
    CHECK(ConfigErrors(ifs + "[gateway]\nlan = lan guest lan\nwan = wan\nisolate = wan nobody guest guest\n") ==
          std::vector<std::string>{
              "haltfw.conf:11: [gateway] lan: role 'lan' listed twice",
              "haltfw.conf:13: [gateway] isolate: role 'guest' listed twice",
              "haltfw.conf:11: [gateway] lan 'guest': interface 'guest' has no address; the profile needs the LAN's "
              "prefixes",
              "haltfw.conf:13: [gateway] isolate 'wan': not a LAN role (lan = lan guest, line 11)",
              "haltfw.conf:13: [gateway] isolate 'nobody': not a LAN role (lan = lan guest, line 11)",
          });
    CHECK(ConfigErrors(ifs + "[gateway]\nlan = lan wan\nwan = wan\n") ==
          std::vector<std::string>{"haltfw.conf:12: [gateway] wan 'wan': the same interface as lan (line 11); the two "
                                   "sides need two interfaces"});
    CHECK(ConfigErrors(ifs + "[gateway]\nlan = lan\nwan = wan guest\nisolate =\n") ==
          std::vector<std::string>{"haltfw.conf:12: [gateway] wan 'wan guest': one role only",
                                   "haltfw.conf:13: [gateway] isolate: empty role name"});
    CHECK(ConfigErrors(ifs + "[gateway]\nlan = lan nowhere\nwan = wan\n") ==
          std::vector<std::string>{"haltfw.conf:11: [gateway] lan 'nowhere': no section [interface.nowhere]"});
}

TEST_CASE("gateway: zones: a forward's host may be in any LAN zone, and nowhere else") {
    const std::string ifs = std::string(kInterfaces) + "[interface.guest]\ndevice = guest0\naddress = 203.0.113.1/24\n";
    CHECK(ConfigErrors(ifs + "[gateway]\nlan = lan guest\nwan = wan\nisolate = guest\nforward = tcp 80 203.0.113.9\n"
                             "forward = tcp 81 192.0.2.9\nforward = tcp 82 198.51.100.9\n") ==
          std::vector<std::string>{"haltfw.conf:17: [gateway] forward 'tcp 82 198.51.100.9': LAN host "
                                   "'198.51.100.9' is outside the LAN's prefixes (192.0.2.0/24, 2001:db8:2::/64, "
                                   "203.0.113.0/24)"});
    CHECK(ConfigErrors(ifs + "[gateway]\nlan = lan guest\nwan = wan\nforward = tcp 82 198.51.100.9\n") ==
          std::vector<std::string>{"haltfw.conf:14: [gateway] forward 'tcp 82 198.51.100.9': LAN host "
                                   "'198.51.100.9' is outside the LAN's prefixes (192.0.2.0/24, 2001:db8:2::/64, "
                                   "203.0.113.0/24)"});
}

TEST_CASE("gateway: fastpath is on unless the file says no") {
    Config on = ParseValid(std::string(kInterfaces) + "[gateway]\nlan = lan\nwan = wan\n");
    Config off = ParseValid(std::string(kInterfaces) + "[gateway]\nlan = lan\nwan = wan\nfastpath = no\n");
    CHECK(on.gateway->fastpath);
    CHECK(on.gateway->fastpath_line == 0);
    CHECK_FALSE(off.gateway->fastpath);
    CHECK(off.gateway->fastpath_line == 11);
    std::string a = GatewayRuleset(on), b = GatewayRuleset(off);
    CHECK(a.find("flowtable fastpath {\n\t\thook ingress priority filter\n\t\tdevices = { \"eth1\", \"eth0\" }") !=
          std::string::npos);
    CHECK(a.find("ct state established meta l4proto { tcp, udp } flow add @fastpath\n") != std::string::npos);
    CHECK(b.find("flow") == std::string::npos);
    CHECK(ConfigErrors(std::string(kInterfaces) + "[gateway]\nlan = lan\nwan = wan\nfastpath = fast\nfastpath = no\n") ==
          std::vector<std::string>{"haltfw.conf:11: [gateway] fastpath 'fast': expected yes or no",
                                   "haltfw.conf:12: 'fastpath' given twice (first on line 11)"});
}

TEST_CASE("gateway: zones: one LAN role has no zone rules; isolated, it gets the isolation rules") {
    Config one = ParseValid(std::string(kInterfaces) + "[gateway]\nlan = lan\nwan = wan\n");
    Config spaced = ParseValid(std::string(kInterfaces) + "[gateway]\nlan =  lan \nwan = wan\nisolate = lan\n");
    std::string a = GatewayRuleset(one), b = GatewayRuleset(spaced);
    CHECK(a.find("isolate") == std::string::npos);
    CHECK(a.find("@lan4 drop") != std::string::npos);
    // An isolated single LAN: the same table plus the isolation rules.
    CHECK(b.find("iifname \"eth1\" drop") != std::string::npos);
    CHECK(b.find("iifname \"eth1\" oifname \"eth1\" ct status & dnat == 0 drop") != std::string::npos);
}

TEST_CASE("gateway: IPv4 forwards and masquerading need an IPv4 address on the WAN") {
    CHECK(ConfigErrors(R"([interface.wan]
device = eth0
address = 2001:db8:1::1/64
[interface.lan]
device = eth1
address = 192.0.2.1/24
[gateway]
lan = lan
wan = wan
forward = tcp 80 192.0.2.10
)") == std::vector<std::string>{
           "haltfw.conf:10: [gateway] forward 'tcp 80 192.0.2.10': interface 'wan' has no IPv4 address to forward from",
           "haltfw.conf:7: [gateway] masquerade: interface 'wan' has no IPv4 address to masquerade to (give it one, or "
           "'masquerade = no')",
       });
}

TEST_CASE("gateway: a config needs [gateway] or a rules file") {
    CHECK(ConfigErrors("[interface.lan]\ndevice = eth1\n") ==
          std::vector<std::string>{
              "haltfw.conf: no ruleset: add '[gateway]', '[bridge-filter]', or '[ruleset]' with at least one 'file ='"});
}

TEST_CASE("gateway: the program loads the profile first, then the rules files, in one transaction") {
    Config c = ParseValid(std::string(kInterfaces) +
                          "[ruleset]\nfile = /etc/haltfw/extra.nft\n[gateway]\nlan = lan\nwan = wan\n");
    std::string text = GatewayRuleset(c);
    REQUIRE_FALSE(text.empty());
    CHECK(RulesetProgram(c) == "flush ruleset\n" + text + "include \"/etc/haltfw/extra.nft\"\n");

    Config plain = ParseValid("[ruleset]\nfile = /etc/haltfw/rules.nft\n");
    CHECK(GatewayRuleset(plain).empty());
    CHECK(RulesetProgram(plain) == "flush ruleset\ninclude \"/etc/haltfw/rules.nft\"\n");
}

TEST_CASE("gateway: a changed [gateway] key changes the ruleset's input hash") {
    auto hash = [](const std::string& gateway) {
        Config c = ParseValid(std::string(kInterfaces) + "[gateway]\nlan = lan\nwan = wan\n" + gateway);
        std::string h, err;
        REQUIRE(RulesetInputHash(c, &h, &err));
        return h;
    };
    CHECK(hash("") == hash(""));
    CHECK(hash("") != hash("icmp = no\n"));
}

TEST_CASE("gateway: LAN prefixes are the interface's networks and routes, minimal and sorted") {
    Config c = ParseValid(R"([interface.lan]
device = eth1
address = 2001:db8:2::1/64
address = 192.0.2.129/25
address = 192.0.2.1/24
address = 192.0.2.2/24
route = 0.0.0.0/0 via 192.0.2.254
route = 198.51.100.0/24 via 192.0.2.254
route = 2001:db8:2:0:8000::/65 via 2001:db8:2::fe
[ruleset]
file = r.nft
)");
    std::vector<std::string> got;
    for (const Prefix& p : LanPrefixes(c.interfaces[0])) got.push_back(FormatPrefix(p));
    CHECK(got == std::vector<std::string>{"192.0.2.0/24", "198.51.100.0/24", "2001:db8:2::/64"});
}

TEST_CASE("gateway: service groups") {
    CHECK(ServiceGroupNames() == "msrpc, netbios, smtp, telnet");
    const ServiceGroup* g = FindServiceGroup("netbios");
    REQUIRE(g);
    REQUIRE(g->tcp.size() == 2);
    CHECK(g->tcp[0].first == 137);
    CHECK(g->tcp[0].last == 139);
    CHECK(g->tcp[1].first == 445);
    REQUIRE(g->udp.size() == 1);
    CHECK(g->udp[0].last == 139);
    CHECK(FindServiceGroup("nfs") == nullptr);
}
