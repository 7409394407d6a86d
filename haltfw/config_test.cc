#include "config.h"
#include "config_test_support.h"

#include <catch2/catch.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>

using namespace haltfw;

namespace {


const char* kGood = R"(# a two-interface gateway
[ruleset]
file = /etc/haltfw/rules.nft
file = extra.nft

[interface.wan]
device = eth0
address = 198.51.100.1/24
address = 2001:db8:1::1/64
gateway = 198.51.100.254
gateway6 = 2001:db8:1::fffe
route = 203.0.113.0/24 via 198.51.100.253 metric 10
mtu = 1500

[interface.lan]
mac = 52:54:00:12:34:56
address = 192.0.2.1/24   # the LAN

[sysctl]
net.ipv4.ip_forward = 1
net.ipv4.conf.all.rp_filter = 2

[halt]
modules = nf_conntrack_ftp nf_nat_ftp
ctrl-alt-del = reboot
sysrq = 16
)";

}  // namespace

TEST_CASE("a complete config parses into plain values") {
    Diagnostics d;
    Config c = ParseConfig(kGood, "/etc/haltfw/haltfw.conf", &d);
    REQUIRE(d.ok());
    REQUIRE(c.rule_files.size() == 2);
    CHECK(c.rule_files[0].path == "/etc/haltfw/rules.nft");
    CHECK(c.rule_files[1].path == "/etc/haltfw/extra.nft");  // relative to the config's directory
    CHECK(c.rule_files[1].line == 4);

    REQUIRE(c.interfaces.size() == 2);
    const InterfaceConfig& wan = c.interfaces[0];
    CHECK(wan.role == "wan");
    CHECK(wan.device == "eth0");
    REQUIRE(wan.addresses.size() == 2);
    CHECK(FormatPrefix(wan.addresses[1].prefix) == "2001:db8:1::1/64");
    REQUIRE(wan.gateway);
    CHECK(FormatIp(wan.gateway->prefix.addr) == "198.51.100.254");
    REQUIRE(wan.gateway6);
    REQUIRE(wan.routes.size() == 1);
    CHECK(FormatPrefix(wan.routes[0].dst) == "203.0.113.0/24");
    CHECK(wan.routes[0].metric == 10);
    CHECK(wan.mtu == 1500u);

    const InterfaceConfig* lan = c.FindRole("lan");
    REQUIRE(lan);
    REQUIRE(lan->mac);
    CHECK(FormatMac(*lan->mac) == "52:54:00:12:34:56");
    CHECK(lan->addresses[0].line == 17);
    CHECK(lan->Describe() == "'lan' (mac 52:54:00:12:34:56)");

    CHECK(c.halt.modules == std::vector<std::string>{"nf_conntrack_ftp", "nf_nat_ftp"});
    CHECK(c.halt.ctrl_alt_del == CtrlAltDel::kReboot);
    CHECK(c.halt.sysrq == 16);
}

TEST_CASE("sysctls: safe defaults first, a file setting overrides one in place") {
    Diagnostics d;
    Config c = ParseConfig(kGood, "haltfw.conf", &d);
    REQUIRE(d.ok());
    // The defaults, the file's ip_forward, then RAs off for the one device
    // named by 'device' (lan is chosen by MAC: no name to give).
    REQUIRE(c.sysctls.size() == DefaultSysctls().size() + 1 + 2);
    CHECK(c.sysctls[0].key == "net.ipv4.conf.all.rp_filter");
    CHECK(c.sysctls[0].value == "2");
    CHECK(c.sysctls[0].line == 21);
    CHECK(c.sysctls[2].key == "net.ipv4.tcp_syncookies");
    CHECK(c.sysctls[2].line == 0);  // built in
    size_t n = DefaultSysctls().size();
    CHECK(c.sysctls[n].key == "net.ipv4.ip_forward");
    CHECK(c.sysctls[n + 1].key == "net.ipv6.conf.eth0.accept_ra");
    CHECK(c.sysctls[n + 1].value == "0");
    CHECK(c.sysctls[n + 1].line == 0);
    CHECK(c.sysctls[n + 2].key == "net.ipv6.conf.eth0.autoconf");
}

TEST_CASE("sysctls: router advertisements off per device, a dot in the name escaped, a file setting kept") {
    Diagnostics d;
    Config c = ParseConfig("[ruleset]\nfile = r.nft\n[interface.v]\ndevice = eth0.100\n"
                           "[sysctl]\nnet.ipv6.conf.eth0/100.accept_ra = 2\n",
                           "haltfw.conf", &d);
    REQUIRE(d.ok());
    std::map<std::string, std::pair<std::string, int>> byKey;
    for (const SysctlSetting& s : c.sysctls) byKey[s.key] = {s.value, s.line};
    CHECK(byKey["net.ipv6.conf.eth0/100.accept_ra"] == std::make_pair(std::string("2"), 6));
    CHECK(byKey["net.ipv6.conf.eth0/100.autoconf"] == std::make_pair(std::string("0"), 0));
    CHECK(byKey["net.ipv6.conf.all.accept_ra"] == std::make_pair(std::string("0"), 0));
}

TEST_CASE("every error in a file is reported, each with its line") {
    auto e = ConfigErrors(R"([ruleset]
file = rules.nft
colour = blue

[interface.wan]
device = eth0
address = 198.51.100.1/33
gateway = 203.0.113.1

[interface.lan]
device = eth0
address = 198.51.100.7/25

[interface.dmz]
address = 203.0.113.1/24

[bogus]
x = 1
)");
    REQUIRE(e == std::vector<std::string>{
                     "haltfw.conf:17: unknown section [bogus]",
                     "haltfw.conf:3: unknown key 'colour' in [ruleset]",
                     "haltfw.conf:7: interface 'wan': address '198.51.100.1/33': prefix length out of range",
                     "haltfw.conf:8: interface 'wan': gateway '203.0.113.1' is outside every prefix configured on 'wan'",
                     "haltfw.conf:14: interface 'dmz': needs 'device' or 'mac'",
                     "haltfw.conf:10: interface 'lan': device 'eth0' is already used by interface 'wan' (line 5)",
                 });
}

TEST_CASE("overlapping addresses across interfaces are refused") {
    auto e = ConfigErrors(R"([ruleset]
file = r.nft
[interface.a]
device = eth0
address = 192.0.2.1/24
[interface.b]
device = eth1
address = 192.0.2.129/25
address = 2001:db8::1/64
[interface.c]
device = eth2
address = 2001:db8::2/48
)");
    REQUIRE(e == std::vector<std::string>{
                     "haltfw.conf:8: interface 'b': address '192.0.2.129/25' overlaps '192.0.2.1/24' of interface 'a' (line 5)",
                     "haltfw.conf:12: interface 'c': address '2001:db8::2/48' overlaps '2001:db8::1/64' of interface 'b' (line 9)",
                 });
}

TEST_CASE("two addresses in one subnet on one interface are fine; the same one twice is not") {
    auto e = ConfigErrors(R"([ruleset]
file = r.nft
[interface.lan]
device = eth1
address = 192.0.2.1/24
address = 192.0.2.2/24
address = 192.0.2.1/24
)");
    REQUIRE(e == std::vector<std::string>{"haltfw.conf:7: interface 'lan': address '192.0.2.1/24' given twice (first on line 5)"});
}

TEST_CASE("bad values name the key, the value and the reason") {
    auto e = ConfigErrors(R"([ruleset]
file = r.nft
[interface.wan]
device = eth0
device = eth9
mac = 52:54:00:zz:34:56
address = 198.51.100.1
address = banana/24
gateway = 2001:db8::1
mtu = 40
route = 203.0.113.5/24 via 198.51.100.2
route = 203.0.113.0/24 via 192.0.2.1
route = 203.0.113.0/24 gateway 198.51.100.2
[sysctl]
kernel.modprobe = /bin/sh
net.ipv4.ip_forward =
[halt]
ctrl-alt-del = sometimes
sysrq = 1000
modules = nf_nat_ftp bad/name
)");
    REQUIRE(e == std::vector<std::string>{
                     "haltfw.conf:5: 'device' given twice (first on line 4)",
                     "haltfw.conf:6: interface 'wan': mac '52:54:00:zz:34:56': not a MAC address",
                     "haltfw.conf:7: interface 'wan': address '198.51.100.1': missing prefix length",
                     "haltfw.conf:8: interface 'wan': address 'banana/24': not an IPv4 or IPv6 address",
                     "haltfw.conf:9: interface 'wan': gateway '2001:db8::1': not an IPv4 address (use gateway6 for IPv6)",
                     "haltfw.conf:10: interface 'wan': mtu '40': not a number from 68 to 65535",
                     "haltfw.conf:11: interface 'wan': route '203.0.113.5/24 via 198.51.100.2': destination has host bits set (did you mean 203.0.113.0/24?)",
                     "haltfw.conf:13: interface 'wan': route '203.0.113.0/24 gateway 198.51.100.2': unknown word 'gateway' (expected 'via' or 'metric')",
                     "haltfw.conf:15: sysctl 'kernel.modprobe': only keys under net.* can be set",
                     "haltfw.conf:16: sysctl 'net.ipv4.ip_forward': empty value",
                     "haltfw.conf:18: [halt] ctrl-alt-del 'sometimes': expected ignore, reboot or poweroff",
                     "haltfw.conf:19: [halt] sysrq '1000': not a number from 0 to 511",
                     "haltfw.conf:20: [halt] modules: 'bad/name' is not a module name",
                     "haltfw.conf:12: interface 'wan': route '203.0.113.0/24 via 192.0.2.1': via '192.0.2.1' is outside every prefix configured on 'wan'",
                 });
}

TEST_CASE("syntax errors and a missing ruleset") {
    auto e = ConfigErrors("just words\n[interface.x\n= 1\nkey = v\n[interface.bad name]\n");
    REQUIRE(e == std::vector<std::string>{
                     "haltfw.conf:1: expected 'key = value' or '[section]', got 'just words'",
                     "haltfw.conf:2: unclosed section header '[interface.x'",
                     "haltfw.conf:3: missing key before '='",
                     "haltfw.conf:5: section [interface.bad name]: role name 'bad name' may hold only letters, digits, '-' and '_'",
                     "haltfw.conf:4: 'key' outside any section",
                     "haltfw.conf: no ruleset: add '[gateway]', or '[ruleset]' with at least one 'file ='",
                 });
}

TEST_CASE("a '#' inside a word is not a comment") {
    Diagnostics d;
    Config c = ParseConfig("[ruleset]\nfile = rules#1.nft # the rules\n", "/x/haltfw.conf", &d);
    REQUIRE(d.ok());
    CHECK(c.rule_files[0].path == "/x/rules#1.nft");
}

TEST_CASE("LoadConfig reports an unreadable file and an unreadable rules file") {
    Diagnostics d;
    LoadConfig("/nonexistent/haltfw.conf", &d);
    REQUIRE(d.errors().size() == 1);
    CHECK(d.errors()[0].Format() == "/nonexistent/haltfw.conf: cannot read: No such file or directory");

    char dir[] = "/tmp/haltfw-config-test-XXXXXX";
    REQUIRE(mkdtemp(dir));
    std::string conf = std::string(dir) + "/haltfw.conf";
    FILE* f = fopen(conf.c_str(), "w");
    REQUIRE(f);
    fputs("[ruleset]\nfile = missing.nft\n", f);
    fclose(f);
    Diagnostics d2;
    LoadConfig(conf, &d2);
    std::remove(conf.c_str());
    rmdir(dir);
    REQUIRE(d2.errors().size() == 1);
    CHECK(d2.errors()[0].Format() ==
          conf + ":2: [ruleset] file '" + dir + "/missing.nft': cannot read: No such file or directory");
}
