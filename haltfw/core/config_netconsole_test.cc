// [halt] netconsole and netconsole-mac: parsing, the interface whose
// prefix holds the collector, and every refusal with its exact text.
#include <catch2/catch.hpp>

#include <algorithm>

#include "core/config.h"
#include "core/config_test_support.h"
#include "core/longevity.h"

namespace haltfw {
namespace {

// Two interfaces (lines 3-9), then [halt] from line 10.
const std::string kBase =
    "[ruleset]\nfile = r.nft\n"
    "[interface.wan]\ndevice = eth0\naddress = 198.51.100.1/24\n"
    "[interface.lan]\ndevice = eth1\naddress = 192.0.2.1/24\naddress = 2001:db8:1::1/64\n"
    "[halt]\n";

std::string WithHalt(const std::string& lines) { return kBase + lines; }

}  // namespace

TEST_CASE("[halt] netconsole: the collector's link gives the role and the source address") {
    Config c = ParseValid(WithHalt("netconsole = 192.0.2.10:6666\n"));
    REQUIRE(c.halt.netconsole);
    const NetconsoleSpec& nc = *c.halt.netconsole;
    CHECK(FormatIp(nc.remote) == "192.0.2.10");
    CHECK(nc.port == 6666);
    CHECK(nc.role == "lan");
    CHECK(FormatIp(nc.local) == "192.0.2.1");
    CHECK(nc.line == 11);
    CHECK_FALSE(nc.mac);
    // apply loads the module with the other [halt] modules, once.
    CHECK(std::count(c.halt.modules.begin(), c.halt.modules.end(), "netconsole") == 1);
    Config twice = ParseValid(WithHalt("modules = netconsole\nnetconsole = 192.0.2.10:6666\n"));
    CHECK(std::count(twice.halt.modules.begin(), twice.halt.modules.end(), "netconsole") == 1);

    Config v6 = ParseValid(WithHalt("netconsole = [2001:db8:1::10]:514\nnetconsole-mac = 52:54:00:aa:bb:cc\n"));
    REQUIRE(v6.halt.netconsole);
    CHECK(FormatIp(v6.halt.netconsole->remote) == "2001:db8:1::10");
    CHECK(FormatIp(v6.halt.netconsole->local) == "2001:db8:1::1");
    CHECK(v6.halt.netconsole->port == 514);
    REQUIRE(v6.halt.netconsole->mac);
    CHECK(FormatMac(*v6.halt.netconsole->mac) == "52:54:00:aa:bb:cc");

    Config wan = ParseValid(WithHalt("netconsole = 198.51.100.254:65535\n"));
    CHECK(wan.halt.netconsole->role == "wan");

    Config none = ParseValid(kBase);
    CHECK_FALSE(none.halt.netconsole);
    CHECK(std::count(none.halt.modules.begin(), none.halt.modules.end(), "netconsole") == 0);
}

TEST_CASE("[halt] netconsole: every bad value is an error naming its line") {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"netconsole = 192.0.2.10\n",
         "haltfw.conf:11: [halt] netconsole '192.0.2.10': expected IP:PORT (192.0.2.10:6666, or [2001:db8::10]:6666 "
         "for IPv6)"},
        {"netconsole = collector.example:6666\n",
         "haltfw.conf:11: [halt] netconsole 'collector.example:6666': 'collector.example': not an IPv4 or IPv6 "
         "address (an address, not a name: nothing resolves names for the kernel)"},
        {"netconsole = 192.0.2.10:0\n",
         "haltfw.conf:11: [halt] netconsole '192.0.2.10:0': port '0': not a port number (1 to 65535)"},
        {"netconsole = 192.0.2.10:65536\n",
         "haltfw.conf:11: [halt] netconsole '192.0.2.10:65536': port '65536': not a port number (1 to 65535)"},
        {"netconsole = 192.0.2.10:\n",
         "haltfw.conf:11: [halt] netconsole '192.0.2.10:': port '': not a port number (1 to 65535)"},
        {"netconsole = 2001:db8:1::10:6666\n",
         "haltfw.conf:11: [halt] netconsole '2001:db8:1::10:6666': an IPv6 address goes in brackets: [ADDRESS]:PORT"},
        {"netconsole = [2001:db8:1::10:6666\n",
         "haltfw.conf:11: [halt] netconsole '[2001:db8:1::10:6666': expected [IPV6-ADDRESS]:PORT"},
        {"netconsole = [192.0.2.10]:6666\n",
         "haltfw.conf:11: [halt] netconsole '[192.0.2.10]:6666': brackets are for an IPv6 address; write an IPv4 "
         "one as IP:PORT"},
        {"netconsole = 203.0.113.5:6666\n",
         "haltfw.conf:11: [halt] netconsole '203.0.113.5:6666': '203.0.113.5' is outside every prefix configured on "
         "the interfaces (netconsole reaches only a collector on the link of one of them)"},
        {"netconsole = 192.0.2.1:6666\n",
         "haltfw.conf:11: [halt] netconsole '192.0.2.1:6666': '192.0.2.1' is the box's own address (interface "
         "'lan'); give the collector's"},
        {"netconsole = 192.0.2.10:6666\nnetconsole-mac = 52:54:00:zz:00:01\n",
         "haltfw.conf:12: [halt] netconsole-mac '52:54:00:zz:00:01': not a MAC address"},
        {"netconsole-mac = 52:54:00:00:00:01\n",
         "haltfw.conf:11: [halt] netconsole-mac: no 'netconsole =' for it to go with"},
        {"netconsole = 192.0.2.10:6666\nnetconsole = 192.0.2.11:6666\n",
         "haltfw.conf:12: 'netconsole' given twice (first on line 11)"},
    };
    for (const auto& [lines, want] : cases) {
        INFO(lines);
        CHECK(ConfigErrors(WithHalt(lines)) == std::vector<std::string>{want});
    }
}

TEST_CASE("check: netconsole on the gateway's WAN warns, elsewhere a fine line says what it is") {
    const std::string gw = "[gateway]\nlan = lan\nwan = wan\n";
    Config c = ParseValid(kBase + "netconsole = 198.51.100.254:6666\n" + gw);
    ReadinessInputs in;
    in.config = &c;
    Readiness r;
    CheckNetconsole(in, &r);
    CHECK(r.warnings == std::vector<std::string>{
                            "netconsole: the kernel log goes out on the WAN to 198.51.100.254:6666 on 'wan' (eth0), in "
                            "cleartext and unauthenticated, and no rule stops it: the report, every logged drop (with "
                            "the addresses of the hosts involved), anything the kernel prints; put the collector on a "
                            "LAN"});
    CHECK(r.fine.empty());

    Config lan = ParseValid(kBase + "netconsole = 192.0.2.10:6666\n" + gw);
    in.config = &lan;
    r = Readiness{};
    CheckNetconsole(in, &r);
    CHECK(r.warnings.empty());
    CHECK(r.fine == std::vector<std::string>{"netconsole: the kernel log goes to 192.0.2.10:6666 on 'lan' (eth1) in "
                                             "cleartext, unauthenticated, past every rule (the kernel sends it below "
                                             "netfilter)"});

    Config off = ParseValid(kBase);
    in.config = &off;
    r = Readiness{};
    CheckNetconsole(in, &r);
    CHECK(r.warnings.empty());
    CHECK(r.fine.empty());
}

}  // namespace haltfw
