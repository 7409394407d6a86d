// Restore against the real kernel: a ruleset dumped, flushed and put back
// from its canonical form comes back with the same digest and the same nft
// listing. Run as `unshare --net haltfw_netns_tests`.
#include "nft_restore.h"

#include <catch2/catch.hpp>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>

#include "netns_support.h"
#include "nft_digest.h"

using namespace haltfw;

namespace {

std::string Run(const std::string& cmd) {
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    REQUIRE(p);
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    REQUIRE(pclose(p) == 0);
    return out;
}

// A file of its own for `nft -f`: another run of these tests (a second
// checkout, say) may be writing the same name at the same time.
std::string ScratchPath(const std::string& name) { return "/tmp/haltfw-" + name + "-" + std::to_string(getpid()) + ".nft"; }

NftRuleset DumpOrFail() {
    NftRuleset rs;
    std::string err;
    bool ok = DumpRuleset(&rs, &err);
    INFO(err);
    REQUIRE(ok);
    return rs;
}

// Sets (named, anonymous, interval, with a verdict map), stateful objects,
// counters, NAT, comments and several rules per chain whose order matters.
const char* kRuleset = R"(flush ruleset
table inet filter {
    counter dropped { }
    quota q { over 100 mbytes }
    set trusted { type ipv4_addr; elements = { 192.0.2.10, 192.0.2.11, 192.0.2.12 } }
    set blocked { type ipv4_addr; flags interval; elements = { 203.0.113.0/28, 198.51.100.128/25 } }
    map ports { type inet_service : verdict; elements = { 22 : jump ssh, 80 : accept } }
    chain ssh { ip saddr @trusted accept; counter name "dropped" drop; }
    chain input {
        type filter hook input priority filter; policy drop;
        ct state established,related accept comment "return traffic"
        iifname "lo" accept
        ip saddr @blocked drop
        tcp dport vmap @ports
        meta l4proto { icmp, ipv6-icmp } limit rate 10/second accept
        udp dport { 53, 123 } counter accept
    }
    chain forward { type filter hook forward priority filter; policy drop; }
}
table ip nat {
    chain postrouting { type nat hook postrouting priority srcnat; oifname "wan0" masquerade; }
}
)";

}  // namespace

TEST_CASE("a dumped ruleset restores to the same digest and listing", "[restore]") {
    REQUIRE(InPrivateNetns());
    std::string file = ScratchPath("restore-test");
    {
        std::ofstream f(file);
        f << kRuleset;
    }
    Sh("nft -f " + file);
    std::string listing = Run("nft list ruleset");
    NftRuleset rs = DumpOrFail();
    std::string digest = RulesetDigest(rs);
    REQUIRE(rs.Count(NftKind::kRule) == 9);
    REQUIRE(rs.Count(NftKind::kSetElem) >= 7);

    Sh("nft flush ruleset");
    REQUIRE(RulesetDigest(DumpOrFail()) != digest);

    std::string err;
    bool restored = RestoreRuleset(rs, &err);
    INFO(err);
    REQUIRE(restored);
    CHECK(RulesetDigest(DumpOrFail()) == digest);
    CHECK(Run("nft list ruleset") == listing);

    // Restoring over a changed ruleset replaces it whole.
    Sh("nft add rule inet filter forward accept");
    Sh("nft add table ip stray");
    REQUIRE(RestoreRuleset(rs, &err));
    CHECK(RulesetDigest(DumpOrFail()) == digest);
    std::remove(file.c_str());
}

TEST_CASE("a restore the kernel refuses changes nothing and names the object", "[restore]") {
    REQUIRE(InPrivateNetns());
    Sh("nft flush ruleset");
    Sh("nft add table inet keep");
    std::string before = RulesetDigest(DumpOrFail());

    NftRuleset bad = DumpOrFail();
    // A rule in a chain that does not exist.
    NftRuleset src;
    Sh("nft add chain inet keep c");
    Sh("nft add rule inet keep c accept");
    src = DumpOrFail();
    Sh("nft delete table inet keep");
    Sh("nft add table inet keep");
    for (const NftObject& o : src.objects)
        if (o.kind == NftKind::kRule) bad.objects.push_back(o);
    std::string err;
    REQUIRE_FALSE(RestoreRuleset(bad, &err));
    CHECK(err == "restore: rule in keep c: No such file or directory");
    CHECK(RulesetDigest(DumpOrFail()) == before);
}

TEST_CASE("a large set restores in several messages", "[restore]") {
    REQUIRE(InPrivateNetns());
    std::string elems;
    for (int i = 0; i < 5000; ++i)
        elems += (i ? ", " : "") + std::to_string(16 + i / 65536) + "." + std::to_string(i / 256 % 256) + "." + std::to_string(i % 256) + ".1";
    std::string file = ScratchPath("restore-big");
    {
        std::ofstream f(file);
        f << "flush ruleset\ntable ip big { set s { type ipv4_addr; elements = { " << elems << " }; }; }\n";
    }
    Sh("nft -f " + file);
    NftRuleset rs = DumpOrFail();
    REQUIRE(rs.Count(NftKind::kSetElem) == 5000);
    std::string digest = RulesetDigest(rs);
    Sh("nft flush ruleset");
    std::string err;
    bool restored = RestoreRuleset(rs, &err);
    INFO(err);
    REQUIRE(restored);
    CHECK(RulesetDigest(DumpOrFail()) == digest);
    std::remove(file.c_str());
}
