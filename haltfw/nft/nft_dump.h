// The kernel's nftables ruleset as plain values, read over netlink with
// libnftnl and libmnl (not libnftables: the final stage must be able to read,
// check and restore the ruleset with nothing but these two small libraries).
//
// Each object is kept in canonical form: the netlink attributes libnftnl
// builds for it after removing what changes without the ruleset changing
// (handles, use counts, counter and quota values, element expirations, the
// owner's port id). The same bytes serve to compare (the digest) and to
// restore (they are what a NEW* message for the object carries).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

struct nftnl_table;
struct nftnl_chain;
struct nftnl_set;
struct nftnl_set_elem;
struct nftnl_obj;
struct nftnl_flowtable;
struct nftnl_rule;

namespace haltfw {

/// Kinds in restore order: what an object refers to comes before it.
enum class NftKind : uint8_t {
    kTable = 1,
    kChain = 2,
    kObj = 3,
    kFlowtable = 4,
    kSet = 5,
    kSetElem = 6,
    kRule = 7,
};

const char* NftKindName(NftKind k);

struct NftObject {
    NftKind kind = NftKind::kTable;
    uint8_t family = 0;          ///< NFPROTO_*.
    std::string table;           ///< Empty for a table itself (its name is `name`).
    std::string name;            ///< Table, chain, object, flowtable or set name;
                                 ///< a rule's chain; an element's set.
    std::string payload;         ///< Canonical netlink attributes (binary).
    std::string text;            ///< libnftnl's one-line description, for people (empty for
                                 ///< elements: DescribeRuleset reads their bytes).
    /// Elements: the key's bytes (network order), then the flags, so that
    /// sorting by it gives ascending keys, each interval start before the
    /// end that shares its key. Empty for other kinds.
    std::string order;
    uint32_t flags = 0;          ///< Table flags (NFT_TABLE_F_*) or set flags (NFT_SET_*).
    /// Statements in a rule that need a userspace daemon to do anything
    /// ("queue", "log group 2", "tproxy"); empty for other kinds.
    std::vector<std::string> daemon_statements;
};

struct NftRuleset {
    /// Canonical order: tables in the kernel's order (creation order); the
    /// objects of a table grouped by kind in restore order, each kind in the
    /// kernel's order too (base chains of equal priority on one hook run in
    /// creation order, so it is part of the ruleset), rules keeping their
    /// order in the chain; only set elements are sorted, by set name and
    /// then by key (NftObject::order), because a hash set lists them in an
    /// order that changes from boot to boot.
    std::vector<NftObject> objects;

    size_t Count(NftKind k) const;
};

/// Canonical forms of single libnftnl objects. Pure: they modify the object
/// passed (clearing handles and counters) and read it; no kernel involved.
NftObject CanonicalTable(nftnl_table* t);
NftObject CanonicalChain(nftnl_chain* c);
NftObject CanonicalSet(nftnl_set* s);
/// `set` supplies the family, table and set name the element belongs to.
NftObject CanonicalSetElem(const nftnl_set* set, nftnl_set_elem* e);
NftObject CanonicalObj(nftnl_obj* o);
NftObject CanonicalFlowtable(nftnl_flowtable* f);
NftObject CanonicalRule(nftnl_rule* r);

/// Sorts into canonical order (see NftRuleset::objects). Stable: what is
/// not sorted keeps the order it has in `rs` (the order the kernel dumped).
void SortCanonical(NftRuleset* rs);

/// True when a listing of a set's elements (sorted fingerprints) can be
/// trusted: no element twice and, with `previous`, the same elements as the
/// listing before it. Pure; what DumpRuleset uses against torn hash-set
/// listings.
bool ListingIsWhole(const std::vector<uint64_t>& sorted_fingerprints, const std::vector<uint64_t>* previous);

/// Reads the whole ruleset of the current network namespace. Elements of
/// dynamic sets (NFT_SET_EVAL: filled by the packet path, e.g. meters) are
/// runtime state and are left out. Retries when the ruleset changes during
/// the dump (generation id moved), and when a set's listing is torn (an
/// element twice, or two listings of a hash set that differ): a set is
/// returned whole or not at all ("dump elements of set 's': the kernel's
/// listing kept changing ..."). With `generation`, the generation id
/// the ruleset read has (the same before and after the dump). Errors read
/// "dump chains: REASON".
/// With `torn_listings`, how many set listings were torn and read again.
bool DumpRuleset(NftRuleset* out, std::string* err, uint32_t* generation = nullptr, int* torn_listings = nullptr);

/// The ruleset generation id of the current network namespace: the kernel
/// bumps it on every committed ruleset change (not on packet-path set
/// updates), so an unchanged id means an unchanged ruleset.
bool RulesetGeneration(uint32_t* gen, std::string* err);

}  // namespace haltfw
