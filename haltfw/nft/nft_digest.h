// The ruleset digest: SHA-256 over the canonical ruleset. The same ruleset
// gives the same digest across reloads and reboots; any change to a rule, a
// chain's policy or a set element gives another. The final stage compares it
// after the halt.
#pragma once

#include <string>

#include "nft/nft_dump.h"

namespace haltfw {

/// Hex SHA-256 of `rs` in canonical order (call SortCanonical first if the
/// objects were built by hand). Tables flagged NFT_TABLE_F_OWNER and their
/// objects are left out: the digest describes a ruleset haltfw can arm and
/// restore, which holds no owned table (check refuses one), and the shutdown
/// guard's owned copy must not change it. Pure.
std::string RulesetDigest(const NftRuleset& rs);

/// One line per object, "KIND FAMILY TABLE NAME: TEXT", in canonical order:
/// what `haltfw digest --dump` prints to explain a digest.
std::string DescribeRuleset(const NftRuleset& rs);

/// "ip", "ip6", "inet", "arp", "bridge", "netdev" or the number.
std::string NftFamilyName(uint8_t family);

}  // namespace haltfw
