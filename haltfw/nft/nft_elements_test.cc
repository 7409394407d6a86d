#include "nft/nft_elements.h"

#include <catch2/catch.hpp>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>

#include <algorithm>
#include <random>
#include <tuple>

#include "nft/nft_test_support.h"

using namespace haltfw;

namespace {

// An element as libnftnl builds it: flags first, then the key.
std::string Element(const std::string& key, bool end, const std::string& data = "") {
    std::string p;
    if (end) p += Attr(NFTA_SET_ELEM_FLAGS, Be32(NFT_SET_ELEM_INTERVAL_END));
    if (!key.empty() || !end) p += Attr(NFTA_SET_ELEM_KEY | NLA_F_NESTED, Attr(NFTA_DATA_VALUE, key));
    if (!data.empty()) p += Attr(NFTA_SET_ELEM_DATA | NLA_F_NESTED, Attr(NFTA_DATA_VALUE, data));
    return p;
}

// The order elements had as NftObjects: the std::string "key, then 0 for a
// start or 1 for an end", then the payload.
using Elem = std::tuple<std::string, bool, std::string>;  // key, interval end, payload

bool ReferenceLess(const Elem& a, const Elem& b) {
    std::string oa = std::get<0>(a) + (std::get<1>(a) ? '\1' : '\0');
    std::string ob = std::get<0>(b) + (std::get<1>(b) ? '\1' : '\0');
    return std::tie(oa, std::get<2>(a)) < std::tie(ob, std::get<2>(b));
}

}  // namespace

TEST_CASE("elements are held and read back byte for byte, across blocks", "[nft_elements]") {
    NftElements g(1, "filter", "s");
    std::vector<std::string> in;
    std::mt19937 rng(7);
    for (int i = 0; i < 5000; ++i) in.push_back(std::string(rng() % 300, static_cast<char>(i)));
    in.push_back(std::string(65535, 'x'));  // the largest a netlink attribute can carry
    in.push_back("");
    for (const std::string& p : in) REQUIRE(g.Add(p));
    CHECK_FALSE(g.Add(std::string(65536, 'x')));
    REQUIRE(g.size() == in.size());
    for (size_t i = 0; i < in.size(); ++i) CHECK(g[i] == in[i]);

    NftElements copy = g;
    REQUIRE(copy.size() == g.size());
    for (size_t i = 0; i < in.size(); ++i) CHECK(copy[i] == in[i]);
    CHECK(copy.table == "filter");
    copy.Clear();
    CHECK(copy.empty());
    CHECK(g.size() == in.size());
}

TEST_CASE("a small set holds little memory", "[nft_elements]") {
    NftElements g(1, "t", "s");
    for (uint32_t i = 0; i < 3; ++i) g.Add(Element(Be32(i), false));
    CHECK(g.HeapBytes() < 1024);
}

TEST_CASE("canonical element order is the order elements had as objects", "[nft_elements]") {
    // Keys of one length, a catch-all (no key), interval ends sharing a key
    // with a start, maps whose data differ, and keys that begin with 0 and 1
    // bytes, where a flag byte meets a key byte.
    std::vector<Elem> elems = {
        {Be32(0x0a000001), false, ""}, {Be32(0x0a000001), true, ""},   {Be32(0x0a000000), true, ""},
        {Be32(0x00000001), false, ""}, {Be32(0x01000000), false, ""},  {"", false, ""},
        {Be32(0x0a000002), false, "a"}, {Be32(0x0a000002), false, "b"}, {std::string("\0", 1), false, ""},
        {std::string("\1", 1), false, ""}, {std::string("\0\0", 2), true, ""},
    };
    for (const auto& a : elems) {
        for (const auto& b : elems) {
            std::string pa = Element(std::get<0>(a), std::get<1>(a), std::get<2>(a));
            std::string pb = Element(std::get<0>(b), std::get<1>(b), std::get<2>(b));
            INFO("a key " << std::get<0>(a).size() << " bytes end " << std::get<1>(a) << "; b key "
                          << std::get<0>(b).size() << " bytes end " << std::get<1>(b));
            // The payloads tie-break; build the reference from them too.
            Elem ra{std::get<0>(a), std::get<1>(a), pa}, rb{std::get<0>(b), std::get<1>(b), pb};
            CHECK(ElementLess(pa, pb) == ReferenceLess(ra, rb));
        }
    }
}

TEST_CASE("sorting puts elements in canonical order and finds them distinct", "[nft_elements]") {
    NftElements g(1, "t", "s");
    std::vector<uint32_t> keys;
    for (uint32_t i = 0; i < 20000; ++i) keys.push_back(i * 2654435761u);
    for (uint32_t k : keys) g.Add(Element(Be32(k), false));
    g.Add(Element(Be32(keys[5]), true));  // an end sharing a start's key
    CHECK_FALSE(g.SortedAndDistinct());
    g.Sort();
    CHECK(g.SortedAndDistinct());
    std::sort(keys.begin(), keys.end());
    CHECK(g[0] == Element(Be32(keys[0]), false));
    CHECK(g[g.size() - 1] == Element(Be32(keys.back()), false));
    g.Add(g[3]);  // the same element twice
    g.Sort();
    CHECK_FALSE(g.SortedAndDistinct());
}

TEST_CASE("only an interval concatenation keeps the kernel's element order", "[nft_elements]") {
    CHECK(KeepsListedOrder(NFT_SET_INTERVAL | NFT_SET_CONCAT));
    CHECK(KeepsListedOrder(NFT_SET_INTERVAL | NFT_SET_CONCAT | NFT_SET_MAP | NFT_SET_ANONYMOUS | NFT_SET_TIMEOUT));
    CHECK_FALSE(KeepsListedOrder(NFT_SET_INTERVAL));  // rbtree: listed in key order
    CHECK_FALSE(KeepsListedOrder(NFT_SET_CONCAT));    // hash: an order that changes from boot to boot
    CHECK_FALSE(KeepsListedOrder(0));
}
