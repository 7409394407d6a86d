#include "nft/nft_digest.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <set>
#include <utility>

#include "nft/nft_attrs.h"
#include "nft/sha256.h"

namespace haltfw {
namespace {

// Length-prefixed, so that no two different object lists hash the same
// byte stream.
void Field(Sha256* h, const std::string& s) {
    uint32_t n = static_cast<uint32_t>(s.size());
    uint8_t len[4] = {uint8_t(n >> 24), uint8_t(n >> 16), uint8_t(n >> 8), uint8_t(n)};
    h->Update(len, sizeof len);
    h->Update(s);
}

}  // namespace

std::string RulesetDigest(const NftRuleset& rs) {
    // Owned tables are left out (the shutdown guard's copy: nft_guard.h).
    std::set<std::pair<uint8_t, std::string>> owned;
    for (const NftObject& o : rs.objects)
        if (o.kind == NftKind::kTable && (o.flags & NFT_TABLE_F_OWNER)) owned.emplace(o.family, o.name);
    Sha256 h;
    h.Update("haltfw-ruleset-v1");
    for (const NftObject& o : rs.objects) {
        if (!owned.empty() && owned.count({o.family, o.kind == NftKind::kTable ? o.name : o.table})) continue;
        uint8_t head[2] = {static_cast<uint8_t>(o.kind), o.family};
        h.Update(head, sizeof head);
        Field(&h, o.table);
        Field(&h, o.name);
        Field(&h, o.payload);
    }
    return h.HexFinal();
}

std::string NftFamilyName(uint8_t family) {
    switch (family) {
        case NFPROTO_INET: return "inet";
        case NFPROTO_IPV4: return "ip";
        case NFPROTO_ARP: return "arp";
        case NFPROTO_NETDEV: return "netdev";
        case NFPROTO_BRIDGE: return "bridge";
        case NFPROTO_IPV6: return "ip6";
        default: return std::to_string(family);
    }
}

namespace {

std::string Hex(std::string_view bytes) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

// "element KEY [: DATA] [end]" in hex, from the element's own bytes.
std::string DescribeElement(std::string_view payload) {
    std::string key;
    bool end = false;
    ElementKey(payload, &key, &end);
    std::string s = "element " + Hex(key);
    std::string_view data, value;
    if (FindAttr(payload, NFTA_SET_ELEM_DATA, &data) && FindAttr(data, NFTA_DATA_VALUE, &value)) s += " : " + Hex(value);
    if (end) s += " [end]";
    return s;
}

}  // namespace

std::string DescribeRuleset(const NftRuleset& rs) {
    std::string out;
    for (const NftObject& o : rs.objects) {
        out += NftKindName(o.kind);
        out += " " + NftFamilyName(o.family);
        if (!o.table.empty()) out += " " + o.table;
        out += " " + o.name + ": " + (o.kind == NftKind::kSetElem ? DescribeElement(o.payload) : o.text);
        if (out.back() != '\n') out += '\n';
    }
    return out;
}

}  // namespace haltfw
