// A set's elements held compactly. They are nearly all of a large ruleset,
// and the final stage, PID 1 (which panics the kernel if it runs out of
// memory), holds a million of them while it verifies: as one NftObject each
// (five strings and a vector) that cost about 0.58 KiB an element, 600 MB
// at 1,000,000. Here an element is its canonical payload (nft_dump.h) and
// nothing else, plus 6 bytes: 18 bytes for an IPv4 address.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace haltfw {

/// Canonical element order: by key bytes (ElementKey, nft_attrs.h) with an
/// interval's start before an end of the same key, then by the payload's
/// bytes. The order the digest hashes them in (a hash set lists them in an
/// order that changes from boot to boot); what the restore sends is this
/// with each end moved before the start it shares a key with
/// (nft_restore.cc). Pure.
bool ElementLess(std::string_view a, std::string_view b);

/// Whether the elements of a set with these flags (NFT_SET_*) keep the
/// order the kernel lists them in instead of canonical order: an interval
/// concatenation (NFT_SET_INTERVAL with NFT_SET_CONCAT, the pipapo
/// backend, named or anonymous). Pipapo lists its elements in the order
/// they were added, the same order at every listing, and that order is
/// part of the ruleset: with overlapping elements the first added matches,
/// and the kernel takes one contained in another only before it (EEXIST
/// otherwise; kernel 6.18). Pure.
bool KeepsListedOrder(uint32_t set_flags);

/// The elements of one set: each element's payload with a 2-byte length
/// in front, in blocks that double in size (256 bytes, 512, ...), none
/// ever copied to grow, so a block's unused tail is never touched (and so
/// never resident); and a 4-byte index per element, which is what sorting
/// moves.
class NftElements {
public:
    uint8_t family = 0;  ///< The set's NFPROTO_*.
    std::string table;
    std::string set;     ///< The set's name.

    NftElements() = default;
    NftElements(uint8_t family_, std::string table_, std::string set_);
    NftElements(const NftElements& other);
    NftElements& operator=(const NftElements& other);
    NftElements(NftElements&&) noexcept = default;
    NftElements& operator=(NftElements&&) noexcept = default;

    size_t size() const { return at_.size(); }
    bool empty() const { return at_.empty(); }
    /// Element `i`'s canonical payload (in canonical order once sorted).
    std::string_view operator[](size_t i) const { return Record(at_[i]); }

    /// Appends an element. False (nothing added) for a payload over 65,535
    /// bytes, which no netlink attribute can carry, or past 4 GiB in all.
    bool Add(std::string_view payload);
    /// Makes room for `n` elements in all (the index only).
    void Reserve(size_t n) { at_.reserve(n); }
    /// Sorts into canonical order (ElementLess); a pass and no more when
    /// they are in it already (a manifest's).
    void Sort();
    /// True when no element follows one that is not less than it: sorted,
    /// and none there twice.
    bool SortedAndDistinct() const;
    /// Drops every element and the memory they held (the names stay).
    void Clear();
    /// The heap this holds for its elements, in bytes (of which only what
    /// is written is resident).
    size_t HeapBytes() const;

private:
    static constexpr size_t kFirstBlock = 256;
    std::string_view Record(uint32_t at) const;

    std::vector<std::unique_ptr<char[]>> blocks_;  ///< Block k holds kFirstBlock << k bytes.
    size_t used_ = 0;                             ///< Bytes written in the last block.
    std::vector<uint32_t> at_;                     ///< Where each element starts, over all blocks.
};

}  // namespace haltfw
