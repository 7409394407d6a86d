#include "net/wireguard.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/wireguard.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/time_types.h>

#include <algorithm>
#include <array>

#include "base/quote.h"
#include "net/netstate.h"

namespace haltfw {

namespace {

// Large enough for any one dump message (the kernel caps them near a page
// for generic netlink, and at 32 KiB in any case).
constexpr size_t kRecvBufSize = 32768;

std::string ErrnoText(int e) {
    const char* name = strerrorname_np(e);
    return std::string(strerror(e)) + " (" + (name ? name : "errno " + std::to_string(e)) + ")";
}

// ---- Building ---------------------------------------------------------------

void PutKey(nlmsghdr* nlh, uint16_t type, const WgKey& k) { mnl_attr_put(nlh, type, k.size(), k.data()); }

void PutEndpoint(nlmsghdr* nlh, const WgEndpoint& e) {
    if (e.addr.family == AF_INET) {
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_port = htons(e.port);
        memcpy(&sin.sin_addr, e.addr.bytes.data(), 4);
        mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(sin), &sin);
    } else {
        sockaddr_in6 sin6{};
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons(e.port);
        memcpy(&sin6.sin6_addr, e.addr.bytes.data(), 16);
        mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(sin6), &sin6);
    }
}

// Room a peer's own attributes take at most (keys, flags, endpoint,
// keepalive, the nests), and one allowed IP at most: checked before each
// is put, so a message never overflows its buffer.
constexpr size_t kPeerHeadMax = 256;
constexpr size_t kAllowedIpMax = 48;

// The peer's own attributes; all zeros removes a preshared key, so it is
// sent either way and a key the config no longer names does not linger.
void PutPeerHead(nlmsghdr* nlh, const WgPeer& p) {
    PutKey(nlh, WGPEER_A_PUBLIC_KEY, p.public_key);
    mnl_attr_put_u32(nlh, WGPEER_A_FLAGS, WGPEER_F_REPLACE_ALLOWEDIPS);
    WgSecret none;
    PutKey(nlh, WGPEER_A_PRESHARED_KEY, p.preshared_key ? p.preshared_key->key() : none.key());
    if (p.endpoint) PutEndpoint(nlh, *p.endpoint);
    mnl_attr_put_u16(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, p.keepalive_s);
}

void PutAllowedIp(nlmsghdr* nlh, const Prefix& a, uint16_t index) {
    nlattr* ip = mnl_attr_nest_start(nlh, index);
    mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, static_cast<uint16_t>(a.addr.family));
    mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, static_cast<size_t>(a.addr.size()), a.addr.bytes.data());
    mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, static_cast<uint8_t>(a.len));
    mnl_attr_nest_end(nlh, ip);
}

nlmsghdr* PutGenlHeader(std::vector<char>* buf, uint16_t family, uint8_t cmd, uint16_t flags, uint32_t seq) {
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf->data());
    nlh->nlmsg_type = family;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    nlh->nlmsg_seq = seq;
    auto* g = static_cast<genlmsghdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(genlmsghdr)));
    g->cmd = cmd;
    g->version = WG_GENL_VERSION;
    return nlh;
}

// ---- Parsing ----------------------------------------------------------------

// What an attribute the parser reads must be, checked with
// mnl_attr_validate2 before it is read: mnl_attr_get_u32 and its kin read
// their width whatever the attribute's length says, and mnl_attr_get_str
// trusts a NUL to be there. A reply that breaks a rule is refused whole.
struct AttrRule {
    const char* name = nullptr;  // null: an attribute not read, left unchecked
    mnl_attr_data_type type = MNL_TYPE_UNSPEC;
    size_t len = 0;              // MNL_TYPE_BINARY: the exact length (0: any)
};

template <size_t Max>
using Rules = std::array<AttrRule, Max + 1>;

constexpr Rules<WGDEVICE_A_MAX> kDeviceRules = [] {
    Rules<WGDEVICE_A_MAX> r{};
    r[WGDEVICE_A_IFINDEX] = {"WGDEVICE_A_IFINDEX", MNL_TYPE_U32};
    r[WGDEVICE_A_IFNAME] = {"WGDEVICE_A_IFNAME", MNL_TYPE_NUL_STRING};
    r[WGDEVICE_A_PRIVATE_KEY] = {"WGDEVICE_A_PRIVATE_KEY", MNL_TYPE_BINARY, kWgKeyLen};
    r[WGDEVICE_A_PUBLIC_KEY] = {"WGDEVICE_A_PUBLIC_KEY", MNL_TYPE_BINARY, kWgKeyLen};
    r[WGDEVICE_A_FLAGS] = {"WGDEVICE_A_FLAGS", MNL_TYPE_U32};
    r[WGDEVICE_A_LISTEN_PORT] = {"WGDEVICE_A_LISTEN_PORT", MNL_TYPE_U16};
    r[WGDEVICE_A_FWMARK] = {"WGDEVICE_A_FWMARK", MNL_TYPE_U32};
    r[WGDEVICE_A_PEERS] = {"WGDEVICE_A_PEERS", MNL_TYPE_NESTED};
    return r;
}();

constexpr Rules<WGPEER_A_MAX> kPeerRules = [] {
    Rules<WGPEER_A_MAX> r{};
    r[WGPEER_A_PUBLIC_KEY] = {"WGPEER_A_PUBLIC_KEY", MNL_TYPE_BINARY, kWgKeyLen};
    r[WGPEER_A_PRESHARED_KEY] = {"WGPEER_A_PRESHARED_KEY", MNL_TYPE_BINARY, kWgKeyLen};
    r[WGPEER_A_FLAGS] = {"WGPEER_A_FLAGS", MNL_TYPE_U32};
    r[WGPEER_A_ENDPOINT] = {"WGPEER_A_ENDPOINT", MNL_TYPE_BINARY};  // its length: GetEndpoint
    r[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL] = {"WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL", MNL_TYPE_U16};
    r[WGPEER_A_LAST_HANDSHAKE_TIME] = {"WGPEER_A_LAST_HANDSHAKE_TIME", MNL_TYPE_BINARY,
                                       sizeof(__kernel_timespec)};
    r[WGPEER_A_RX_BYTES] = {"WGPEER_A_RX_BYTES", MNL_TYPE_U64};
    r[WGPEER_A_TX_BYTES] = {"WGPEER_A_TX_BYTES", MNL_TYPE_U64};
    r[WGPEER_A_ALLOWEDIPS] = {"WGPEER_A_ALLOWEDIPS", MNL_TYPE_NESTED};
    r[WGPEER_A_PROTOCOL_VERSION] = {"WGPEER_A_PROTOCOL_VERSION", MNL_TYPE_U32};
    return r;
}();

constexpr Rules<WGALLOWEDIP_A_MAX> kAllowedIpRules = [] {
    Rules<WGALLOWEDIP_A_MAX> r{};
    r[WGALLOWEDIP_A_FAMILY] = {"WGALLOWEDIP_A_FAMILY", MNL_TYPE_U16};
    r[WGALLOWEDIP_A_IPADDR] = {"WGALLOWEDIP_A_IPADDR", MNL_TYPE_BINARY};  // its length: ParseAllowedIp
    r[WGALLOWEDIP_A_CIDR_MASK] = {"WGALLOWEDIP_A_CIDR_MASK", MNL_TYPE_U8};
    return r;
}();

// "a u32" and so on: what a rule wants, for an error.
std::string Expected(const AttrRule& r) {
    switch (r.type) {
        case MNL_TYPE_U8: return "a u8";
        case MNL_TYPE_U16: return "a u16";
        case MNL_TYPE_U32: return "a u32";
        case MNL_TYPE_U64: return "a u64";
        case MNL_TYPE_NUL_STRING: return "a string ending in NUL";
        case MNL_TYPE_NESTED: return "nested attributes";
        default: return std::to_string(r.len) + " bytes";
    }
}

// False when the attribute breaks its rule, with *why naming it.
bool Validate(const nlattr* a, const AttrRule& r, std::string* why) {
    if (!r.name) return true;
    int bad = r.type == MNL_TYPE_BINARY ? mnl_attr_validate2(a, r.type, r.len) : mnl_attr_validate(a, r.type);
    if (bad == 0) return true;
    size_t n = mnl_attr_get_payload_len(a);
    *why = std::string(r.name) + ": malformed (" + std::to_string(n) + (n == 1 ? " byte" : " bytes") +
           ", expected " + Expected(r) + ")";
    return false;
}

// One level of attributes by type, each checked against `rules` (none:
// unchecked, for replies read with mnl_attr_validate at the use).
template <size_t Max>
struct Attrs {
    explicit Attrs(const Rules<Max>* r = nullptr) : rules(r) {}
    std::array<const nlattr*, Max + 1> at{};
    const Rules<Max>* rules;
    std::string why;
    const nlattr* operator[](size_t t) const { return at[t]; }
};

template <size_t Max>
int Collect(const nlattr* a, void* data) {
    auto* s = static_cast<Attrs<Max>*>(data);
    uint16_t t = mnl_attr_get_type(a);
    if (t > Max) return MNL_CB_OK;  // a newer kernel's attribute: not read
    if (s->rules && !Validate(a, (*s->rules)[t], &s->why)) return MNL_CB_ERROR;
    s->at[t] = a;
    return MNL_CB_OK;
}

// The attributes inside `nest` (itself checked as nested); false with *why
// when one breaks its rule.
template <size_t Max>
bool Nested(const nlattr* nest, const char* what, Attrs<Max>* a, std::string* why) {
    if (mnl_attr_validate(nest, MNL_TYPE_NESTED) < 0) {
        *why = std::string(what) + ": malformed (" + std::to_string(mnl_attr_get_payload_len(nest)) +
               " bytes, expected nested attributes)";
        return false;
    }
    if (mnl_attr_parse_nested(nest, Collect<Max>, a) < 0) {
        *why = a->why;
        return false;
    }
    return true;
}

bool GetKey(const nlattr* a, WgKey* k) {
    if (!a || mnl_attr_get_payload_len(a) != kWgKeyLen) return false;
    memcpy(k->data(), mnl_attr_get_payload(a), kWgKeyLen);
    return true;
}

bool IsZero(const WgKey& k) {
    uint8_t any = 0;
    for (uint8_t b : k) any |= b;
    return any == 0;
}

std::optional<WgEndpoint> GetEndpoint(const nlattr* a) {
    if (!a) return std::nullopt;
    size_t len = mnl_attr_get_payload_len(a);
    const void* p = mnl_attr_get_payload(a);
    WgEndpoint e;
    if (len >= sizeof(sockaddr_in) && static_cast<const sockaddr*>(p)->sa_family == AF_INET) {
        sockaddr_in sin;
        memcpy(&sin, p, sizeof(sin));
        e.addr.family = AF_INET;
        memcpy(e.addr.bytes.data(), &sin.sin_addr, 4);
        e.port = ntohs(sin.sin_port);
        return e;
    }
    if (len >= sizeof(sockaddr_in6) && static_cast<const sockaddr*>(p)->sa_family == AF_INET6) {
        sockaddr_in6 sin6;
        memcpy(&sin6, p, sizeof(sin6));
        e.addr.family = AF_INET6;
        memcpy(e.addr.bytes.data(), &sin6.sin6_addr, 16);
        e.port = ntohs(sin6.sin6_port);
        return e;
    }
    return std::nullopt;  // no endpoint yet: the kernel sends sa_family 0, or nothing
}

bool ParseAllowedIp(const nlattr* nest, Prefix* p, std::string* why) {
    Attrs<WGALLOWEDIP_A_MAX> a(&kAllowedIpRules);
    if (!Nested(nest, "allowed IP", &a, why)) return false;
    if (!a[WGALLOWEDIP_A_FAMILY] || !a[WGALLOWEDIP_A_IPADDR] || !a[WGALLOWEDIP_A_CIDR_MASK]) {
        *why = "allowed IP without family, address or mask";
        return false;
    }
    p->addr.family = mnl_attr_get_u16(a[WGALLOWEDIP_A_FAMILY]);
    if ((p->addr.family != AF_INET && p->addr.family != AF_INET6) ||
        mnl_attr_get_payload_len(a[WGALLOWEDIP_A_IPADDR]) != static_cast<size_t>(p->addr.size())) {
        *why = "allowed IP of an unknown family";
        return false;
    }
    memcpy(p->addr.bytes.data(), mnl_attr_get_payload(a[WGALLOWEDIP_A_IPADDR]), p->addr.size());
    p->len = mnl_attr_get_u8(a[WGALLOWEDIP_A_CIDR_MASK]);
    if (p->len > p->addr.bits()) {
        *why = "allowed IP with mask /" + std::to_string(p->len);
        return false;
    }
    return true;
}

int AppendAttr(const nlattr* a, void* data) {
    static_cast<std::vector<const nlattr*>*>(data)->push_back(a);
    return MNL_CB_OK;
}

struct PeerWalk {
    WgDevice* d;
    bool continues;  // the first peer of this message may continue the last one
    std::string why;
};

int ParsePeer(const nlattr* nest, void* data) {
    auto* w = static_cast<PeerWalk*>(data);
    Attrs<WGPEER_A_MAX> a(&kPeerRules);
    if (!Nested(nest, "peer", &a, &w->why)) return MNL_CB_ERROR;
    WgPeer p;
    if (!GetKey(a[WGPEER_A_PUBLIC_KEY], &p.public_key)) {
        w->why = "peer without a public key";
        return MNL_CB_ERROR;
    }
    WgPeer* into = &p;
    if (w->continues && !w->d->peers.empty() && w->d->peers.back().public_key == p.public_key)
        into = &w->d->peers.back();
    w->continues = false;
    WgKey psk{};
    if (GetKey(a[WGPEER_A_PRESHARED_KEY], &psk) && !IsZero(psk)) into->preshared_key = WgSecret(psk);
    WipeBytes(psk.data(), psk.size());
    if (auto e = GetEndpoint(a[WGPEER_A_ENDPOINT])) into->endpoint = e;
    if (a[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL])
        into->keepalive_s = mnl_attr_get_u16(a[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]);
    if (const nlattr* t = a[WGPEER_A_LAST_HANDSHAKE_TIME]) {
        __kernel_timespec ts;
        memcpy(&ts, mnl_attr_get_payload(t), sizeof(ts));
        into->last_handshake_s = ts.tv_sec;
    }
    if (a[WGPEER_A_RX_BYTES]) into->rx_bytes = mnl_attr_get_u64(a[WGPEER_A_RX_BYTES]);
    if (a[WGPEER_A_TX_BYTES]) into->tx_bytes = mnl_attr_get_u64(a[WGPEER_A_TX_BYTES]);
    if (const nlattr* ips = a[WGPEER_A_ALLOWEDIPS]) {
        std::vector<const nlattr*> each;
        mnl_attr_parse_nested(ips, AppendAttr, &each);  // checked as nested by kPeerRules
        for (const nlattr* ip : each) {
            Prefix pf;
            if (!ParseAllowedIp(ip, &pf, &w->why)) return MNL_CB_ERROR;
            into->allowed_ips.push_back(pf);
        }
    }
    if (into == &p) w->d->peers.push_back(std::move(p));
    return MNL_CB_OK;
}

}  // namespace

namespace {

// One SET_DEVICE message being filled: a header, the device's name, and
// its WGDEVICE_A_PEERS nest.
class SetMessage {
public:
    SetMessage(std::vector<std::vector<char>>* out, const WgDevice& d, uint16_t family, uint32_t seq, size_t size)
        : buf_(&out->emplace_back(size, 0)) {
        nlh_ = PutGenlHeader(buf_, family, WG_CMD_SET_DEVICE, 0, seq);
        mnl_attr_put_strz(nlh_, WGDEVICE_A_IFNAME, d.name.c_str());
    }
    nlmsghdr* nlh() { return nlh_; }
    size_t room() const { return buf_->size() - nlh_->nlmsg_len; }
    void OpenPeers() { peers_ = mnl_attr_nest_start(nlh_, WGDEVICE_A_PEERS); }
    void Close() {
        if (peers_) mnl_attr_nest_end(nlh_, peers_);
        buf_->resize(nlh_->nlmsg_len);
    }

private:
    std::vector<char>* buf_;
    nlmsghdr* nlh_ = nullptr;
    nlattr* peers_ = nullptr;
};

}  // namespace

std::vector<std::vector<char>> BuildWgSetDevice(const WgDevice& d, uint16_t family, uint32_t seq, size_t max_size) {
    std::vector<std::vector<char>> out;
    out.reserve(1 + d.peers.size());  // the SetMessage's buffer pointer stays valid
    auto msg = std::make_unique<SetMessage>(&out, d, family, seq++, max_size);
    WgSecret none;
    PutKey(msg->nlh(), WGDEVICE_A_PRIVATE_KEY, d.private_key ? d.private_key->key() : none.key());
    mnl_attr_put_u16(msg->nlh(), WGDEVICE_A_LISTEN_PORT, d.listen_port);
    mnl_attr_put_u32(msg->nlh(), WGDEVICE_A_FWMARK, d.fwmark);
    mnl_attr_put_u32(msg->nlh(), WGDEVICE_A_FLAGS, WGDEVICE_F_REPLACE_PEERS);
    msg->OpenPeers();
    uint16_t peer_index = 0;
    // Room for the peer's nest, its list's nest and their ends.
    auto next_message = [&] {
        msg->Close();
        if (out.size() == out.capacity()) out.reserve(out.size() * 2);
        msg = std::make_unique<SetMessage>(&out, d, family, seq++, max_size);
        msg->OpenPeers();
        peer_index = 0;
    };
    for (const WgPeer& p : d.peers) {
        if (msg->room() < kPeerHeadMax + kAllowedIpMax) next_message();
        nlattr* peer = mnl_attr_nest_start(msg->nlh(), peer_index++);
        PutPeerHead(msg->nlh(), p);
        nlattr* ips = mnl_attr_nest_start(msg->nlh(), WGPEER_A_ALLOWEDIPS);
        uint16_t ip_index = 0;
        for (const Prefix& a : p.allowed_ips) {
            if (msg->room() < kAllowedIpMax + 16) {
                // The peer goes on in the next message, by its key alone.
                mnl_attr_nest_end(msg->nlh(), ips);
                mnl_attr_nest_end(msg->nlh(), peer);
                next_message();
                peer = mnl_attr_nest_start(msg->nlh(), peer_index++);
                PutKey(msg->nlh(), WGPEER_A_PUBLIC_KEY, p.public_key);
                ips = mnl_attr_nest_start(msg->nlh(), WGPEER_A_ALLOWEDIPS);
                ip_index = 0;
            }
            PutAllowedIp(msg->nlh(), a, ip_index++);
        }
        mnl_attr_nest_end(msg->nlh(), ips);
        mnl_attr_nest_end(msg->nlh(), peer);
    }
    msg->Close();
    return out;
}

bool ParseWgDeviceMessage(const void* msg, size_t len, WgDevice* d, std::string* why) {
    const auto* nlh = static_cast<const nlmsghdr*>(msg);
    if (len < sizeof(nlmsghdr) || nlh->nlmsg_len > len ||
        nlh->nlmsg_len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(genlmsghdr))) {
        *why = "truncated WG_CMD_GET_DEVICE reply";
        return false;
    }
    // libmnl walks attributes up to the aligned end: an unaligned length
    // would let it read past the message. The kernel always aligns it.
    if (MNL_ALIGN(nlh->nlmsg_len) != nlh->nlmsg_len) {
        *why = "malformed WG_CMD_GET_DEVICE reply (length " + std::to_string(nlh->nlmsg_len) +
               ", not a multiple of 4)";
        return false;
    }
    Attrs<WGDEVICE_A_MAX> a(&kDeviceRules);
    if (mnl_attr_parse(nlh, sizeof(genlmsghdr), Collect<WGDEVICE_A_MAX>, &a) < 0) {
        *why = a.why;
        return false;
    }
    bool first = d->name.empty() && d->ifindex == 0;
    if (a[WGDEVICE_A_IFNAME]) d->name = mnl_attr_get_str(a[WGDEVICE_A_IFNAME]);
    if (a[WGDEVICE_A_IFINDEX]) d->ifindex = static_cast<int>(mnl_attr_get_u32(a[WGDEVICE_A_IFINDEX]));
    WgKey k{};
    if (GetKey(a[WGDEVICE_A_PRIVATE_KEY], &k) && !IsZero(k)) d->private_key = WgSecret(k);
    WipeBytes(k.data(), k.size());
    if (GetKey(a[WGDEVICE_A_PUBLIC_KEY], &k)) d->public_key = k;
    if (a[WGDEVICE_A_LISTEN_PORT]) d->listen_port = mnl_attr_get_u16(a[WGDEVICE_A_LISTEN_PORT]);
    if (a[WGDEVICE_A_FWMARK]) d->fwmark = mnl_attr_get_u32(a[WGDEVICE_A_FWMARK]);
    PeerWalk w{d, !first, {}};
    if (a[WGDEVICE_A_PEERS] && mnl_attr_parse_nested(a[WGDEVICE_A_PEERS], ParsePeer, &w) < 0) {
        *why = w.why.empty() ? "malformed peer list" : w.why;
        return false;
    }
    return true;
}

// ---- Comparing devices -------------------------------------------------------

const WgPeer* FindWgPeer(const WgDevice& d, const WgKey& public_key) {
    for (const WgPeer& p : d.peers)
        if (p.public_key == public_key) return &p;
    return nullptr;
}

namespace {

std::vector<Prefix> Sorted(std::vector<Prefix> v) {
    std::sort(v.begin(), v.end());
    return v;
}

bool SameSecret(const std::optional<WgSecret>& a, const std::optional<WgSecret>& b) {
    return a.has_value() == b.has_value() && (!a || *a == *b);
}

// A peer's differences, each "peer NAME: WHAT".
void PeerDifferences(const std::string& who, const WgPeer& want, const WgPeer& have, bool endpoints,
                     std::vector<std::string>* out) {
    if (!SameSecret(want.preshared_key, have.preshared_key)) out->push_back(who + ": preshared key");
    if (endpoints && want.endpoint && want.endpoint != have.endpoint)
        out->push_back(who + ": endpoint " + FormatWgEndpoint(*want.endpoint) + " (was " +
                       (have.endpoint ? FormatWgEndpoint(*have.endpoint) : std::string("none")) + ")");
    if (want.keepalive_s != have.keepalive_s)
        out->push_back(who + ": persistent keepalive " + std::to_string(want.keepalive_s) + " s (was " +
                       std::to_string(have.keepalive_s) + " s)");
    if (Sorted(want.allowed_ips) != Sorted(have.allowed_ips)) out->push_back(who + ": allowed IPs");
}

}  // namespace

std::vector<std::string> WgDeviceDifferences(const WgDevice& want, const WgDevice& have,
                                             const std::vector<std::string>& names, bool endpoints) {
    std::vector<std::string> out;
    if (!SameSecret(want.private_key, have.private_key)) out.push_back("private key");
    if (want.listen_port && want.listen_port != have.listen_port)
        out.push_back("listen port " + std::to_string(want.listen_port) + " (was " + std::to_string(have.listen_port) +
                      ")");
    if (want.fwmark != have.fwmark)
        out.push_back("fwmark " + std::to_string(want.fwmark) + " (was " + std::to_string(have.fwmark) + ")");
    for (size_t i = 0; i < want.peers.size(); ++i) {
        const WgPeer& w = want.peers[i];
        const std::string who = "peer " + (i < names.size() ? QuoteValue(names[i]) : EncodeWgKey(w.public_key));
        if (const WgPeer* h = FindWgPeer(have, w.public_key)) PeerDifferences(who, w, *h, endpoints, &out);
        else out.push_back("add " + who);
    }
    for (const WgPeer& h : have.peers)
        if (!FindWgPeer(want, h.public_key)) out.push_back("remove peer " + EncodeWgKey(h.public_key));
    return out;
}

WgDevice KeepLearned(const WgDevice& want, const WgDevice& have) {
    WgDevice d = want;
    if (d.listen_port == 0) d.listen_port = have.listen_port;
    for (WgPeer& p : d.peers)
        if (const WgPeer* h = FindWgPeer(have, p.public_key); h && !p.endpoint) p.endpoint = h->endpoint;
    return d;
}

// ---- WgSocket ---------------------------------------------------------------

namespace {

// The nlmsgerr's code and, with NETLINK_EXT_ACK, the kernel's reason.
std::string AckError(const nlmsghdr* nlh) {
    if (mnl_nlmsg_get_payload_len(nlh) < sizeof(nlmsgerr)) return "truncated NLMSG_ERROR";
    const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
    if (e->error == 0) return "";
    std::string text;
    if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
        size_t off = sizeof(*e);
        if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) off += e->msg.nlmsg_len - sizeof(nlmsghdr);
        if (off <= mnl_nlmsg_get_payload_len(nlh)) {
            Attrs<NLMSGERR_ATTR_MAX> t;
            mnl_attr_parse(nlh, off, Collect<NLMSGERR_ATTR_MAX>, &t);
            if (t[NLMSGERR_ATTR_MSG] && mnl_attr_validate(t[NLMSGERR_ATTR_MSG], MNL_TYPE_NUL_STRING) == 0)
                text = mnl_attr_get_str(t[NLMSGERR_ATTR_MSG]);
        }
    }
    const char* name = strerrorname_np(-e->error);
    std::string num = name ? name : "errno " + std::to_string(-e->error);
    return (text.empty() ? std::string(strerror(-e->error)) : text) + " (" + num + ")";
}

// Wipes a buffer that may have held keys when it goes away.
struct WipedBuffer {
    std::vector<char> bytes;
    explicit WipedBuffer(size_t n) : bytes(n) {}
    ~WipedBuffer() { WipeBytes(bytes.data(), bytes.size()); }
};

}  // namespace

std::unique_ptr<WgSocket> WgSocket::Open(std::string* err) {
    std::unique_ptr<WgSocket> s(new WgSocket);
    s->sock_.reset(mnl_socket_open2(NETLINK_GENERIC, SOCK_CLOEXEC));
    if (!s->sock_ || mnl_socket_bind(s->sock_.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
        *err = "socket(NETLINK_GENERIC): " + ErrnoText(errno);
        return nullptr;
    }
    int on = 1;
    mnl_socket_setsockopt(s->sock_.get(), NETLINK_EXT_ACK, &on, sizeof(on));
    mnl_socket_setsockopt(s->sock_.get(), NETLINK_CAP_ACK, &on, sizeof(on));
    s->port_ = mnl_socket_get_portid(s->sock_.get());

    std::vector<char> req(256);
    nlmsghdr* nlh = mnl_nlmsg_put_header(req.data());
    nlh->nlmsg_type = GENL_ID_CTRL;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    nlh->nlmsg_seq = ++s->seq_;
    auto* g = static_cast<genlmsghdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(genlmsghdr)));
    g->cmd = CTRL_CMD_GETFAMILY;
    g->version = 1;
    mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, WG_GENL_NAME);
    const std::string op = "generic netlink family '" WG_GENL_NAME "'";
    if (mnl_socket_sendto(s->sock_.get(), nlh, nlh->nlmsg_len) < 0) {
        *err = op + ": sendto: " + ErrnoText(errno);
        return nullptr;
    }
    std::vector<char> buf(kRecvBufSize);
    for (bool done = false; !done;) {
        ssize_t n = mnl_socket_recvfrom(s->sock_.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            *err = op + ": recvfrom: " + ErrnoText(errno);
            return nullptr;
        }
        int len = static_cast<int>(n);
        for (auto* m = reinterpret_cast<const nlmsghdr*>(buf.data()); mnl_nlmsg_ok(m, len);
             m = mnl_nlmsg_next(m, &len)) {
            if (m->nlmsg_seq != s->seq_) continue;
            if (m->nlmsg_type == NLMSG_ERROR) {
                done = true;
                if (std::string e = AckError(m); !e.empty()) {
                    *err = op + ": " + e + (e.find("ENOENT") != std::string::npos
                                                ? ": the kernel has no WireGuard (module 'wireguard')"
                                                : "");
                    return nullptr;
                }
            } else if (m->nlmsg_type == GENL_ID_CTRL) {
                Attrs<CTRL_ATTR_MAX> a;
                mnl_attr_parse(m, sizeof(genlmsghdr), Collect<CTRL_ATTR_MAX>, &a);
                if (a[CTRL_ATTR_FAMILY_ID] && mnl_attr_validate(a[CTRL_ATTR_FAMILY_ID], MNL_TYPE_U16) == 0)
                    s->family_ = mnl_attr_get_u16(a[CTRL_ATTR_FAMILY_ID]);
            }
        }
    }
    if (s->family_ == 0) {
        *err = op + ": no family id in the reply";
        return nullptr;
    }
    return s;
}

WgSocket::~WgSocket() = default;

bool WgSocket::Exchange(std::vector<char>* req, bool dump, WgDevice* into, std::string* err) {
    auto* nlh = reinterpret_cast<nlmsghdr*>(req->data());
    ssize_t sent;
    do {
        sent = mnl_socket_sendto(sock_.get(), nlh, nlh->nlmsg_len);
    } while (sent < 0 && errno == EINTR);
    const uint32_t seq = nlh->nlmsg_seq;
    WipeBytes(req->data(), req->size());
    if (sent < 0) {
        *err = "sendto: " + ErrnoText(errno);
        return false;
    }
    WipedBuffer buf(kRecvBufSize);
    std::string failure;
    for (bool last = false; !last;) {
        ssize_t n = mnl_socket_recvfrom(sock_.get(), buf.bytes.data(), buf.bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            *err = "recvfrom: " + ErrnoText(errno);
            return false;
        }
        int len = static_cast<int>(n);
        for (auto* m = reinterpret_cast<const nlmsghdr*>(buf.bytes.data()); !last && mnl_nlmsg_ok(m, len);
             m = mnl_nlmsg_next(m, &len)) {
            if (m->nlmsg_pid != port_ || m->nlmsg_seq != seq) continue;
            if (m->nlmsg_type == NLMSG_ERROR) {
                last = true;
                if (std::string e = AckError(m); !e.empty() && failure.empty()) failure = e;
            } else if (m->nlmsg_type == NLMSG_DONE) {
                last = true;
                if (mnl_nlmsg_get_payload_len(m) >= sizeof(int)) {
                    int e;
                    memcpy(&e, mnl_nlmsg_get_payload(m), sizeof(e));
                    if (e < 0 && failure.empty()) failure = ErrnoText(-e);
                }
            } else if (m->nlmsg_type == family_ && dump && into && failure.empty()) {
                std::string why;
                if (!ParseWgDeviceMessage(m, m->nlmsg_len, into, &why)) failure = why;
            }
        }
    }
    if (!failure.empty()) {
        *err = failure;
        return false;
    }
    return true;
}

bool WgSocket::SetDevice(const WgDevice& d, std::string* err) {
    if (!ValidLinkName(d.name)) {
        *err = "WG_CMD_SET_DEVICE: not a link name";
        return false;
    }
    std::vector<std::vector<char>> reqs = BuildWgSetDevice(d, family_, seq_ + 1);
    seq_ += static_cast<unsigned>(reqs.size());
    bool ok = true;
    // Each message is wiped as it is sent (Exchange); the rest on a failure.
    for (size_t i = 0; i < reqs.size(); ++i) {
        if (ok && !Exchange(&reqs[i], false, nullptr, err)) {
            *err = "WG_CMD_SET_DEVICE " + d.name +
                   (reqs.size() > 1 ? " (message " + std::to_string(i + 1) + " of " + std::to_string(reqs.size()) + ")"
                                    : "") +
                   ": " + *err;
            ok = false;
        }
        WipeBytes(reqs[i].data(), reqs[i].size());
    }
    return ok;
}

bool WgSocket::GetDevice(const std::string& name, WgDevice* d, std::string* err) {
    if (!ValidLinkName(name)) {
        *err = "WG_CMD_GET_DEVICE: not a link name";
        return false;
    }
    std::vector<char> req(256);
    nlmsghdr* nlh = PutGenlHeader(&req, family_, WG_CMD_GET_DEVICE, NLM_F_DUMP, ++seq_);
    mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, name.c_str());
    req.resize(nlh->nlmsg_len);
    *d = WgDevice{};
    if (Exchange(&req, true, d, err)) return true;
    *err = "WG_CMD_GET_DEVICE " + name + ": " + *err;
    *d = WgDevice{};
    return false;
}

}  // namespace haltfw
