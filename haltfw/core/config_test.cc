#include "core/config.h"
#include "core/config_test_support.h"

#include <catch2/catch.hpp>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>

#include "base/scratch_dir_test_support.h"

using namespace haltfw;

namespace {

// Why a kernel.* key that is not a panic setting is refused (net/sysctl.h).
const std::string kKernelWhy =
    "under kernel.* only the panic settings can be set (kernel.panic, kernel.panic_on_oops, kernel.panic_on_warn, "
    "kernel.unknown_nmi_panic, kernel.panic_on_unrecovered_nmi, kernel.panic_on_io_nmi, kernel.softlockup_panic, "
    "kernel.hung_task_panic)";

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
    Config c = ParseValid(kGood, "/etc/haltfw/haltfw.conf");
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
    CHECK(c.halt.ctrl_alt_del == CtrlAltDelAction::kReboot);
    CHECK(c.halt.sysrq == 16);
}

TEST_CASE("sysctls: safe defaults first, a file setting overrides one in place") {
    Config c = ParseValid(kGood);
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
    Config c = ParseValid("[ruleset]\nfile = r.nft\n[interface.v]\ndevice = eth0.100\n"
                          "[sysctl]\nnet.ipv6.conf.eth0/100.accept_ra = 2\n");
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
    REQUIRE(e ==
            std::vector<std::string>{
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
    REQUIRE(
        e ==
        std::vector<std::string>{
            "haltfw.conf:8: interface 'b': address '192.0.2.129/25' overlaps '192.0.2.1/24' of interface 'a' (line 5)",
            "haltfw.conf:12: interface 'c': address '2001:db8::2/48' overlaps '2001:db8::1/64' of interface 'b' (line "
            "9)",
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
    REQUIRE(e == std::vector<std::string>{
                     "haltfw.conf:7: interface 'lan': address '192.0.2.1/24' given twice (first on line 5)"});
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
    REQUIRE(e ==
            std::vector<std::string>{
                "haltfw.conf:5: 'device' given twice (first on line 4)",
                "haltfw.conf:6: interface 'wan': mac '52:54:00:zz:34:56': not a MAC address",
                "haltfw.conf:7: interface 'wan': address '198.51.100.1': missing prefix length",
                "haltfw.conf:8: interface 'wan': address 'banana/24': not an IPv4 or IPv6 address",
                "haltfw.conf:9: interface 'wan': gateway '2001:db8::1': not an IPv4 address (use gateway6 for IPv6)",
                "haltfw.conf:10: interface 'wan': mtu '40': not a number from 68 to 65535",
                "haltfw.conf:11: interface 'wan': route '203.0.113.5/24 via 198.51.100.2': destination has host bits "
                "set (did you mean 203.0.113.0/24?)",
                "haltfw.conf:13: interface 'wan': route '203.0.113.0/24 gateway 198.51.100.2': unknown word 'gateway' "
                "(expected 'via' or 'metric')",
                "haltfw.conf:15: sysctl 'kernel.modprobe': " + kKernelWhy,
                "haltfw.conf:16: sysctl 'net.ipv4.ip_forward': empty value",
                "haltfw.conf:18: [halt] ctrl-alt-del 'sometimes': expected ignore, reboot or poweroff",
                "haltfw.conf:19: [halt] sysrq '1000': not a number from 0 to 511",
                "haltfw.conf:20: [halt] modules: 'bad/name' is not a module name",
                "haltfw.conf:12: interface 'wan': route '203.0.113.0/24 via 192.0.2.1': via '192.0.2.1' is outside "
                "every prefix configured on 'wan'",
            });
}

TEST_CASE("syntax errors and a missing ruleset") {
    auto e = ConfigErrors("just words\n[interface.x\n= 1\nkey = v\n[interface.bad name]\n");
    REQUIRE(e == std::vector<std::string>{
                     "haltfw.conf:1: expected 'key = value' or '[section]', got 'just words'",
                     "haltfw.conf:2: unclosed section header '[interface.x'",
                     "haltfw.conf:3: missing key before '='",
                     "haltfw.conf:5: section [interface.bad name]: role name 'bad name' may hold only letters, digits, "
                     "'-' and '_'",
                     "haltfw.conf:4: 'key' outside any section",
                     "haltfw.conf: no ruleset: add '[gateway]', '[bridge-filter]', or '[ruleset]' with at least one 'file ='",
                 });
}

TEST_CASE("a '#' inside a word is not a comment") {
    Config c = ParseValid("[ruleset]\nfile = rules#1.nft # the rules\n", "/x/haltfw.conf");
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

// ---- hostile input ----

namespace {

std::vector<std::string> LoadErrors(const std::string& path) {
    Diagnostics d;
    LoadConfig(path, &d);
    return FormattedErrors(d);
}

const std::string kKeyChars = "(letters, digits, '_', '-', '@', '+', and '/' for a '.' in an interface name)";

}  // namespace

TEST_CASE("sysctl keys that are paths, not net.* names, are config errors naming the line") {
    auto e = ConfigErrors(std::string("[ruleset]\nfile = r.nft\n[sysctl]\n") +
                          "net.//.kernel.hostname = x\n"          // 4: '//' is '..' once '/' is '.'
                          "net./.ipv4.ip_forward = 1\n"           // 5
                          "net..ipv4.ip_forward = 1\n"            // 6
                          "net.ipv4.ip_forward. = 1\n"            // 7
                          "net.ipv4/../../kernel/modprobe = x\n"  // 8: no '.' may appear inside a component
                          "kernel.modprobe = /bin/sh\n"           // 9
                          "net.ipv4.conf.eth0:1.rp_filter = 1\n"  // 10
                          "net.ipv4.a\x1b[2J = 1\n");             // 11
    REQUIRE(e ==
            std::vector<std::string>{
                "haltfw.conf:4: sysctl 'net.//.kernel.hostname': component '//' would be '..' (a '/' stands for a '.' "
                "in an interface name)",
                "haltfw.conf:5: sysctl 'net./.ipv4.ip_forward': component '/' would be '.' (a '/' stands for a '.' in "
                "an interface name)",
                "haltfw.conf:6: sysctl 'net..ipv4.ip_forward': empty component",
                "haltfw.conf:7: sysctl 'net.ipv4.ip_forward.': empty component",
                "haltfw.conf:8: sysctl 'net.ipv4/../../kernel/modprobe': empty component",
                "haltfw.conf:9: sysctl 'kernel.modprobe': " + kKernelWhy,
                "haltfw.conf:10: sysctl 'net.ipv4.conf.eth0:1.rp_filter': character ':' is not allowed " + kKeyChars,
                "haltfw.conf:11: sysctl 'net.ipv4.a\\x1b[2J': character '\\x1b' is not allowed " + kKeyChars,
            });
}

TEST_CASE("sysctl values: kept in the kernel's form; octal look-alikes and control bytes refused") {
    Config c = ParseValid(
        "[ruleset]\nfile = r.nft\n[sysctl]\nnet.ipv4.ip_forward = 01\nnet.ipv4.tcp_rmem = 4096  87380 \t 6291456\n"
        "net.ipv4.tcp_fin_timeout = 0x1e\nnet.ipv4.tcp_congestion_control = cubic\n");
    std::map<std::string, std::string> v;
    for (const SysctlSetting& s : c.sysctls) v[s.key] = s.value;
    CHECK(v["net.ipv4.ip_forward"] == "1");
    CHECK(v["net.ipv4.tcp_rmem"] == "4096\t87380\t6291456");
    CHECK(v["net.ipv4.tcp_fin_timeout"] == "30");
    CHECK(v["net.ipv4.tcp_congestion_control"] == "cubic");

    auto e = ConfigErrors(
        "[ruleset]\nfile = r.nft\n[sysctl]\nnet.ipv4.ip_forward = 010\nnet.ipv4.tcp_fin_timeout = 09\n"
        "net.core.somaxconn = 1\x01\nnet.ipv4.ip_forward = 1\nnet.ipv4.tcp_syncookies =\n");
    REQUIRE(e == std::vector<std::string>{
                     "haltfw.conf:4: sysctl 'net.ipv4.ip_forward': value '010': the kernel reads a number with a "
                     "leading 0 as octal ('010' is 8): write it without the 0",
                     "haltfw.conf:5: sysctl 'net.ipv4.tcp_fin_timeout': value '09': the kernel reads a number with a "
                     "leading 0 as octal ('09' is not octal): write it without the 0",
                     "haltfw.conf:6: sysctl 'net.core.somaxconn': value '1\\x01': control byte '\\x01' (words are "
                     "separated by spaces or tabs)",
                     "haltfw.conf:8: sysctl 'net.ipv4.tcp_syncookies': empty value",
                 });
}

TEST_CASE("100,000 sysctl keys: a repeat still names the first line") {
    std::string text = "[ruleset]\nfile = r.nft\n[sysctl]\n";
    for (int i = 0; i < 100000; ++i) text += "net.ipv4.conf.d" + std::to_string(i) + ".rp_filter = 1\n";
    text += "net.ipv4.conf.d7.rp_filter = 2\n";
    auto e = ConfigErrors(text);
    REQUIRE(e == std::vector<std::string>{
                     "haltfw.conf:100004: sysctl 'net.ipv4.conf.d7.rp_filter' given twice (first on line 11)"});
}

TEST_CASE("messages quote at most 80 bytes of a value, control bytes escaped") {
    std::string line(10 << 20, 'A');
    auto e = ConfigErrors("[ruleset]\nfile = r.nft\n" + line + "\n\x1b]0;owned\x07\\\n[\xff\xfe\n");
    REQUIRE(e.size() == 3);
    CHECK(e[0] == "haltfw.conf:3: expected 'key = value' or '[section]', got '" + std::string(80, 'A') +
                      "'... (10485760 bytes)");
    CHECK(e[1] == "haltfw.conf:4: expected 'key = value' or '[section]', got '\\x1b]0;owned\\x07\\x5c'");
    CHECK(e[2] == "haltfw.conf:5: not UTF-8: '[\\xff\\xfe'");

    auto e2 = ConfigErrors(
        "[ruleset]\nfile = r.nft\n[\x1b[31mred]\nx = 1\n[interface.wan]\ndevice = " + std::string(100, 'e') + "\n");
    REQUIRE(e2.size() == 2);
    CHECK(e2[0] == "haltfw.conf:3: unknown section [\\x1b[31mred]");
    CHECK(e2[1] == "haltfw.conf:6: interface 'wan': device '" + std::string(80, 'e') +
                       "'... (100 bytes): not a valid interface name");
}

TEST_CASE("the config must be a regular file of at most 64 MiB") {
    ScratchDir s("config-test");
    REQUIRE_FALSE(s.path.empty());
    // A FIFO: the O_PATH look means no open() that waits for a writer.
    std::string fifo = s.path + "/fifo.conf";
    REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(LoadErrors(fifo) == std::vector<std::string>{fifo + ": not a regular file (a FIFO)"});
    CHECK(LoadErrors(s.path) == std::vector<std::string>{s.path + ": not a regular file (a directory)"});
    CHECK(LoadErrors("/dev/zero") == std::vector<std::string>{"/dev/zero: not a regular file (a character device)"});
    std::string sock = s.path + "/sock";
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock.c_str());
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    close(fd);
    CHECK(LoadErrors(sock) == std::vector<std::string>{sock + ": not a regular file (a socket)"});
    // Sparse: the size is refused before a byte is read.
    std::string big = s.Write("big.conf", "");
    REQUIRE(truncate(big.c_str(), (64 << 20) + 1) == 0);
    CHECK(LoadErrors(big) == std::vector<std::string>{big + ": larger than 64 MiB (67108865 bytes)"});
    std::string max = s.Write("max.conf", "");
    REQUIRE(truncate(max.c_str(), 64 << 20) == 0);  // NUL bytes: a config error, not a size one
    CHECK(LoadErrors(max).at(0) == max + ":1: a NUL byte: not a text file (or one saved as UTF-16)");
}

TEST_CASE("rules files and what they include must be regular files of at most 64 MiB; an empty one is fine") {
    ScratchDir s("config-test");
    REQUIRE_FALSE(s.path.empty());
    REQUIRE(mkfifo((s.path + "/fifo.nft").c_str(), 0600) == 0);
    std::string big = s.Write("big.nft", "");
    REQUIRE(truncate(big.c_str(), (64 << 20) + 1) == 0);
    s.Write("empty.nft", "");
    REQUIRE(mkdir((s.path + "/inc.d").c_str(), 0700) == 0);
    s.Write("inc.d/a.nft", "include \"" + s.path + "/inc.d/*\"\n");  // includes itself: read once
    REQUIRE(mkfifo((s.path + "/inc.d/pipe").c_str(), 0600) == 0);
    s.Write("top.nft", "# a comment: include \"/dev/zero\"\n"
                       "table inet t {\n"
                       "    include \"/dev/zero\"\n"
                       "}\n"
                       "include \"./no-such-file.nft\"\n"  // nft's to report
                       "include \"" + s.path + "/inc.d/*\"\n");
    std::string conf =
        s.Write("haltfw.conf",
                "[ruleset]\nfile = fifo.nft\nfile = /dev/zero\nfile = .\nfile = big.nft\nfile = empty.nft\n"
                "file = top.nft\nfile = missing.nft\n");
    auto e = LoadErrors(conf);
    const std::string d = s.path;
    REQUIRE(e == std::vector<std::string>{
                     conf + ":2: [ruleset] file '" + d + "/fifo.nft': not a regular file (a FIFO)",
                     conf + ":3: [ruleset] file '/dev/zero': not a regular file (a character device)",
                     conf + ":4: [ruleset] file '" + d + "/.': not a regular file (a directory)",
                     conf + ":5: [ruleset] file '" + d + "/big.nft': larger than 64 MiB (67108865 bytes)",
                     conf + ":7: [ruleset] file '" + d + "/top.nft': '" + d +
                         "/top.nft' includes '/dev/zero': not a regular file (a character device)",
                     conf + ":7: [ruleset] file '" + d + "/top.nft': '" + d + "/top.nft' includes '" + d +
                         "/inc.d/*' ('" + d + "/inc.d/pipe'): not a regular file (a FIFO)",
                     conf + ":7: [ruleset] file '" + d + "/top.nft': '" + d + "/inc.d/a.nft' includes '" + d +
                         "/inc.d/*' ('" + d + "/inc.d/pipe'): not a regular file (a FIFO)",
                     conf + ":8: [ruleset] file '" + d + "/missing.nft': cannot read: No such file or directory",
                 });
}

TEST_CASE("an interface address with prefix length 0 is refused") {
    auto e = ConfigErrors(
        "[ruleset]\nfile = r.nft\n[interface.lan]\ndevice = eth1\naddress = 2001:db8:2::1/0\naddress = 192.0.2.1/0\n");
    REQUIRE(e == std::vector<std::string>{
                     "haltfw.conf:5: interface 'lan': address '2001:db8:2::1/0': prefix length 0 would put every "
                     "address on this link",
                     "haltfw.conf:6: interface 'lan': address '192.0.2.1/0': prefix length 0 would put every address "
                     "on this link",
                 });
}

TEST_CASE(
    "two default routes of a family with one metric are refused; with different metrics a warning names the winner") {
    const std::string ifs = R"([ruleset]
file = r.nft
[interface.wan]
device = eth0
address = 198.51.100.1/24
address = 2001:db8:1::1/64
gateway = 198.51.100.254
gateway6 = 2001:db8:1::fffe
[interface.lan]
device = eth1
address = 192.0.2.1/24
address = 2001:db8:2::1/64
)";
    auto e =
        ConfigErrors(ifs +
                     "route = 0.0.0.0/0 via 192.0.2.254\nroute = ::/0 via 2001:db8:2::fffe metric 1024\n"
                     "route = 203.0.113.0/24 via 192.0.2.9\n[interface.dmz]\ndevice = eth2\naddress = 10.0.0.1/24\n"
                     "route = 203.0.113.0/24 via 10.0.0.9\n");
    REQUIRE(e == std::vector<std::string>{
                     "haltfw.conf:13: interface 'lan': route '0.0.0.0/0 via 192.0.2.254': a second IPv4 default route "
                     "of metric 0 (the first: "
                     "gateway '198.51.100.254' of interface 'wan', line 7); the kernel keeps one route per destination "
                     "and metric: give them different metrics",
                     "haltfw.conf:14: interface 'lan': route '::/0 via 2001:db8:2::fffe metric 1024': a second IPv6 "
                     "default route of metric 1024 (the first: "
                     "gateway6 '2001:db8:1::fffe' of interface 'wan', line 8); the kernel keeps one route per "
                     "destination and metric: give them different metrics",
                     "haltfw.conf:19: interface 'dmz': route '203.0.113.0/24 via 10.0.0.9': the same destination and "
                     "metric (0) as route "
                     "'203.0.113.0/24 via 192.0.2.9' of interface 'lan' (line 15); the kernel keeps one route per "
                     "destination and metric: give them different metrics",
                 });

    Diagnostics d;
    ParseConfig(ifs + "route = 0.0.0.0/0 via 192.0.2.254 metric 100\nroute = ::/0 via 2001:db8:2::fffe metric 10\n",
                "haltfw.conf", &d);
    REQUIRE(d.ok());
    REQUIRE(d.warnings().size() == 2);
    CHECK(
        d.warnings()[0].Format() ==
        "haltfw.conf:13: interface 'lan': route '0.0.0.0/0 via 192.0.2.254 metric 100': one of 2 IPv4 default routes; "
        "the lowest metric wins: gateway '198.51.100.254' of interface 'wan' (line 7, metric 0)");
    CHECK(
        d.warnings()[1].Format() ==
        "haltfw.conf:8: interface 'wan': gateway6 '2001:db8:1::fffe': one of 2 IPv6 default routes; "
        "the lowest metric wins: route '::/0 via 2001:db8:2::fffe metric 10' of interface 'lan' (line 14, metric 10)");
    CHECK(d.FormatWarnings() == d.warnings()[0].Format() + "\n" + d.warnings()[1].Format() + "\n");
}

TEST_CASE("a device, MAC or address used again is reported once, against its first user") {
    auto e = ConfigErrors(R"([ruleset]
file = r.nft
[interface.a]
device = eth0
address = 10.0.0.1/8
[interface.b]
device = eth0
address = 10.1.0.1/16
[interface.c]
device = eth0
address = 10.1.2.1/24
address = 10.1.2.2/24
address = 10.1.2.1/24
)");
    REQUIRE(e ==
            std::vector<std::string>{
                "haltfw.conf:13: interface 'c': address '10.1.2.1/24' given twice (first on line 11)",
                "haltfw.conf:6: interface 'b': device 'eth0' is already used by interface 'a' (line 3)",
                "haltfw.conf:8: interface 'b': address '10.1.0.1/16' overlaps '10.0.0.1/8' of interface 'a' (line 5)",
                "haltfw.conf:9: interface 'c': device 'eth0' is already used by interface 'a' (line 3)",
                "haltfw.conf:11: interface 'c': address '10.1.2.1/24' overlaps '10.0.0.1/8' of interface 'a' (line 5)",
                "haltfw.conf:12: interface 'c': address '10.1.2.2/24' overlaps '10.0.0.1/8' of interface 'a' (line 5)",
                "haltfw.conf:13: interface 'c': address '10.1.2.1/24' overlaps '10.0.0.1/8' of interface 'a' (line 5)",
            });
    // A later, wider prefix overlaps an earlier, narrower one too.
    auto e2 = ConfigErrors("[ruleset]\nfile = r.nft\n[interface.a]\ndevice = eth0\naddress = 10.1.2.1/24\n"
                           "[interface.b]\ndevice = eth1\naddress = 10.9.0.1/16\naddress = 10.1.0.1/16\n");
    REQUIRE(
        e2 ==
        std::vector<std::string>{
            "haltfw.conf:9: interface 'b': address '10.1.0.1/16' overlaps '10.1.2.1/24' of interface 'a' (line 5)"});
}

// ---- files saved on Windows ----

namespace {

const std::string kBom = "\xEF\xBB\xBF";

// `text` with CRLF line ends, as Notepad saves it.
std::string Crlf(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '\n') out += '\r';
        out += c;
    }
    return out;
}

// Everything ParseConfig makes of a config, each value with its line, so
// that two parses compare as text.
std::string Summary(const Config& c) {
    std::string s;
    auto add = [&s](const std::string& what, int line) { s += std::to_string(line) + " " + what + "\n"; };
    for (const RuleFile& f : c.rule_files) add("rules " + f.path, f.line);
    for (const InterfaceConfig& i : c.interfaces) {
        add("interface " + i.role + " device " + i.device + " mac " + (i.mac ? FormatMac(*i.mac) : "-"), i.line);
        for (const AddressSpec& a : i.addresses) add("address " + FormatPrefix(a.prefix), a.line);
        for (const auto* g : {&i.gateway, &i.gateway6})
            if (*g) add("gateway " + FormatPrefix((*g)->prefix), (*g)->line);
        for (const RouteSpec& r : i.routes) add("route " + r.text, r.line);
        if (i.mtu) add("mtu " + std::to_string(*i.mtu), i.mtu_line);
    }
    for (const SysctlSetting& k : c.sysctls) add("sysctl " + k.key + " = " + k.value, k.line);
    for (const std::string& m : c.halt.modules) add("module " + m, 0);
    add("ctrl-alt-del " + std::to_string(static_cast<int>(c.halt.ctrl_alt_del)) + " sysrq " +
            std::to_string(c.halt.sysrq), 0);
    return s;
}

}  // namespace

TEST_CASE("a config saved on Windows (CRLF, a byte order mark, or both) parses as its LF twin") {
    const std::string lf = Summary(ParseValid(kGood, "/etc/haltfw/haltfw.conf"));
    for (const std::string& text : {Crlf(kGood), kBom + kGood, kBom + Crlf(kGood)}) {
        Config c = ParseValid(text, "/etc/haltfw/haltfw.conf");
        CHECK(Summary(c) == lf);
        CHECK(c.interfaces[0].device == "eth0");  // no "eth0\r"
        CHECK(c.rule_files[1].path == "/etc/haltfw/extra.nft");
    }
    // A last line without its LF keeps no CR either.
    Config last = ParseValid("[ruleset]\r\nfile = r.nft\r", "/x/haltfw.conf");
    CHECK(last.rule_files.at(0).path == "/x/r.nft");
}

TEST_CASE("errors in a config saved on Windows name the lines an editor shows, with no CR in a value") {
    const std::string bad = "[ruleset]\nfile = r.nft\n[interface.wan]\ndevice = eth0/1\naddress = 198.51.100.1/33\n"
                            "gateway = 198.51.100.1 x\n";
    const std::vector<std::string> want = {
        "haltfw.conf:4: interface 'wan': device 'eth0/1': not a valid interface name",
        "haltfw.conf:5: interface 'wan': address '198.51.100.1/33': prefix length out of range",
        "haltfw.conf:6: interface 'wan': gateway '198.51.100.1 x': not an IPv4 or IPv6 address",
    };
    CHECK(ConfigErrors(bad) == want);
    CHECK(ConfigErrors(Crlf(bad)) == want);
    CHECK(ConfigErrors(kBom + Crlf(bad)) == want);
    // An error on the first line is not moved by the byte order mark.
    CHECK(ConfigErrors(kBom + "file = r.nft\r\n[ruleset]\r\nfile = r.nft\r\n") ==
          std::vector<std::string>{"haltfw.conf:1: 'file' outside any section"});
}

TEST_CASE("what a text editor would not show is refused with its line: a lone CR, a NUL, a second BOM") {
    // A CR that ends no line (classic Mac line ends, or a stray one) hides
    // what comes before it on a terminal: the line is refused, comment or
    // not.
    CHECK(ConfigErrors("[ruleset]\r\nfile = r.nft\r\n[interface.wan]\rdevice = eth0\r\n") ==
          std::vector<std::string>{"haltfw.conf:3: a carriage return (CR) inside the line: lines end in LF or CRLF"});
    CHECK(ConfigErrors("[ruleset]\nfile = r.nft\n# wan\r[interface.wan]\n") ==
          std::vector<std::string>{"haltfw.conf:3: a carriage return (CR) inside the line: lines end in LF or CRLF"});
    CHECK(ConfigErrors("[ruleset]\nfile = r.nft\n[halt]\nsysrq = 1\r\r\n") ==
          std::vector<std::string>{"haltfw.conf:4: a carriage return (CR) inside the line: lines end in LF or CRLF"});
    CHECK(ConfigErrors(std::string("[ruleset]\nfile = r.nft\n[halt]\nsysrq = 1") + '\0' + " 6\n") ==
          std::vector<std::string>{"haltfw.conf:4: a NUL byte: not a text file (or one saved as UTF-16)"});
    // Two files run together: the second one's byte order mark.
    CHECK(ConfigErrors("[ruleset]\r\nfile = r.nft\r\n" + kBom + "# the [halt] part\r\n[halt]\r\nsysrq = 1\r\n") ==
          std::vector<std::string>{
              "haltfw.conf:3: a byte order mark (U+FEFF) inside the file: only the file's first bytes may be one"});
    CHECK(ConfigErrors("\xFF\xFE[\0r\0") ==
          std::vector<std::string>{
              "haltfw.conf: UTF-16 text (it starts with a UTF-16 byte order mark): save it as UTF-8"});
}

TEST_CASE("a value must be UTF-8; a comment may be in any 8-bit text") {
    CHECK(ConfigErrors("[ruleset]\nfile = r.nft\n[halt]\nmodules = nf_nat_ftp\xE8\n") ==
          std::vector<std::string>{"haltfw.conf:4: not UTF-8: 'modules = nf_nat_ftp\\xe8'"});
    CHECK(ConfigErrors("[ruleset]\n# r\xE8gles du pare-feu\nfile = r.nft  # r\xE8gles\n; r\xE8gles\n").empty());
    Config c = ParseValid("[ruleset]\nfile = r\xC3\xA8gles.nft\n", "/x/haltfw.conf");
    CHECK(c.rule_files.at(0).path == "/x/r\xC3\xA8gles.nft");
}

TEST_CASE("rules files saved on Windows are fine; an included one, or UTF-16, is refused by name") {
    ScratchDir s("config-test");
    REQUIRE_FALSE(s.path.empty());
    const std::string d = s.path;
    s.Write("win.nft", kBom + "table inet t {\r\n}\r\n");
    s.Write("inc.nft", "table inet u {\r\n}\r\n");
    s.Write("top.nft", "include \"" + d + "/inc.nft\"\n");
    s.Write("utf16.nft", std::string("\xFF\xFEt\0", 4));
    std::string conf = s.Write("haltfw.conf", kBom + "[ruleset]\r\nfile = win.nft\r\nfile = top.nft\r\n"
                                                     "file = utf16.nft\r\n");
    CHECK(LoadErrors(conf) ==
          std::vector<std::string>{
              conf + ":3: [ruleset] file '" + d + "/top.nft': '" + d + "/top.nft' includes '" + d +
                  "/inc.nft': Windows line ends (CRLF) or a byte order mark, which nft reads only in a file "
                  "haltfw.conf names: save it with LF line ends and no byte order mark",
              conf + ":4: [ruleset] file '" + d +
                  "/utf16.nft': UTF-16 text (it starts with a UTF-16 byte order mark): save it as UTF-8",
          });
}

namespace {

// The config's setting of `key`: "VALUE@LINE", or "" if none.
std::string SysctlOf(const Config& c, const std::string& key) {
    for (const SysctlSetting& s : c.sysctls)
        if (s.key == key) return s.value + "@" + std::to_string(s.line);
    return "";
}

}  // namespace

TEST_CASE("[halt] heartbeat takes a duration of 1 s to 24 h; off by default") {
    CHECK(ParseValid("[ruleset]\nfile = r.nft\n").halt.heartbeat_s == 0);
    const std::vector<std::pair<std::string, int>> good = {
        {"30s", 30}, {"5m", 300}, {"1h", 3600}, {"45", 45}, {"1s", 1}, {"24h", 86400}, {"off", 0}};
    for (const auto& [value, seconds] : good) {
        INFO(value);
        CHECK(ParseValid("[ruleset]\nfile = r.nft\n[halt]\nheartbeat = " + value + "\n").halt.heartbeat_s == seconds);
    }
    const std::string why =
        ": expected off, or a duration from 1s to 24h (30s, 5m, 1h; a bare number is seconds)";
    for (const char* value : {"0s", "0", "25h", "86401", "1d", "s", "-5s", "5 m", "1.5m", "5ms", ""}) {
        INFO(value);
        CHECK(ConfigErrors(std::string("[ruleset]\nfile = r.nft\n[halt]\nheartbeat = ") + value + "\n") ==
              std::vector<std::string>{"haltfw.conf:4: [halt] heartbeat '" + std::string(value) + "'" + why});
    }
    CHECK(ConfigErrors("[ruleset]\nfile = r.nft\n[halt]\nheartbeat = 5m\nheartbeat = 1m\n") ==
          std::vector<std::string>{"haltfw.conf:5: 'heartbeat' given twice (first on line 4)"});
}

TEST_CASE("[halt] panic-reboot arms kernel.panic and kernel.panic_on_oops with its own line") {
    Config c = ParseValid("[ruleset]\nfile = r.nft\n[halt]\npanic-reboot = 10\n");
    CHECK(c.halt.panic_reboot_s == 10);
    CHECK(SysctlOf(c, "kernel.panic") == "10@4");
    CHECK(SysctlOf(c, "kernel.panic_on_oops") == "1@4");
    // Off by default: neither key is touched.
    Config off = ParseValid("[ruleset]\nfile = r.nft\n");
    CHECK(SysctlOf(off, "kernel.panic").empty());
    CHECK(SysctlOf(off, "kernel.panic_on_oops").empty());
    // A [sysctl] kernel.panic_on_oops stands, wherever it is in the file;
    // other panic settings go through [sysctl] as they are.
    Config own = ParseValid(
        "[halt]\npanic-reboot = 3600\n[ruleset]\nfile = r.nft\n[sysctl]\nkernel.panic_on_oops = 0\n"
        "kernel.unknown_nmi_panic = 1\n");
    CHECK(SysctlOf(own, "kernel.panic") == "3600@2");
    CHECK(SysctlOf(own, "kernel.panic_on_oops") == "0@6");
    CHECK(SysctlOf(own, "kernel.unknown_nmi_panic") == "1@7");
}

TEST_CASE("[halt] panic-reboot: out of range, or beside [sysctl] kernel.panic, is an error naming the line") {
    for (const char* value : {"0", "3601", "-1", "10s", "ten", ""}) {
        INFO(value);
        CHECK(ConfigErrors(std::string("[ruleset]\nfile = r.nft\n[halt]\npanic-reboot = ") + value + "\n") ==
              std::vector<std::string>{"haltfw.conf:4: [halt] panic-reboot '" + std::string(value) +
                                       "': not a number of seconds from 1 to 3600"});
    }
    const std::string clash =
        "haltfw.conf:4: [halt] panic-reboot: [sysctl] kernel.panic (line 6) sets the same timeout; keep one of the two";
    CHECK(ConfigErrors("[ruleset]\nfile = r.nft\n[halt]\npanic-reboot = 10\n[sysctl]\nkernel.panic = 30\n") ==
          std::vector<std::string>{clash});
    CHECK(ConfigErrors("[ruleset]\nfile = r.nft\n[sysctl]\nkernel.panic = 30\n[halt]\npanic-reboot = 10\n") ==
          std::vector<std::string>{
              "haltfw.conf:6: [halt] panic-reboot: [sysctl] kernel.panic (line 4) sets the same timeout; keep one of "
              "the two"});
    CHECK(ConfigErrors("[ruleset]\nfile = r.nft\n[halt]\npanic-reboot = 10\npanic-reboot = 20\n") ==
          std::vector<std::string>{"haltfw.conf:5: 'panic-reboot' given twice (first on line 4)"});
}
