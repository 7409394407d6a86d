#include "core/readiness.h"

#include <catch2/catch.hpp>
#include <linux/if.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>

#include <algorithm>
#include <map>

#include "nft/nft_test_support.h"

using namespace haltfw;

namespace {

// What check warns with a forward hook but no input hook in either family.
const std::vector<std::string> kNoInputHookWarnings = {
    "ruleset: no base chain on the input hook for IPv4 (a chain of family ip or inet with 'hook input'): every "
    "IPv4 packet to the box itself is accepted",
    "ruleset: no base chain on the input hook for IPv6 (a chain of family ip6 or inet with 'hook input'): every "
    "IPv6 packet to the box itself is accepted",
};

struct Fixture {
    Config cfg;
    NetState state;
    std::vector<ResolvedInterface> ifs;
    /// An inet table filtering input and forward.
    NftRuleset rs;
    /// The live sysctls: IPv4 and IPv6 forwarding off.
    std::map<std::string, std::string> live = {{"net.ipv4.ip_forward", "0"}, {"net.ipv6.conf.all.forwarding", "0\n"}};
    /// What a trial restore found (empty: it came back whole).
    std::string restore_problem;
    uint64_t mem_available_kib = 0;

    explicit Fixture(const std::string& extra = "") {
        Diagnostics d;
        cfg = ParseConfig("[ruleset]\nfile = /r.nft\n[interface.wan]\ndevice = eth0\naddress = 198.51.100.1/24\n"
                          "[sysctl]\nnet.ipv4.ip_forward = 1\n" + extra,
                          "haltfw.conf", &d);
        REQUIRE(d.ok());
        state.links.push_back({2, "eth0", std::nullopt, 1500, IFF_UP, ""});
        state.addresses.push_back({2, *ParsePrefix("198.51.100.1/24", true)});
        ifs = ResolveInterfaces(cfg, state);
        rs.objects = {TestChain(NFPROTO_INET, "input", NF_INET_LOCAL_IN),
                      TestChain(NFPROTO_INET, "forward", NF_INET_FORWARD)};
    }

    Readiness Assess() {
        ReadinessInputs in;
        in.config = &cfg;
        in.state = &state;
        in.interfaces = &ifs;
        in.ruleset = &rs;
        in.live = &rs;
        in.restore_problem = restore_problem;
        in.mem_available_kib = mem_available_kib;
        in.read_sysctl = [this](const std::string& k, std::string* v) {
            auto it = live.find(k);
            if (it == live.end()) return false;
            *v = it->second;
            return true;
        };
        return AssessReadiness(in);
    }
};

}  // namespace

TEST_CASE("an empty ruleset on a box that forwards blocks the halt, naming each family") {
    Fixture f;
    f.rs.objects.clear();
    f.live["net.ipv6.conf.all.forwarding"] = "1\n";
    Readiness r = f.Assess();
    CHECK_FALSE(r.ready());
    CHECK(
        r.blockers ==
        std::vector<std::string>{
            "ruleset: no base chain on the forward hook for IPv4 (a chain of family ip or inet with 'hook forward'), "
            "and "
            "net.ipv4.ip_forward = 1 (as [sysctl] sets it): the halted box would forward every IPv4 packet unfiltered",
            "ruleset: no base chain on the forward hook for IPv6 (a chain of family ip6 or inet with 'hook forward'), "
            "and "
            "net.ipv6.conf.all.forwarding = 1 (as it is now; [sysctl] does not set it): the halted box would forward "
            "every IPv6 packet unfiltered",
        });
    CHECK(r.warnings == kNoInputHookWarnings);
}

TEST_CASE("an ip forward chain does not cover IPv6 that [sysctl] turns on, for one interface too") {
    Fixture f("net.ipv6.conf.lan0.forwarding = 1\n");
    f.rs.objects = {TestChain(NFPROTO_IPV4, "forward", NF_INET_FORWARD),
                    TestChain(NFPROTO_IPV6, "input", NF_INET_LOCAL_IN),
                    TestChain(NFPROTO_IPV4, "input", NF_INET_LOCAL_IN)};
    Readiness r = f.Assess();
    CHECK(r.blockers ==
          std::vector<std::string>{
              "ruleset: no base chain on the forward hook for IPv6 (a chain of family ip6 or inet with 'hook "
              "forward'), and "
              "net.ipv6.conf.lan0.forwarding = 1 (as [sysctl] sets it): the halted box would forward every IPv6 packet "
              "unfiltered",
          });
    CHECK(r.warnings.empty());
}

TEST_CASE("no forward chain is needed for a family that does not forward, as [sysctl] sets it or as it is") {
    Fixture f;
    for (SysctlSetting& s : f.cfg.sysctls)
        if (s.key == "net.ipv4.ip_forward") s.value = "0";
    f.live["net.ipv4.ip_forward"] = "1";  // apply turns it off
    f.rs.objects = {TestChain(NFPROTO_INET, "input", NF_INET_LOCAL_IN)};
    Readiness r = f.Assess();
    CHECK(r.blockers.empty());
    // A kernel without IPv6 (its sysctls cannot be read): nothing said of it.
    f.live.erase("net.ipv6.conf.all.forwarding");
    f.rs.objects = {TestChain(NFPROTO_IPV4, "input", NF_INET_LOCAL_IN)};
    r = f.Assess();
    CHECK(r.blockers.empty());
    CHECK(r.warnings ==
          std::vector<std::string>{
              "no [sysctl] turns forwarding on (net.ipv4.ip_forward = 1): the halted box will route nothing"});
}

TEST_CASE("an inet forward chain covers both families; without an input chain that is a warning") {
    Fixture f("net.ipv6.conf.all.forwarding = 1\n");
    f.rs.objects = {TestChain(NFPROTO_INET, "forward", NF_INET_FORWARD)};
    Readiness r = f.Assess();
    CHECK(r.ready());
    CHECK(r.warnings == kNoInputHookWarnings);
}

TEST_CASE("a static box with a plain ruleset is ready, without warnings") {
    Fixture f;
    Readiness r = f.Assess();
    CHECK(r.ready());
    CHECK(r.blockers.empty());
    CHECK(r.warnings.empty());
}

TEST_CASE("an address with a finite lifetime blocks the halt") {
    Fixture f;
    Address lease{2, *ParsePrefix("198.51.100.77/24", true)};
    lease.valid_lft = 600;
    f.state.addresses.push_back(lease);
    Readiness r = f.Assess();
    REQUIRE(r.blockers.size() == 1);
    CHECK(r.blockers[0] ==
          "interface 'wan' (eth0): address 198.51.100.77/24 has a finite lifetime (valid 600 s): a DHCP or "
          "router-advertisement "
          "lease expires once userspace is gone");
}

TEST_CASE("queue, log group and an owned table block the halt") {
    Fixture f;
    NftObject rule;
    rule.kind = NftKind::kRule;
    rule.family = NFPROTO_INET;
    rule.table = "filter";
    rule.name = "input";
    rule.daemon_statements = {"queue"};
    NftObject table;
    table.kind = NftKind::kTable;
    table.family = NFPROTO_INET;
    table.name = "firewalld";
    table.flags = NFT_TABLE_F_OWNER;
    f.rs.objects.insert(f.rs.objects.begin(), {table, rule});
    Readiness r = f.Assess();
    CHECK(r.blockers ==
          std::vector<std::string>{
              "ruleset: chain inet filter input uses 'queue', which needs a userspace daemon",
              "ruleset: table inet firewalld is owned by a process (flag 'owner') and vanishes when that process exits",
          });
}

TEST_CASE("warnings: IPv6 without gateway6, forwarding off, foreign address, managers installed") {
    Fixture f("");
    f.cfg.sysctls.clear();
    f.cfg.interfaces[0].addresses.push_back({*ParsePrefix("2001:db8::1/64", true), 9});
    f.state.addresses.push_back({2, *ParsePrefix("203.0.113.9/24", true)});
    ReadinessInputs in;
    in.config = &f.cfg;
    in.state = &f.state;
    in.interfaces = &f.ifs;
    in.ruleset = nullptr;
    in.ruleset_note = "it is not loaded yet";
    in.firewalld_installed = true;
    Readiness r = AssessReadiness(in);
    CHECK(r.ready());
    CHECK(r.warnings ==
          std::vector<std::string>{
              "interface 'wan' (eth0): address 203.0.113.9/24 is not in the config; it stays as it is",
              "the ruleset's statements could not be examined: it is not loaded yet",
              "IPv6 is configured without a static gateway6: haltfw turns router advertisements off (accept_ra = 0), "
              "so IPv6 beyond the local links needs gateway6",
              "no [sysctl] turns forwarding on (net.ipv4.ip_forward = 1): the halted box will route nothing",
              "firewalld is installed: it replaces the ruleset when it starts and flushes it when it stops "
              "(CleanupOnExit)",
          });
}

TEST_CASE("a ruleset the final stage could not put back blocks the halt, with the kernel's reason") {
    Fixture f;
    f.restore_problem = "restore: rule in t forward: Invalid argument";
    Readiness r = f.Assess();
    CHECK_FALSE(r.ready());
    CHECK(r.blockers ==
          std::vector<std::string>{
              "ruleset: the final stage could not put it back if a unit flushed or changed it on the way down (a trial "
              "restore in a scratch network namespace: restore: rule in t forward: Invalid argument); the halted box "
              "would fail closed, forwarding off"});
}

TEST_CASE("quotas, named or in rules, warn that a restore starts them from nothing") {
    Fixture f;
    nftnl_obj* q = nftnl_obj_alloc();
    nftnl_obj_set_str(q, NFTNL_OBJ_TABLE, "t");
    nftnl_obj_set_str(q, NFTNL_OBJ_NAME, "monthly");
    nftnl_obj_set_u32(q, NFTNL_OBJ_FAMILY, NFPROTO_INET);
    nftnl_obj_set_u32(q, NFTNL_OBJ_TYPE, NFT_OBJECT_QUOTA);
    nftnl_obj_set_u64(q, NFTNL_OBJ_QUOTA_BYTES, 1000);
    f.rs.objects.push_back(CanonicalObj(q));
    nftnl_obj_free(q);
    nftnl_rule* rule = nftnl_rule_alloc();
    nftnl_rule_set_str(rule, NFTNL_RULE_TABLE, "t");
    nftnl_rule_set_str(rule, NFTNL_RULE_CHAIN, "forward");
    nftnl_rule_set_u32(rule, NFTNL_RULE_FAMILY, NFPROTO_INET);
    nftnl_expr* e = nftnl_expr_alloc("quota");
    nftnl_expr_set_u64(e, NFTNL_EXPR_QUOTA_BYTES, 5000);
    nftnl_rule_add_expr(rule, e);
    f.rs.objects.push_back(CanonicalRule(rule));
    nftnl_rule_free(rule);
    Readiness r = f.Assess();
    CHECK(r.ready());
    CHECK(std::count(
              r.warnings.begin(), r.warnings.end(),
              "ruleset: quotas (a rule in chain inet t forward, quota inet t monthly) start again from 0 bytes if the "
              "ruleset "
              "has to be restored during or after the halt: what a quota counted before it lets through again") == 1);
}

TEST_CASE("a ruleset whose halt needs more memory than is available blocks the halt, with the figures") {
    Fixture f;
    NftObject elem;
    elem.kind = NftKind::kSetElem;
    elem.payload = std::string(24, 'x');
    for (int i = 0; i < 100000; ++i) f.rs.Add(elem);
    uint64_t need = HaltMemoryKib(f.rs);
    // At least what was measured for 12-byte elements (readiness.cc): 36 MB
    // at 1,000,000 for the final stage, the same for the watcher, 83 bytes
    // an element for the guard's copy in the kernel and 35 for a restore's
    // batch and transaction.
    CHECK(need > 100000 * (34 + 34 + 83 + 35) / 1024);
    f.mem_available_kib = need;  // just enough
    CHECK(f.Assess().ready());
    f.mem_available_kib = 16 * 1024;
    Readiness r = f.Assess();
    CHECK_FALSE(r.ready());
    CHECK(r.blockers ==
          std::vector<std::string>{
              "ruleset: halting with it needs about " + std::to_string(need / 1024 + 1) +
              " MiB (100002 objects, held by the final stage and the ruleset watcher, and by the kernel twice with the "
              "shutdown guard's copy) and only 16 MiB are available (MemAvailable): a final stage that runs out of "
              "memory panics the kernel"});
}

TEST_CASE("the shutdown guard's owned tables in the live ruleset do not block a new arm; another owned table does") {
    Fixture f;
    NftObject guard;
    guard.kind = NftKind::kTable;
    guard.family = NFPROTO_INET;
    guard.name = "haltfw_guard_0";
    guard.flags = NFT_TABLE_F_OWNER;
    f.rs.objects.push_back(guard);
    CHECK(f.Assess().ready());
    f.rs.objects.back().name = "firewalld";
    Readiness r = f.Assess();
    CHECK_FALSE(r.ready());
    CHECK(
        r.blockers ==
        std::vector<std::string>{
            "ruleset: table inet firewalld is owned by a process (flag 'owner') and vanishes when that process exits"});
}

TEST_CASE("a conntrack table that cannot fit in the memory available warns, with the figures") {
    Fixture f;
    f.live["net.netfilter.nf_conntrack_max"] = "262144\n";
    f.mem_available_kib = 128 * 1024;  // what a full table takes (512 bytes an entry): fits
    auto conntrack = [](const Readiness& r) {
        return std::count_if(r.warnings.begin(), r.warnings.end(),
                             [](const std::string& w) { return w.starts_with("conntrack: "); });
    };
    CHECK(conntrack(f.Assess()) == 0);
    f.mem_available_kib = 100 * 1024;
    Readiness r = f.Assess();
    CHECK(r.ready());
    CHECK(std::count(r.warnings.begin(), r.warnings.end(),
                     "conntrack: its table may hold 262144 connections (net.netfilter.nf_conntrack_max), about 128 "
                     "MiB of kernel memory when full, and only 100 MiB are available (MemAvailable): a flood of new "
                     "connections would run the halted box out of memory, and it would panic; lower "
                     "net.netfilter.nf_conntrack_max in [sysctl]") == 1);
    // No conntrack loaded (no such key), or no figure for the memory: nothing said.
    f.live.erase("net.netfilter.nf_conntrack_max");
    CHECK(conntrack(f.Assess()) == 0);
    f.live["net.netfilter.nf_conntrack_max"] = "262144";
    f.mem_available_kib = 0;
    CHECK(conntrack(f.Assess()) == 0);
}

TEST_CASE("a running watchdog that cannot be stopped blocks the halt; one that can, or that does not run, does not") {
    auto with = [](std::vector<Watchdog> w) {
        Fixture g;
        ReadinessInputs gin;
        gin.config = &g.cfg;
        gin.state = &g.state;
        gin.interfaces = &g.ifs;
        gin.ruleset = &g.rs;
        gin.live = &g.rs;
        gin.watchdogs = std::move(w);
        return AssessReadiness(gin);
    };
    auto fine_watchdogs = [](const Readiness& r) {
        std::vector<std::string> w;
        for (const std::string& f : r.fine)
            if (f.starts_with("watchdog: ")) w.push_back(f);
        return w;
    };
    Readiness stops = with({{"watchdog0", "iTCO_wdt", true, false, 30}});  // systemd's magic close stops it
    CHECK(stops.ready());
    CHECK(fine_watchdogs(stops) ==
          std::vector<std::string>{
              "watchdog: watchdog0 (iTCO_wdt) runs, and systemd's magic close stops it at the halt"});
    Readiness idle = with({{"watchdog0", "iTCO_wdt", false, true, 30}});  // nobody runs it
    CHECK(idle.ready());
    CHECK(fine_watchdogs(idle) == std::vector<std::string>{"watchdog: watchdog0 (iTCO_wdt) is not running"});
    Readiness b = with({{"watchdog0", "iTCO_wdt", false, false, 0}, {"watchdog1", "i6300ESB timer", true, true, 30},
                        {"watchdog2", "", true, true, 0}});
    CHECK(b.blockers ==
          std::vector<std::string>{
              "watchdog: watchdog1 (i6300ESB timer) is running and cannot be stopped (nowayout): nothing "
              "feeds it once the box is halted, and it resets the box within 30 s of the halt; load its "
              "driver with nowayout=0, or do not start it",
              "watchdog: watchdog2 is running and cannot be stopped (nowayout): nothing feeds it once the "
              "box is halted, and it resets the box soon after the halt; load its driver with "
              "nowayout=0, or do not start it"});
}

TEST_CASE("what check found fine is listed too, for check --verbose") {
    Fixture f;
    f.live["net.netfilter.nf_conntrack_max"] = "65536";
    f.mem_available_kib = 1024 * 1024;
    Readiness r = f.Assess();
    REQUIRE(r.ready());
    CHECK(r.fine == std::vector<std::string>{
                        "interface 'wan' (eth0): exists; 1 address with no lifetime to run out",
                        "ruleset: halting with it needs about " + std::to_string(HaltMemoryKib(f.rs) / 1024 + 1) +
                            " MiB, and 1024 MiB are available",
                        "ruleset: a trial restore in a scratch network namespace put it back whole",
                        "ruleset: a base chain on the forward hook for IPv4",
                        "ruleset: a base chain on the forward hook for IPv6",
                        "conntrack: a full table (65536 connections) takes about 32 MiB, and 1024 MiB are available",
                        "watchdog: none",
                    });
}

TEST_CASE("kernel.panic: a box that stays down after a panic is a warning; a timeout, armed or live, is fine") {
    const std::string warning =
        "kernel: a kernel panic leaves the halted box down, forwarding nothing, until someone resets it "
        "(kernel.panic = 0, now; the config leaves it); [halt] panic-reboot = SECONDS reboots it (and a box that "
        "arms and halts at boot comes back halted)";
    auto fine_of = [](const Readiness& r) {
        std::vector<std::string> out;
        for (const std::string& l : r.fine)
            if (l.starts_with("kernel: ")) out.push_back(l);
        return out;
    };
    {
        Fixture f;
        f.live["kernel.panic"] = "0\n";
        Readiness r = f.Assess();
        CHECK(r.ready());
        CHECK(std::count(r.warnings.begin(), r.warnings.end(), warning) == 1);
        CHECK(fine_of(r).empty());
    }
    {
        Fixture f("[halt]\npanic-reboot = 10\n");
        f.live["kernel.panic"] = "0\n";
        Readiness r = f.Assess();
        CHECK(std::count(r.warnings.begin(), r.warnings.end(), warning) == 0);
        CHECK(fine_of(r) == std::vector<std::string>{
                                "kernel: a kernel panic reboots the box 10 s later (kernel.panic = 10, [halt] "
                                "panic-reboot)"});
    }
    {
        Fixture f("kernel.panic = 30\n");  // in [sysctl]
        f.live["kernel.panic"] = "0\n";
        CHECK(fine_of(f.Assess()) == std::vector<std::string>{
                                         "kernel: a kernel panic reboots the box 30 s later (kernel.panic = 30, "
                                         "[sysctl])"});
    }
    {
        Fixture f("kernel.panic = 0\n");  // in [sysctl]: said, and warned about all the same
        f.live["kernel.panic"] = "5\n";
        Readiness r = f.Assess();
        CHECK(std::count(r.warnings.begin(), r.warnings.end(),
                         "kernel: a kernel panic leaves the halted box down, forwarding nothing, until someone resets "
                         "it (kernel.panic = 0, [sysctl]); [halt] panic-reboot = SECONDS reboots it (and a box that "
                         "arms and halts at boot comes back halted)") == 1);
    }
    {
        Fixture f;  // qemu-run's panic=-1 on the kernel's command line
        f.live["kernel.panic"] = "-1\n";
        CHECK(fine_of(f.Assess()) == std::vector<std::string>{
                                         "kernel: a kernel panic reboots the box at once (kernel.panic = -1, now; the "
                                         "config leaves it)"});
    }
    {
        Fixture f;  // not readable, not set: nothing said
        Readiness r = f.Assess();
        CHECK(fine_of(r).empty());
        CHECK(std::none_of(r.warnings.begin(), r.warnings.end(),
                           [](const std::string& w) { return w.starts_with("kernel: "); }));
    }
}

TEST_CASE("a WireGuard device warns that the final stage does not yet check or repair it") {
    Fixture f("[interface.vpn]\ndevice = wg0\nwireguard-key = wg0.key\nlisten-port = 51820\n");
    f.state.links.push_back({3, "wg0", std::nullopt, 1420, IFF_UP, ""});
    f.ifs = ResolveInterfaces(f.cfg, f.state);
    Readiness r = f.Assess();
    CHECK(std::count(r.warnings.begin(), r.warnings.end(),
                     "interface 'vpn' (wg0): a WireGuard device; the final stage does not yet check or repair its "
                     "key, port and peers: a unit that deletes or changes it at stop (wg-quick@) leaves the halted box "
                     "without the tunnel as configured") == 1);
    Fixture plain;
    Readiness p = plain.Assess();
    CHECK(std::none_of(p.warnings.begin(), p.warnings.end(),
                       [](const std::string& w) { return w.find("WireGuard") != std::string::npos; }));
}
