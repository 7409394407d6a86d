#include "net/rtnl.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>

#include <array>
#include <optional>
#include <vector>

namespace haltfw {

namespace {

// The kernel sizes each dump skb after the largest buffer we have passed to
// recvmsg, capped at 32 KiB; a reply that does not fit would be truncated
// (libmnl reports ENOSPC). MNL_SOCKET_BUFFER_SIZE (8 KiB at most) works too;
// the kernel's own cap means fewer reads on a long dump.
constexpr size_t kRecvBufSize = 32768;
// A request is one header and at most a handful of small attributes.
constexpr size_t kSendBufSize = 512;
// A dump the kernel flags NLM_F_DUMP_INTR may be torn by a concurrent change;
// it is taken again, a few times, before giving up.
constexpr int kDumpTries = 5;

// ---- Errors ---------------------------------------------------------------

std::string ErrnoName(int e) {
    const char* name = strerrorname_np(e);
    return name ? name : "errno " + std::to_string(e);
}

std::string SysError(const char* what) {
    return std::string(what) + ": " + strerror(errno);
}

// A kernel refusal reads "<extack message> (EINVAL)" when the kernel said
// why, and "<strerror> (EEXIST)" when it only sent the number.
std::string KernelError(int e, const std::string& extack) {
    std::string text = extack.empty() ? strerror(e) : extack;
    return text + " (" + ErrnoName(e) + ")";
}

// ---- Attributes -----------------------------------------------------------

// The attributes of one message indexed by type, later ones winning.
template <size_t Max>
struct Attrs {
    std::array<const nlattr*, Max + 1> at{};
    const nlattr* operator[](size_t type) const { return at[type]; }
};

template <size_t Max>
int CollectAttr(const nlattr* a, void* data) {
    uint16_t type = mnl_attr_get_type(a);
    if (type <= Max)
        static_cast<Attrs<Max>*>(data)->at[type] = a;
    return MNL_CB_OK;
}

template <size_t Max>
Attrs<Max> ParseAttrs(const nlmsghdr* nlh, size_t hdr_size) {
    Attrs<Max> attrs;
    mnl_attr_parse(nlh, hdr_size, CollectAttr<Max>, &attrs);
    return attrs;
}

template <size_t Max>
Attrs<Max> ParseNested(const nlattr* nest) {
    Attrs<Max> attrs;
    if (nest)
        mnl_attr_parse_nested(nest, CollectAttr<Max>, &attrs);
    return attrs;
}

std::optional<uint32_t> GetU32(const nlattr* a) {
    if (!a || mnl_attr_validate(a, MNL_TYPE_U32) < 0)
        return std::nullopt;
    return mnl_attr_get_u32(a);
}

std::optional<std::string> GetStr(const nlattr* a) {
    if (!a || mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
        return std::nullopt;
    return std::string(mnl_attr_get_str(a));
}

std::optional<IpAddr> GetAddr(const nlattr* a, int family) {
    IpAddr ip;
    ip.family = family;
    if (!a || ip.size() == 0 || mnl_attr_get_payload_len(a) != ip.size())
        return std::nullopt;
    memcpy(ip.bytes.data(), mnl_attr_get_payload(a), ip.size());
    return ip;
}

// RTA_VIA carries a gateway of the other family (an IPv4 route via an IPv6
// neighbour, kernel 5.2+).
std::optional<IpAddr> GetVia(const nlattr* a) {
    if (!a || mnl_attr_get_payload_len(a) < sizeof(rtvia))
        return std::nullopt;
    const auto* via = static_cast<const rtvia*>(mnl_attr_get_payload(a));
    IpAddr ip;
    ip.family = via->rtvia_family;
    if (ip.size() == 0 || mnl_attr_get_payload_len(a) != sizeof(rtvia) + ip.size())
        return std::nullopt;
    memcpy(ip.bytes.data(), via->rtvia_addr, ip.size());
    return ip;
}

template <class T>
const T* Payload(const nlmsghdr* nlh) {
    if (mnl_nlmsg_get_payload_len(nlh) < sizeof(T))
        return nullptr;
    return static_cast<const T*>(mnl_nlmsg_get_payload(nlh));
}

// The extack text NETLINK_EXT_ACK adds after an error, or "". `offset` is
// where the TLVs start in the payload.
std::string ExtackMessage(const nlmsghdr* nlh, size_t offset) {
    if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || offset > mnl_nlmsg_get_payload_len(nlh))
        return "";
    auto tlvs = ParseAttrs<NLMSGERR_ATTR_MAX>(nlh, offset);
    return GetStr(tlvs[NLMSGERR_ATTR_MSG]).value_or("");
}

// ---- Requests -------------------------------------------------------------

// One request under construction. Every request asks for an ACK, so success
// is confirmed rather than assumed from silence.
class Request {
public:
    Request(uint16_t type, uint16_t flags) {
        nlh_ = mnl_nlmsg_put_header(buf_.data());
        nlh_->nlmsg_type = type;
        nlh_->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    }
    Request(const Request&) = delete;
    Request& operator=(const Request&) = delete;

    template <class T>
    T* Header() { return static_cast<T*>(mnl_nlmsg_put_extra_header(nlh_, sizeof(T))); }
    // Unchecked puts: kSendBufSize is far above the largest request built here.
    void Put(uint16_t type, const void* data, size_t len) { mnl_attr_put(nlh_, type, len, data); }
    void PutU32(uint16_t type, uint32_t v) { mnl_attr_put_u32(nlh_, type, v); }
    void PutAddr(uint16_t type, const IpAddr& a) { Put(type, a.bytes.data(), a.size()); }
    nlmsghdr* nlh() { return nlh_; }

private:
    alignas(nlmsghdr) std::array<char, kSendBufSize> buf_{};
    nlmsghdr* nlh_;
};

// ---- Exchanges ------------------------------------------------------------

struct Channel {
    mnl_socket* sock;
    unsigned port;
    unsigned* seq;
};

// What has come back so far for one request. A failure is kept and reading
// goes on to the final ACK or NLMSG_DONE, so no reply is left queued: the
// kernel refuses a new dump (EBUSY) while an old one is unfinished.
struct Replies {
    std::string error;
    bool interrupted = false;

    void Fail(std::string why) {
        if (error.empty())
            error = std::move(why);
    }
};

// NLMSG_ERROR is both the ACK (error 0) and the refusal. With
// NETLINK_CAP_ACK the request is not echoed back (NLM_F_CAPPED), so the
// extack TLVs follow the bare nlmsgerr; without it they follow the echo.
void OnAck(const nlmsghdr* nlh, Replies* r) {
    const auto* e = Payload<nlmsgerr>(nlh);
    if (!e)
        return r->Fail("truncated NLMSG_ERROR");
    if (e->error == 0)
        return;
    size_t offset = sizeof(*e);
    if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
        offset += e->msg.nlmsg_len - sizeof(nlmsghdr);
    r->Fail(KernelError(-e->error, ExtackMessage(nlh, offset)));
}

// NLMSG_DONE ends a dump and carries the dump's own error, if any, followed
// by extack TLVs.
void OnDone(const nlmsghdr* nlh, Replies* r) {
    const auto* e = Payload<int>(nlh);
    if (e && *e < 0)
        r->Fail(KernelError(-*e, ExtackMessage(nlh, sizeof(int))));
}

// Handles one reply; returns true when it is the last one for the request.
template <class OnMsg>
bool OnReply(const nlmsghdr* nlh, OnMsg& on_msg, Replies* r) {
    if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
        r->interrupted = true;
    switch (nlh->nlmsg_type) {
    case NLMSG_NOOP:
        return false;
    case NLMSG_ERROR:
        OnAck(nlh, r);
        return true;
    case NLMSG_DONE:
        OnDone(nlh, r);
        return true;
    case NLMSG_OVERRUN:
        r->Fail("netlink overrun");
        return false;
    default:
        if (std::string why; r->error.empty() && !on_msg(nlh, &why))
            r->Fail(why);
        return false;
    }
}

bool Send(const Channel& ch, const nlmsghdr* req, std::string* why) {
    ssize_t n;
    do {
        n = mnl_socket_sendto(ch.sock, req, req->nlmsg_len);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        *why = SysError("sendto");
        return false;
    }
    return true;
}

ssize_t Receive(const Channel& ch, char* buf, size_t size, std::string* why) {
    ssize_t n;
    do {
        n = mnl_socket_recvfrom(ch.sock, buf, size);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno == ENOSPC)
        *why = "recvfrom: reply larger than the receive buffer";
    else if (n < 0)
        *why = SysError("recvfrom");
    return n;
}

// Sends `req` and reads every reply to it, giving data messages to `on_msg`,
// until the ACK (or NLMSG_DONE for a dump). Replies to an earlier request,
// left behind if a read failed halfway, are skipped by sequence number.
template <class OnMsg>
bool Exchange(const Channel& ch, Request& req, const std::string& op, OnMsg on_msg,
              bool* interrupted, std::string* err) {
    nlmsghdr* nlh = req.nlh();
    nlh->nlmsg_seq = ++*ch.seq;
    std::string why;
    if (!Send(ch, nlh, &why)) {
        *err = op + ": " + why;
        return false;
    }
    alignas(nlmsghdr) char buf[kRecvBufSize];
    Replies r;
    for (bool last = false; !last;) {
        ssize_t n = Receive(ch, buf, sizeof(buf), &why);
        if (n < 0) {
            *err = op + ": " + why;
            return false;
        }
        int len = static_cast<int>(n);
        for (auto* m = reinterpret_cast<const nlmsghdr*>(buf); !last && mnl_nlmsg_ok(m, len);
             m = mnl_nlmsg_next(m, &len)) {
            // Compared directly: libmnl's helpers let seq 0 and port 0 match
            // anything.
            if (m->nlmsg_pid == ch.port && m->nlmsg_seq == nlh->nlmsg_seq)
                last = OnReply(m, on_msg, &r);
        }
    }
    if (interrupted)
        *interrupted = r.interrupted;
    if (!r.error.empty())
        *err = op + ": " + r.error;
    return r.error.empty();
}

// A request that returns nothing but its ACK.
bool Ack(const Channel& ch, Request& req, const std::string& op, std::string* err) {
    auto ignore = [](const nlmsghdr*, std::string*) { return true; };
    return Exchange(ch, req, op, ignore, nullptr, err);
}

// Runs a dump, parsing each message into *out (which it replaces). A dump
// torn by a concurrent change is thrown away and taken again.
template <class T, class Parse>
bool DumpInto(const Channel& ch, Request& req, const std::string& op, Parse parse,
              std::vector<T>* out, std::string* err) {
    for (int i = 0; i < kDumpTries; ++i) {
        out->clear();
        auto on_msg = [&](const nlmsghdr* nlh, std::string* why) { return parse(nlh, out, why); };
        bool interrupted = false;
        if (!Exchange(ch, req, op, on_msg, &interrupted, err))
            return false;
        if (!interrupted)
            return true;
    }
    *err = op + ": interrupted by concurrent changes " + std::to_string(kDumpTries) + " times";
    return false;
}

// ---- Parsing dump messages ------------------------------------------------

std::optional<uint8_t> GetU8(const nlattr* a) {
    if (!a || mnl_attr_validate(a, MNL_TYPE_U8) < 0)
        return std::nullopt;
    return mnl_attr_get_u8(a);
}

std::optional<uint16_t> GetU16(const nlattr* a) {
    if (!a || mnl_attr_validate(a, MNL_TYPE_U16) < 0)
        return std::nullopt;
    return mnl_attr_get_u16(a);
}

// The kind, and what haltfw reads of a bridge's or a VLAN's own data.
void ReadLinkInfo(const nlattr* linkinfo, Link* l) {
    auto info = ParseNested<IFLA_INFO_MAX>(linkinfo);
    l->kind = GetStr(info[IFLA_INFO_KIND]).value_or("");
    if (l->kind == "vlan") {
        auto data = ParseNested<IFLA_VLAN_MAX>(info[IFLA_INFO_DATA]);
        l->vlan_id = GetU16(data[IFLA_VLAN_ID]).value_or(0);
    } else if (l->kind == "bridge") {
        auto data = ParseNested<IFLA_BR_MAX>(info[IFLA_INFO_DATA]);
        Link::BridgeOptions o;
        o.stp_state = GetU32(data[IFLA_BR_STP_STATE]).value_or(0);
        o.ageing_centis = GetU32(data[IFLA_BR_AGEING_TIME]).value_or(0);
        o.mcast_snooping = GetU8(data[IFLA_BR_MCAST_SNOOPING]).value_or(0);
        l->bridge = o;
    }
}

bool ParseLink(const nlmsghdr* nlh, std::vector<Link>* out, std::string* why) {
    const auto* ifi = Payload<ifinfomsg>(nlh);
    if (nlh->nlmsg_type != RTM_NEWLINK || !ifi) {
        *why = "unexpected message type " + std::to_string(nlh->nlmsg_type);
        return false;
    }
    auto tb = ParseAttrs<IFLA_MAX>(nlh, sizeof(*ifi));
    Link l;
    l.index = ifi->ifi_index;
    l.flags = ifi->ifi_flags;
    std::optional<std::string> name = GetStr(tb[IFLA_IFNAME]);
    if (!name) {
        *why = "link " + std::to_string(l.index) + " without IFLA_IFNAME";
        return false;
    }
    l.name = std::move(*name);
    l.mtu = GetU32(tb[IFLA_MTU]).value_or(0);
    // Only Ethernet-like hardware addresses are MACs; tunnels report 4 or 16
    // bytes, some links none at all.
    if (tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == sizeof(MacAddr)) {
        MacAddr mac;
        memcpy(mac.data(), mnl_attr_get_payload(tb[IFLA_ADDRESS]), mac.size());
        l.mac = mac;
    }
    ReadLinkInfo(tb[IFLA_LINKINFO], &l);
    l.master = static_cast<int>(GetU32(tb[IFLA_MASTER]).value_or(0));
    // IFLA_LINK is a veth's peer too (perhaps in another namespace): kept
    // for VLANs only, whose parent is in this one.
    if (l.kind == "vlan")
        l.parent = static_cast<int>(GetU32(tb[IFLA_LINK]).value_or(0));
    out->push_back(std::move(l));
    return true;
}

bool ParseAddress(const nlmsghdr* nlh, std::vector<Address>* out, std::string* why) {
    const auto* ifa = Payload<ifaddrmsg>(nlh);
    if (nlh->nlmsg_type != RTM_NEWADDR || !ifa) {
        *why = "unexpected message type " + std::to_string(nlh->nlmsg_type);
        return false;
    }
    if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
        return true;
    auto tb = ParseAttrs<IFA_MAX>(nlh, sizeof(*ifa));
    // On a point-to-point address IFA_ADDRESS is the peer and IFA_LOCAL our
    // end; otherwise IPv4 sends both equal and IPv6 only IFA_ADDRESS.
    const nlattr* local = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
    std::optional<IpAddr> ip = GetAddr(local, ifa->ifa_family);
    if (!ip || ifa->ifa_prefixlen > ip->bits()) {
        *why = "address on link " + std::to_string(ifa->ifa_index) + " without a valid address";
        return false;
    }
    Address a;
    a.ifindex = static_cast<int>(ifa->ifa_index);
    a.prefix = Prefix{*ip, ifa->ifa_prefixlen};
    // ifa_flags is 8 bits; flags above IFA_F_PERMANENT (NOPREFIXROUTE,
    // MANAGETEMPADDR...) only come in IFA_FLAGS.
    a.flags = GetU32(tb[IFA_FLAGS]).value_or(ifa->ifa_flags);
    a.scope = ifa->ifa_scope;
    const nlattr* ci = tb[IFA_CACHEINFO];
    if (ci && mnl_attr_get_payload_len(ci) >= sizeof(ifa_cacheinfo)) {
        ifa_cacheinfo info;
        memcpy(&info, mnl_attr_get_payload(ci), sizeof(info));
        a.valid_lft = info.ifa_valid;
        a.preferred_lft = info.ifa_prefered;
    }
    out->push_back(a);
    return true;
}

// Fills the route from one RTM_NEWROUTE; returns false when the message is
// not one haltfw keeps (another table or type, another family).
bool ReadRoute(const rtmsg* rtm, const Attrs<RTA_MAX>& tb, Route* r) {
    // rtm_table is 8 bits; tables above 255 exist only in RTA_TABLE.
    r->table = GetU32(tb[RTA_TABLE]).value_or(rtm->rtm_table);
    if (r->table != RT_TABLE_MAIN || rtm->rtm_type != RTN_UNICAST)
        return false;
    if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)
        return false;
    r->dst.addr.family = rtm->rtm_family;
    r->dst.len = rtm->rtm_dst_len;
    r->gateway = GetAddr(tb[RTA_GATEWAY], rtm->rtm_family);
    if (!r->gateway)
        r->gateway = GetVia(tb[RTA_VIA]);
    // Multipath routes (RTA_MULTIPATH) keep their nexthops nested and show
    // here with neither gateway nor oif; haltfw does not create them.
    r->oif = static_cast<int>(GetU32(tb[RTA_OIF]).value_or(0));
    r->metric = GetU32(tb[RTA_PRIORITY]).value_or(0);
    r->protocol = rtm->rtm_protocol;
    r->scope = rtm->rtm_scope;
    r->type = rtm->rtm_type;
    return true;
}

bool ParseRoute(const nlmsghdr* nlh, std::vector<Route>* out, std::string* why) {
    const auto* rtm = Payload<rtmsg>(nlh);
    if (nlh->nlmsg_type != RTM_NEWROUTE || !rtm) {
        *why = "unexpected message type " + std::to_string(nlh->nlmsg_type);
        return false;
    }
    auto tb = ParseAttrs<RTA_MAX>(nlh, sizeof(*rtm));
    Route r;
    if (!ReadRoute(rtm, tb, &r))
        return true;
    // A default route has no RTA_DST: the all-zero address set above.
    if (tb[RTA_DST]) {
        std::optional<IpAddr> dst = GetAddr(tb[RTA_DST], rtm->rtm_family);
        if (!dst) {
            *why = "route with a malformed RTA_DST";
            return false;
        }
        r.dst.addr = *dst;
    }
    if (r.dst.len > r.dst.addr.bits()) {
        *why = "route with prefix length " + std::to_string(r.dst.len);
        return false;
    }
    out->push_back(r);
    return true;
}

// ---- Building change requests ---------------------------------------------

std::string LinkOp(int ifindex, const std::string& change) {
    return "RTM_NEWLINK ifindex " + std::to_string(ifindex) + " " + change;
}

std::string AddrOp(const char* type, int ifindex, const Prefix& p) {
    return std::string(type) + " " + FormatPrefix(p) + " ifindex " + std::to_string(ifindex);
}

std::string RouteOp(const char* type, const Route& r, bool with_gateway) {
    std::string op = std::string(type) + " " + FormatPrefix(r.dst);
    if (with_gateway && r.gateway)
        op += " via " + FormatIp(*r.gateway);
    if (r.oif)
        op += " ifindex " + std::to_string(r.oif);
    if (r.metric)
        op += " metric " + std::to_string(r.metric);
    return op;
}

ifinfomsg* PutLinkHeader(Request* req, int ifindex) {
    auto* ifi = req->Header<ifinfomsg>();
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    return ifi;
}

// The address itself: IPv4 wants IFA_LOCAL (our end) and IFA_ADDRESS (the
// peer, equal to the local address without one); IPv6 takes IFA_ADDRESS.
void PutAddress(Request* req, int ifindex, const Prefix& p) {
    auto* ifa = req->Header<ifaddrmsg>();
    ifa->ifa_family = static_cast<uint8_t>(p.addr.family);
    ifa->ifa_prefixlen = static_cast<uint8_t>(p.len);
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = static_cast<uint32_t>(ifindex);
    if (p.addr.family == AF_INET)
        req->PutAddr(IFA_LOCAL, p.addr);
    req->PutAddr(IFA_ADDRESS, p.addr);
}

// The gateway of a route: RTA_GATEWAY in the route's own family, RTA_VIA for
// an IPv4 route through an IPv6 neighbour.
void PutGateway(Request* req, const Route& r) {
    if (!r.gateway)
        return;
    if (r.gateway->family == r.dst.addr.family) {
        req->PutAddr(RTA_GATEWAY, *r.gateway);
        return;
    }
    std::array<uint8_t, sizeof(rtvia) + 16> via{};
    auto family = static_cast<__kernel_sa_family_t>(r.gateway->family);
    memcpy(via.data(), &family, sizeof(family));
    memcpy(via.data() + sizeof(rtvia), r.gateway->bytes.data(), r.gateway->size());
    req->Put(RTA_VIA, via.data(), sizeof(rtvia) + r.gateway->size());
}

// The part of a route request that names the route: family, destination,
// table main, metric and output interface.
void PutRouteKey(Request* req, const Route& r, uint8_t protocol, uint8_t scope) {
    auto* rtm = req->Header<rtmsg>();
    rtm->rtm_family = static_cast<uint8_t>(r.dst.addr.family);
    rtm->rtm_dst_len = static_cast<uint8_t>(r.dst.len);
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_protocol = protocol;
    rtm->rtm_scope = scope;
    rtm->rtm_type = RTN_UNICAST;
    if (r.dst.len > 0)
        req->PutAddr(RTA_DST, r.dst.addr);
    req->PutU32(RTA_TABLE, RT_TABLE_MAIN);
    // Metric 0 is a wildcard when deleting, and IPv6 turns 0 into 1024 when
    // adding (IP6_RT_PRIO_USER); either way sending 0 is the same as omitting it.
    req->PutU32(RTA_PRIORITY, r.metric);
    if (r.oif)
        req->PutU32(RTA_OIF, static_cast<uint32_t>(r.oif));
}

}  // namespace

// ---- RtnlSocket -----------------------------------------------------------

std::unique_ptr<RtnlSocket> RtnlSocket::Open(std::string* err) {
    std::unique_ptr<RtnlSocket> s(new RtnlSocket);
    s->sock_.reset(mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC));
    if (!s->sock_) {
        *err = SysError("socket(NETLINK_ROUTE)");
        return nullptr;
    }
    if (mnl_socket_bind(s->sock_.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
        *err = SysError("bind(NETLINK_ROUTE)");
        return nullptr;
    }
    // EXT_ACK: refusals carry the kernel's reason as text. CAP_ACK: errors
    // do not echo the whole request back, which we never read.
    int on = 1;
    if (mnl_socket_setsockopt(s->sock_.get(), NETLINK_EXT_ACK, &on, sizeof(on)) < 0) {
        *err = SysError("setsockopt(NETLINK_EXT_ACK)");
        return nullptr;
    }
    if (mnl_socket_setsockopt(s->sock_.get(), NETLINK_CAP_ACK, &on, sizeof(on)) < 0) {
        *err = SysError("setsockopt(NETLINK_CAP_ACK)");
        return nullptr;
    }
    s->port_ = mnl_socket_get_portid(s->sock_.get());
    return s;
}

RtnlSocket::~RtnlSocket() = default;

bool RtnlSocket::Dump(NetState* out, std::string* err) {
    Channel ch{sock_.get(), port_, &seq_};
    NetState state;

    Request links(RTM_GETLINK, NLM_F_DUMP);
    PutLinkHeader(&links, 0);
    // Statistics are a large part of each link message and never read here.
    links.PutU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    if (!DumpInto(ch, links, "RTM_GETLINK dump", ParseLink, &state.links, err))
        return false;

    Request addrs(RTM_GETADDR, NLM_F_DUMP);
    addrs.Header<ifaddrmsg>()->ifa_family = AF_UNSPEC;
    if (!DumpInto(ch, addrs, "RTM_GETADDR dump", ParseAddress, &state.addresses, err))
        return false;

    // Route dumps are per family: AF_UNSPEC would add other families
    // (MPLS...) haltfw has no use for. Tables are filtered here rather than
    // by the kernel, which honours rtm_table only with NETLINK_GET_STRICT_CHK.
    for (int family : {AF_INET, AF_INET6}) {
        Request routes(RTM_GETROUTE, NLM_F_DUMP);
        routes.Header<rtmsg>()->rtm_family = static_cast<uint8_t>(family);
        std::vector<Route> found;
        std::string op = std::string("RTM_GETROUTE ") + FamilyName(family) + " dump";
        if (!DumpInto(ch, routes, op, ParseRoute, &found, err))
            return false;
        state.routes.insert(state.routes.end(), found.begin(), found.end());
    }
    *out = std::move(state);
    return true;
}

bool RtnlSocket::SetLinkUp(int ifindex, bool up, std::string* err) {
    Request req(RTM_NEWLINK, 0);
    ifinfomsg* ifi = PutLinkHeader(&req, ifindex);
    // ifi_change selects the flags the kernel takes from ifi_flags, so only
    // IFF_UP moves.
    ifi->ifi_change = IFF_UP;
    ifi->ifi_flags = up ? IFF_UP : 0;
    return Ack({sock_.get(), port_, &seq_}, req, LinkOp(ifindex, up ? "up" : "down"), err);
}

bool RtnlSocket::CreateVeth(const std::string& name, const std::string& peer, std::string* err) {
    Request req(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    PutLinkHeader(&req, 0);
    mnl_attr_put_strz(req.nlh(), IFLA_IFNAME, name.c_str());
    nlattr* info = mnl_attr_nest_start(req.nlh(), IFLA_LINKINFO);
    mnl_attr_put_strz(req.nlh(), IFLA_INFO_KIND, "veth");
    nlattr* data = mnl_attr_nest_start(req.nlh(), IFLA_INFO_DATA);
    // VETH_INFO_PEER carries a whole ifinfomsg and then the peer's attributes.
    nlattr* peer_nest = mnl_attr_nest_start(req.nlh(), VETH_INFO_PEER);
    mnl_nlmsg_put_extra_header(req.nlh(), sizeof(ifinfomsg));
    mnl_attr_put_strz(req.nlh(), IFLA_IFNAME, peer.c_str());
    mnl_attr_nest_end(req.nlh(), peer_nest);
    mnl_attr_nest_end(req.nlh(), data);
    mnl_attr_nest_end(req.nlh(), info);
    return Ack({sock_.get(), port_, &seq_}, req, "RTM_NEWLINK veth " + name + " peer " + peer, err);
}

// The options haltfw keeps on a bridge (topology.h says why each).
void PutBridgeOptions(Request* req, const Link::BridgeOptions& o) {
    mnl_attr_put_u32(req->nlh(), IFLA_BR_STP_STATE, o.stp_state);
    mnl_attr_put_u32(req->nlh(), IFLA_BR_AGEING_TIME, o.ageing_centis);
    mnl_attr_put_u8(req->nlh(), IFLA_BR_MCAST_SNOOPING, o.mcast_snooping);
}

bool RtnlSocket::CreateBridge(const std::string& name, const Link::BridgeOptions& o, std::string* err) {
    Request req(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    PutLinkHeader(&req, 0);
    mnl_attr_put_strz(req.nlh(), IFLA_IFNAME, name.c_str());
    nlattr* info = mnl_attr_nest_start(req.nlh(), IFLA_LINKINFO);
    mnl_attr_put_strz(req.nlh(), IFLA_INFO_KIND, "bridge");
    nlattr* data = mnl_attr_nest_start(req.nlh(), IFLA_INFO_DATA);
    PutBridgeOptions(&req, o);
    mnl_attr_nest_end(req.nlh(), data);
    mnl_attr_nest_end(req.nlh(), info);
    return Ack({sock_.get(), port_, &seq_}, req, "RTM_NEWLINK bridge " + name, err);
}

bool RtnlSocket::SetBridgeOptions(int ifindex, const Link::BridgeOptions& o, std::string* err) {
    Request req(RTM_NEWLINK, 0);
    PutLinkHeader(&req, ifindex);
    nlattr* info = mnl_attr_nest_start(req.nlh(), IFLA_LINKINFO);
    mnl_attr_put_strz(req.nlh(), IFLA_INFO_KIND, "bridge");
    nlattr* data = mnl_attr_nest_start(req.nlh(), IFLA_INFO_DATA);
    PutBridgeOptions(&req, o);
    mnl_attr_nest_end(req.nlh(), data);
    mnl_attr_nest_end(req.nlh(), info);
    return Ack({sock_.get(), port_, &seq_}, req, LinkOp(ifindex, "bridge options"), err);
}

bool RtnlSocket::CreateVlan(const std::string& name, int parent, uint16_t id, std::string* err) {
    Request req(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    PutLinkHeader(&req, 0);
    mnl_attr_put_strz(req.nlh(), IFLA_IFNAME, name.c_str());
    req.PutU32(IFLA_LINK, static_cast<uint32_t>(parent));
    nlattr* info = mnl_attr_nest_start(req.nlh(), IFLA_LINKINFO);
    mnl_attr_put_strz(req.nlh(), IFLA_INFO_KIND, "vlan");
    nlattr* data = mnl_attr_nest_start(req.nlh(), IFLA_INFO_DATA);
    mnl_attr_put_u16(req.nlh(), IFLA_VLAN_ID, id);
    mnl_attr_nest_end(req.nlh(), data);
    mnl_attr_nest_end(req.nlh(), info);
    return Ack({sock_.get(), port_, &seq_}, req,
               "RTM_NEWLINK vlan " + name + " id " + std::to_string(id) + " on ifindex " + std::to_string(parent), err);
}

// The kernel loads the wireguard module for this request by itself
// (request_module("rtnl-link-wireguard")) where modprobe can run.
bool RtnlSocket::CreateWireguard(const std::string& name, std::string* err) {
    if (!ValidLinkName(name)) {
        *err = "RTM_NEWLINK wireguard: not a link name";
        return false;
    }
    Request req(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    PutLinkHeader(&req, 0);
    mnl_attr_put_strz(req.nlh(), IFLA_IFNAME, name.c_str());
    nlattr* info = mnl_attr_nest_start(req.nlh(), IFLA_LINKINFO);
    mnl_attr_put_strz(req.nlh(), IFLA_INFO_KIND, "wireguard");
    mnl_attr_nest_end(req.nlh(), info);
    if (Ack({sock_.get(), port_, &seq_}, req, "RTM_NEWLINK wireguard " + name, err)) return true;
    if (err->ends_with("(EOPNOTSUPP)")) *err += ": this kernel has no WireGuard (module 'wireguard')";
    return false;
}

bool RtnlSocket::SetMaster(int ifindex, int master, std::string* err) {
    Request req(RTM_NEWLINK, 0);
    PutLinkHeader(&req, ifindex);
    req.PutU32(IFLA_MASTER, static_cast<uint32_t>(master));
    return Ack({sock_.get(), port_, &seq_}, req, LinkOp(ifindex, "master " + std::to_string(master)), err);
}

bool RtnlSocket::DeleteLink(int ifindex, std::string* err) {
    Request req(RTM_DELLINK, 0);
    PutLinkHeader(&req, ifindex);
    return Ack({sock_.get(), port_, &seq_}, req, "RTM_DELLINK ifindex " + std::to_string(ifindex), err);
}

bool RtnlSocket::LinkIndex(const std::string& name, int* ifindex, std::string* err) {
    Request req(RTM_GETLINK, 0);
    PutLinkHeader(&req, 0);
    mnl_attr_put_strz(req.nlh(), IFLA_IFNAME, name.c_str());
    req.PutU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    *ifindex = 0;
    auto on_msg = [&](const nlmsghdr* nlh, std::string*) {
        if (const auto* ifi = Payload<ifinfomsg>(nlh); ifi && nlh->nlmsg_type == RTM_NEWLINK)
            *ifindex = ifi->ifi_index;
        return true;
    };
    if (!Exchange({sock_.get(), port_, &seq_}, req, "RTM_GETLINK " + name, on_msg, nullptr, err))
        return false;
    if (*ifindex > 0)
        return true;
    *err = "RTM_GETLINK " + name + ": no link in the reply";
    return false;
}

bool RtnlSocket::SetLinkMtu(int ifindex, uint32_t mtu, std::string* err) {
    Request req(RTM_NEWLINK, 0);
    PutLinkHeader(&req, ifindex);
    req.PutU32(IFLA_MTU, mtu);
    return Ack({sock_.get(), port_, &seq_}, req, LinkOp(ifindex, "mtu " + std::to_string(mtu)), err);
}

bool RtnlSocket::AddAddress(int ifindex, const Prefix& p, bool replace, std::string* err) {
    // EXCL: adding an address that is already there is an error, not a
    // silent success. REPLACE: take it over, lifetimes included.
    Request req(RTM_NEWADDR, NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL));
    PutAddress(&req, ifindex, p);
    // No IFA_BROADCAST, as after a plain `ip addr add`: the kernel installs
    // the subnet broadcast route by itself (fib_add_ifaddr; seen on 6.18).
    // Infinite lifetimes make the address IFA_F_PERMANENT; on replace this
    // is what turns a DHCP-style finite address into a static one.
    ifa_cacheinfo ci{};
    ci.ifa_prefered = kForever;
    ci.ifa_valid = kForever;
    req.Put(IFA_CACHEINFO, &ci, sizeof(ci));
    return Ack({sock_.get(), port_, &seq_}, req, AddrOp("RTM_NEWADDR", ifindex, p), err);
}

bool RtnlSocket::DelAddress(int ifindex, const Prefix& p, std::string* err) {
    Request req(RTM_DELADDR, 0);
    PutAddress(&req, ifindex, p);
    return Ack({sock_.get(), port_, &seq_}, req, AddrOp("RTM_DELADDR", ifindex, p), err);
}

bool RtnlSocket::ReplaceRoute(const Route& r, std::string* err) {
    Request req(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE);
    PutRouteKey(&req, r, RTPROT_STATIC, r.gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
    PutGateway(&req, r);
    return Ack({sock_.get(), port_, &seq_}, req, RouteOp("RTM_NEWROUTE", r, true), err);
}

bool RtnlSocket::DelRoute(const Route& r, std::string* err) {
    Request req(RTM_DELROUTE, 0);
    // Protocol 0 and RT_SCOPE_NOWHERE are the delete wildcards, so a route
    // is found whoever added it; the gateway is not part of the key (rtnl.h).
    PutRouteKey(&req, r, RTPROT_UNSPEC, RT_SCOPE_NOWHERE);
    return Ack({sock_.get(), port_, &seq_}, req, RouteOp("RTM_DELROUTE", r, false), err);
}

}  // namespace haltfw
