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

#include "nft/nft_elements.h"

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

/// One object of a ruleset. Set elements are held apart (NftRuleset::
/// elements); one of them is an NftObject only on its way in
/// (CanonicalSetElem, NftRuleset::Add).
struct NftObject {
    NftKind kind = NftKind::kTable;
    uint8_t family = 0;          ///< NFPROTO_*.
    std::string table;           ///< Empty for a table itself (its name is `name`).
    std::string name;            ///< Table, chain, object, flowtable or set name;
                                 ///< a rule's chain; an element's set.
    std::string payload;         ///< Canonical netlink attributes (binary).
    std::string text;            ///< libnftnl's one-line description, for people (empty for
                                 ///< elements: DescribeRuleset reads their bytes).
    uint32_t flags = 0;          ///< Table flags (NFT_TABLE_F_*) or set flags (NFT_SET_*).
    /// Statements in a rule that need a userspace daemon to do anything
    /// ("queue", "log group 2", "tproxy"); empty for other kinds.
    std::vector<std::string> daemon_statements;
};

struct NftRuleset {
    /// Every object but the set elements. Canonical order: tables in the
    /// kernel's order (creation order); the objects of a table grouped by
    /// kind in restore order, each kind in the kernel's order too (base
    /// chains of equal priority on one hook run in creation order, so it is
    /// part of the ruleset), rules keeping their order in the chain.
    std::vector<NftObject> objects;
    /// The set elements, one group per set, each in canonical element order
    /// (ElementLess: a hash set lists them in an order that changes from
    /// boot to boot), but an interval concatenation's in the kernel's order
    /// (KeepsListedOrder, nft_elements.h). In the canonical order of the whole ruleset a table's
    /// elements come after its sets and before its rules, set by set in
    /// the order of their names (CanonicalOrder).
    std::vector<NftElements> elements;

    /// Objects of kind `k`; for kSetElem, the elements of every set.
    size_t Count(NftKind k) const;
    /// Objects and elements.
    size_t size() const;
    /// Adds an object at the end of `objects`, or an element (kSetElem) to
    /// its set's group, made if needed. For rulesets built by hand; call
    /// SortCanonical after.
    void Add(NftObject o);

    /// One step of the canonical order: an object, or a set's elements.
    struct Entry {
        const NftObject* object = nullptr;
        const NftElements* elements = nullptr;
    };
    /// The whole ruleset in canonical order (what the digest hashes, the
    /// manifest holds and the restore sends): `objects` with each table's
    /// element groups placed between its sets and its rules.
    std::vector<Entry> CanonicalOrder() const;
};

/// Canonical forms of single libnftnl objects. Pure: they modify the object
/// passed (clearing handles and counters) and read it; no kernel involved.
NftObject CanonicalTable(nftnl_table* t);
NftObject CanonicalChain(nftnl_chain* c);
NftObject CanonicalSet(nftnl_set* s);
/// `set` supplies the family, table and set name the element belongs to.
NftObject CanonicalSetElem(const nftnl_set* set, nftnl_set_elem* e);
/// An element's canonical payload alone, into *payload (reused: no
/// allocation once it is large enough).
void CanonicalElemPayload(uint8_t family, nftnl_set_elem* e, std::string* payload);
NftObject CanonicalObj(nftnl_obj* o);
NftObject CanonicalFlowtable(nftnl_flowtable* f);
NftObject CanonicalRule(nftnl_rule* r);

/// Sorts into canonical order (see NftRuleset): the objects (stable: what
/// is not sorted keeps the order it has in `rs`, the order the kernel
/// dumped), every set's elements (SortElements), and the groups by table
/// and set name.
void SortCanonical(NftRuleset* rs);

/// Sorts each set's elements into canonical element order, but for the
/// sets whose order is their own (KeepsListedOrder of the flags in the
/// set's payload, nft_elements.h): those keep the order they have. Pure.
void SortElements(NftRuleset* rs);

/// True when a listing of a set's elements (sorted fingerprints) can be
/// trusted: no element twice and, with `previous`, the same elements as the
/// listing before it. Pure; what DumpRuleset uses against torn hash-set
/// listings.
bool ListingIsWhole(const std::vector<uint64_t>& sorted_fingerprints, const std::vector<uint64_t>* previous);

/// Which tables DumpRuleset reads.
enum class DumpTables {
    kAll,
    /// None that a netlink socket owns (NFT_TABLE_F_OWNER), nor anything in
    /// them: what RulesetDigest leaves out anyway. While the shutdown guard
    /// holds its copy of the armed ruleset (nft_guard.h), half of a large
    /// set's listing time and memory.
    kUnowned,
};

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
bool DumpRuleset(NftRuleset* out, std::string* err, uint32_t* generation = nullptr, int* torn_listings = nullptr,
                 DumpTables which = DumpTables::kAll);

/// The ruleset generation id of the current network namespace: the kernel
/// bumps it on every committed ruleset change (not on packet-path set
/// updates), so an unchanged id means an unchanged ruleset.
bool RulesetGeneration(uint32_t* gen, std::string* err);

}  // namespace haltfw
