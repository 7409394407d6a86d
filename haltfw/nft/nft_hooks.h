// Which netfilter hooks a dumped ruleset attaches chains to. A chain with a
// hook (a base chain) is where packets enter the ruleset; a ruleset with no
// base chain on a hook leaves the packets of that hook alone, whatever else
// it holds. readiness.cc judges a box about to halt by it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nft/nft_dump.h"

namespace haltfw {

struct NftBaseChain {
    uint8_t family = 0;  ///< NFPROTO_*.
    uint32_t hook = 0;   ///< The family's hook number (NF_INET_* for ip, ip6 and inet).
    std::string table;
    std::string name;
};

/// The base chains of `rs`, in its order: the chains whose canonical payload
/// carries NFTA_CHAIN_HOOK with a hook number. Pure.
std::vector<NftBaseChain> BaseChains(const NftRuleset& rs);

/// Whether one of `chains` sees the packets of `family` (NFPROTO_IPV4 or
/// NFPROTO_IPV6) on `hook` (NF_INET_*): a chain of that family or of the
/// inet family, which sees both. Pure.
bool HasBaseChain(const std::vector<NftBaseChain>& chains, uint8_t family, uint32_t hook);

}  // namespace haltfw
