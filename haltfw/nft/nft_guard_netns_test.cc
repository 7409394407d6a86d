// The shutdown guard against the real kernel: what other sockets can and
// cannot do to the owned copy, and that the copy leaves with its socket.
// Run as `unshare --net haltfw_netns_tests`.
#include "nft/nft_guard.h"

#include <catch2/catch.hpp>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "nft/netns_test_support.h"
#include "nft/nft_test_support.h"
#include "nft/nft_digest.h"
#include "nft/nft_restore.h"
#include "nft/ruleset_stamp.h"
#include "net/netlink_socket.h"

using namespace haltfw;

namespace {

const char* kArmed = R"(flush ruleset
table inet filter {
    set lan { type ipv4_addr; flags interval; elements = { 192.0.2.0/24 } }
    chain forward {
        type filter hook forward priority filter; policy drop;
        ct state established,related accept
        ip saddr @lan oifname "wan0" accept
    }
}
table ip nat {
    chain postrouting { type nat hook postrouting priority srcnat; oifname "wan0" masquerade; }
}
)";

// The live digest, which leaves owned tables out.
std::string DigestWithoutOwned() { return RulesetDigest(DumpOrFail()); }

bool Fails(const std::string& cmd) { return system((cmd + " 2>/dev/null").c_str()) != 0; }

}  // namespace

TEST_CASE("the guard's copy survives a flush and refuses every other socket's change", "[guard]") {
    REQUIRE(InPrivateNetns());
    std::string file = "/tmp/haltfw-guard-test-" + std::to_string(getpid()) + ".nft";
    {
        std::ofstream f(file);
        f << kArmed;
    }
    Sh("nft -f " + file);
    std::remove(file.c_str());
    NftRuleset armed = DumpOrFail();
    std::string digest = RulesetDigest(armed);

    auto guard = std::make_unique<NftGuard>();
    std::string err;
    bool loaded = guard->Load(armed, &err);
    INFO(err);
    REQUIRE(loaded);
    CHECK(guard->tables() == 2);
    // The digest describes the user's ruleset, never the guard.
    CHECK(DigestWithoutOwned() == digest);

    Sh("nft flush ruleset");
    CHECK(Run("nft list tables") == "table inet haltfw_guard_0\ntable ip haltfw_guard_1\n");
    CHECK(Fails("nft delete table inet haltfw_guard_0"));
    CHECK(Fails("nft insert rule inet haltfw_guard_0 forward accept"));
    CHECK(Fails("nft add chain inet haltfw_guard_0 forward '{ policy accept; }'"));
    CHECK(Fails("nft flush chain inet haltfw_guard_0 forward"));
    CHECK(Fails("nft delete element inet haltfw_guard_0 lan '{ 192.0.2.0/24 }'"));
    CHECK(Fails("nft add element inet haltfw_guard_0 lan '{ 198.51.100.0/24 }'"));
    CHECK(Run("nft list chain inet haltfw_guard_0 forward | grep -c 'policy drop'") == "1\n");

    // A restore replaces the user's tables and leaves the guard's.
    REQUIRE(RestoreRuleset(armed, &err));
    CHECK(DigestWithoutOwned() == digest);
    CHECK(Run("nft list tables | grep -c haltfw_guard_") == "2\n");

    // A second guard cannot take over the first one's tables (the owner
    // check comes before the exclusive create's).
    NftGuard second;
    CHECK_FALSE(second.Load(armed, &err));
    CHECK(err == "guard: table haltfw_guard_0: Operation not permitted");

    guard.reset();  // its socket closes: the copy goes
    CHECK(Run("nft list tables") == "table inet filter\ntable ip nat\n");
    CHECK(RulesetDigest(DumpOrFail()) == digest);
}

TEST_CASE("a guard loaded on the condition of arm's generation proves the user's ruleset unchanged", "[guard]") {
    REQUIRE(InPrivateNetns());
    Sh("nft flush ruleset");
    Sh("printf '%s' '" + std::string(kArmed) + "' | nft -f -");
    uint32_t armed_gen = 0;
    NftRuleset armed;
    std::string err;
    REQUIRE(DumpRuleset(&armed, &err, &armed_gen));

    // Nothing committed since: the one commit is the guard's, and the kernel
    // numbers it as NextGeneration says.
    uint32_t proven = 0;
    {
        NftGuard g;
        REQUIRE(g.Load(armed, &err, armed_gen));
        proven = g.proven();
        CHECK(proven == NextGeneration(armed_gen));
        uint32_t now = 0;
        REQUIRE(RulesetGeneration(&now, &err));
        CHECK(now == proven);
    }
    // Its socket closed with the scope: the copy is gone, with no
    // transaction (the final stage relies on it: the generation the watcher
    // proved outlives the watcher).
    CHECK(Run("nft list tables | grep -c haltfw_guard_ || true") == "0\n");
    uint32_t after_close = 0;
    REQUIRE(RulesetGeneration(&after_close, &err));
    CHECK(after_close == proven);

    // A commit in between, even one that leaves the same ruleset: the
    // conditional load is refused whole, and the copy loaded all the same,
    // proving nothing.
    REQUIRE(DumpRuleset(&armed, &err, &armed_gen));
    Sh("nft add table ip between && nft delete table ip between");
    {
        bool moved = false;
        NftRuleset copy = GuardCopy(armed);
        uint32_t before = 0, after = 0;
        REQUIRE(RulesetGeneration(&before, &err));
        NetlinkSocket s(mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC));
        REQUIRE(s);
        REQUIRE(mnl_socket_bind(s.get(), 0, MNL_SOCKET_AUTOPID) == 0);
        CHECK_FALSE(LoadRuleset(s.get(), copy, LoadMode::kAddNewTables, &err, armed_gen, &moved));
        CHECK(moved);
        CHECK(err == "restore: the ruleset moved on from generation " + std::to_string(armed_gen) + "; nothing loaded");
        REQUIRE(RulesetGeneration(&after, &err));
        CHECK(after == before);
        CHECK(Run("nft list tables | grep -c haltfw_guard_ || true") == "0\n");
    }
    NftGuard g;
    REQUIRE(g.Load(armed, &err, armed_gen));
    CHECK(g.proven() == 0);
    CHECK(g.tables() == 2);
    CHECK(Run("nft list tables | grep -c haltfw_guard_") == "2\n");
}

TEST_CASE("the guard's copy renames every table and owns it, pure", "[guard]") {
    NftRuleset rs;
    NftObject t;
    t.kind = NftKind::kTable;
    t.family = 2;
    t.name = "haltfw_guard_0";  // a user table with the guard's first name
    rs.objects.push_back(t);
    NftObject c;
    c.kind = NftKind::kChain;
    c.family = 2;
    c.table = "haltfw_guard_0";
    c.name = "forward";
    rs.objects.push_back(c);
    NftRuleset copy = GuardCopy(rs);
    REQUIRE(copy.objects.size() == 2);
    CHECK(copy.objects[0].name == "haltfw_guard_1");
    CHECK((copy.objects[0].flags & 2) != 0);
    CHECK(copy.objects[1].table == "haltfw_guard_1");
    // The digest of the ruleset with the copy beside it is the ruleset's.
    NftRuleset both = rs;
    both.objects.insert(both.objects.end(), copy.objects.begin(), copy.objects.end());
    CHECK(RulesetDigest(both) == RulesetDigest(rs));
}
