#include "net/net_addr.h"
#include "net/net_addr_test_support.h"

#include <sys/socket.h>

#include <catch2/catch.hpp>

namespace haltfw {
namespace {

std::string PrefixError(const char* s, bool require_len = true) {
    std::string err;
    CHECK_FALSE(ParsePrefix(s, require_len, &err));
    return err;
}

TEST_CASE("ParseIpAddr reads IPv4 and IPv6", "[net_addr]") {
    IpAddr v4 = Ip("192.0.2.1");
    CHECK(v4.family == AF_INET);
    CHECK(v4.size() == 4);
    CHECK(v4.bits() == 32);
    CHECK(v4.bytes[0] == 192);
    CHECK(v4.bytes[3] == 1);
    CHECK(v4.bytes[4] == 0);

    IpAddr v6 = Ip("2001:db8::1");
    CHECK(v6.family == AF_INET6);
    CHECK(v6.size() == 16);
    CHECK(v6.bits() == 128);
    CHECK(v6.bytes[0] == 0x20);
    CHECK(v6.bytes[1] == 0x01);
    CHECK(v6.bytes[15] == 1);

    CHECK(Ip("::ffff:192.0.2.1").family == AF_INET6);
}

TEST_CASE("ParseIpAddr rejects what is not an address", "[net_addr]") {
    for (const char* bad : {"", "192.0.2", "192.0.2.256", "192.0.2.1 ", " 192.0.2.1",
                            "192.0.2.01", "2001:db8::1::2", "2001:db8::g", "fe80::1%eth0",
                            "192.0.2.1/24", "wan", "0x7f.0.0.1"}) {
        INFO("input '" << bad << "'");
        std::string err;
        CHECK_FALSE(ParseIpAddr(bad, &err));
        CHECK(err == "not an IPv4 or IPv6 address");
    }
    CHECK_FALSE(ParseIpAddr(std::string_view("192.0.2.1\0x", 11)));
    CHECK_FALSE(ParseIpAddr(std::string(200, '1')));
    CHECK_FALSE(ParseIpAddr("garbage"));  // err may be null
}

TEST_CASE("ParsePrefix reads ADDR/LEN", "[net_addr]") {
    Prefix p = Pfx("198.51.100.7/24");
    CHECK(p.addr == Ip("198.51.100.7"));  // host bits kept
    CHECK(p.len == 24);
    CHECK(Pfx("0.0.0.0/0").len == 0);
    CHECK(Pfx("192.0.2.1/32").len == 32);
    CHECK(Pfx("2001:db8::/32").len == 32);
    CHECK(Pfx("2001:db8::1/128").len == 128);
    CHECK(Pfx("::/0").addr.family == AF_INET6);
}

TEST_CASE("ParsePrefix without a length", "[net_addr]") {
    std::optional<Prefix> v4 = ParsePrefix("192.0.2.1", false);
    REQUIRE(v4);
    CHECK(v4->len == 32);
    std::optional<Prefix> v6 = ParsePrefix("2001:db8::1", false);
    REQUIRE(v6);
    CHECK(v6->len == 128);
    CHECK(PrefixError("192.0.2.1") == "missing prefix length");
    CHECK(PrefixError("2001:db8::1") == "missing prefix length");
}

TEST_CASE("ParsePrefix error messages", "[net_addr]") {
    CHECK(PrefixError("198.51.100.1/33") == "prefix length out of range");
    CHECK(PrefixError("2001:db8::1/129") == "prefix length out of range");
    CHECK(PrefixError("192.0.2.1/1000") == "prefix length out of range");
    CHECK(PrefixError("192.0.2.1/99999999999999999999") == "prefix length out of range");
    CHECK(PrefixError("192.0.2.1/") == "missing prefix length");
    CHECK(PrefixError("192.0.2.1/", false) == "missing prefix length");
    CHECK(PrefixError("1.2.3.4/24x") == "prefix length not a number");
    CHECK(PrefixError("1.2.3.4/24 ") == "prefix length not a number");
    CHECK(PrefixError("1.2.3.4/-1") == "prefix length not a number");
    CHECK(PrefixError("1.2.3.4/+8") == "prefix length not a number");
    CHECK(PrefixError("1.2.3.4/24/8") == "prefix length not a number");
    CHECK(PrefixError("1.2.3.4/033") == "prefix length has a leading zero");
    CHECK(PrefixError("1.2.3.4/024") == "prefix length has a leading zero");
    CHECK(PrefixError("1.2.3.4/00") == "prefix length has a leading zero");
    CHECK(PrefixError("1.2.3/24") == "not an IPv4 or IPv6 address");
    CHECK(PrefixError("/24") == "not an IPv4 or IPv6 address");
}

TEST_CASE("ParseMac", "[net_addr]") {
    std::optional<MacAddr> m = ParseMac("52:54:00:12:34:56");
    REQUIRE(m);
    CHECK(*m == MacAddr{0x52, 0x54, 0x00, 0x12, 0x34, 0x56});
    std::optional<MacAddr> upper = ParseMac("AA:bb:Cc:0D:e0:FF");
    REQUIRE(upper);
    CHECK(*upper == MacAddr{0xaa, 0xbb, 0xcc, 0x0d, 0xe0, 0xff});

    for (const char* bad : {"", "52:54:00:12:34", "52:54:00:12:34:56:78", "52-54-00-12-34-56",
                            "52:54:00:12:34:5g", "525400123456", "52:54:00:12:34:56 ",
                            "5:54:00:12:34:567", "52:54:00:12:34::6"}) {
        INFO("input '" << bad << "'");
        std::string err;
        CHECK_FALSE(ParseMac(bad, &err));
        CHECK(err == "not a MAC address");
    }
}

TEST_CASE("Format functions", "[net_addr]") {
    CHECK(FormatIp(Ip("192.0.2.1")) == "192.0.2.1");
    CHECK(FormatIp(Ip("2001:DB8:0:0:0:0:0:1")) == "2001:db8::1");
    CHECK(FormatIp(IpAddr{}) == "(unset)");
    CHECK(FormatPrefix(Pfx("198.51.100.7/24")) == "198.51.100.7/24");
    CHECK(FormatPrefix(Pfx("2001:db8:0::/48")) == "2001:db8::/48");
    CHECK(FormatMac(MacAddr{0x52, 0x54, 0x00, 0xab, 0xcd, 0xef}) == "52:54:00:ab:cd:ef");
    CHECK(std::string(FamilyName(AF_INET)) == "IPv4");
    CHECK(std::string(FamilyName(AF_INET6)) == "IPv6");
}

TEST_CASE("Parse and format round-trip", "[net_addr]") {
    for (const char* s : {"0.0.0.0/0", "203.0.113.255/32", "2001:db8:1:2:3:4:5:6/64", "::/0"}) {
        CHECK(FormatPrefix(Pfx(s)) == s);
    }
    MacAddr m{0, 1, 2, 0xfd, 0xfe, 0xff};
    CHECK(ParseMac(FormatMac(m)) == m);
}

TEST_CASE("Prefix::network clears host bits", "[net_addr]") {
    CHECK(Pfx("198.51.100.7/24").network() == Pfx("198.51.100.0/24"));
    CHECK(Pfx("198.51.100.7/25").network() == Pfx("198.51.100.0/25"));
    CHECK(Pfx("198.51.100.200/25").network() == Pfx("198.51.100.128/25"));
    CHECK(Pfx("198.51.100.7/0").network() == Pfx("0.0.0.0/0"));
    CHECK(Pfx("198.51.100.7/32").network() == Pfx("198.51.100.7/32"));
    CHECK(Pfx("2001:db8:aaaa:bbbb::1/35").network() == Pfx("2001:db8:a000::/35"));
    CHECK(Pfx("2001:db8::1/128").network() == Pfx("2001:db8::1/128"));
}

TEST_CASE("Prefix::contains", "[net_addr]") {
    Prefix net = Pfx("192.0.2.0/24");
    CHECK(net.contains(Ip("192.0.2.0")));
    CHECK(net.contains(Ip("192.0.2.255")));
    CHECK_FALSE(net.contains(Ip("192.0.3.0")));
    CHECK(Pfx("192.0.2.77/24").contains(Ip("192.0.2.1")));  // host bits ignored
    CHECK(Pfx("0.0.0.0/0").contains(Ip("203.0.113.9")));
    CHECK_FALSE(Pfx("0.0.0.0/0").contains(Ip("::")));  // other family
    CHECK_FALSE(Pfx("::/0").contains(Ip("192.0.2.1")));
    CHECK(Pfx("2001:db8::/32").contains(Ip("2001:db8:ffff::1")));
    CHECK_FALSE(Pfx("2001:db8::/32").contains(Ip("2001:db9::")));
    CHECK_FALSE(Prefix{}.contains(IpAddr{}));
}

TEST_CASE("Prefix::overlaps", "[net_addr]") {
    CHECK(Pfx("192.0.2.0/24").overlaps(Pfx("192.0.2.128/25")));
    CHECK(Pfx("192.0.2.128/25").overlaps(Pfx("192.0.2.0/24")));
    CHECK_FALSE(Pfx("192.0.2.0/25").overlaps(Pfx("192.0.2.128/25")));
    CHECK(Pfx("192.0.2.1/24").overlaps(Pfx("192.0.2.200/24")));
    CHECK(Pfx("0.0.0.0/0").overlaps(Pfx("198.51.100.1/32")));
    CHECK_FALSE(Pfx("198.51.100.0/24").overlaps(Pfx("203.0.113.0/24")));
    CHECK_FALSE(Pfx("0.0.0.0/0").overlaps(Pfx("::/0")));
    CHECK(Pfx("2001:db8::/32").overlaps(Pfx("2001:db8:1::/48")));
    CHECK_FALSE(Pfx("2001:db8:1::/48").overlaps(Pfx("2001:db8:2::/48")));
}

TEST_CASE("Ordering and equality are by value", "[net_addr]") {
    CHECK(Ip("192.0.2.1") == Ip("192.0.2.1"));
    CHECK(Ip("192.0.2.1") < Ip("192.0.2.2"));
    CHECK(Ip("192.0.2.1") < Ip("2001:db8::1"));  // AF_INET < AF_INET6
    CHECK(Pfx("192.0.2.0/24") != Pfx("192.0.2.0/25"));
}

}  // namespace
}  // namespace haltfw
