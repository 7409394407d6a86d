#include "nft/nft_attrs.h"

#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>

#include <algorithm>
#include <cstring>

namespace haltfw {

void ForEachAttr(std::string_view attrs, const std::function<void(uint16_t, std::string_view)>& visit) {
    size_t off = 0;
    while (off + sizeof(nlattr) <= attrs.size()) {
        nlattr a;
        std::memcpy(&a, attrs.data() + off, sizeof a);
        if (a.nla_len < sizeof(nlattr) || off + a.nla_len > attrs.size()) return;
        visit(a.nla_type & NLA_TYPE_MASK, attrs.substr(off + sizeof(nlattr), a.nla_len - sizeof(nlattr)));
        off += NLA_ALIGN(a.nla_len);
    }
}

bool FindAttr(std::string_view attrs, uint16_t type, std::string_view* value) {
    bool found = false;
    ForEachAttr(attrs, [&](uint16_t t, std::string_view v) {
        if (t == type && !found) {
            *value = v;
            found = true;
        }
    });
    return found;
}

std::string AttrString(std::string_view value) {
    size_t nul = value.find('\0');
    return std::string(nul == std::string_view::npos ? value : value.substr(0, nul));
}

uint32_t AttrBe32(std::string_view value) {
    if (value.size() < 4) return 0;
    auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(value[i])); };
    return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

std::string EditAttrs(std::string_view attrs, const AttrEdit& edit) {
    std::string out;
    size_t off = 0;
    while (off + sizeof(nlattr) <= attrs.size()) {
        nlattr a;
        std::memcpy(&a, attrs.data() + off, sizeof a);
        if (a.nla_len < sizeof(nlattr) || off + a.nla_len > attrs.size()) break;
        std::string_view raw = attrs.substr(off, std::min<size_t>(NLA_ALIGN(a.nla_len), attrs.size() - off));
        std::string value(attrs.substr(off + sizeof(nlattr), a.nla_len - sizeof(nlattr)));
        off += NLA_ALIGN(a.nla_len);
        if (!edit(a.nla_type & NLA_TYPE_MASK, &value)) continue;
        // An edit that grew a value past the 16-bit length keeps the
        // attribute as it was rather than cut it (edits here only shrink).
        if (value.size() + sizeof(nlattr) > 0xffff) {
            out += raw;
            out.append(NLA_ALIGN(raw.size()) - raw.size(), '\0');
            continue;
        }
        nlattr h{static_cast<uint16_t>(sizeof(nlattr) + value.size()), a.nla_type};
        out.append(reinterpret_cast<const char*>(&h), sizeof h);
        out += value;
        out.append(NLA_ALIGN(h.nla_len) - h.nla_len, '\0');
    }
    return out;
}

namespace {

// Calls `each(name, data)` for every expression of a rule payload.
void ForEachExpr(std::string_view rule, const std::function<void(const std::string&, std::string_view)>& each) {
    std::string_view exprs;
    if (!FindAttr(rule, NFTA_RULE_EXPRESSIONS, &exprs)) return;
    ForEachAttr(exprs, [&](uint16_t, std::string_view elem) {
        std::string_view name, data;
        if (FindAttr(elem, NFTA_EXPR_NAME, &name))
            each(AttrString(name), FindAttr(elem, NFTA_EXPR_DATA, &data) ? data : "");
    });
}

}  // namespace

namespace {

// Whether a run of NFTA_LIST_ELEM expressions holds one named `name`, at
// any depth (expressions nest in dynset, and in set element lists).
bool ExprListHas(std::string_view list, const std::string& name, int depth) {
    if (depth > 8) return false;
    bool found = false;
    ForEachAttr(list, [&](uint16_t, std::string_view elem) {
        std::string_view n, data;
        if (found || !FindAttr(elem, NFTA_EXPR_NAME, &n)) return;
        if (AttrString(n) == name) {
            found = true;
            return;
        }
        // Nested expressions sit in attributes of the data whose values are
        // themselves expressions or lists of them; any nested attribute is
        // tried both ways, which costs little and misses none.
        if (!FindAttr(elem, NFTA_EXPR_DATA, &data)) return;
        ForEachAttr(data, [&](uint16_t, std::string_view inner) {
            if (found) return;
            std::string_view in_name;
            if (FindAttr(inner, NFTA_EXPR_NAME, &in_name)) {
                std::string one(inner);
                nlattr h{static_cast<uint16_t>(sizeof(nlattr) + one.size()), NFTA_LIST_ELEM};
                std::string wrapped(reinterpret_cast<const char*>(&h), sizeof h);
                wrapped += one;
                found = ExprListHas(wrapped, name, depth + 1);
            } else {
                found = ExprListHas(inner, name, depth + 1);
            }
        });
    });
    return found;
}

}  // namespace

namespace {

// The first attribute of `type` in `attrs`, as FindAttr finds it, with no
// std::function in the loop.
bool FirstAttr(std::string_view attrs, uint16_t type, std::string_view* value) {
    size_t off = 0;
    while (off + sizeof(nlattr) <= attrs.size()) {
        nlattr a;
        std::memcpy(&a, attrs.data() + off, sizeof a);
        if (a.nla_len < sizeof(nlattr) || off + a.nla_len > attrs.size()) return false;
        if ((a.nla_type & NLA_TYPE_MASK) == type) {
            *value = attrs.substr(off + sizeof(nlattr), a.nla_len - sizeof(nlattr));
            return true;
        }
        off += NLA_ALIGN(a.nla_len);
    }
    return false;
}

}  // namespace

void ElementKeyView(std::string_view elem_payload, std::string_view* key, bool* interval_end) {
    std::string_view k, flags;
    *key = {};
    if (FirstAttr(elem_payload, NFTA_SET_ELEM_KEY, &k) && !FirstAttr(k, NFTA_DATA_VALUE, key)) *key = {};
    *interval_end =
        FirstAttr(elem_payload, NFTA_SET_ELEM_FLAGS, &flags) && (AttrBe32(flags) & NFT_SET_ELEM_INTERVAL_END);
}

void ElementKey(std::string_view elem_payload, std::string* key, bool* interval_end) {
    std::string_view k;
    ElementKeyView(elem_payload, &k, interval_end);
    key->assign(k);
}

bool RuleHasExpression(std::string_view rule_payload, const std::string& name) {
    std::string_view exprs;
    return FindAttr(rule_payload, NFTA_RULE_EXPRESSIONS, &exprs) && ExprListHas(exprs, name, 0);
}

bool SetHasExpression(std::string_view set_payload, const std::string& name) {
    std::string_view one, list;
    if (FindAttr(set_payload, NFTA_SET_EXPR, &one)) {
        std::string_view n;
        if (FindAttr(one, NFTA_EXPR_NAME, &n) && AttrString(n) == name) return true;
    }
    return FindAttr(set_payload, NFTA_SET_EXPRESSIONS, &list) && ExprListHas(list, name, 0);
}

uint32_t ObjectType(std::string_view obj_payload) {
    std::string_view t;
    return FindAttr(obj_payload, NFTA_OBJ_TYPE, &t) ? AttrBe32(t) : 0;
}

std::vector<std::string> RuleJumpTargets(std::string_view rule_payload) {
    std::vector<std::string> out;
    ForEachExpr(rule_payload, [&](const std::string& name, std::string_view data) {
        std::string_view imm, verdict, chain;
        if (name == "immediate" && FindAttr(data, NFTA_IMMEDIATE_DATA, &imm) &&
            FindAttr(imm, NFTA_DATA_VERDICT, &verdict) && FindAttr(verdict, NFTA_VERDICT_CHAIN, &chain))
            out.push_back(AttrString(chain));
    });
    return out;
}

namespace {

// What the kernel dumps but refuses back (kernel 6.18's and 6.1's init
// functions), per expression: true to keep the attribute.
bool KeepForRestore(const std::string& expr, std::string_view data, uint16_t type, const std::string& value) {
    std::string_view unused;
    if (expr == "dynset") {
        // A timeout of 0 (every dynset's dump has one) is refused
        // (EOPNOTSUPP) for a set without the timeout flag; 0 means none.
        return !(type == NFTA_DYNSET_TIMEOUT && value == std::string(8, '\0'));
    }
    if (expr == "exthdr" && !FindAttr(data, NFTA_EXTHDR_DREG, &unused)) {
        // Writing an option (`tcp option maxseg size set`) takes no flags;
        // removing one (`reset tcp option`) takes no flags, offset or length
        // either (EINVAL); the dump carries all three.
        if (type == NFTA_EXTHDR_FLAGS) return false;
        bool strip = !FindAttr(data, NFTA_EXTHDR_SREG, &unused);
        if (strip && (type == NFTA_EXTHDR_OFFSET || type == NFTA_EXTHDR_LEN)) return false;
    }
    return true;
}

}  // namespace

std::string RuleForRestore(std::string_view rule_payload) {
    auto expr = [&](uint16_t, std::string* elem) {
        std::string_view name_attr;
        if (!FindAttr(*elem, NFTA_EXPR_NAME, &name_attr)) return true;
        std::string name = AttrString(name_attr);
        *elem = EditAttrs(*elem, [&](uint16_t t, std::string* d) {
            if (t == NFTA_EXPR_DATA) {
                std::string data = *d;
                *d = EditAttrs(data,
                               [&](uint16_t type, std::string* v) { return KeepForRestore(name, data, type, *v); });
            }
            return true;
        });
        return true;
    };
    return EditAttrs(rule_payload, [&](uint16_t t, std::string* v) {
        if (t == NFTA_RULE_EXPRESSIONS) *v = EditAttrs(*v, expr);
        return true;
    });
}

namespace {

// What nft_add_set_elem() refuses on an interval's end (kernel 6.18 and 6.1).
bool RefusedOnIntervalEnd(uint16_t type) {
    switch (type) {
        case NFTA_SET_ELEM_DATA:
        case NFTA_SET_ELEM_OBJREF:
        case NFTA_SET_ELEM_TIMEOUT:
        case NFTA_SET_ELEM_EXPIRATION:
        case NFTA_SET_ELEM_USERDATA:
        case NFTA_SET_ELEM_EXPR:
        case NFTA_SET_ELEM_KEY_END:
        case NFTA_SET_ELEM_EXPRESSIONS: return true;
        default: return false;
    }
}

}  // namespace

std::string_view ElementForRestore(std::string_view elem_payload, std::string* scratch) {
    std::string_view key;
    bool end = false;
    ElementKeyView(elem_payload, &key, &end);
    if (!end) return elem_payload;
    bool refused = false;
    ForEachAttr(elem_payload, [&](uint16_t type, std::string_view) { refused |= RefusedOnIntervalEnd(type); });
    if (!refused) return elem_payload;
    *scratch = EditAttrs(elem_payload, [](uint16_t type, std::string*) { return !RefusedOnIntervalEnd(type); });
    return *scratch;
}

}  // namespace haltfw
