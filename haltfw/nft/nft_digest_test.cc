// Canonical form and digest, on libnftnl objects built in memory (as
// libnftnl's own tests do): no kernel needed.
#include "nft/nft_digest.h"

#include <catch2/catch.hpp>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

using namespace haltfw;

namespace {

NftObject Table(uint64_t handle, uint32_t use) {
    nftnl_table* t = nftnl_table_alloc();
    nftnl_table_set_str(t, NFTNL_TABLE_NAME, "filter");
    nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
    nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, 0);
    nftnl_table_set_u64(t, NFTNL_TABLE_HANDLE, handle);
    nftnl_table_set_u32(t, NFTNL_TABLE_USE, use);
    NftObject o = CanonicalTable(t);
    nftnl_table_free(t);
    return o;
}

NftObject Chain(uint64_t handle, uint32_t policy, uint64_t packets) {
    nftnl_chain* c = nftnl_chain_alloc();
    nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, "filter");
    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, "forward");
    nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
    nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_FORWARD);
    nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 0);
    nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
    nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, policy);
    nftnl_chain_set_u64(c, NFTNL_CHAIN_HANDLE, handle);
    nftnl_chain_set_u64(c, NFTNL_CHAIN_PACKETS, packets);
    nftnl_chain_set_u64(c, NFTNL_CHAIN_BYTES, packets * 100);
    NftObject o = CanonicalChain(c);
    nftnl_chain_free(c);
    return o;
}

// "counter accept" or "counter drop", with the given handle and count.
NftObject Rule(uint64_t handle, uint64_t packets, int verdict) {
    nftnl_rule* r = nftnl_rule_alloc();
    nftnl_rule_set_str(r, NFTNL_RULE_TABLE, "filter");
    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, "forward");
    nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
    nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, handle);
    nftnl_expr* ctr = nftnl_expr_alloc("counter");
    nftnl_expr_set_u64(ctr, NFTNL_EXPR_CTR_PACKETS, packets);
    nftnl_expr_set_u64(ctr, NFTNL_EXPR_CTR_BYTES, packets * 60);
    nftnl_rule_add_expr(r, ctr);
    nftnl_expr* imm = nftnl_expr_alloc("immediate");
    nftnl_expr_set_u32(imm, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
    nftnl_expr_set_u32(imm, NFTNL_EXPR_IMM_VERDICT, static_cast<uint32_t>(verdict));
    nftnl_rule_add_expr(r, imm);
    NftObject o = CanonicalRule(r);
    nftnl_rule_free(r);
    return o;
}

NftObject Element(uint32_t key, uint64_t expiration) {
    nftnl_set* s = nftnl_set_alloc();
    nftnl_set_set_str(s, NFTNL_SET_TABLE, "filter");
    nftnl_set_set_str(s, NFTNL_SET_NAME, "blocked");
    nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
    nftnl_set_elem* e = nftnl_set_elem_alloc();
    nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &key, sizeof key);
    nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, 3600000);
    nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_EXPIRATION, expiration);
    NftObject o = CanonicalSetElem(s, e);
    nftnl_set_elem_free(e);
    nftnl_set_free(s);
    return o;
}

// The set Element() belongs to, with the given NFT_SET_* flags.
NftObject Set(uint32_t flags) {
    nftnl_set* s = nftnl_set_alloc();
    nftnl_set_set_str(s, NFTNL_SET_TABLE, "filter");
    nftnl_set_set_str(s, NFTNL_SET_NAME, "blocked");
    nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
    nftnl_set_set_u32(s, NFTNL_SET_FLAGS, flags);
    nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 4);
    NftObject o = CanonicalSet(s);
    nftnl_set_free(s);
    return o;
}

std::string Digest(std::vector<NftObject> objs) {
    NftRuleset rs;
    for (NftObject& o : objs) rs.Add(std::move(o));
    SortCanonical(&rs);
    return RulesetDigest(rs);
}

NftKind KindOf(const NftRuleset::Entry& e) { return e.object ? e.object->kind : NftKind::kSetElem; }

}  // namespace

TEST_CASE("handles, use counts and counter values do not change the digest") {
    std::string a = Digest({Table(1, 3), Chain(7, NF_ACCEPT, 0), Rule(10, 0, NF_ACCEPT)});
    std::string b = Digest({Table(42, 9), Chain(99, NF_ACCEPT, 12345), Rule(77, 555, NF_ACCEPT)});
    CHECK(a == b);
    CHECK(a.size() == 64);
}

TEST_CASE("a chain policy change, a rule change or an extra rule changes the digest") {
    std::string base = Digest({Table(1, 3), Chain(7, NF_ACCEPT, 0), Rule(10, 0, NF_ACCEPT)});
    CHECK(Digest({Table(1, 3), Chain(7, NF_DROP, 0), Rule(10, 0, NF_ACCEPT)}) != base);
    CHECK(Digest({Table(1, 3), Chain(7, NF_ACCEPT, 0), Rule(10, 0, NF_DROP)}) != base);
    CHECK(Digest({Table(1, 3), Chain(7, NF_ACCEPT, 0), Rule(10, 0, NF_ACCEPT), Rule(11, 0, NF_ACCEPT)}) != base);
}

TEST_CASE("rule order within a chain matters; set element order does not") {
    std::string ad = Digest({Table(1, 1), Rule(1, 0, NF_ACCEPT), Rule(2, 0, NF_DROP)});
    std::string da = Digest({Table(1, 1), Rule(1, 0, NF_DROP), Rule(2, 0, NF_ACCEPT)});
    CHECK(ad != da);

    std::string e12 = Digest({Table(1, 1), Element(0x0100000a, 5), Element(0x0200000a, 9)});
    std::string e21 = Digest({Table(1, 1), Element(0x0200000a, 1000), Element(0x0100000a, 2000)});
    CHECK(e12 == e21);  // and the remaining time-outs are not part of it
    CHECK(Digest({Table(1, 1), Element(0x0100000a, 5), Element(0x0300000a, 9)}) != e12);
}

TEST_CASE("an interval concatenation's element order is part of the digest") {
    for (uint32_t flags : {0u, uint32_t(NFT_SET_INTERVAL), uint32_t(NFT_SET_CONCAT)}) {
        std::string e12 = Digest({Table(1, 1), Set(flags), Element(0x0100000a, 0), Element(0x0200000a, 0)});
        CHECK(Digest({Table(1, 1), Set(flags), Element(0x0200000a, 0), Element(0x0100000a, 0)}) == e12);
    }
    uint32_t pipapo = NFT_SET_INTERVAL | NFT_SET_CONCAT;
    NftRuleset rs;
    for (NftObject o : {Table(1, 1), Set(pipapo), Element(0x0200000a, 0), Element(0x0100000a, 0)}) rs.Add(o);
    NftElements listed = rs.elements[0];
    SortCanonical(&rs);
    REQUIRE(rs.elements[0].size() == 2);
    CHECK(rs.elements[0][0] == listed[0]);  // the kernel's order, kept
    std::string e21 = RulesetDigest(rs);
    CHECK(Digest({Table(1, 1), Set(pipapo), Element(0x0100000a, 0), Element(0x0200000a, 0)}) != e21);
}

TEST_CASE("canonical order puts a table's objects in restore order") {
    NftRuleset rs;
    for (NftObject o : {Rule(1, 0, NF_ACCEPT), Element(1, 0), Chain(1, NF_ACCEPT, 0), Table(1, 1)}) rs.Add(o);
    SortCanonical(&rs);
    std::vector<NftRuleset::Entry> order = rs.CanonicalOrder();
    REQUIRE(order.size() == 4);
    CHECK(KindOf(order[0]) == NftKind::kTable);
    CHECK(KindOf(order[1]) == NftKind::kChain);
    CHECK(KindOf(order[2]) == NftKind::kSetElem);
    CHECK(KindOf(order[3]) == NftKind::kRule);
    CHECK(rs.Count(NftKind::kRule) == 1);
}

TEST_CASE("statements that need a daemon are noted on the rule") {
    nftnl_rule* r = nftnl_rule_alloc();
    nftnl_rule_set_str(r, NFTNL_RULE_TABLE, "filter");
    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, "input");
    nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
    nftnl_expr* log = nftnl_expr_alloc("log");
    nftnl_expr_set_u16(log, NFTNL_EXPR_LOG_GROUP, 2);
    nftnl_rule_add_expr(r, log);
    nftnl_rule_add_expr(r, nftnl_expr_alloc("queue"));
    NftObject o = CanonicalRule(r);
    nftnl_rule_free(r);
    CHECK(o.daemon_statements == std::vector<std::string>{"log group 2", "queue"});
}

TEST_CASE("a set listing counts only when no element repeats and two listings agree", "[nft_dump]") {
    std::vector<uint64_t> a{1, 2, 3}, dup{1, 2, 2}, other{1, 2, 4};
    CHECK(ListingIsWhole(a, nullptr));
    CHECK_FALSE(ListingIsWhole(dup, nullptr));
    CHECK(ListingIsWhole(a, &a));
    CHECK_FALSE(ListingIsWhole(a, &other));
    CHECK_FALSE(ListingIsWhole(dup, &dup));
    std::vector<uint64_t> shorter{1, 2};
    CHECK_FALSE(ListingIsWhole(shorter, &a));  // an element skipped
}
