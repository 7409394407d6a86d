// Addresses, prefixes and MAC addresses as haltfw.conf and the manifest
// write them (net_addr.h): whatever parses formats back to the same value,
// and the prefix arithmetic agrees with itself.
#include <sys/socket.h>

#include "fuzz_check.h"
#include "net/net_addr.h"

using namespace haltfw;

namespace {

void CheckPrefix(const Prefix& p) {
    FUZZ_CHECK(p.addr.family == AF_INET || p.addr.family == AF_INET6);
    FUZZ_CHECK(p.len >= 0 && p.len <= p.addr.bits());
    auto back = ParsePrefix(FormatPrefix(p), true);
    FUZZ_CHECK(back && *back == p);
    Prefix n = p.network();
    FUZZ_CHECK(n.network() == n);
    FUZZ_CHECK(p.contains(p.addr) && p.contains(n.addr) && n.contains(p.addr));
    FUZZ_CHECK(p.overlaps(n) && n.overlaps(p));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view s = FuzzText(data, size);
    std::string err;
    if (auto a = ParseIpAddr(s, &err)) {
        auto back = ParseIpAddr(FormatIp(*a));
        FUZZ_CHECK(back && *back == *a);
    } else {
        FUZZ_CHECK(!err.empty());
    }
    for (bool require_len : {false, true}) {
        err.clear();
        if (auto p = ParsePrefix(s, require_len, &err)) CheckPrefix(*p);
        else FUZZ_CHECK(!err.empty());
    }
    if (auto m = ParseMac(s, &err)) {
        auto back = ParseMac(FormatMac(*m));
        FUZZ_CHECK(back && *back == *m);
    }
    // Two prefixes, space-separated: overlap is symmetric, and containment
    // of the longer one's address by the shorter one means overlap.
    if (size_t sp = s.find(' '); sp != std::string_view::npos) {
        auto a = ParsePrefix(s.substr(0, sp), false), b = ParsePrefix(s.substr(sp + 1), false);
        if (a && b) {
            FUZZ_CHECK(a->overlaps(*b) == b->overlaps(*a));
            if (a->len <= b->len && a->contains(b->addr)) FUZZ_CHECK(a->overlaps(*b));
            if (a->addr.family != b->addr.family) FUZZ_CHECK(!a->overlaps(*b) && !a->contains(b->addr));
        }
    }
    return 0;
}
