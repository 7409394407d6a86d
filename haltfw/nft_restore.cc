#include "nft_restore.h"

#include <endian.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

namespace haltfw {
namespace {

struct MnlClose {
    void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};

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

void AddObject(Batch* b, const NftObject& o, uint32_t* set_id) {
    uint16_t flags = NLM_F_CREATE | NLM_F_ACK;
    // Without APPEND a new rule goes to the head of its chain, which would
    // reverse every chain.
    if (o.kind == NftKind::kRule) flags |= NLM_F_APPEND;
    b->Begin(NFNL_SUBSYS_NFTABLES << 8 | NewType(o.kind), o.family, flags);
    b->Append(o.payload.data(), o.payload.size());
    // The kernel refuses a new set without a transaction-local id (EINVAL);
    // the canonical form has none, as the id means nothing outside a batch.
    if (o.kind == NftKind::kSet) b->U32(NFTA_SET_ID, ++*set_id);
    b->Acked(Describe(o));
}

// Elements of one set, from objects[i] on; returns the index after them.
size_t AddElements(Batch* b, const std::vector<NftObject>& objs, size_t i) {
    const NftObject& first = objs[i];
    auto same_set = [&](const NftObject& o) {
        return o.kind == NftKind::kSetElem && o.family == first.family && o.table == first.table && o.name == first.name;
    };
    while (i < objs.size() && same_set(objs[i])) {
        b->Begin(NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWSETELEM, first.family, NLM_F_CREATE | NLM_F_ACK);
        b->Str(NFTA_SET_ELEM_LIST_TABLE, first.table);
        b->Str(NFTA_SET_ELEM_LIST_SET, first.name);
        size_t list = b->Nest(NFTA_SET_ELEM_LIST_ELEMENTS);
        size_t bytes = 0;
        uint16_t n = 0;
        while (i < objs.size() && same_set(objs[i]) && bytes + objs[i].payload.size() + 8 < kElemBytesPerMessage) {
            size_t e = b->Nest(++n);
            b->Append(objs[i].payload.data(), objs[i].payload.size());
            b->End(e);
            bytes += objs[i].payload.size() + 8;
            ++i;
        }
        b->End(list);
        b->Acked("elements of set " + first.table + " " + first.name);
    }
    return i;
}

// Reads replies until every acked message has answered; the first error
// is the one reported (later ones follow from it).
bool ReadAcks(mnl_socket* s, const Batch& b, std::string* err) {
    std::vector<char> buf(1 << 16);
    size_t pending = b.acked().size();
    std::string first_error;
    uint32_t port = mnl_socket_get_portid(s);
    while (pending > 0) {
        ssize_t n = mnl_socket_recvfrom(s, buf.data(), buf.size());
        if (n < 0) {
            *err = std::string("restore: receive: ") + std::strerror(errno);
            return false;
        }
        for (auto* nlh = reinterpret_cast<nlmsghdr*>(buf.data()); mnl_nlmsg_ok(nlh, static_cast<int>(n));
             nlh = mnl_nlmsg_next(nlh, reinterpret_cast<int*>(&n))) {
            if (nlh->nlmsg_pid != port || nlh->nlmsg_type != NLMSG_ERROR) continue;
            auto* e = static_cast<nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
            auto it = b.acked().find(nlh->nlmsg_seq);
            if (it == b.acked().end()) continue;
            --pending;
            if (e->error != 0 && first_error.empty())
                first_error = "restore: " + it->second + ": " + std::strerror(-e->error);
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
    std::unique_ptr<mnl_socket, MnlClose> s(mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC));
    if (!s || mnl_socket_bind(s.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
        *err = std::string("restore: socket(NETLINK_NETFILTER): ") + std::strerror(errno);
        return false;
    }
    int one = 1;
    mnl_socket_setsockopt(s.get(), NETLINK_CAP_ACK, &one, sizeof one);  // short ACKs

    Batch b;
    b.Begin(NFNL_MSG_BATCH_BEGIN, AF_UNSPEC, 0, NFNL_SUBSYS_NFTABLES);
    // A table delete with no name and family unspec is "flush ruleset".
    b.Begin(NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_DELTABLE, NFPROTO_UNSPEC, NLM_F_ACK);
    b.Acked("flush ruleset");
    const std::vector<NftObject>& objs = rs.objects;
    uint32_t set_id = 0;
    for (size_t i = 0; i < objs.size();) {
        if (objs[i].kind == NftKind::kSetElem) {
            i = AddElements(&b, objs, i);
        } else {
            AddObject(&b, objs[i], &set_id);
            ++i;
        }
    }
    b.Begin(NFNL_MSG_BATCH_END, AF_UNSPEC, 0, NFNL_SUBSYS_NFTABLES);

    // The whole batch in one send: the kernel takes a batch from one skb.
    // Size the buffers for it (FORCE: root may pass the sysctl limits), as
    // nft does for big rulesets.
    int snd = static_cast<int>(b.bytes().size() + 4096);
    int rcv = static_cast<int>(b.acked().size() * 64 + (1 << 16));
    setsockopt(mnl_socket_get_fd(s.get()), SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof snd);
    setsockopt(mnl_socket_get_fd(s.get()), SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv);
    // The final stage runs this as PID 1 and must never wait for ever on a
    // reply that does not come.
    timeval tv{30, 0};
    setsockopt(mnl_socket_get_fd(s.get()), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (mnl_socket_sendto(s.get(), b.bytes().data(), b.bytes().size()) < 0) {
        *err = std::string("restore: send: ") + std::strerror(errno);
        return false;
    }
    return ReadAcks(s.get(), b, err);
}

}  // namespace haltfw
