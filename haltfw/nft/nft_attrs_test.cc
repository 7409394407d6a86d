#include "nft/nft_attrs.h"

#include <catch2/catch.hpp>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>

#include <cstring>

#include "nft/nft_test_support.h"

using namespace haltfw;

namespace {

std::string Expr(const std::string& name, const std::string& data) {
    return Nested(NFTA_LIST_ELEM, Attr(NFTA_EXPR_NAME, Str(name)) + Nested(NFTA_EXPR_DATA, data));
}
std::string Rule(const std::string& exprs) {
    return Attr(NFTA_RULE_TABLE, Str("t")) + Attr(NFTA_RULE_CHAIN, Str("c")) + Nested(NFTA_RULE_EXPRESSIONS, exprs);
}
std::string Jump(const std::string& chain) {
    return Expr("immediate",
                Attr(NFTA_IMMEDIATE_DREG, Be32(0)) +
                    Nested(NFTA_IMMEDIATE_DATA, Nested(NFTA_DATA_VERDICT, Attr(NFTA_VERDICT_CODE, Be32(NFT_JUMP)) +
                                                                              Attr(NFTA_VERDICT_CHAIN, Str(chain)))));
}

}  // namespace

TEST_CASE("attributes are found and edited without touching the rest", "[nft_attrs]") {
    std::string run = Attr(1, "abc") + Attr(2, Be32(7)) + Attr(1, "second");
    std::string_view v;
    REQUIRE(FindAttr(run, 1, &v));
    CHECK(v == "abc");
    REQUIRE(FindAttr(run, 2, &v));
    CHECK(AttrBe32(v) == 7);
    CHECK_FALSE(FindAttr(run, 3, &v));
    CHECK(EditAttrs(run, [](uint16_t, std::string*) { return true; }) == run);
    CHECK(EditAttrs(run, [](uint16_t t, std::string*) { return t != 1; }) == Attr(2, Be32(7)));
    CHECK(EditAttrs(run, [](uint16_t t, std::string* v) {
              if (t == 2) *v = "x";
              return true;
          }) == Attr(1, "abc") + Attr(2, "x") + Attr(1, "second"));
}

TEST_CASE("malformed attribute runs end the walk instead of reading past them", "[nft_attrs]") {
    std::string good = Attr(1, "abc");
    std::string truncated = good + Attr(2, "long value").substr(0, 7);
    int seen = 0;
    ForEachAttr(truncated, [&](uint16_t, std::string_view) { ++seen; });
    CHECK(seen == 1);
    nlattr zero{0, 1};
    std::string zero_len(reinterpret_cast<const char*>(&zero), sizeof zero);
    seen = 0;
    ForEachAttr(zero_len + good, [&](uint16_t, std::string_view) { ++seen; });
    CHECK(seen == 0);
    CHECK(EditAttrs(truncated, [](uint16_t, std::string*) { return true; }) == good);
    CHECK(AttrBe32("ab") == 0);
    CHECK(RuleJumpTargets("\x01") == std::vector<std::string>{});
}

TEST_CASE("a rule's jump and goto targets are read from its verdicts", "[nft_attrs]") {
    std::string rule = Rule(Expr("counter", "") + Jump("__chain3") + Jump("named"));
    CHECK(RuleJumpTargets(rule) == std::vector<std::string>{"__chain3", "named"});
    CHECK(RuleJumpTargets(Rule(Expr("counter", ""))).empty());
}

TEST_CASE("a rule goes back without the attributes the kernel refuses", "[nft_attrs]") {
    std::string set_name = Attr(NFTA_DYNSET_SET_NAME, Str("s"));
    std::string zero_timeout = Attr(NFTA_DYNSET_TIMEOUT, std::string(8, '\0'));
    std::string timeout = Attr(NFTA_DYNSET_TIMEOUT, std::string(7, '\0') + '\x10');
    CHECK(RuleForRestore(Rule(Expr("dynset", set_name + zero_timeout))) == Rule(Expr("dynset", set_name)));
    CHECK(RuleForRestore(Rule(Expr("dynset", set_name + timeout))) == Rule(Expr("dynset", set_name + timeout)));

    std::string common =
        Attr(NFTA_EXTHDR_TYPE, "\x02") + Attr(NFTA_EXTHDR_OFFSET, Be32(2)) + Attr(NFTA_EXTHDR_LEN, Be32(2));
    std::string flags = Attr(NFTA_EXTHDR_FLAGS, Be32(0)) + Attr(NFTA_EXTHDR_OP, Be32(NFT_EXTHDR_OP_TCPOPT));
    std::string read = Attr(NFTA_EXTHDR_DREG, Be32(1)) + common + flags;
    CHECK(RuleForRestore(Rule(Expr("exthdr", read))) == Rule(Expr("exthdr", read)));  // a match keeps all
    std::string write = Attr(NFTA_EXTHDR_SREG, Be32(1)) + common + flags;
    CHECK(RuleForRestore(Rule(Expr("exthdr", write))) ==
          Rule(Expr("exthdr",
                    Attr(NFTA_EXTHDR_SREG, Be32(1)) + common + Attr(NFTA_EXTHDR_OP, Be32(NFT_EXTHDR_OP_TCPOPT)))));
    std::string strip = common + flags;
    CHECK(RuleForRestore(Rule(Expr("exthdr", strip))) ==
          Rule(Expr("exthdr", Attr(NFTA_EXTHDR_TYPE, "\x02") + Attr(NFTA_EXTHDR_OP, Be32(NFT_EXTHDR_OP_TCPOPT)))));
}

TEST_CASE("an element's key and interval end are read from its own bytes", "[nft_attrs]") {
    std::string key = Nested(NFTA_SET_ELEM_KEY, Attr(NFTA_DATA_VALUE, std::string("\xc0\x00\x02\x00", 4)));
    std::string k;
    bool end = true;
    ElementKey(key, &k, &end);
    CHECK(k == std::string("\xc0\x00\x02\x00", 4));
    CHECK_FALSE(end);
    ElementKey(key + Attr(NFTA_SET_ELEM_FLAGS, Be32(NFT_SET_ELEM_INTERVAL_END)), &k, &end);
    CHECK(end);
    ElementKey("", &k, &end);
    CHECK(k.empty());
    CHECK_FALSE(end);
}

TEST_CASE("an interval's end goes back without the timeout the kernel dumps on it", "[nft_attrs]") {
    std::string key = Nested(NFTA_SET_ELEM_KEY, Attr(NFTA_DATA_VALUE, std::string("\xc6\x33\x65\x00", 4)));
    std::string zero_timeout = Attr(NFTA_SET_ELEM_TIMEOUT, std::string(8, '\0'));
    std::string end_flag = Attr(NFTA_SET_ELEM_FLAGS, Be32(NFT_SET_ELEM_INTERVAL_END));
    std::string scratch;
    std::string end = key + end_flag + zero_timeout;
    CHECK(ElementForRestore(end, &scratch) == key + end_flag);
    // A start, and an end with nothing to drop, go back as they are, not
    // copied.
    std::string start = key + zero_timeout;
    CHECK(ElementForRestore(start, &scratch).data() == start.data());
    std::string bare_end = key + end_flag;
    CHECK(ElementForRestore(bare_end, &scratch).data() == bare_end.data());
}
