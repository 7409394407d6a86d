// Shared by the tests that handle addresses and prefixes: readable values in
// Catch's failure messages, and parsers that fail the test on bad input.
#pragma once

#include <catch2/catch.hpp>

#include <optional>
#include <string>

#include "net/net_addr.h"

// Readable values in failure messages instead of "{?}".
namespace Catch {
template <>
struct StringMaker<haltfw::IpAddr> {
    static std::string convert(const haltfw::IpAddr& a) { return haltfw::FormatIp(a); }
};
template <>
struct StringMaker<haltfw::Prefix> {
    static std::string convert(const haltfw::Prefix& p) { return haltfw::FormatPrefix(p); }
};
}  // namespace Catch

namespace haltfw {

/// The address `s`; the test fails unless it parses.
inline IpAddr Ip(const char* s) {
    std::optional<IpAddr> a = ParseIpAddr(s);
    REQUIRE(a);
    return *a;
}

/// The prefix `s` (ADDR/LEN, host bits kept); the test fails unless it parses.
inline Prefix Pfx(const char* s) {
    std::optional<Prefix> p = ParsePrefix(s, true);
    REQUIRE(p);
    return *p;
}

}  // namespace haltfw
