// Restore against the real kernel: a ruleset dumped, flushed and put back
// from its canonical form comes back with the same digest and the same nft
// listing. Run as `unshare --net haltfw_netns_tests`.
#include "nft_restore.h"

#include <catch2/catch.hpp>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <vector>

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

namespace {

// The listing to compare, without what a restore cannot keep by design: the
// time an element with a timeout has left starts again from its timeout.
const char* kListing = "nft list ruleset | sed -E 's/ expires [0-9dhms]+//'";

// The corpus: rulesets of every kind nft 1.0.6 loads (tests/data/rulesets),
// each to come back exactly after a flush.
std::vector<std::string> CorpusFiles() {
    std::vector<std::string> out;
    std::string dir = std::string(HALTFW_TEST_DATA) + "/rulesets";
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.path().extension() == ".nft") out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

TEST_CASE("every ruleset of the corpus restores exactly after a flush", "[restore][corpus]") {
    REQUIRE(InPrivateNetns());
    std::vector<std::string> files = CorpusFiles();
    REQUIRE(files.size() >= 8);
    std::vector<std::string> failed;
    for (const std::string& file : files) {
        Sh("nft flush ruleset");
        Sh("nft -f " + file);
        std::string listing = Run(kListing);
        NftRuleset rs = DumpOrFail();
        std::string digest = RulesetDigest(rs);
        Sh("nft flush ruleset");
        std::string err;
        if (!RestoreRuleset(rs, &err)) {
            failed.push_back(file + ": " + err);
            continue;
        }
        std::string after = Run(kListing);
        std::string now = RulesetDigest(DumpOrFail());
        if (now != digest || after != listing)
            failed.push_back(file + ": restored, but " + (now != digest ? "the digest" : "the listing") + " differs:\n" + listing + "---\n" + after);
    }
    std::string all;
    for (const std::string& f : failed) all += f + "\n";
    INFO(all);
    CHECK(failed.empty());
}

TEST_CASE("a ruleset of thousands of rules and objects restores (no reply overflows)", "[restore]") {
    REQUIRE(InPrivateNetns());
    std::string file = ScratchPath("restore-many-rules");
    {
        std::ofstream f(file);
        f << "flush ruleset\ntable inet many {\n";
        for (int c = 0; c < 20; ++c) {
            f << "    counter c" << c << " { }\n";
            f << "    chain c" << c << " {\n";
            for (int r = 0; r < 250; ++r)
                f << "        ip saddr 192.0.2." << r << " tcp dport " << 1000 + c << " counter name \"c" << c << "\" accept\n";
            f << "    }\n";
        }
        f << "    chain forward {\n        type filter hook forward priority filter; policy drop;\n";
        for (int c = 0; c < 20; ++c) f << "        jump c" << c << "\n";
        f << "    }\n}\n";
    }
    Sh("nft -f " + file);
    NftRuleset rs = DumpOrFail();
    REQUIRE(rs.Count(NftKind::kRule) == 20 * 250 + 20);
    std::string digest = RulesetDigest(rs);
    Sh("nft flush ruleset");
    std::string err;
    bool restored = RestoreRuleset(rs, &err);
    INFO(err);
    REQUIRE(restored);
    CHECK(RulesetDigest(DumpOrFail()) == digest);
    std::remove(file.c_str());
}
