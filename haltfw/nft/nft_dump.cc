#include "nft/nft_dump.h"

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/flowtable.h>
#include <libnftnl/gen.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string_view>
#include <tuple>

#include "nft/nft_attrs.h"
#include "net/netlink_socket.h"

namespace haltfw {
namespace {

// RAII for libnftnl objects: each type with its own free function.
template <typename T, void (*Free)(const T*)>
struct NftnlFree {
    void operator()(T* p) const { Free(p); }
};
using TablePtr = std::unique_ptr<nftnl_table, NftnlFree<nftnl_table, nftnl_table_free>>;
using ChainPtr = std::unique_ptr<nftnl_chain, NftnlFree<nftnl_chain, nftnl_chain_free>>;
using SetPtr = std::unique_ptr<nftnl_set, NftnlFree<nftnl_set, nftnl_set_free>>;
using ObjPtr = std::unique_ptr<nftnl_obj, NftnlFree<nftnl_obj, nftnl_obj_free>>;
using FlowtablePtr = std::unique_ptr<nftnl_flowtable, NftnlFree<nftnl_flowtable, nftnl_flowtable_free>>;
using RulePtr = std::unique_ptr<nftnl_rule, NftnlFree<nftnl_rule, nftnl_rule_free>>;
using GenPtr = std::unique_ptr<nftnl_gen, NftnlFree<nftnl_gen, nftnl_gen_free>>;

// Large enough for the biggest rule or element libnftnl can build; a dump
// receive needs at least 16 KiB (the kernel's NLMSG_GOODSIZE on 4 KiB pages).
constexpr size_t kBufSize = 64 * 1024;

// Builds the object's NEW* message into a scratch buffer and returns the
// attribute bytes after the nfgenmsg header.
// One scratch buffer for building and printing objects, allocated once.
// libmnl 1.0.4 does not zero the padding after an attribute (a string's
// alignment bytes keep whatever was there), so the bytes the previous object
// used are zeroed before each build: the payload must depend on the object
// alone. (A fresh zeroed 64 KiB per object did that too, but made memset 90%
// of a 100k-element dump.) Single-threaded, like the rest of haltfw.
class Scratch {
public:
    static char* Clean() {
        Scratch& s = Get();
        std::memset(s.buf_.data(), 0, s.dirty_);
        s.dirty_ = 0;
        return s.buf_.data();
    }
    static void Used(size_t n) { Get().dirty_ = std::min(n, kBufSize); }

private:
    static Scratch& Get() {
        static Scratch s;
        return s;
    }
    std::vector<char> buf_ = std::vector<char>(kBufSize);
    size_t dirty_ = 0;
};

template <typename Build>
void PayloadInto(uint16_t type, uint16_t family, Build build, std::string* out) {
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(Scratch::Clean(), type, family, 0, 0);
    build(nlh);
    Scratch::Used(nlh->nlmsg_len);
    const char* begin = static_cast<const char*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(nfgenmsg)));
    const char* end = reinterpret_cast<const char*>(nlh) + nlh->nlmsg_len;
    out->assign(begin, end);
}

template <typename Build>
std::string Payload(uint16_t type, uint16_t family, Build build) {
    std::string out;
    PayloadInto(type, family, build, &out);
    return out;
}

template <typename Print, typename Obj>
std::string Text(Print print, const Obj* o) {
    char* buf = Scratch::Clean();
    int n = print(buf, kBufSize, o, NFTNL_OUTPUT_DEFAULT, 0);
    if (n < 0) return "?";
    size_t len = std::min<size_t>(static_cast<size_t>(n), kBufSize - 1);
    Scratch::Used(len + 1);
    return std::string(buf, len);
}

const char* Str(const char* s) { return s ? s : ""; }

// Drops the top-level netlink attributes of the given types from a payload.
std::string WithoutAttrs(const std::string& payload, std::initializer_list<uint16_t> types) {
    std::string out;
    size_t off = 0;
    while (off + sizeof(nlattr) <= payload.size()) {
        nlattr a;
        std::memcpy(&a, payload.data() + off, sizeof a);
        if (a.nla_len < sizeof(nlattr)) break;
        size_t step = NLA_ALIGN(a.nla_len);
        uint16_t type = a.nla_type & NLA_TYPE_MASK;
        if (std::find(types.begin(), types.end(), type) == types.end())
            out.append(payload, off, std::min(step, payload.size() - off));
        off += step;
    }
    return out;
}

// Zeroes the runtime state of a stateful expression: counter values, quota
// consumption, "last" timestamps. Their presence and their limits stay part
// of the ruleset. (A connlimit's NFTA_CONNLIMIT_COUNT is its limit, the "10"
// of `ct count 10`, not a count of connections: it stays.)
int ZeroExprState(nftnl_expr* e, void*) {
    std::string name = Str(nftnl_expr_get_str(e, NFTNL_EXPR_NAME));
    if (name == "counter") {
        nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_PACKETS, 0);
        nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_BYTES, 0);
    } else if (name == "quota") {
        nftnl_expr_set_u64(e, NFTNL_EXPR_QUOTA_CONSUMED, 0);
    } else if (name == "last") {
        nftnl_expr_set_u64(e, NFTNL_EXPR_LAST_MSECS, 0);
        nftnl_expr_set_u32(e, NFTNL_EXPR_LAST_SET, 0);
    } else if (name == "dynset") {
        nftnl_expr_expr_foreach(e, ZeroExprState, nullptr);
    }
    return 0;
}

// Statements that do nothing useful once userspace is gone: the packet waits
// for a queue reader, a netlink log listener, or a proxy socket.
int NoteDaemonStatement(nftnl_expr* e, void* data) {
    auto* out = static_cast<std::vector<std::string>*>(data);
    std::string name = Str(nftnl_expr_get_str(e, NFTNL_EXPR_NAME));
    if (name == "queue") out->push_back("queue");
    else if (name == "tproxy") out->push_back("tproxy");
    else if (name == "log" && nftnl_expr_is_set(e, NFTNL_EXPR_LOG_GROUP))
        out->push_back("log group " + std::to_string(nftnl_expr_get_u16(e, NFTNL_EXPR_LOG_GROUP)));
    return 0;
}

}  // namespace

const char* NftKindName(NftKind k) {
    switch (k) {
        case NftKind::kTable: return "table";
        case NftKind::kChain: return "chain";
        case NftKind::kObj: return "object";
        case NftKind::kFlowtable: return "flowtable";
        case NftKind::kSet: return "set";
        case NftKind::kSetElem: return "element";
        case NftKind::kRule: return "rule";
    }
    return "?";
}

size_t NftRuleset::Count(NftKind k) const {
    auto of_kind = [k](const NftObject& o) { return o.kind == k; };
    size_t n = static_cast<size_t>(std::count_if(objects.begin(), objects.end(), of_kind));
    if (k == NftKind::kSetElem)
        for (const NftElements& g : elements) n += g.size();
    return n;
}

size_t NftRuleset::size() const { return objects.size() + Count(NftKind::kSetElem); }

void NftRuleset::Add(NftObject o) {
    if (o.kind != NftKind::kSetElem) {
        objects.push_back(std::move(o));
        return;
    }
    auto same = [&](const NftElements& g) { return g.family == o.family && g.table == o.table && g.set == o.name; };
    auto it = std::find_if(elements.rbegin(), elements.rend(), same);
    NftElements* g = it != elements.rend() ? &*it : &elements.emplace_back(o.family, o.table, o.name);
    (void)g->Add(o.payload);  // refuses only what no netlink attribute carries (over 64 KiB)
}

namespace {

// Tables in the order `objects` lists them; what belongs to no table
// listed there sorts after them all.
class TableIndex {
public:
    explicit TableIndex(const std::vector<NftObject>& objects) {
        for (const NftObject& o : objects)
            if (o.kind == NftKind::kTable) index_.emplace(std::make_pair(o.family, o.name), index_.size());
    }
    size_t Of(uint8_t family, const std::string& table) const {
        auto it = index_.find({family, table});
        return it == index_.end() ? index_.size() : it->second;
    }
    size_t Of(const NftObject& o) const { return Of(o.family, o.kind == NftKind::kTable ? o.name : o.table); }
    size_t Of(const NftElements& g) const { return Of(g.family, g.table); }

private:
    std::map<std::pair<uint8_t, std::string>, size_t> index_;
};

// Element groups by table, then set name (then, for groups of no listed
// table, by table and family, so that the order never depends on how they
// were gathered).
bool GroupBefore(const TableIndex& tables, const NftElements& a, const NftElements& b) {
    size_t ia = tables.Of(a), ib = tables.Of(b);
    return std::tie(ia, a.set, a.table, a.family) < std::tie(ib, b.set, b.table, b.family);
}

}  // namespace

std::vector<NftRuleset::Entry> NftRuleset::CanonicalOrder() const {
    TableIndex tables(objects);
    std::vector<const NftElements*> groups;
    for (const NftElements& g : elements)
        if (!g.empty()) groups.push_back(&g);
    std::sort(groups.begin(), groups.end(),
              [&](const NftElements* a, const NftElements* b) { return GroupBefore(tables, *a, *b); });
    // A table's elements go after its sets and before its rules: each group
    // before the first object that is a rule of its table or of a later one.
    std::vector<Entry> out;
    out.reserve(objects.size() + groups.size());
    size_t g = 0;
    for (const NftObject& o : objects) {
        std::pair<size_t, NftKind> at{tables.Of(o), o.kind};
        while (g < groups.size() && std::make_pair(tables.Of(*groups[g]), NftKind::kSetElem) < at)
            out.push_back({nullptr, groups[g++]});
        out.push_back({&o, nullptr});
    }
    while (g < groups.size()) out.push_back({nullptr, groups[g++]});
    return out;
}

NftObject CanonicalTable(nftnl_table* t) {
    nftnl_table_unset(t, NFTNL_TABLE_HANDLE);
    nftnl_table_unset(t, NFTNL_TABLE_USE);
    nftnl_table_unset(t, NFTNL_TABLE_OWNER);  // a netlink port id: differs every run
    NftObject o;
    o.kind = NftKind::kTable;
    o.family = static_cast<uint8_t>(nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY));
    o.name = Str(nftnl_table_get_str(t, NFTNL_TABLE_NAME));
    o.flags = nftnl_table_is_set(t, NFTNL_TABLE_FLAGS) ? nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS) : 0;
    o.payload = Payload(NFT_MSG_NEWTABLE, o.family, [t](nlmsghdr* n) { nftnl_table_nlmsg_build_payload(n, t); });
    o.text = Text(nftnl_table_snprintf, t);
    return o;
}

NftObject CanonicalChain(nftnl_chain* c) {
    for (uint16_t a : {NFTNL_CHAIN_HANDLE, NFTNL_CHAIN_USE, NFTNL_CHAIN_BYTES, NFTNL_CHAIN_PACKETS, NFTNL_CHAIN_ID})
        nftnl_chain_unset(c, a);
    NftObject o;
    o.kind = NftKind::kChain;
    o.family = static_cast<uint8_t>(nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY));
    o.table = Str(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE));
    o.name = Str(nftnl_chain_get_str(c, NFTNL_CHAIN_NAME));
    o.payload = Payload(NFT_MSG_NEWCHAIN, o.family, [c](nlmsghdr* n) { nftnl_chain_nlmsg_build_payload(n, c); });
    o.text = Text(nftnl_chain_snprintf, c);
    return o;
}

NftObject CanonicalSet(nftnl_set* s) {
    nftnl_set_unset(s, NFTNL_SET_HANDLE);
    nftnl_set_unset(s, NFTNL_SET_ID);
    NftObject o;
    o.kind = NftKind::kSet;
    o.family = static_cast<uint8_t>(nftnl_set_get_u32(s, NFTNL_SET_FAMILY));
    o.table = Str(nftnl_set_get_str(s, NFTNL_SET_TABLE));
    o.name = Str(nftnl_set_get_str(s, NFTNL_SET_NAME));
    o.flags = nftnl_set_is_set(s, NFTNL_SET_FLAGS) ? nftnl_set_get_u32(s, NFTNL_SET_FLAGS) : 0;
    o.payload = Payload(NFT_MSG_NEWSET, o.family, [s](nlmsghdr* n) { nftnl_set_nlmsg_build_payload(n, s); });
    o.text = Text(nftnl_set_snprintf, s);
    return o;
}

void CanonicalElemPayload(uint8_t family, nftnl_set_elem* e, std::string* payload) {
    nftnl_set_elem_unset(e, NFTNL_SET_ELEM_EXPIRATION);
    nftnl_set_elem_expr_foreach(e, ZeroExprState, nullptr);
    PayloadInto(NFT_MSG_NEWSETELEM, family, [e](nlmsghdr* n) { nftnl_set_elem_nlmsg_build_payload(n, e); }, payload);
}

NftObject CanonicalSetElem(const nftnl_set* set, nftnl_set_elem* e) {
    NftObject o;
    o.kind = NftKind::kSetElem;
    o.family = static_cast<uint8_t>(nftnl_set_get_u32(set, NFTNL_SET_FAMILY));
    o.table = Str(nftnl_set_get_str(set, NFTNL_SET_TABLE));
    o.name = Str(nftnl_set_get_str(set, NFTNL_SET_NAME));
    CanonicalElemPayload(o.family, e, &o.payload);
    // No libnftnl text for elements: they are most of a large ruleset, and
    // their text (a hex key) is what DescribeRuleset builds from the bytes.
    return o;
}

NftObject CanonicalObj(nftnl_obj* ob) {
    switch (nftnl_obj_get_u32(ob, NFTNL_OBJ_TYPE)) {
        case NFT_OBJECT_COUNTER:
            nftnl_obj_set_u64(ob, NFTNL_OBJ_CTR_PKTS, 0);
            nftnl_obj_set_u64(ob, NFTNL_OBJ_CTR_BYTES, 0);
            break;
        case NFT_OBJECT_QUOTA:
            nftnl_obj_set_u64(ob, NFTNL_OBJ_QUOTA_CONSUMED, 0);
            break;
        default:
            break;
    }
    NftObject o;
    o.kind = NftKind::kObj;
    o.family = static_cast<uint8_t>(nftnl_obj_get_u32(ob, NFTNL_OBJ_FAMILY));
    o.table = Str(nftnl_obj_get_str(ob, NFTNL_OBJ_TABLE));
    o.name = Str(nftnl_obj_get_str(ob, NFTNL_OBJ_NAME));
    // libnftnl 1.2.4 declares nftnl_obj_unset() but does not export it, so
    // the handle is taken out of the built attributes instead.
    o.payload =
        WithoutAttrs(Payload(NFT_MSG_NEWOBJ, o.family, [ob](nlmsghdr* n) { nftnl_obj_nlmsg_build_payload(n, ob); }),
                     {NFTA_OBJ_HANDLE, NFTA_OBJ_USE});
    o.text = Text(nftnl_obj_snprintf, ob);
    return o;
}

NftObject CanonicalFlowtable(nftnl_flowtable* f) {
    nftnl_flowtable_unset(f, NFTNL_FLOWTABLE_HANDLE);
    nftnl_flowtable_unset(f, NFTNL_FLOWTABLE_USE);
    NftObject o;
    o.kind = NftKind::kFlowtable;
    o.family = static_cast<uint8_t>(nftnl_flowtable_get_u32(f, NFTNL_FLOWTABLE_FAMILY));
    o.table = Str(nftnl_flowtable_get_str(f, NFTNL_FLOWTABLE_TABLE));
    o.name = Str(nftnl_flowtable_get_str(f, NFTNL_FLOWTABLE_NAME));
    o.payload =
        Payload(NFT_MSG_NEWFLOWTABLE, o.family, [f](nlmsghdr* n) { nftnl_flowtable_nlmsg_build_payload(n, f); });
    o.text = Text(nftnl_flowtable_snprintf, f);
    return o;
}

NftObject CanonicalRule(nftnl_rule* r) {
    for (uint16_t a : {NFTNL_RULE_HANDLE, NFTNL_RULE_POSITION, NFTNL_RULE_ID, NFTNL_RULE_POSITION_ID})
        nftnl_rule_unset(r, a);
    nftnl_expr_foreach(r, ZeroExprState, nullptr);
    NftObject o;
    o.kind = NftKind::kRule;
    o.family = static_cast<uint8_t>(nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY));
    o.table = Str(nftnl_rule_get_str(r, NFTNL_RULE_TABLE));
    o.name = Str(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
    nftnl_expr_foreach(r, NoteDaemonStatement, &o.daemon_statements);
    o.payload = Payload(NFT_MSG_NEWRULE, o.family, [r](nlmsghdr* n) { nftnl_rule_nlmsg_build_payload(n, r); });
    o.text = Text(nftnl_rule_snprintf, r);
    return o;
}

void SortElements(NftRuleset* rs) {
    std::set<std::tuple<uint8_t, std::string_view, std::string_view>> listed_order;
    for (const NftObject& o : rs->objects) {
        std::string_view flags;
        if (o.kind == NftKind::kSet && FindAttr(o.payload, NFTA_SET_FLAGS, &flags) && KeepsListedOrder(AttrBe32(flags)))
            listed_order.emplace(o.family, o.table, o.name);
    }
    for (NftElements& g : rs->elements)
        if (!listed_order.count({g.family, g.table, g.set})) g.Sort();
}

void SortCanonical(NftRuleset* rs) {
    // Tables keep the order the kernel lists them in (creation order), and
    // so do chains, sets, objects and flowtables inside a table: base chains
    // on one hook with equal priority run in the order they were created,
    // so that order is part of the ruleset. Only set elements are sorted: a
    // hash set lists them in an order that changes from boot to boot.
    TableIndex tables(rs->objects);
    std::stable_sort(rs->objects.begin(), rs->objects.end(), [&](const NftObject& a, const NftObject& b) {
        size_t ia = tables.Of(a), ib = tables.Of(b);
        return ia != ib ? ia < ib : a.kind < b.kind;
    });
    SortElements(rs);
    std::stable_sort(rs->elements.begin(), rs->elements.end(),
                     [&](const NftElements& a, const NftElements& b) { return GroupBefore(tables, a, b); });
}

namespace {

// One NETLINK_NETFILTER socket for the dump requests.
class NfSocket {
public:
    bool Open(std::string* err) {
        sock_.reset(mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC));
        if (!sock_ || mnl_socket_bind(sock_.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
            *err = std::string("socket(NETLINK_NETFILTER): ") + std::strerror(errno);
            return false;
        }
        port_ = mnl_socket_get_portid(sock_.get());
        return true;
    }

    // Sends one dump request and feeds every reply message to `cb`. Sets
    // *interrupted when the kernel flags the dump as inconsistent.
    bool Dump(uint16_t type, uint16_t family, const std::function<void(nlmsghdr*)>& payload,
              const std::function<bool(const nlmsghdr*)>& cb, bool* interrupted, std::string* err) {
        std::vector<char> buf(kBufSize);
        uint32_t seq = ++seq_;
        nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), type, family, NLM_F_DUMP, seq);
        if (payload) payload(nlh);
        if (mnl_socket_sendto(sock_.get(), nlh, nlh->nlmsg_len) < 0) {
            *err = std::strerror(errno);
            return false;
        }
        struct Ctx {
            const std::function<bool(const nlmsghdr*)>* cb;
            bool* interrupted;
            bool failed = false;
        } ctx{&cb, interrupted};
        auto trampoline = [](const nlmsghdr* n, void* data) -> int {
            auto* c = static_cast<Ctx*>(data);
            if (n->nlmsg_flags & NLM_F_DUMP_INTR) *c->interrupted = true;
            if (!(*c->cb)(n)) {
                c->failed = true;
                return MNL_CB_ERROR;
            }
            return MNL_CB_OK;
        };
        for (;;) {
            ssize_t n = mnl_socket_recvfrom(sock_.get(), buf.data(), buf.size());
            if (n < 0) {
                *err = std::strerror(errno);
                return false;
            }
            int ret = mnl_cb_run(buf.data(), static_cast<size_t>(n), seq, port_, trampoline, &ctx);
            if (ret < 0) {
                *err = ctx.failed ? "cannot parse the kernel's reply" : std::strerror(errno);
                return false;
            }
            if (ret == MNL_CB_STOP) return true;
        }
    }

    bool Generation(uint32_t* gen, std::string* err) {
        std::vector<char> buf(kBufSize);
        uint32_t seq = ++seq_;
        nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, seq);
        if (mnl_socket_sendto(sock_.get(), nlh, nlh->nlmsg_len) < 0) {
            *err = std::string("get generation: ") + std::strerror(errno);
            return false;
        }
        auto cb = [](const nlmsghdr* n, void* data) -> int {
            GenPtr g(nftnl_gen_alloc());
            if (!g || nftnl_gen_nlmsg_parse(n, g.get()) < 0) return MNL_CB_ERROR;
            *static_cast<uint32_t*>(data) = nftnl_gen_get_u32(g.get(), NFTNL_GEN_ID);
            return MNL_CB_OK;
        };
        for (;;) {
            ssize_t n = mnl_socket_recvfrom(sock_.get(), buf.data(), buf.size());
            int ret = n < 0 ? -1 : mnl_cb_run(buf.data(), static_cast<size_t>(n), seq, port_, cb, gen);
            if (ret < 0) {
                *err = std::string("get generation: ") + std::strerror(errno);
                return false;
            }
            if (ret == MNL_CB_STOP) return true;
        }
    }

    int torn_listings = 0;  ///< Set listings found torn and read again.

private:
    NetlinkSocket sock_;
    uint32_t port_ = 0;
    uint32_t seq_ = 0;
};

// Parses each reply with libnftnl into a fresh object and hands it on.
template <typename Ptr, typename Alloc, typename Parse, typename Use>
std::function<bool(const nlmsghdr*)> Each(Alloc alloc, Parse parse, Use use) {
    return [=](const nlmsghdr* n) {
        Ptr p(alloc());
        if (!p || parse(n, p.get()) < 0) return false;
        use(p.get());
        return true;
    };
}

// One listing of a set's elements: each element's canonical payload, in
// the kernel's order, handed to `each` (the view lasts until the next
// call). Each reply is parsed into a set of its own and freed once its
// elements are handed on: libnftnl's copy of a whole large set would cost
// more than the compact one.
bool ListElements(NfSocket* s, const nftnl_set* set, const std::function<bool(std::string_view)>& each,
                  bool* interrupted, std::string* err) {
    auto names = [&](nftnl_set* to) {
        nftnl_set_set_str(to, NFTNL_SET_TABLE, nftnl_set_get_str(set, NFTNL_SET_TABLE));
        nftnl_set_set_str(to, NFTNL_SET_NAME, nftnl_set_get_str(set, NFTNL_SET_NAME));
        nftnl_set_set_u32(to, NFTNL_SET_FAMILY, nftnl_set_get_u32(set, NFTNL_SET_FAMILY));
    };
    // The request names the set and carries no elements.
    SetPtr req(nftnl_set_alloc());
    if (!req) {
        *err = "dump elements: out of memory";
        return false;
    }
    names(req.get());
    struct ElemCtx {
        uint8_t family;
        const std::function<bool(std::string_view)>* each;
        std::string payload;
        bool ok = true;
    };
    uint16_t family = static_cast<uint16_t>(nftnl_set_get_u32(set, NFTNL_SET_FAMILY));
    ElemCtx ctx{static_cast<uint8_t>(family), &each, {}};
    bool ok = s->Dump(
        NFT_MSG_GETSETELEM, family, [&](nlmsghdr* n) { nftnl_set_elems_nlmsg_build_payload(n, req.get()); },
        [&](const nlmsghdr* n) {
            SetPtr part(nftnl_set_alloc());
            if (!part) return false;
            names(part.get());
            if (nftnl_set_elems_nlmsg_parse(n, part.get()) < 0) return false;
            nftnl_set_elem_foreach(
                part.get(),
                [](nftnl_set_elem* e, void* data) {
                    auto* c = static_cast<ElemCtx*>(data);
                    CanonicalElemPayload(c->family, e, &c->payload);
                    if (!(*c->each)(c->payload)) {
                        c->ok = false;
                        return -1;
                    }
                    return 0;
                },
                &ctx);
            return ctx.ok;
        },
        interrupted, err);
    if (!ok) *err = "dump elements of set '" + std::string(Str(nftnl_set_get_str(set, NFTNL_SET_NAME))) + "': " + *err;
    return ok;
}

// A listing's elements as sorted 64-bit fingerprints of their canonical
// bytes: enough to tell two listings apart and to find an element listed
// twice, at 8 bytes an element.
uint64_t Fingerprint(std::string_view payload) { return std::hash<std::string_view>{}(payload); }

std::vector<uint64_t> Fingerprints(const NftElements& elems) {
    std::vector<uint64_t> fp;
    fp.reserve(elems.size());
    for (size_t i = 0; i < elems.size(); ++i) fp.push_back(Fingerprint(elems[i]));
    std::sort(fp.begin(), fp.end());
    return fp;
}

}  // namespace

bool ListingIsWhole(const std::vector<uint64_t>& sorted_fingerprints, const std::vector<uint64_t>* previous) {
    if (std::adjacent_find(sorted_fingerprints.begin(), sorted_fingerprints.end()) != sorted_fingerprints.end())
        return false;
    return !previous || *previous == sorted_fingerprints;
}

namespace {

// A set's elements, proven whole. The kernel lists a hash set by walking
// its rhashtable, and a walk that meets a resize (the table grows in a
// worker after a large load, and shrinks after deletes) repeats some
// elements and skips others, with no NLM_F_DUMP_INTR and no generation
// change: seen on kernel 6.18 at 200,000 elements, 188,702 of them distinct.
// So a listing counts only with no element twice and, for a set that is
// not an interval set (those are rbtrees or pipapo, listed whole), only
// when the next listing has the same elements. Bounded: after
// kTornAttempts listings (backing off up to about 5 s in all, which a
// resize outlasts only under extreme load) it is an error, never a partial
// set.
//
// Only one listing's elements are ever held: a listing that is to be
// compared with a whole one held already is read as fingerprints alone, and
// if the two agree, the one held is the set. Otherwise the next listing is
// held (each comparison is between one listing held and one not).
constexpr int kTornAttempts = 12;

bool DumpWholeElements(NfSocket* s, const nftnl_set* set, NftElements* out, bool* interrupted, std::string* err) {
    uint32_t flags = nftnl_set_get_u32(set, NFTNL_SET_FLAGS);
    bool interval = flags & NFT_SET_INTERVAL;
    std::vector<uint64_t> previous;
    bool have_previous = false, previous_held = false, previous_whole = false;
    useconds_t pause = 10000;
    for (int attempt = 0; attempt < kTornAttempts; ++attempt) {
        bool compare_only = have_previous && previous_held && previous_whole && !interval;
        std::vector<uint64_t> fp;
        bool too_big = false;  // the compact form's limit (NftElements::Add)
        if (compare_only) {
            fp.reserve(previous.size());
            auto add = [&](std::string_view p) {
                fp.push_back(Fingerprint(p));
                return true;
            };
            if (!ListElements(s, set, add, interrupted, err)) return false;
            std::sort(fp.begin(), fp.end());
        } else {
            out->Clear();
            out->Reserve(previous.size());
            auto add = [&](std::string_view p) {
                too_big = !out->Add(p);
                return !too_big;
            };
            bool listed = ListElements(s, set, add, interrupted, err);
            if (too_big) *err = "dump elements of set '" + out->set + "': more than 4 GiB of elements";
            if (!listed) return false;
            fp = Fingerprints(*out);
        }
        bool whole = ListingIsWhole(fp, nullptr);
        if (whole && (interval || (have_previous && ListingIsWhole(fp, &previous)))) {
            // This listing, or the previous one held and equal to it.
            if (!KeepsListedOrder(flags)) out->Sort();
            return true;
        }
        bool torn = !whole || have_previous;
        previous = std::move(fp);
        have_previous = true;
        previous_held = !compare_only;
        previous_whole = whole;
        if (torn) {
            ++s->torn_listings;
            usleep(pause);  // let the resize finish
            pause = std::min<useconds_t>(pause * 2, 1000000);
        }
    }
    out->Clear();
    *err = "dump elements of set '" + std::string(Str(nftnl_set_get_str(set, NFTNL_SET_NAME))) +
           "': the kernel's listing kept changing (elements listed twice or missing) in " +
           std::to_string(kTornAttempts) + " listings";
    return false;
}

bool DumpOnce(NfSocket* s, NftRuleset* out, DumpTables which, bool* interrupted, std::string* err) {
    std::vector<NftObject>& v = out->objects;
    out->elements.clear();
    // Tables come first: with kUnowned, what belongs to an owned one is
    // dropped as it arrives, and its sets' elements are never listed.
    std::set<std::pair<uint8_t, std::string>> owned;
    auto push = [&](NftObject o) {
        if (which == DumpTables::kUnowned) {
            if (o.kind == NftKind::kTable && (o.flags & NFT_TABLE_F_OWNER)) owned.emplace(o.family, o.name);
            if (owned.count({o.family, o.kind == NftKind::kTable ? o.name : o.table})) return false;
        }
        v.push_back(std::move(o));
        return true;
    };
    std::vector<SetPtr> sets;
    auto step = [&](const char* what, uint16_t type, const std::function<bool(const nlmsghdr*)>& cb) {
        if (s->Dump(type, NFPROTO_UNSPEC, nullptr, cb, interrupted, err)) return true;
        *err = std::string("dump ") + what + ": " + *err;
        return false;
    };
    if (!step("tables", NFT_MSG_GETTABLE,
              Each<TablePtr>(nftnl_table_alloc, nftnl_table_nlmsg_parse,
                             [&](nftnl_table* t) { push(CanonicalTable(t)); })) ||
        !step("chains", NFT_MSG_GETCHAIN,
              Each<ChainPtr>(nftnl_chain_alloc, nftnl_chain_nlmsg_parse,
                             [&](nftnl_chain* c) { push(CanonicalChain(c)); })) ||
        !step("objects", NFT_MSG_GETOBJ,
              Each<ObjPtr>(nftnl_obj_alloc, nftnl_obj_nlmsg_parse, [&](nftnl_obj* o) { push(CanonicalObj(o)); })) ||
        !step("flowtables", NFT_MSG_GETFLOWTABLE,
              Each<FlowtablePtr>(nftnl_flowtable_alloc, nftnl_flowtable_nlmsg_parse,
                                 [&](nftnl_flowtable* f) { push(CanonicalFlowtable(f)); })) ||
        !step("sets", NFT_MSG_GETSET,
              [&](const nlmsghdr* n) {
                  SetPtr set(nftnl_set_alloc());
                  if (!set || nftnl_set_nlmsg_parse(n, set.get()) < 0) return false;
                  if (push(CanonicalSet(set.get())))
                      sets.push_back(std::move(set));  // keeps the names and flags used below
                  return true;
              }) ||
        !step("rules", NFT_MSG_GETRULE, Each<RulePtr>(nftnl_rule_alloc, nftnl_rule_nlmsg_parse, [&](nftnl_rule* r) {
                  push(CanonicalRule(r));
              }))) {
        return false;
    }

    for (const SetPtr& set : sets) {
        if (nftnl_set_get_u32(set.get(), NFTNL_SET_FLAGS) & NFT_SET_EVAL) continue;  // runtime state
        NftElements elems(static_cast<uint8_t>(nftnl_set_get_u32(set.get(), NFTNL_SET_FAMILY)),
                          Str(nftnl_set_get_str(set.get(), NFTNL_SET_TABLE)),
                          Str(nftnl_set_get_str(set.get(), NFTNL_SET_NAME)));
        if (!DumpWholeElements(s, set.get(), &elems, interrupted, err)) return false;
        if (!elems.empty()) out->elements.push_back(std::move(elems));
    }
    return true;
}

}  // namespace

bool RulesetGeneration(uint32_t* gen, std::string* err) {
    NfSocket s;
    return s.Open(err) && s.Generation(gen, err);
}

bool DumpRuleset(NftRuleset* out, std::string* err, uint32_t* generation, int* torn_listings, DumpTables which) {
    NfSocket s;
    if (!s.Open(err)) return false;
    // The ruleset may change while it is read (another nft run, a dynamic set
    // update of a table we read before): compare the generation id before
    // and after, as nft does, and read again if it moved.
    for (int attempt = 0; attempt < 5; ++attempt) {
        uint32_t before = 0, after = 0;
        bool interrupted = false;
        out->objects.clear();
        out->elements.clear();
        if (!s.Generation(&before, err) || !DumpOnce(&s, out, which, &interrupted, err) || !s.Generation(&after, err))
            return false;
        if (torn_listings) *torn_listings = s.torn_listings;
        if (before == after && !interrupted) {
            if (generation) *generation = before;
            SortCanonical(out);
            return true;
        }
    }
    *err = "dump ruleset: it kept changing while being read (5 attempts)";
    return false;
}

}  // namespace haltfw
