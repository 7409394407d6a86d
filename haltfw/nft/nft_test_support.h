// Building nf_tables objects by hand for the tests: raw netlink attributes
// (what the dump gives and the restore sends) and chains in canonical form;
// and the live ruleset for the namespace tests.
#pragma once

#include <catch2/catch.hpp>
#include <libnftnl/chain.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>

#include <cstdint>
#include <string>

#include "nft/nft_dump.h"

namespace haltfw {

/// One attribute: header, value, padding to 4 bytes.
inline std::string Attr(uint16_t type, const std::string& value) {
    nlattr h{static_cast<uint16_t>(sizeof(nlattr) + value.size()), type};
    std::string out(reinterpret_cast<const char*>(&h), sizeof h);
    out += value;
    out.append(NLA_ALIGN(h.nla_len) - h.nla_len, '\0');
    return out;
}
inline std::string Nested(uint16_t type, const std::string& inner) { return Attr(type | NLA_F_NESTED, inner); }
inline std::string Str(const std::string& s) { return s + '\0'; }
inline std::string Be32(uint32_t v) { return std::string{char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; }

/// A chain of table 't' of `family`, as the dump gives it; with `hook` >= 0
/// a filter base chain on that hook, priority 0, policy drop.
inline NftObject TestChain(uint8_t family, const char* name, int hook) {
    nftnl_chain* c = nftnl_chain_alloc();
    nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, "t");
    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
    nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, family);
    if (hook >= 0) {
        nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, static_cast<uint32_t>(hook));
        nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 0);
        nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
        nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_DROP);
    }
    NftObject o = CanonicalChain(c);
    nftnl_chain_free(c);
    return o;
}

/// The live ruleset of the test's namespace; the test fails if the dump does.
inline NftRuleset DumpOrFail() {
    NftRuleset rs;
    std::string err;
    bool ok = DumpRuleset(&rs, &err);
    INFO(err);
    REQUIRE(ok);
    return rs;
}

}  // namespace haltfw
