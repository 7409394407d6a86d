#include "nft/nft_restore.h"

#include <endian.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string_view>
#include <tuple>
#include <memory>
#include <vector>

#include "nft/nft_attrs.h"
#include "net/netlink_socket.h"

namespace haltfw {
namespace {

// A NFTA_SET_ELEM_LIST_ELEMENTS nest has a 16-bit length: elements go in
// messages of at most this many payload bytes.
constexpr size_t kElemBytesPerMessage = 60000;

uint16_t NewType(NftKind k) {
    switch (k) {
        case NftKind::kTable: return NFT_MSG_NEWTABLE;
        case NftKind::kChain: return NFT_MSG_NEWCHAIN;
        case NftKind::kObj: return NFT_MSG_NEWOBJ;
        case NftKind::kFlowtable: return NFT_MSG_NEWFLOWTABLE;
        case NftKind::kSet: return NFT_MSG_NEWSET;
        case NftKind::kSetElem: return NFT_MSG_NEWSETELEM;
        case NftKind::kRule: return NFT_MSG_NEWRULE;
    }
    return 0;
}

// The batch under construction: one contiguous buffer of netlink messages,
// and for each message with NLM_F_ACK, what it was (to name it in an error).
class Batch {
public:
    nlmsghdr* Begin(uint16_t type, uint16_t family, uint16_t flags, uint16_t res_id = 0) {
        size_t at = buf_.size();
        buf_.resize(at + MNL_ALIGN(sizeof(nlmsghdr) + sizeof(nfgenmsg)), 0);
        auto* nlh = reinterpret_cast<nlmsghdr*>(buf_.data() + at);
        nlh->nlmsg_len = static_cast<uint32_t>(buf_.size() - at);
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = NLM_F_REQUEST | flags;
        nlh->nlmsg_seq = ++seq_;
        auto* nfg = reinterpret_cast<nfgenmsg*>(nlh + 1);
        nfg->nfgen_family = static_cast<uint8_t>(family);
        nfg->version = NFNETLINK_V0;
        nfg->res_id = htobe16(res_id);
        current_ = at;
        return nlh;
    }
    // Appends raw bytes to the current message.
    void Append(const void* data, size_t len) {
        size_t at = buf_.size();
        buf_.resize(at + MNL_ALIGN(len), 0);
        std::memcpy(buf_.data() + at, data, len);
        Header()->nlmsg_len = static_cast<uint32_t>(buf_.size() - current_);
    }
    // Starts a nested attribute; returns its offset for End().
    size_t Nest(uint16_t type) {
        size_t at = buf_.size();
        nlattr a{0, static_cast<uint16_t>(type | NLA_F_NESTED)};
        Append(&a, sizeof a);
        return at;
    }
    void End(size_t nest) {
        auto* a = reinterpret_cast<nlattr*>(buf_.data() + nest);
        a->nla_len = static_cast<uint16_t>(buf_.size() - nest);
    }
    void Str(uint16_t type, const std::string& s) {
        nlattr a{static_cast<uint16_t>(sizeof(nlattr) + s.size() + 1), type};
        size_t at = buf_.size();
        buf_.resize(at + MNL_ALIGN(a.nla_len), 0);
        std::memcpy(buf_.data() + at, &a, sizeof a);
        std::memcpy(buf_.data() + at + sizeof a, s.c_str(), s.size() + 1);
        Header()->nlmsg_len = static_cast<uint32_t>(buf_.size() - current_);
    }
    void U32(uint16_t type, uint32_t host_order) {
        struct {
            nlattr a;
            uint32_t v;
        } attr{{sizeof attr, type}, htobe32(host_order)};
        Append(&attr, sizeof attr);
    }
    void Acked(std::string what) { acked_.emplace(seq_, std::move(what)); }
    // Room for `bytes` in all. Reserved, not written: pages of a large batch
    // become resident as it fills, and it never grows by copying itself
    // (which would hold it twice at the peak).
    void Reserve(size_t bytes) { buf_.reserve(bytes); }

    const std::vector<char>& bytes() const { return buf_; }
    const std::map<uint32_t, std::string>& acked() const { return acked_; }

private:
    nlmsghdr* Header() { return reinterpret_cast<nlmsghdr*>(buf_.data() + current_); }
    std::vector<char> buf_;
    size_t current_ = 0;
    uint32_t seq_ = 0;
    std::map<uint32_t, std::string> acked_;
};

std::string Describe(const NftObject& o) {
    std::string s = NftKindName(o.kind);
    s += o.kind == NftKind::kTable ? " " + o.name : " in " + o.table + " " + o.name;
    return s;
}

void AddObject(Batch* b, const NftObject& o, uint32_t* set_id, bool exclusive_tables) {
    uint16_t flags = NLM_F_CREATE;
    if (o.kind == NftKind::kTable && exclusive_tables) flags |= NLM_F_EXCL;
    // Without APPEND a new rule goes to the head of its chain, which would
    // reverse every chain.
    if (o.kind == NftKind::kRule) flags |= NLM_F_APPEND;
    b->Begin(NFNL_SUBSYS_NFTABLES << 8 | NewType(o.kind), o.family, flags);
    if (o.kind == NftKind::kRule) {
        std::string payload = RuleForRestore(o.payload);
        b->Append(payload.data(), payload.size());
    } else {
        b->Append(o.payload.data(), o.payload.size());
    }
    // The kernel refuses a new set without a transaction-local id (EINVAL);
    // the canonical form has none, as the id means nothing outside a batch.
    if (o.kind == NftKind::kSet) b->U32(NFTA_SET_ID, ++*set_id);
    b->Acked(Describe(o));
}

// One set's elements, in the order the kernel takes them, as nft sends
// them: ascending keys, and where an interval's end and the next one's
// start share a key (adjacent ranges: 192.0.2.0-192.0.2.9,
// 192.0.2.10-...), the end first. The rbtree backend refuses the end after
// the start with EEXIST (kernel 6.18). Canonical order (ElementLess) has the
// start first (the digest's order, kept as it is), so each run of elements
// with one key goes out with its ends first, read from the elements' own
// bytes: a manifest's elements carry nothing else. (An interval
// concatenation's elements have no ends, and go out in the order they
// are held: the kernel's, nft_dump.h.) Each end leaves out what the kernel
// dumps on it but refuses back (ElementForRestore).
void AddElements(Batch* b, const NftElements& g) {
    auto key = [&](size_t i) {
        std::string_view k;
        bool end = false;
        ElementKeyView(g[i], &k, &end);
        return std::make_pair(k, end);
    };
    size_t k = 0;  // next element to send
    size_t bytes = 0;
    uint16_t n = 0;
    size_t list = 0;
    std::string scratch;
    auto send = [&](std::string_view dumped) {
        std::string_view payload = ElementForRestore(dumped, &scratch);
        // At least one element per message, however large.
        if (n > 0 && bytes + payload.size() + 8 >= kElemBytesPerMessage) {
            b->End(list);
            b->Acked("elements of set " + g.table + " " + g.set);
            n = 0;
        }
        if (n == 0) {
            b->Begin(NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWSETELEM, g.family, NLM_F_CREATE);
            b->Str(NFTA_SET_ELEM_LIST_TABLE, g.table);
            b->Str(NFTA_SET_ELEM_LIST_SET, g.set);
            list = b->Nest(NFTA_SET_ELEM_LIST_ELEMENTS);
            bytes = 0;
        }
        size_t e = b->Nest(++n);
        b->Append(payload.data(), payload.size());
        b->End(e);
        bytes += payload.size() + 8;
    };
    while (k < g.size()) {
        size_t run = k + 1;
        std::string_view first_key = key(k).first;
        while (run < g.size() && key(run).first == first_key) ++run;
        for (bool ends : {true, false})
            for (size_t i = k; i < run; ++i)
                if (key(i).second == ends) send(g[i]);
        k = run;
    }
    if (n > 0) {
        b->End(list);
        b->Acked("elements of set " + g.table + " " + g.set);
    }
}

// Rules in the order the kernel takes them back. A rule that jumps to an
// anonymous chain (a chain binding, `jump { ... }`) binds it, and the
// kernel refuses rules for a bound chain (EOPNOTSUPP), so every binding
// chain's rules come first, inner bindings before the chains that jump to
// them; then the other rules in canonical order. Each rule is appended to
// its own chain, so moving rules between chains keeps every chain's order.
std::vector<const NftObject*> RuleOrder(const std::vector<NftObject>& all, const std::vector<const NftObject*>& rules) {
    using ChainKey = std::tuple<uint8_t, std::string, std::string>;
    std::set<ChainKey> binding;
    for (const NftObject& o : all) {
        std::string_view flags;
        if (o.kind == NftKind::kChain && FindAttr(o.payload, NFTA_CHAIN_FLAGS, &flags) &&
            (AttrBe32(flags) & NFT_CHAIN_BINDING))
            binding.emplace(o.family, o.table, o.name);
    }
    std::map<ChainKey, std::vector<const NftObject*>> rules_of;
    for (const NftObject* r : rules) rules_of[{r->family, r->table, r->name}].push_back(r);

    std::vector<const NftObject*> out;
    std::set<ChainKey> placed;
    // Depth-first: a binding chain's rules after those of the bindings they
    // jump to; a chain is marked before its targets are visited, so a loop
    // (which the kernel would not have accepted) cannot recurse for ever.
    std::function<void(const ChainKey&)> place = [&](const ChainKey& chain) {
        if (!placed.insert(chain).second) return;
        for (const NftObject* r : rules_of[chain])
            for (const std::string& target : RuleJumpTargets(r->payload))
                if (binding.count({r->family, r->table, target})) place({r->family, r->table, target});
        out.insert(out.end(), rules_of[chain].begin(), rules_of[chain].end());
    };
    for (const ChainKey& chain : binding) place(chain);
    for (const NftObject* r : rules)
        if (!binding.count({r->family, r->table, r->name})) out.push_back(r);
    return out;
}

// An upper bound on the batch's size, to reserve it whole: each object's
// payload and message, each element's payload and nest, and each element
// message's header (at least 1 in 2,000 of its bytes; 4 KiB a set for the
// last).
size_t BatchBytes(const NftRuleset& rs) {
    size_t bytes = 4096;
    for (const NftObject& o : rs.objects) bytes += o.payload.size() + o.table.size() + o.name.size() + 64;
    for (const NftElements& g : rs.elements) {
        size_t elems = 0;
        for (size_t i = 0; i < g.size(); ++i) elems += g[i].size() + 8;
        bytes += elems + elems / 2000 * (g.table.size() + g.set.size() + 64) + 4096;
    }
    return bytes;
}

// Reads the kernel's replies: errors only, as no message asks for an ACK.
// nfnetlink handles a batch inside the sendmsg() that carries it, so every
// reply is queued before the send returns and a non-blocking read that
// finds the queue empty has seen them all. (ACKs for every message, as
// before, overflowed the receive buffer at a few hundred rules: ENOBUFS.)
// The first error is the one reported: later ones follow from it, and
// *first_errno gets its code.
bool ReadErrors(mnl_socket* s, const Batch& b, std::string* err, int* first_errno) {
    std::vector<char> buf(1 << 16);
    std::string first_error;
    uint32_t port = mnl_socket_get_portid(s);
    for (;;) {
        ssize_t n = recv(mnl_socket_get_fd(s), buf.data(), buf.size(), MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n < 0) {
            *err = std::string("restore: receive: ") + std::strerror(errno);
            return false;
        }
        int left = static_cast<int>(n);
        for (auto* nlh = reinterpret_cast<nlmsghdr*>(buf.data()); mnl_nlmsg_ok(nlh, left);
             nlh = mnl_nlmsg_next(nlh, &left)) {
            if (nlh->nlmsg_pid != port || nlh->nlmsg_type != NLMSG_ERROR) continue;
            if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) continue;
            auto* e = static_cast<nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
            if (e->error == 0 || !first_error.empty()) continue;
            *first_errno = -e->error;
            auto it = b.acked().find(nlh->nlmsg_seq);
            first_error = "restore: " + (it == b.acked().end() ? std::string("batch") : it->second) + ": " +
                          std::strerror(-e->error);
        }
    }
    if (!first_error.empty()) {
        *err = first_error;
        return false;
    }
    return true;
}

}  // namespace

bool RestoreRuleset(const NftRuleset& rs, std::string* err) {
    NetlinkSocket s(mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC));
    if (!s || mnl_socket_bind(s.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
        *err = std::string("restore: socket(NETLINK_NETFILTER): ") + std::strerror(errno);
        return false;
    }
    return LoadRuleset(s.get(), rs, LoadMode::kReplaceAll, err);
}

bool LoadRuleset(mnl_socket* s, const NftRuleset& rs, LoadMode mode, std::string* err, uint32_t if_generation,
                 bool* moved) {
    int one = 1;
    mnl_socket_setsockopt(s, NETLINK_CAP_ACK, &one, sizeof one);  // short error replies
    if (moved) *moved = false;

    Batch b;
    b.Begin(NFNL_MSG_BATCH_BEGIN, AF_UNSPEC, 0, NFNL_SUBSYS_NFTABLES);
    // The kernel checks the generation under the commit mutex and holds
    // the mutex to the batch's commit or abort: nothing commits between.
    if (if_generation != 0) b.U32(NFNL_BATCH_GENID, if_generation);
    b.Acked("commit");  // a failed commit answers with the batch's first sequence number
    if (mode == LoadMode::kReplaceAll) {
        // A table delete with no name and family unspec is "flush ruleset"
        // (it skips tables another socket owns: the shutdown guard's).
        b.Begin(NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_DELTABLE, NFPROTO_UNSPEC, 0);
        b.Acked("flush ruleset");
    }
    bool exclusive = mode == LoadMode::kAddNewTables;
    b.Reserve(BatchBytes(rs));
    std::vector<NftRuleset::Entry> order = rs.CanonicalOrder();
    uint32_t set_id = 0;
    for (size_t i = 0; i < order.size();) {
        if (order[i].elements) {
            AddElements(&b, *order[i].elements);
            ++i;
        } else if (order[i].object->kind == NftKind::kRule) {
            // One table's rules together (canonical order keeps them so).
            std::vector<const NftObject*> rules;
            for (; i < order.size() && order[i].object && order[i].object->kind == NftKind::kRule; ++i)
                rules.push_back(order[i].object);
            for (const NftObject* r : RuleOrder(rs.objects, rules)) AddObject(&b, *r, &set_id, exclusive);
        } else {
            AddObject(&b, *order[i].object, &set_id, exclusive);
            ++i;
        }
    }
    b.Begin(NFNL_MSG_BATCH_END, AF_UNSPEC, 0, NFNL_SUBSYS_NFTABLES);

    // The whole batch in one send: the kernel takes a batch from one skb.
    // Size the send buffer for it (FORCE: root may pass the sysctl limits),
    // as nft does for big rulesets; the receive buffer only holds errors.
    int snd = static_cast<int>(b.bytes().size() + 4096);
    int rcv = 1 << 20;
    setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof snd);
    setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv);
    // A commit moves the generation id; one that did not move means the
    // batch was not committed, even if no error reply could be read.
    uint32_t gen_before = 0, gen_after = 0;
    if (!RulesetGeneration(&gen_before, err)) {
        *err = "restore: " + *err;
        return false;
    }
    if (mnl_socket_sendto(s, b.bytes().data(), b.bytes().size()) < 0) {
        *err = std::string("restore: send: ") + std::strerror(errno);
        return false;
    }
    int first_errno = 0;
    if (!ReadErrors(s, b, err, &first_errno)) {
        if (first_errno == ERESTART && if_generation != 0) {
            *err = "restore: the ruleset moved on from generation " + std::to_string(if_generation) +
                   "; nothing loaded";
            if (moved) *moved = true;
        }
        return false;
    }
    if (!RulesetGeneration(&gen_after, err)) {
        *err = "restore: " + *err;
        return false;
    }
    // (A batch that changes nothing, an empty ruleset over an empty one,
    // commits nothing either, and the kernel leaves the id as it was.)
    if (gen_after == gen_before && rs.size() != 0) {
        *err = "restore: the kernel did not commit the batch (generation " + std::to_string(gen_before) + " unchanged)";
        return false;
    }
    return true;
}

}  // namespace haltfw
