#include "readiness.h"

#include <catch2/catch.hpp>
#include <linux/if.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

using namespace haltfw;

namespace {

struct Fixture {
    Config cfg;
    NetState state;
    std::vector<ResolvedInterface> ifs;
    NftRuleset rs;

    explicit Fixture(const std::string& extra = "") {
        Diagnostics d;
        cfg = ParseConfig("[ruleset]\nfile = /r.nft\n[interface.wan]\ndevice = eth0\naddress = 198.51.100.1/24\n"
                          "[sysctl]\nnet.ipv4.ip_forward = 1\n" + extra,
                          "haltfw.conf", &d);
        REQUIRE(d.ok());
        state.links.push_back({2, "eth0", std::nullopt, 1500, IFF_UP, ""});
        state.addresses.push_back({2, *ParsePrefix("198.51.100.1/24", true)});
        ifs = ResolveInterfaces(cfg, state);
    }

    Readiness Assess() {
        ReadinessInputs in;
        in.config = &cfg;
        in.state = &state;
        in.interfaces = &ifs;
        in.ruleset = &rs;
        in.live = &rs;
        return AssessReadiness(in);
    }
};

}  // namespace

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
          "interface 'wan' (eth0): address 198.51.100.77/24 has a finite lifetime (valid 600 s): a DHCP or router-advertisement "
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
    f.rs.objects = {table, rule};
    Readiness r = f.Assess();
    CHECK(r.blockers == std::vector<std::string>{
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
    CHECK(r.warnings == std::vector<std::string>{
                            "interface 'wan' (eth0): address 203.0.113.9/24 is not in the config; it stays as it is",
                            "the ruleset's statements could not be examined: it is not loaded yet",
                            "IPv6 is configured without a static gateway6: haltfw turns router advertisements off (accept_ra = 0), so IPv6 beyond the local links needs gateway6",
                            "no [sysctl] turns forwarding on (net.ipv4.ip_forward = 1): the halted box will route nothing",
                            "firewalld is installed: it replaces the ruleset when it starts and flushes it when it stops (CleanupOnExit)",
                        });
}
