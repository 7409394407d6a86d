// Base chains found in canonical chain payloads built with libnftnl, as the
// dump builds them: no kernel needed.
#include "nft/nft_hooks.h"

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <libnftnl/chain.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter_bridge.h>
#include <linux/netlink.h>

#include "nft/nft_test_support.h"

using namespace haltfw;

TEST_CASE("an empty ruleset, or one of regular chains only, has no base chain") {
    NftRuleset rs;
    CHECK(BaseChains(rs).empty());
    rs.objects = {TestChain(NFPROTO_INET, "forward", -1), TestChain(NFPROTO_IPV4, "input", -1)};
    CHECK(BaseChains(rs).empty());
    CHECK_FALSE(HasBaseChain(BaseChains(rs), NFPROTO_IPV4, NF_INET_FORWARD));
}

TEST_CASE("a chain with a malformed payload is not taken for a base chain") {
    // NFTA_CHAIN_HOOK claiming 24 bytes where it has 12, holding a hook number.
    nlattr hook{24, NLA_F_NESTED | NFTA_CHAIN_HOOK};
    nlattr num{8, NFTA_HOOK_HOOKNUM};
    uint32_t forward = htonl(NF_INET_FORWARD);
    std::string bytes(reinterpret_cast<const char*>(&hook), sizeof hook);
    bytes.append(reinterpret_cast<const char*>(&num), sizeof num);
    bytes.append(reinterpret_cast<const char*>(&forward), sizeof forward);
    NftObject cut;
    cut.kind = NftKind::kChain;
    cut.family = NFPROTO_IPV4;
    cut.payload = bytes;
    NftRuleset rs;
    rs.objects = {cut};
    CHECK(BaseChains(rs).empty());
    rs.objects[0].payload = std::string("\x03\x00", 2);  // shorter than an attribute header
    CHECK(BaseChains(rs).empty());
    // The same attribute with its true length is a base chain on forward.
    rs.objects[0].payload = bytes;
    rs.objects[0].payload[0] = 12;
    REQUIRE(BaseChains(rs).size() == 1);
    CHECK(BaseChains(rs)[0].hook == NF_INET_FORWARD);
}

TEST_CASE("base chains: family, hook, table and name, in the ruleset's order") {
    NftRuleset rs;
    rs.objects = {TestChain(NFPROTO_IPV6, "in6", NF_INET_LOCAL_IN), TestChain(NFPROTO_INET, "helper", -1),
                  TestChain(NFPROTO_INET, "fwd", NF_INET_FORWARD)};
    std::vector<NftBaseChain> b = BaseChains(rs);
    REQUIRE(b.size() == 2);
    CHECK(b[0].family == NFPROTO_IPV6);
    CHECK(b[0].hook == NF_INET_LOCAL_IN);
    CHECK(b[0].table == "t");
    CHECK(b[0].name == "in6");
    CHECK(b[1].family == NFPROTO_INET);
    CHECK(b[1].hook == NF_INET_FORWARD);
    CHECK(b[1].name == "fwd");
}

TEST_CASE("an ip forward chain covers IPv4 only; an inet one covers both") {
    NftRuleset ip;
    ip.objects = {TestChain(NFPROTO_IPV4, "forward", NF_INET_FORWARD)};
    CHECK(HasBaseChain(BaseChains(ip), NFPROTO_IPV4, NF_INET_FORWARD));
    CHECK_FALSE(HasBaseChain(BaseChains(ip), NFPROTO_IPV6, NF_INET_FORWARD));
    CHECK_FALSE(HasBaseChain(BaseChains(ip), NFPROTO_IPV4, NF_INET_LOCAL_IN));

    NftRuleset inet;
    inet.objects = {TestChain(NFPROTO_INET, "forward", NF_INET_FORWARD)};
    CHECK(HasBaseChain(BaseChains(inet), NFPROTO_IPV4, NF_INET_FORWARD));
    CHECK(HasBaseChain(BaseChains(inet), NFPROTO_IPV6, NF_INET_FORWARD));
}

TEST_CASE("bridge and netdev chains do not cover routed traffic") {
    NftRuleset rs;
    rs.objects = {TestChain(NFPROTO_BRIDGE, "forward", NF_BR_FORWARD),
                  TestChain(NFPROTO_NETDEV, "ingress", NF_NETDEV_INGRESS)};
    CHECK(BaseChains(rs).size() == 2);
    CHECK_FALSE(HasBaseChain(BaseChains(rs), NFPROTO_IPV4, NF_INET_FORWARD));
    CHECK_FALSE(HasBaseChain(BaseChains(rs), NFPROTO_IPV4, NF_INET_PRE_ROUTING));
}
