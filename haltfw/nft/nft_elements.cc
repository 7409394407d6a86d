#include "nft/nft_elements.h"

#include <linux/netfilter/nf_tables.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "nft/nft_attrs.h"

namespace haltfw {

bool ElementLess(std::string_view a, std::string_view b) {
    // As the std::string comparison of "key bytes, then 0 for a start or 1
    // for an end" that sorted elements before, without building those
    // strings: when one key is a prefix of the other (a catch-all element
    // has none), its flag byte meets the other key's next byte.
    std::string_view ka, kb;
    bool ea = false, eb = false;
    ElementKeyView(a, &ka, &ea);
    ElementKeyView(b, &kb, &eb);
    size_t common = std::min(ka.size(), kb.size());
    if (int c = common ? std::memcmp(ka.data(), kb.data(), common) : 0; c != 0) return c < 0;
    if (ka.size() != kb.size()) {
        if (ka.size() < kb.size()) {
            auto next = static_cast<uint8_t>(kb[common]);
            return ea != next ? uint8_t(ea) < next : true;  // equal up to a's end: a is a prefix of b
        }
        auto next = static_cast<uint8_t>(ka[common]);
        return eb != next ? next < uint8_t(eb) : false;
    }
    if (ea != eb) return !ea;
    return a < b;
}

bool KeepsListedOrder(uint32_t set_flags) {
    constexpr uint32_t kPipapo = NFT_SET_INTERVAL | NFT_SET_CONCAT;
    return (set_flags & kPipapo) == kPipapo;
}

NftElements::NftElements(uint8_t family_, std::string table_, std::string set_)
    : family(family_), table(std::move(table_)), set(std::move(set_)) {}

NftElements::NftElements(const NftElements& other) : family(other.family), table(other.table), set(other.set) {
    at_.reserve(other.size());
    for (size_t i = 0; i < other.size(); ++i) (void)Add(other[i]);  // each fitted in `other`
}

NftElements& NftElements::operator=(const NftElements& other) {
    if (this != &other) *this = NftElements(other);
    return *this;
}

namespace {

// Block k's size and where it starts among all blocks' bytes.
constexpr uint64_t BlockSize(size_t first, size_t k) { return uint64_t(first) << k; }
constexpr uint64_t BlockStart(size_t first, size_t k) { return uint64_t(first) * ((uint64_t(1) << k) - 1); }

}  // namespace

bool NftElements::Add(std::string_view payload) {
    if (payload.size() > 0xffff) return false;
    size_t need = 2 + payload.size();
    if (blocks_.empty() || used_ + need > BlockSize(kFirstBlock, blocks_.size() - 1)) {
        // A block too small for this element stays unallocated; its offsets
        // are never used. Positions must fit the 4-byte index.
        size_t k = blocks_.size();
        while (BlockSize(kFirstBlock, k) < need) ++k;
        if (BlockStart(kFirstBlock, k) + BlockSize(kFirstBlock, k) > (uint64_t(1) << 32)) return false;
        blocks_.resize(k);
        // Not make_unique: that zeroes the block, and so makes all of it
        // resident at once.
        blocks_.emplace_back(new char[BlockSize(kFirstBlock, k)]);
        used_ = 0;
    }
    size_t k = blocks_.size() - 1;
    char* p = blocks_[k].get() + used_;
    uint16_t len = static_cast<uint16_t>(payload.size());
    std::memcpy(p, &len, sizeof len);
    if (!payload.empty()) std::memcpy(p + 2, payload.data(), payload.size());
    at_.push_back(static_cast<uint32_t>(BlockStart(kFirstBlock, k) + used_));
    used_ += need;
    return true;
}

std::string_view NftElements::Record(uint32_t at) const {
    // Block k covers [first * (2^k - 1), first * (2^(k+1) - 1)).
    size_t k = static_cast<size_t>(std::bit_width(uint64_t(at) / kFirstBlock + 1)) - 1;
    const char* p = blocks_[k].get() + (at - BlockStart(kFirstBlock, k));
    uint16_t len;
    std::memcpy(&len, p, sizeof len);
    return std::string_view(p + 2, len);
}

void NftElements::Sort() {
    auto less = [this](uint32_t a, uint32_t b) { return ElementLess(Record(a), Record(b)); };
    if (!std::is_sorted(at_.begin(), at_.end(), less)) std::sort(at_.begin(), at_.end(), less);
}

bool NftElements::SortedAndDistinct() const {
    for (size_t i = 1; i < at_.size(); ++i)
        if (!ElementLess(Record(at_[i - 1]), Record(at_[i]))) return false;
    return true;
}

void NftElements::Clear() {
    std::vector<std::unique_ptr<char[]>>().swap(blocks_);
    std::vector<uint32_t>().swap(at_);
    used_ = 0;
}

size_t NftElements::HeapBytes() const {
    size_t bytes = at_.capacity() * sizeof(uint32_t) + blocks_.capacity() * sizeof(blocks_[0]);
    for (size_t k = 0; k < blocks_.size(); ++k)
        if (blocks_[k]) bytes += BlockSize(kFirstBlock, k);
    return bytes;
}

}  // namespace haltfw
