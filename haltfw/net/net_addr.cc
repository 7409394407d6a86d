#include "net/net_addr.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>

namespace haltfw {

namespace {

// Longer than any textual IPv6 address (INET6_ADDRSTRLEN is 46 with the
// NUL); anything longer is rejected before it reaches inet_pton.
constexpr size_t kMaxAddrText = 64;

void SetErr(std::string* err, const char* msg) {
    if (err)
        *err = msg;
}

// Clears every bit after the first `len`, across all 16 bytes, so an IPv4
// address keeps its unused tail zero and compares equal by value.
IpAddr MaskTo(IpAddr a, int len) {
    len = std::clamp(len, 0, a.bits());
    for (int i = 0; i < 16; ++i) {
        int keep = std::clamp(len - i * 8, 0, 8);
        a.bytes[i] &= static_cast<uint8_t>(0xFF00u >> keep);
    }
    return a;
}

// Parses the digits after '/'. Leading zeros ("/024", "/00") are refused:
// inet_pton refuses them in IPv4 octets too, and "/010" reads as octal to
// some tools, so the config never means two things.
bool ParseLen(std::string_view s, int bits, int* len, std::string* err) {
    if (s.empty()) {
        SetErr(err, "missing prefix length");
        return false;
    }
    if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        SetErr(err, "prefix length not a number");
        return false;
    }
    if (s.size() > 1 && s[0] == '0') {
        SetErr(err, "prefix length has a leading zero");
        return false;
    }
    // More than three digits cannot be in range; checking that first keeps
    // the sum below from overflowing.
    int v = 0;
    if (s.size() <= 3) {
        for (char c : s)
            v = v * 10 + (c - '0');
    }
    if (s.size() > 3 || v > bits) {
        SetErr(err, "prefix length out of range");
        return false;
    }
    *len = v;
    return true;
}

int HexDigit(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

}  // namespace

int IpAddr::size() const {
    switch (family) {
    case AF_INET:
        return 4;
    case AF_INET6:
        return 16;
    default:
        return 0;
    }
}

Prefix Prefix::network() const {
    return Prefix{MaskTo(addr, len), len};
}

bool Prefix::contains(const IpAddr& a) const {
    if (addr.family == 0 || a.family != addr.family)
        return false;
    return MaskTo(a, len) == MaskTo(addr, len);
}

bool Prefix::overlaps(const Prefix& other) const {
    if (addr.family == 0 || other.addr.family != addr.family)
        return false;
    // Two prefixes overlap exactly when the shorter one contains the longer.
    int shorter = std::min(len, other.len);
    return MaskTo(addr, shorter) == MaskTo(other.addr, shorter);
}

std::optional<IpAddr> ParseIpAddr(std::string_view s, std::string* err) {
    // inet_pton wants a C string; an embedded NUL would let "1.2.3.4\0junk"
    // through, so refuse it here.
    if (s.empty() || s.size() > kMaxAddrText || s.find('\0') != s.npos) {
        SetErr(err, "not an IPv4 or IPv6 address");
        return std::nullopt;
    }
    std::string text(s);
    IpAddr a;
    a.family = text.find(':') != text.npos ? AF_INET6 : AF_INET;
    if (inet_pton(a.family, text.c_str(), a.bytes.data()) != 1) {
        SetErr(err, "not an IPv4 or IPv6 address");
        return std::nullopt;
    }
    return a;
}

std::optional<Prefix> ParsePrefix(std::string_view s, bool require_len, std::string* err) {
    size_t slash = s.find('/');
    if (slash == s.npos && require_len) {
        SetErr(err, "missing prefix length");
        return std::nullopt;
    }
    std::optional<IpAddr> a = ParseIpAddr(s.substr(0, slash), err);
    if (!a)
        return std::nullopt;
    Prefix p{*a, a->bits()};
    if (slash != s.npos && !ParseLen(s.substr(slash + 1), a->bits(), &p.len, err))
        return std::nullopt;
    return p;
}

std::optional<MacAddr> ParseMac(std::string_view s, std::string* err) {
    // Exactly six colon-separated pairs: "52:54:00:12:34:56".
    MacAddr m{};
    bool ok = s.size() == 17;
    for (size_t i = 0; ok && i < 6; ++i) {
        int hi = HexDigit(s[i * 3]);
        int lo = HexDigit(s[i * 3 + 1]);
        ok = hi >= 0 && lo >= 0 && (i == 5 || s[i * 3 + 2] == ':');
        m[i] = static_cast<uint8_t>(hi * 16 + lo);
    }
    if (!ok) {
        SetErr(err, "not a MAC address");
        return std::nullopt;
    }
    return m;
}

std::string FormatIp(const IpAddr& a) {
    char buf[INET6_ADDRSTRLEN];
    if (a.size() == 0 || !inet_ntop(a.family, a.bytes.data(), buf, sizeof(buf)))
        return "(unset)";
    return buf;
}

std::string FormatPrefix(const Prefix& p) {
    return FormatIp(p.addr) + "/" + std::to_string(p.len);
}

std::string FormatMac(const MacAddr& m) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < m.size(); ++i) {
        if (i > 0)
            out += ':';
        out += kHex[m[i] >> 4];
        out += kHex[m[i] & 0xF];
    }
    return out;
}

const char* FamilyName(int family) {
    switch (family) {
    case AF_INET:
        return "IPv4";
    case AF_INET6:
        return "IPv6";
    default:
        return "unknown family";
    }
}

}  // namespace haltfw
