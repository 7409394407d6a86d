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
    const char* names[] = {"minimal", "forwards",  "ipv6",        "block-log",   "zones",
                           "fastpath", "vpn",  "vpn-isolate", "vpn-fastpath"};
    for (const char* name : names) {
        SECTION(name) {
            Config c = ParseValid(ReadTestData("gateway", std::string(name) + ".conf"));
            std::string text = GatewayRuleset(c);
            CheckGolden("gateway", std::string(name) + ".nft", text);
        }
    }
}

TEST_CASE("gateway: each golden config saved on Windows (CRLF and a byte order mark) gives the same program") {
    const char* names[] = {"minimal", "forwards",  "ipv6",        "block-log",   "zones",
                           "fastpath", "vpn",  "vpn-isolate", "vpn-fastpath"};
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

namespace {

// A WireGuard interface for `vpn =`, lines 8-12 after kInterfaces.
const char* kVpn = R"([interface.vpn]
device = wg0
wireguard-key = wg0.key
listen-port = 51820
address = 203.0.113.129/25
)";

}  // namespace

TEST_CASE("gateway: vpn: every bad role is refused with its line and why") {
    // kInterfaces: wan (eth0) on lines 1-3, lan (eth1) on 4-7; kVpn on 8-12.
    const std::string ifs = std::string(kInterfaces) + kVpn;
    CHECK(ConfigErrors(ifs + "[gateway]\nlan = lan\nwan = wan\nvpn = wan nobody vpn vpn\n") ==
          std::vector<std::string>{
              "haltfw.conf:16: [gateway] vpn: role 'vpn' listed twice",
              "haltfw.conf:16: [gateway] vpn 'wan': the WAN (wan =, line 15); a VPN zone is on the LAN side, and its "
              "port is opened on the WAN",
              "haltfw.conf:16: [gateway] vpn 'nobody': no section [interface.nobody]",
          });
    CHECK(ConfigErrors(ifs + "[gateway]\nlan = lan vpn\nwan = wan\nvpn = vpn\n") ==
          std::vector<std::string>{
              "haltfw.conf:16: [gateway] vpn 'vpn': also in lan (line 14); list a WireGuard interface in vpn only: "
              "vpn makes it a LAN zone and opens its port on the WAN",
          });
    CHECK(ConfigErrors(ifs + "[gateway]\nlan = vpn\nwan = wan\nvpn = lan\n") ==
          std::vector<std::string>{
              "haltfw.conf:16: [gateway] vpn 'lan': interface 'lan' is not a WireGuard interface (it has no "
              "'wireguard-key ='); for another LAN zone, list it in lan",
          });
    CHECK(ConfigErrors(ifs + "[gateway]\nlan = lan\nwan = wan\nvpn =\n") ==
          std::vector<std::string>{"haltfw.conf:16: [gateway] vpn: empty role name"});
}

TEST_CASE("gateway: vpn: the port must be known, one per device, and not forwarded") {
    // Line 11 is kVpn's listen-port.
    std::string no_port = std::string(kInterfaces) + kVpn;
    no_port.replace(no_port.find("listen-port = 51820\n"), 20, "# no listen-port\n");
    CHECK(ConfigErrors(no_port + "[gateway]\nlan = lan\nwan = wan\nvpn = vpn\n") ==
          std::vector<std::string>{
              "haltfw.conf:16: [gateway] vpn 'vpn': interface 'vpn' has no 'listen-port'; the profile opens the "
              "WireGuard port on the WAN and must know it (without one the kernel picks a port): give it "
              "'listen-port ='",
          });
    // A second device on the same port: the kernel would refuse it; lines 13-17.
    const std::string two = std::string(kInterfaces) + kVpn +
                            "[interface.vpn2]\ndevice = wg1\nwireguard-key = wg1.key\nlisten-port = 51820\n"
                            "address = 203.0.113.1/26\n";
    CHECK(ConfigErrors(two + "[gateway]\nlan = lan\nwan = wan\nvpn = vpn vpn2\n") ==
          std::vector<std::string>{
              "haltfw.conf:21: [gateway] vpn 'vpn2': listen-port 51820 (line 16) is also interface 'vpn''s (line 11); "
              "two WireGuard devices cannot listen on one port",
          });
    // An IPv4 forward of the port would take the tunnel's packets (dstnat
    // comes first); an IPv6 forward translates nothing and takes no port of
    // the box's.
    CHECK(ConfigErrors(std::string(kInterfaces) + kVpn +
                       "[gateway]\nlan = lan\nwan = wan\nvpn = vpn\nforward = udp 51000-52000 192.0.2.10\n"
                       "forward = udp 51820 2001:db8:2::10\nforward = tcp 51820 192.0.2.11\n") ==
          std::vector<std::string>{
              "haltfw.conf:17: [gateway] forward 'udp 51000-52000 192.0.2.10': udp port 51820 is the WireGuard port "
              "of vpn 'vpn' (listen-port on line 11), which the box must receive: forward another port",
          });
}

TEST_CASE("gateway: vpn: a VPN zone needs prefixes and carries no default route, as a LAN zone") {
    std::string no_addr = std::string(kInterfaces) + kVpn;
    no_addr.replace(no_addr.find("address = 203.0.113.129/25\n"), 27, "gateway = 203.0.113.130\n");
    CHECK(ConfigErrors(no_addr + "[gateway]\nlan = lan\nwan = wan\nvpn = vpn\n") ==
          std::vector<std::string>{
              "haltfw.conf:12: interface 'vpn': gateway '203.0.113.130' is outside every prefix configured on 'vpn'",
              "haltfw.conf:16: [gateway] vpn 'vpn': interface 'vpn' has no address; the profile needs the VPN's "
              "prefixes",
              "haltfw.conf:16: [gateway] vpn 'vpn': interface 'vpn' has the default route ('gateway' on line 12); the "
              "profile sends the VPN to the WAN",
          });
}

TEST_CASE("gateway: vpn: isolate takes VPN roles and refuses a role in neither list") {
    const std::string ifs = std::string(kInterfaces) + kVpn;
    CHECK(ConfigErrors(ifs + "[gateway]\nlan = lan\nwan = wan\nvpn = vpn\nisolate = vpn wan\n") ==
          std::vector<std::string>{
              "haltfw.conf:17: [gateway] isolate 'wan': not a LAN or VPN role (lan = lan, line 14; vpn = vpn, line 16)",
          });
    Config c = ParseValid(ifs + "[gateway]\nlan = lan\nwan = wan\nvpn = vpn\nisolate = vpn\n");
    CHECK(c.gateway->vpns == std::vector<std::string>{"vpn"});
    CHECK(c.gateway->vpn_line == 16);
    CHECK(c.gateway->isolate == std::vector<std::string>{"vpn"});
}

TEST_CASE("gateway: vpn: a peer's allowed IPs outside the VPN's prefixes get a warning") {
    // kVpn on lines 8-12 (203.0.113.128/25); the peer on 13-16.
    Diagnostics d;
    ParseConfig(std::string(kInterfaces) + kVpn +
                    "[peer.site]\ninterface = vpn\npublic-key = 3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08=\n"
                    "allowed-ips = 203.0.113.130/32, 203.0.113.0/25, 2001:db8:77::2/128\n"
                    "[gateway]\nlan = lan\nwan = wan\nvpn = vpn\n",
                "haltfw.conf", &d);
    INFO(d.FormatErrors());
    REQUIRE(d.ok());
    std::vector<std::string> got;
    for (const Diagnostic& w : d.warnings()) got.push_back(w.Format());
    CHECK(got == std::vector<std::string>{
                     "haltfw.conf:16: peer 'site': allowed-ips '203.0.113.0/25' is outside the prefixes of vpn 'vpn' "
                     "(203.0.113.128/25): the gateway profile drops what the peer sends from it as spoofed; give "
                     "[interface.vpn] an address or a route that covers it",
                     "haltfw.conf:16: peer 'site': allowed-ips '2001:db8:77::2/128' is outside the prefixes of vpn "
                     "'vpn' (203.0.113.128/25): the gateway profile drops what the peer sends from it as spoofed; give "
                     "[interface.vpn] an address or a route that covers it",
                 });
}

namespace {

// The chain `name` of `text`, from its line to its closing brace.
std::string Chain(const std::string& text, const std::string& name) {
    size_t from = text.find("\tchain " + name + " {\n");
    REQUIRE(from != std::string::npos);
    size_t to = text.find("\n\t}\n", from);
    REQUIRE(to != std::string::npos);
    return text.substr(from, to - from);
}

// `text` without its lines that contain `what`.
std::string Without(const std::string& text, const std::string& what) {
    std::string out, line;
    for (size_t at = 0; at < text.size();) {
        size_t nl = text.find('\n', at);
        line = text.substr(at, nl == std::string::npos ? std::string::npos : nl + 1 - at);
        if (line.find(what) == std::string::npos) out += line;
        at = nl == std::string::npos ? text.size() : nl + 1;
    }
    return out;
}

}  // namespace

TEST_CASE("gateway: vpn: the WAN's input gains the WireGuard ports and nothing else") {
    const std::string two = std::string(kInterfaces) + kVpn +
                            "[interface.vpn2]\ndevice = wg1\nwireguard-key = wg1.key\nlisten-port = 51821\n"
                            "address = 203.0.113.1/26\n";
    std::string with = GatewayRuleset(ParseValid(two + "[gateway]\nlan = lan\nwan = wan\nvpn = vpn vpn2\n"));
    std::string without = GatewayRuleset(ParseValid(two + "[gateway]\nlan = lan\nwan = wan\n"));
    std::string input = Chain(with, "input");
    CHECK(input.find("\t\t# vpn = vpn (line 21): WireGuard's port for wg0 (listen-port on line 11) from the WAN, IPv4 "
                     "and IPv6\n\t\tiifname \"eth0\" udp dport 51820 accept\n") != std::string::npos);
    CHECK(input.find("\t\t# vpn = vpn2 (line 21): WireGuard's port for wg1 (listen-port on line 16) from the WAN, "
                     "IPv4 and IPv6\n\t\tiifname \"eth0\" udp dport 51821 accept\n\t\tjump input_extra") !=
          std::string::npos);
    // Those four lines are all that differs in input; the WAN appears in no
    // other input rule.
    CHECK(Without(Without(input, "udp dport 5182"), "# vpn = vpn") == Chain(without, "input"));
    CHECK(Without(input, "udp dport 5182").find("eth0") == std::string::npos);
    // The VPN zones are LAN zones in forward and srcnat: to the WAN, and to
    // each other and the LAN.
    std::string fwd = Chain(with, "forward");
    CHECK(fwd.find("\t\tiifname { \"eth1\", \"wg0\", \"wg1\" } oifname \"eth0\" accept\n") != std::string::npos);
    CHECK(fwd.find("\t\tiifname { \"eth1\", \"wg0\", \"wg1\" } oifname { \"eth1\", \"wg0\", \"wg1\" } accept\n") !=
          std::string::npos);
    CHECK(with.find("elements = { 192.0.2.0/24, 203.0.113.0/26, 203.0.113.128/25 }") != std::string::npos);
    CHECK(Chain(with, "srcnat") == Chain(without, "srcnat"));  // @lan4 holds the VPN prefixes
    CHECK(Chain(with, "antispoof").find("\t\tiifname \"wg1\" ip saddr != 203.0.113.0/26 drop\n") != std::string::npos);
}

TEST_CASE("gateway: vpn: an isolated VPN zone gets the isolation rules, as an isolated LAN zone") {
    const std::string ifs = std::string(kInterfaces) + kVpn;
    std::string text = GatewayRuleset(ParseValid(ifs + "[gateway]\nlan = lan\nwan = wan\nvpn = vpn\nisolate = vpn\n"));
    CHECK(Chain(text, "input").find("\t\tiifname \"wg0\" drop\n") != std::string::npos);
    std::string fwd = Chain(text, "forward");
    CHECK(fwd.find("\t\tiifname \"wg0\" oifname { \"eth1\", \"wg0\" } ct status & dnat == 0 drop\n") != std::string::npos);
    CHECK(fwd.find("\t\tiifname { \"eth1\", \"wg0\" } oifname \"wg0\" ct status & dnat == 0 drop\n") != std::string::npos);
    CHECK(fwd.find("\t\tiifname { \"eth1\", \"wg0\" } oifname \"eth0\" accept\n") != std::string::npos);
    CHECK(fwd.find("not isolated") == std::string::npos);  // one zone left: no rule between zones
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
