#include "nft/nft_hooks.h"

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>

#include <cstring>
#include <optional>
#include <string_view>

namespace haltfw {
namespace {

// Calls `f(type, value)` for each well-formed attribute of `attrs`, a run of
// netlink attributes; stops at the first malformed one.
template <typename F>
void ForEachAttr(std::string_view attrs, F f) {
    size_t off = 0;
    while (off + sizeof(nlattr) <= attrs.size()) {
        nlattr a;
        std::memcpy(&a, attrs.data() + off, sizeof a);
        if (a.nla_len < sizeof(nlattr) || off + a.nla_len > attrs.size()) return;
        f(static_cast<uint16_t>(a.nla_type & NLA_TYPE_MASK), attrs.substr(off + NLA_HDRLEN, a.nla_len - NLA_HDRLEN));
        off += NLA_ALIGN(a.nla_len);
    }
}

// The hook number in a chain's payload, if it has one. libnftnl writes the
// nest as the kernel dumps it: NFTA_CHAIN_HOOK { NFTA_HOOK_HOOKNUM (u32,
// network order), NFTA_HOOK_PRIORITY, ... }.
std::optional<uint32_t> HookOf(std::string_view payload) {
    std::optional<uint32_t> hook;
    ForEachAttr(payload, [&](uint16_t type, std::string_view value) {
        if (type != NFTA_CHAIN_HOOK) return;
        ForEachAttr(value, [&](uint16_t t, std::string_view v) {
            if (t != NFTA_HOOK_HOOKNUM || v.size() != sizeof(uint32_t)) return;
            uint32_t n;
            std::memcpy(&n, v.data(), sizeof n);
            hook = ntohl(n);
        });
    });
    return hook;
}

}  // namespace

std::vector<NftBaseChain> BaseChains(const NftRuleset& rs) {
    std::vector<NftBaseChain> out;
    for (const NftObject& o : rs.objects) {
        if (o.kind != NftKind::kChain) continue;
        if (std::optional<uint32_t> hook = HookOf(o.payload)) out.push_back({o.family, *hook, o.table, o.name});
    }
    return out;
}

bool HasBaseChain(const std::vector<NftBaseChain>& chains, uint8_t family, uint32_t hook) {
    for (const NftBaseChain& c : chains)
        if (c.hook == hook && (c.family == family || c.family == NFPROTO_INET)) return true;
    return false;
}

}  // namespace haltfw
