#include "core/plan.h"
#include "core/config_test_support.h"
#include "core/plan_test_support.h"

#include <catch2/catch.hpp>
#include <linux/if.h>
#include <sys/socket.h>

#include <map>

using namespace haltfw;

namespace {


const char* kConf = R"([ruleset]
file = /r.nft
[interface.wan]
device = eth0
address = 198.51.100.1/24
gateway = 198.51.100.254
mtu = 1400
[interface.lan]
device = eth1
address = 192.0.2.1/24
[sysctl]
net.ipv4.ip_forward = 1
)";

// A live state: both links present, eth0 up at MTU 1500, eth1 down.
NetState Live() {
    NetState s;
    s.links.push_back({2, "eth0", std::nullopt, 1500, IFF_UP, ""});
    s.links.push_back({3, "eth1", std::nullopt, 1500, 0, ""});
    return s;
}

// Every sysctl already at its configured value, unless overridden.
PlanInputs Inputs(const Config& c, const std::map<std::string, std::string>& overrides = {}) {
    return SettledInputs(c, overrides);
}

// Inputs(c), on a kernel that lacks the sysctl `missing`.
PlanInputs InputsLacking(const Config& c, const std::string& missing) {
    PlanInputs in = Inputs(c);
    auto read = in.read_sysctl;
    in.read_sysctl = [read, missing](const std::string& k, std::string* v) { return k != missing && read(k, v); };
    return in;
}

// A default route via `gateway`, out of the link `oif`.
Route DefaultVia(const char* gateway, int oif) {
    Route r;
    r.dst = *ParsePrefix("0.0.0.0/0", true);
    r.gateway = ParseIpAddr(gateway);
    r.oif = oif;
    return r;
}

std::vector<std::string> Whats(const Plan& p) {
    std::vector<std::string> out;
    for (const Action& a : p.actions) out.push_back(a.what);
    return out;
}

}  // namespace

TEST_CASE("plan from an unconfigured box: ruleset, links, addresses, routes, sysctls in that order") {
    Config c = ParseValid(kConf);
    PlanInputs in = Inputs(c, {{"net.ipv4.ip_forward", "0"}});
    in.ruleset_current = false;
    Plan p = ComputePlan(c, Live(), in);
    REQUIRE(p.problems.ok());
    CHECK(Whats(p) == std::vector<std::string>{
                          "load the ruleset (1 rules file) in one transaction",
                          "interface 'wan' (eth0): set mtu 1400 (was 1500)",
                          "interface 'lan' (eth1): set up",
                          "interface 'wan' (eth0): add address 198.51.100.1/24",
                          "interface 'lan' (eth1): add address 192.0.2.1/24",
                          "interface 'wan' (eth0): route default via 198.51.100.254",
                          "sysctl net.ipv4.ip_forward = 1 (was 0)",
                      });
    CHECK(p.actions[1].line == 7);
    CHECK(p.actions[3].ifindex == 2);
    CHECK(p.actions[5].route.oif == 2);
    CHECK_FALSE(p.actions[5].previous_route);
}

TEST_CASE("the plan of a config saved on Windows (CRLF, a byte order mark) is its LF twin's, line for line") {
    std::string crlf = "\xEF\xBB\xBF";
    for (const char* c = kConf; *c; ++c) crlf += *c == '\n' ? std::string("\r\n") : std::string(1, *c);
    Config lf = ParseValid(kConf), win = ParseValid(crlf);
    PlanInputs in = Inputs(lf, {{"net.ipv4.ip_forward", "0"}});
    in.ruleset_current = false;
    Plan a = ComputePlan(lf, Live(), in), b = ComputePlan(win, Live(), in);
    REQUIRE(b.problems.ok());
    CHECK(Whats(b) == Whats(a));
    REQUIRE(b.actions.size() == a.actions.size());
    for (size_t i = 0; i < a.actions.size(); ++i) CHECK(b.actions[i].line == a.actions[i].line);
    CHECK(win.rule_files.at(0).path == "/r.nft");
}

TEST_CASE("plan of a box already at the config is empty") {
    Config c = ParseValid(kConf);
    NetState s = Live();
    s.links[0].mtu = 1400;
    s.links[1].flags = IFF_UP;
    s.addresses.push_back({2, *ParsePrefix("198.51.100.1/24", true)});
    s.addresses.push_back({3, *ParsePrefix("192.0.2.1/24", true)});
    s.routes.push_back(DefaultVia("198.51.100.254", 2));
    Plan p = ComputePlan(c, s, Inputs(c));
    CHECK(p.problems.ok());
    CHECK(p.Empty());
}

TEST_CASE("a finite-lifetime address is made static; a foreign default route is replaced and remembered") {
    Config c = ParseValid(kConf);
    NetState s = Live();
    Address dhcp{2, *ParsePrefix("198.51.100.1/24", true)};
    dhcp.valid_lft = 300;
    s.addresses.push_back(dhcp);
    s.routes.push_back(DefaultVia("192.0.2.254", 3));
    Plan p = ComputePlan(c, s, Inputs(c));
    auto w = Whats(p);
    REQUIRE(std::find(w.begin(), w.end(),
                      "interface 'wan' (eth0): make address 198.51.100.1/24 static (it has a lifetime of 300 s)") !=
            w.end());
    auto it = std::find_if(p.actions.begin(), p.actions.end(),
                           [](const Action& a) { return a.kind == ActionKind::kReplaceRoute; });
    REQUIRE(it != p.actions.end());
    CHECK(it->what ==
          "interface 'wan' (eth0): route default via 198.51.100.254 (replaces default via 192.0.2.254 dev eth1)");
    REQUIRE(it->previous_route);
    CHECK(it->previous_route->oif == 3);
}

TEST_CASE("a missing device or an unknown sysctl stops the plan with a located problem") {
    Config c = ParseValid(kConf);
    NetState s = Live();
    s.links.pop_back();
    Plan p = ComputePlan(c, s, Inputs(c));
    REQUIRE(p.problems.errors().size() == 1);
    CHECK(p.problems.errors()[0].Format() == "haltfw.conf:8: interface 'lan': device 'eth1' does not exist");

    Config c2 = ParseValid(std::string(kConf) + "net.ipv4.no_such_thing = 1\n");
    Plan p2 = ComputePlan(c2, Live(), InputsLacking(c2, "net.ipv4.no_such_thing"));
    REQUIRE(p2.problems.errors().size() == 1);
    CHECK(p2.problems.errors()[0].Format() ==
          "haltfw.conf:13: sysctl 'net.ipv4.no_such_thing': no such setting in this kernel");
}

TEST_CASE("interfaces chosen by MAC resolve to the link holding it; missing modules are loaded") {
    Config c = ParseValid(
        "[ruleset]\nfile = /r.nft\n[interface.lan]\nmac = 52:54:00:00:00:02\n[halt]\nmodules = nf_nat_ftp\n");
    NetState s = Live();
    s.links[1].mac = ParseMac("52:54:00:00:00:02");
    s.links[1].flags = IFF_UP;
    PlanInputs in = Inputs(c);
    in.module_present = [](const std::string& m) { return m != "nf_nat_ftp"; };
    Plan p = ComputePlan(c, s, in);
    REQUIRE(p.interfaces.size() == 1);
    REQUIRE(p.interfaces[0].link);
    CHECK(p.interfaces[0].link->name == "eth1");
    CHECK(Whats(p) == std::vector<std::string>{"load module nf_nat_ftp"});
}

TEST_CASE("an IPv6 route is wanted with the metric the kernel stores for 0") {
    Config c = ParseValid("[ruleset]\nfile = /r.nft\n[interface.wan]\ndevice = eth0\naddress = 2001:db8:1::1/64\n"
                     "gateway6 = 2001:db8:1::fffe\nroute = 2001:db8:5::/48 via 2001:db8:1::2 metric 7\n");
    auto routes = WantedRoutes(c.interfaces[0], 2);
    REQUIRE(routes.size() == 2);
    CHECK(routes[0].first.metric == 1024);
    CHECK(routes[1].first.metric == 7);
}

TEST_CASE("sysctls compare as the kernel prints them: '01' is the kernel's '1', spaces are its tabs") {
    Config c =
        ParseValid(std::string(kConf) + "net.ipv4.tcp_rmem = 4096  87380 6291456\nnet.ipv4.tcp_fin_timeout = 0x1e\n");
    Plan p = ComputePlan(c, Live(),
                         Inputs(c, {{"net.ipv4.ip_forward", "1"},
                                    {"net.ipv4.tcp_rmem", "4096\t87380\t6291456"},
                                    {"net.ipv4.tcp_fin_timeout", "30"}}));
    REQUIRE(p.problems.ok());
    for (const Action& a : p.actions) CHECK(a.kind != ActionKind::kSysctl);

    // A real difference is still one, and the value written is the kernel's form.
    Plan p2 = ComputePlan(c, Live(),
                          Inputs(c, {{"net.ipv4.ip_forward", "0"},
                                     {"net.ipv4.tcp_rmem", "4096\t87380\t6291456"},
                                     {"net.ipv4.tcp_fin_timeout", "30"}}));
    std::vector<std::string> sysctls;
    for (const Action& a : p2.actions)
        if (a.kind == ActionKind::kSysctl) sysctls.push_back(a.what);
    CHECK(sysctls == std::vector<std::string>{"sysctl net.ipv4.ip_forward = 1 (was 0)"});
}

TEST_CASE("a missing device does not hide a sysctl this kernel lacks: check lists both") {
    Config c = ParseValid(std::string(kConf) + "net.ipv4.no_such_thing = 1\n");
    NetState s = Live();
    s.links.pop_back();
    Plan p = ComputePlan(c, s, InputsLacking(c, "net.ipv4.no_such_thing"));
    CHECK(FormattedErrors(p.problems) ==
          std::vector<std::string>{"haltfw.conf:8: interface 'lan': device 'eth1' does not exist",
                                   "haltfw.conf:13: sysctl 'net.ipv4.no_such_thing': no such setting in this kernel"});
    CHECK(p.actions.empty());
}

TEST_CASE("SysctlModule: nf_conntrack for conntrack's keys, nothing for any other") {
    CHECK(SysctlModule("net.netfilter.nf_conntrack_max") == "nf_conntrack");
    CHECK(SysctlModule("net.netfilter.nf_conntrack_tcp_timeout_established") == "nf_conntrack");
    CHECK(SysctlModule("net.netfilter.nf_conntrack_maxx") == "nf_conntrack");  // a typo is found at apply
    CHECK(SysctlModule("net.nf_conntrack_max") == "nf_conntrack");
    CHECK(SysctlModule("net.nf_conntrack_maxx") == "");
    CHECK(SysctlModule("net.netfilter.nf_conntrack") == "");
    CHECK(SysctlModule("net.netfilter.nf_log.2") == "");
    CHECK(SysctlModule("net.ipv4.ip_forward") == "");
    CHECK(SysctlModule("net.ipv4.conf.nf_conntrack_x.forwarding") == "");
    CHECK(SysctlModule("") == "");
}

namespace {

// kConf and a conntrack sysctl (line 13), on a kernel without nf_conntrack
// (unless `present`): its keys do not exist yet.
struct ConntrackCase {
    Config c = ParseValid(std::string(kConf) + "net.netfilter.nf_conntrack_max = 262144\n");
    PlanInputs Inputs(bool present = false) const {
        PlanInputs in = SettledInputs(c, {}, [](const std::string& k) { return SysctlModule(k) != "nf_conntrack"; });
        in.module_present = [present](const std::string& m) { return m != "nf_conntrack" || present; };
        return in;
    }
};

}  // namespace

TEST_CASE("a conntrack sysctl of a kernel without nf_conntrack: the module is loaded first, the value read at apply") {
    ConntrackCase t;
    PlanInputs in = t.Inputs();
    in.ruleset_current = false;
    Plan p = ComputePlan(t.c, Live(), in);
    INFO(p.problems.FormatErrors());
    REQUIRE(p.problems.ok());
    auto w = Whats(p);
    REQUIRE(w.size() >= 3);
    CHECK(w.front() == "load module nf_conntrack (net.netfilter.nf_conntrack_max exists only once it is loaded)");
    CHECK(w[1] == "load the ruleset (1 rules file) in one transaction");
    CHECK(w.back() == "sysctl net.netfilter.nf_conntrack_max = 262144 (once nf_conntrack is loaded)");
    const Action& load = p.actions.front();
    CHECK(load.kind == ActionKind::kLoadModule);
    CHECK(load.name == "nf_conntrack");
    CHECK(load.line == 13);
    const Action& set = p.actions.back();
    CHECK(set.kind == ActionKind::kSysctl);
    CHECK(set.previous_at_apply);
    CHECK_FALSE(set.on_new_link);
    CHECK(set.line == 13);
    CHECK(set.name == "net.netfilter.nf_conntrack_max");
    CHECK(set.value == "262144");
    CHECK(set.previous_value.empty());
    // Every other sysctl is read at plan time as before.
    for (size_t i = 0; i + 1 < p.actions.size(); ++i) CHECK_FALSE(p.actions[i].previous_at_apply);
}

TEST_CASE("nf_conntrack is loaded once, after [halt] modules, for several of its keys and [halt] modules naming it") {
    Config c = ParseValid(std::string(kConf) +
                          "net.netfilter.nf_conntrack_max = 262144\n"
                          "net.netfilter.nf_conntrack_tcp_timeout_established = 3600\n"
                          "[halt]\nmodules = nf_nat_ftp nf_conntrack\n");
    PlanInputs in = SettledInputs(c, {}, [](const std::string& k) { return SysctlModule(k).empty(); });
    in.module_present = [](const std::string&) { return false; };
    Plan p = ComputePlan(c, Live(), in);
    INFO(p.problems.FormatErrors());
    REQUIRE(p.problems.ok());
    std::vector<std::string> loads, late;
    for (const Action& a : p.actions) {
        if (a.kind == ActionKind::kLoadModule) loads.push_back(a.name);
        if (a.previous_at_apply) late.push_back(a.name);
    }
    CHECK(loads == std::vector<std::string>{"nf_nat_ftp", "nf_conntrack"});
    CHECK(p.actions[0].name == "nf_nat_ftp");
    CHECK(p.actions[1].name == "nf_conntrack");
    CHECK(late == std::vector<std::string>{"net.netfilter.nf_conntrack_max",
                                           "net.netfilter.nf_conntrack_tcp_timeout_established"});
}

TEST_CASE("a conntrack sysctl missing with nf_conntrack in the kernel is still an error, with its line") {
    ConntrackCase t;
    Plan p = ComputePlan(t.c, Live(), t.Inputs(true));
    CHECK(FormattedErrors(p.problems) ==
          std::vector<std::string>{
              "haltfw.conf:13: sysctl 'net.netfilter.nf_conntrack_max': no such setting in this kernel"});
    for (const Action& a : p.actions) CHECK(a.kind != ActionKind::kLoadModule);
}

TEST_CASE("a missing sysctl of no module is an error even when the plan loads nf_conntrack") {
    Config c = ParseValid(std::string(kConf) + "net.netfilter.nf_conntrack_max = 262144\nnet.ipv4.no_such_thing = 1\n");
    PlanInputs in = SettledInputs(
        c, {}, [](const std::string& k) { return SysctlModule(k).empty() && k != "net.ipv4.no_such_thing"; });
    in.module_present = [](const std::string& m) { return m != "nf_conntrack"; };
    Plan p = ComputePlan(c, Live(), in);
    CHECK(FormattedErrors(p.problems) ==
          std::vector<std::string>{"haltfw.conf:14: sysctl 'net.ipv4.no_such_thing': no such setting in this kernel"});

    // And with a missing device too, check lists both of the others but not
    // the key the load would make.
    NetState s = Live();
    s.links.pop_back();
    Plan p2 = ComputePlan(c, s, in);
    CHECK(FormattedErrors(p2.problems) ==
          std::vector<std::string>{"haltfw.conf:8: interface 'lan': device 'eth1' does not exist",
                                   "haltfw.conf:14: sysctl 'net.ipv4.no_such_thing': no such setting in this kernel"});
}

TEST_CASE("a conntrack sysctl that exists is planned as any other, with no load") {
    ConntrackCase t;
    PlanInputs in = SettledInputs(t.c, {{"net.netfilter.nf_conntrack_max", "65536"}});
    Plan p = ComputePlan(t.c, Live(), in);
    REQUIRE(p.problems.ok());
    std::vector<std::string> sysctls;
    for (const Action& a : p.actions) {
        CHECK(a.kind != ActionKind::kLoadModule);
        CHECK_FALSE(a.previous_at_apply);
        if (a.kind == ActionKind::kSysctl) sysctls.push_back(a.what);
    }
    CHECK(sysctls == std::vector<std::string>{"sysctl net.netfilter.nf_conntrack_max = 262144 (was 65536)"});
}
