// IP addresses, prefixes and MAC addresses as plain values: parsing,
// formatting and prefix arithmetic. Pure code, no system calls.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace haltfw {

/// An IPv4 or IPv6 address. IPv4 uses the first 4 bytes of `bytes`.
struct IpAddr {
    int family = 0;  ///< AF_INET or AF_INET6; 0 for "unset".
    std::array<uint8_t, 16> bytes{};

    /// Address length in bytes for the family (4 or 16).
    int size() const;
    /// Number of bits (32 or 128).
    int bits() const { return size() * 8; }
    bool operator==(const IpAddr&) const = default;
    auto operator<=>(const IpAddr&) const = default;
};

/// An address with a prefix length, as in "198.51.100.1/24". The address may
/// have host bits set (an interface address); `network()` clears them.
struct Prefix {
    IpAddr addr;
    int len = 0;

    Prefix network() const;
    /// True when `a` lies inside this prefix (same family, same network bits).
    bool contains(const IpAddr& a) const;
    /// True when the two prefixes share any address.
    bool overlaps(const Prefix& other) const;
    bool operator==(const Prefix&) const = default;
    auto operator<=>(const Prefix&) const = default;
};

using MacAddr = std::array<uint8_t, 6>;

/// Parses "192.0.2.1" or "2001:db8::1". On failure returns nullopt and, if
/// `err` is set, a reason such as "not an IPv4 or IPv6 address".
std::optional<IpAddr> ParseIpAddr(std::string_view s, std::string* err = nullptr);

/// Parses "ADDR/LEN". A missing "/LEN" is an error when `require_len`, else
/// it means a host prefix (/32 or /128). Errors read e.g.
/// "prefix length out of range".
std::optional<Prefix> ParsePrefix(std::string_view s, bool require_len, std::string* err = nullptr);

/// Parses "52:54:00:12:34:56" (case-insensitive).
std::optional<MacAddr> ParseMac(std::string_view s, std::string* err = nullptr);

std::string FormatIp(const IpAddr& a);
std::string FormatPrefix(const Prefix& p);
std::string FormatMac(const MacAddr& m);

/// "IPv4" or "IPv6".
const char* FamilyName(int family);

}  // namespace haltfw
