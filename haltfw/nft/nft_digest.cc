#include "nft/nft_digest.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <set>
#include <string_view>
#include <utility>

#include "nft/nft_attrs.h"
#include "nft/sha256.h"

namespace haltfw {
namespace {

// Length-prefixed, so that no two different object lists hash the same
// byte stream.
void Field(Sha256* h, std::string_view s) {
    uint32_t n = static_cast<uint32_t>(s.size());
    uint8_t len[4] = {uint8_t(n >> 24), uint8_t(n >> 16), uint8_t(n >> 8), uint8_t(n)};
    h->Update(len, sizeof len);
    h->Update(s);
}

// One object's bytes: kind, family, table, name, payload. A set element
// is hashed the same way whether it is held as an object or in its set's
// group (its name is the set's).
void Object(Sha256* h, NftKind kind, uint8_t family, std::string_view table, std::string_view name,
            std::string_view payload) {
    uint8_t head[2] = {static_cast<uint8_t>(kind), family};
    h->Update(head, sizeof head);
    Field(h, table);
    Field(h, name);
    Field(h, payload);
}

}  // namespace

std::string RulesetDigest(const NftRuleset& rs) {
    // Owned tables are left out (the shutdown guard's copy: nft_guard.h).
    std::set<std::pair<uint8_t, std::string>> owned;
    for (const NftObject& o : rs.objects)
        if (o.kind == NftKind::kTable && (o.flags & NFT_TABLE_F_OWNER)) owned.emplace(o.family, o.name);
    auto skip = [&](uint8_t family, const std::string& table) {
        return !owned.empty() && owned.count({family, table});
    };
    Sha256 h;
    h.Update("haltfw-ruleset-v1");
    for (const NftRuleset::Entry& e : rs.CanonicalOrder()) {
        if (const NftObject* o = e.object) {
            if (!skip(o->family, o->kind == NftKind::kTable ? o->name : o->table))
                Object(&h, o->kind, o->family, o->table, o->name, o->payload);
        } else if (!skip(e.elements->family, e.elements->table)) {
            const NftElements& g = *e.elements;
            for (size_t i = 0; i < g.size(); ++i) Object(&h, NftKind::kSetElem, g.family, g.table, g.set, g[i]);
        }
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
    if (FindAttr(payload, NFTA_SET_ELEM_DATA, &data) && FindAttr(data, NFTA_DATA_VALUE, &value))
        s += " : " + Hex(value);
    if (end) s += " [end]";
    return s;
}

}  // namespace

std::string DescribeRuleset(const NftRuleset& rs) {
    std::string out;
    auto line = [&](NftKind kind, uint8_t family, const std::string& table, const std::string& name,
                    const std::string& text) {
        out += NftKindName(kind);
        out += " " + NftFamilyName(family);
        if (!table.empty()) out += " " + table;
        out += " " + name + ": " + text;
        if (out.back() != '\n') out += '\n';
    };
    for (const NftRuleset::Entry& e : rs.CanonicalOrder()) {
        if (const NftObject* o = e.object) {
            line(o->kind, o->family, o->table, o->name,
                 o->kind == NftKind::kSetElem ? DescribeElement(o->payload) : o->text);
        } else {
            const NftElements& g = *e.elements;
            for (size_t i = 0; i < g.size(); ++i)
                line(NftKind::kSetElem, g.family, g.table, g.set, DescribeElement(g[i]));
        }
    }
    return out;
}

}  // namespace haltfw
