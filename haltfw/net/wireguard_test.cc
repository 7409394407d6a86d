#include "net/wireguard.h"

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/wireguard.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <functional>

#include "net/wg_test_support.h"

namespace haltfw {
namespace {

WgKey Filled(uint8_t b) { return FilledWgKey(b); }

Prefix P(const char* s) { return *ParsePrefix(s, false); }

WgDevice Sample() { return SampleWgDevice(); }

// The one message a small device takes.
std::vector<char> One(std::vector<std::vector<char>> msgs) {
    REQUIRE(msgs.size() == 1);
    return std::move(msgs[0]);
}

std::vector<const nlattr*> Children(const nlattr* nest) {
    std::vector<const nlattr*> out;
    mnl_attr_parse_nested(
        nest,
        [](const nlattr* a, void* data) {
            static_cast<std::vector<const nlattr*>*>(data)->push_back(a);
            return MNL_CB_OK;
        },
        &out);
    return out;
}

// The top-level attributes of a built message, by type.
std::vector<const nlattr*> TopAttrs(const std::vector<char>& buf) {
    std::vector<const nlattr*> at(WGDEVICE_A_MAX + 1);
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data());
    mnl_attr_parse(
        nlh, sizeof(genlmsghdr),
        [](const nlattr* a, void* data) {
            auto* v = static_cast<std::vector<const nlattr*>*>(data);
            if (mnl_attr_get_type(a) < v->size()) (*v)[mnl_attr_get_type(a)] = a;
            return MNL_CB_OK;
        },
        &at);
    return at;
}

TEST_CASE("SET_DEVICE: the request reads back as the device it was built from", "[wireguard]") {
    WgDevice d = Sample();
    std::vector<char> buf = One(BuildWgSetDevice(d, 0x1c, 7));
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data());
    CHECK(nlh->nlmsg_type == 0x1c);
    CHECK(nlh->nlmsg_seq == 7);
    CHECK(nlh->nlmsg_flags == (NLM_F_REQUEST | NLM_F_ACK));
    CHECK(nlh->nlmsg_len == buf.size());
    const auto* g = static_cast<const genlmsghdr*>(mnl_nlmsg_get_payload(nlh));
    CHECK(g->cmd == WG_CMD_SET_DEVICE);
    CHECK(g->version == WG_GENL_VERSION);

    auto top = TopAttrs(buf);
    REQUIRE(top[WGDEVICE_A_FLAGS]);
    CHECK(mnl_attr_get_u32(top[WGDEVICE_A_FLAGS]) == WGDEVICE_F_REPLACE_PEERS);
    REQUIRE(top[WGDEVICE_A_IFNAME]);
    CHECK(std::string(mnl_attr_get_str(top[WGDEVICE_A_IFNAME])) == "wg0");
    // Every peer replaces its allowed IPs.
    std::vector<const nlattr*> peers = Children(top[WGDEVICE_A_PEERS]);
    CHECK(peers.size() == 2);
    for (const nlattr* peer : peers) {
        uint32_t flags = 0;
        for (const nlattr* a : Children(peer))
            if (mnl_attr_get_type(a) == WGPEER_A_FLAGS) flags = mnl_attr_get_u32(a);
        CHECK(flags == WGPEER_F_REPLACE_ALLOWEDIPS);
    }

    WgDevice back;
    std::string why;
    REQUIRE(ParseWgDeviceMessage(buf.data(), buf.size(), &back, &why));
    CHECK(back.name == "wg0");
    REQUIRE(back.private_key);
    CHECK(*back.private_key == *d.private_key);
    CHECK(back.listen_port == 51820);
    REQUIRE(back.peers.size() == 2);
    const WgPeer& l = back.peers[0];
    CHECK(l.public_key == Filled(0x22));
    REQUIRE(l.preshared_key);
    CHECK(*l.preshared_key == WgSecret(Filled(0x33)));
    REQUIRE(l.endpoint);
    CHECK(FormatWgEndpoint(*l.endpoint) == "198.51.100.77:51821");
    CHECK(l.keepalive_s == 25);
    CHECK(l.allowed_ips == std::vector<Prefix>{P("203.0.113.130/32"), P("2001:db8:77::/64")});
    const WgPeer& s = back.peers[1];
    CHECK_FALSE(s.preshared_key);  // all zeros: none
    REQUIRE(s.endpoint);
    CHECK(FormatWgEndpoint(*s.endpoint) == "[2001:db8::7]:443");
    CHECK(s.keepalive_s == 0);
    CHECK(s.allowed_ips == std::vector<Prefix>{P("192.0.2.128/25")});
}

TEST_CASE("SET_DEVICE: no private key and no endpoint", "[wireguard]") {
    WgDevice d;
    d.name = "wg1";
    WgPeer p;
    p.public_key = Filled(0x55);
    d.peers = {p};
    std::vector<char> buf = One(BuildWgSetDevice(d, 0x1c, 1));
    auto top = TopAttrs(buf);
    REQUIRE(top[WGDEVICE_A_PRIVATE_KEY]);
    CHECK(std::memcmp(mnl_attr_get_payload(top[WGDEVICE_A_PRIVATE_KEY]), WgKey{}.data(), kWgKeyLen) == 0);
    CHECK(mnl_attr_get_u16(top[WGDEVICE_A_LISTEN_PORT]) == 0);
    WgDevice back;
    std::string why;
    REQUIRE(ParseWgDeviceMessage(buf.data(), buf.size(), &back, &why));
    CHECK_FALSE(back.private_key);
    REQUIRE(back.peers.size() == 1);
    CHECK_FALSE(back.peers[0].endpoint);
    CHECK(back.peers[0].allowed_ips.empty());
}

TEST_CASE("GET_DEVICE: a peer split over two messages is one peer", "[wireguard]") {
    // The kernel continues a peer whose allowed IPs do not fit in the next
    // message, naming it again by its public key.
    WgDevice first;
    first.name = "wg0";
    WgPeer a;
    a.public_key = Filled(0x22);
    a.allowed_ips = {P("203.0.113.1/32")};
    WgPeer b;
    b.public_key = Filled(0x44);
    b.allowed_ips = {P("203.0.113.2/32")};
    first.peers = {a, b};
    WgDevice second;
    second.name = "wg0";
    WgPeer b2;
    b2.public_key = Filled(0x44);
    b2.allowed_ips = {P("203.0.113.3/32")};
    WgPeer c;
    c.public_key = Filled(0x66);
    second.peers = {b2, c};
    std::vector<char> m1 = One(BuildWgSetDevice(first, 0x1c, 1));
    std::vector<char> m2 = One(BuildWgSetDevice(second, 0x1c, 1));
    WgDevice d;
    std::string why;
    REQUIRE(ParseWgDeviceMessage(m1.data(), m1.size(), &d, &why));
    REQUIRE(ParseWgDeviceMessage(m2.data(), m2.size(), &d, &why));
    REQUIRE(d.peers.size() == 3);
    CHECK(d.peers[1].allowed_ips == std::vector<Prefix>{P("203.0.113.2/32"), P("203.0.113.3/32")});
    CHECK(d.peers[2].public_key == Filled(0x66));
}

TEST_CASE("SET_DEVICE: a device too large for one message goes in several", "[wireguard]") {
    WgDevice d = Sample();
    // 40 peers of 30 allowed IPs each, one of them 400: some peers are cut
    // between messages.
    d.peers.clear();
    for (int i = 0; i < 40; ++i) {
        WgPeer p;
        p.public_key = Filled(static_cast<uint8_t>(i + 1));
        p.keepalive_s = static_cast<uint16_t>(i);
        for (int k = 0; k < (i == 7 ? 400 : 30); ++k) {
            IpAddr a = *ParseIpAddr(i % 2 ? "2001:db8::" : "10.0.0.0");
            a.bytes[a.size() - 2] = static_cast<uint8_t>(i);
            a.bytes[a.size() - 1] = static_cast<uint8_t>(k);
            p.allowed_ips.push_back(Prefix{a, a.bits()});
        }
        d.peers.push_back(p);
    }
    std::vector<std::vector<char>> msgs = BuildWgSetDevice(d, 0x1c, 100, 2048);
    REQUIRE(msgs.size() > 10);
    WgDevice back;
    std::string why;
    uint32_t seq = 100;
    for (size_t i = 0; i < msgs.size(); ++i) {
        const auto* nlh = reinterpret_cast<const nlmsghdr*>(msgs[i].data());
        CHECK(nlh->nlmsg_len == msgs[i].size());
        CHECK(msgs[i].size() <= 2048);
        CHECK(nlh->nlmsg_seq == seq++);
        auto top = TopAttrs(msgs[i]);
        // Only the first replaces the peers and carries the device's key.
        CHECK(static_cast<bool>(top[WGDEVICE_A_FLAGS]) == (i == 0));
        CHECK(static_cast<bool>(top[WGDEVICE_A_PRIVATE_KEY]) == (i == 0));
        REQUIRE(ParseWgDeviceMessage(msgs[i].data(), msgs[i].size(), &back, &why));
    }
    REQUIRE(back.peers.size() == d.peers.size());
    for (size_t i = 0; i < d.peers.size(); ++i) {
        CHECK(back.peers[i].public_key == d.peers[i].public_key);
        CHECK(back.peers[i].keepalive_s == d.peers[i].keepalive_s);
        CHECK(back.peers[i].allowed_ips == d.peers[i].allowed_ips);
    }
    // A continued peer names itself by its key alone: no flags, so its
    // allowed IPs add to what the message before set.
    size_t continued = 0;
    for (size_t i = 1; i < msgs.size(); ++i) {
        std::vector<const nlattr*> peers = Children(TopAttrs(msgs[i])[WGDEVICE_A_PEERS]);
        REQUIRE_FALSE(peers.empty());
        bool flags = false;
        for (const nlattr* a : Children(peers[0])) flags |= mnl_attr_get_type(a) == WGPEER_A_FLAGS;
        continued += !flags;
    }
    CHECK(continued >= 5);  // peer 7 alone spans several
}

TEST_CASE("GET_DEVICE: malformed replies are refused", "[wireguard]") {
    WgDevice d;
    std::string why;
    char tiny[8] = {};
    CHECK_FALSE(ParseWgDeviceMessage(tiny, sizeof(tiny), &d, &why));
    CHECK(why == "truncated WG_CMD_GET_DEVICE reply");
    // An allowed IP whose mask is longer than its address.
    WgDevice bad = Sample();
    bad.peers[1].allowed_ips[0].len = 33;
    std::vector<char> buf = One(BuildWgSetDevice(bad, 0x1c, 1));
    CHECK_FALSE(ParseWgDeviceMessage(buf.data(), buf.size(), &d, &why));
    CHECK(why == "allowed IP with mask /33");
}


// A GET_DEVICE reply put together by hand, exactly as long as its message
// (so a read past it is a read past the buffer, which ASan reports).
std::vector<char> Reply(const std::function<void(nlmsghdr*)>& fill) {
    std::vector<char> buf(4096, 0);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = 0x1c;
    auto* g = static_cast<genlmsghdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(genlmsghdr)));
    g->cmd = WG_CMD_GET_DEVICE;
    fill(nlh);
    buf.resize(nlh->nlmsg_len);
    return buf;
}

std::string ParseError(const std::vector<char>& m) {
    WgDevice d;
    std::string why;
    if (ParseWgDeviceMessage(m.data(), m.size(), &d, &why)) return "parsed";
    return why;
}

TEST_CASE("GET_DEVICE: every attribute is checked before it is read", "[wireguard]") {
    // An interface name with no NUL: strlen would run off the message.
    CHECK(ParseError(Reply([](nlmsghdr* n) { mnl_attr_put(n, WGDEVICE_A_IFNAME, 4, "wg0x"); })) ==
          "WGDEVICE_A_IFNAME: malformed (4 bytes, expected a string ending in NUL)");
    // A u32 of no bytes, last in the message: mnl_attr_get_u32 would read 4 past it.
    CHECK(ParseError(Reply([](nlmsghdr* n) {
              mnl_attr_put_strz(n, WGDEVICE_A_IFNAME, "wg0");
              mnl_attr_put(n, WGDEVICE_A_FWMARK, 0, "");
          })) == "WGDEVICE_A_FWMARK: malformed (0 bytes, expected a u32)");
    CHECK(ParseError(Reply([](nlmsghdr* n) { mnl_attr_put(n, WGDEVICE_A_LISTEN_PORT, 1, "x"); })) ==
          "WGDEVICE_A_LISTEN_PORT: malformed (1 byte, expected a u16)");
    CHECK(ParseError(Reply([](nlmsghdr* n) { mnl_attr_put(n, WGDEVICE_A_PRIVATE_KEY, 31, Filled(1).data()); })) ==
          "WGDEVICE_A_PRIVATE_KEY: malformed (31 bytes, expected 32 bytes)");
    // A length one short of its last attribute: libmnl walks to the
    // aligned end, so a key there would be read one byte past the message.
    std::vector<char> cut = Reply([](nlmsghdr* n) { mnl_attr_put(n, WGDEVICE_A_PUBLIC_KEY, kWgKeyLen, Filled(1).data()); });
    cut.pop_back();
    reinterpret_cast<nlmsghdr*>(cut.data())->nlmsg_len = static_cast<uint32_t>(cut.size());
    CHECK(ParseError(cut) == "malformed WG_CMD_GET_DEVICE reply (length 55, not a multiple of 4)");
    // A peer list too short to hold an attribute.
    CHECK(ParseError(Reply([](nlmsghdr* n) { mnl_attr_put(n, WGDEVICE_A_PEERS, 2, "ab"); })) ==
          "WGDEVICE_A_PEERS: malformed (2 bytes, expected nested attributes)");
}

TEST_CASE("GET_DEVICE: short attributes inside a peer or an allowed IP are refused", "[wireguard]") {
    auto peer = [](const std::function<void(nlmsghdr*)>& inside) {
        return Reply([&](nlmsghdr* n) {
            nlattr* peers = mnl_attr_nest_start(n, WGDEVICE_A_PEERS);
            nlattr* p = mnl_attr_nest_start(n, 0);
            mnl_attr_put(n, WGPEER_A_PUBLIC_KEY, kWgKeyLen, Filled(0x22).data());
            inside(n);
            mnl_attr_nest_end(n, p);
            mnl_attr_nest_end(n, peers);
        });
    };
    CHECK(ParseError(peer([](nlmsghdr* n) { mnl_attr_put(n, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 1, "x"); })) ==
          "WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL: malformed (1 byte, expected a u16)");
    CHECK(ParseError(peer([](nlmsghdr* n) { mnl_attr_put(n, WGPEER_A_RX_BYTES, 4, "abcd"); })) ==
          "WGPEER_A_RX_BYTES: malformed (4 bytes, expected a u64)");
    CHECK(ParseError(peer([](nlmsghdr* n) { mnl_attr_put(n, WGPEER_A_LAST_HANDSHAKE_TIME, 8, "abcdefgh"); })) ==
          "WGPEER_A_LAST_HANDSHAKE_TIME: malformed (8 bytes, expected 16 bytes)");
    CHECK(ParseError(peer([](nlmsghdr* n) { mnl_attr_put(n, WGPEER_A_PRESHARED_KEY, 16, Filled(3).data()); })) ==
          "WGPEER_A_PRESHARED_KEY: malformed (16 bytes, expected 32 bytes)");
    auto allowed = [&](const std::function<void(nlmsghdr*)>& inside) {
        return peer([&](nlmsghdr* n) {
            nlattr* ips = mnl_attr_nest_start(n, WGPEER_A_ALLOWEDIPS);
            nlattr* ip = mnl_attr_nest_start(n, 0);
            inside(n);
            mnl_attr_nest_end(n, ip);
            mnl_attr_nest_end(n, ips);
        });
    };
    const uint8_t v4[4] = {203, 0, 113, 1};
    CHECK(ParseError(allowed([&](nlmsghdr* n) {
              mnl_attr_put(n, WGALLOWEDIP_A_IPADDR, 4, v4);
              mnl_attr_put_u8(n, WGALLOWEDIP_A_CIDR_MASK, 32);
              mnl_attr_put(n, WGALLOWEDIP_A_FAMILY, 0, "");
          })) == "WGALLOWEDIP_A_FAMILY: malformed (0 bytes, expected a u16)");
    CHECK(ParseError(allowed([&](nlmsghdr* n) {
              mnl_attr_put_u16(n, WGALLOWEDIP_A_FAMILY, AF_INET);
              mnl_attr_put(n, WGALLOWEDIP_A_IPADDR, 4, v4);
              mnl_attr_put(n, WGALLOWEDIP_A_CIDR_MASK, 0, "");
          })) == "WGALLOWEDIP_A_CIDR_MASK: malformed (0 bytes, expected a u8)");
    // An allowed IP too short to be a nest.
    CHECK(ParseError(peer([](nlmsghdr* n) {
              nlattr* ips = mnl_attr_nest_start(n, WGPEER_A_ALLOWEDIPS);
              mnl_attr_put(n, 0, 2, "ab");
              mnl_attr_nest_end(n, ips);
          })) == "allowed IP: malformed (2 bytes, expected nested attributes)");
    // The well-formed peer around these parses.
    CHECK(ParseError(peer([](nlmsghdr*) {})) == "parsed");
}

}  // namespace
}  // namespace haltfw

namespace haltfw {

TEST_CASE("device differences name peers by name or key, and may leave endpoints out", "[wireguard]") {
    const WgDevice want = SampleWgDevice();
    CHECK(WgDeviceDifferences(want, want).empty());
    WgDevice have = want;
    have.listen_port = 40000;
    have.peers[0].endpoint = WgEndpoint{*ParseIpAddr("198.51.100.99"), 1234};  // roamed
    have.peers[1].allowed_ips.clear();
    WgPeer stranger;
    stranger.public_key = FilledWgKey(0x55);
    have.peers.push_back(stranger);
    const std::string site_key = EncodeWgKey(FilledWgKey(0x44));
    CHECK(WgDeviceDifferences(want, have, {"laptop", "site"}) ==
          std::vector<std::string>{"listen port 51820 (was 40000)",
                                   "peer 'laptop': endpoint 198.51.100.77:51821 (was 198.51.100.99:1234)",
                                   "peer 'site': allowed IPs", "remove peer " + EncodeWgKey(FilledWgKey(0x55))});
    // Past the names, by key; without endpoints, a roamed peer is no difference.
    CHECK(WgDeviceDifferences(want, have, {}, false) ==
          std::vector<std::string>{"listen port 51820 (was 40000)", "peer " + site_key + ": allowed IPs",
                                   "remove peer " + EncodeWgKey(FilledWgKey(0x55))});
    have = want;
    have.peers.erase(have.peers.begin());
    have.private_key.reset();
    CHECK(WgDeviceDifferences(want, have, {"laptop"}, false) ==
          std::vector<std::string>{"private key", "add peer 'laptop'"});
}

}  // namespace haltfw
