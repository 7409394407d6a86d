// Restore against the real kernel: a ruleset dumped, flushed and put back
// from its canonical form comes back with the same digest and the same nft
// listing. Run as `unshare --net haltfw_netns_tests`.
#include "nft/nft_restore.h"

#include <catch2/catch.hpp>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "nft/netns_test_support.h"
#include "nft/nft_test_support.h"
#include "halt/manifest.h"
#include "nft/nft_digest.h"
#include "core/nft_load.h"

using namespace haltfw;

namespace {

// A file of its own for `nft -f`: another run of these tests (a second
// checkout, say) may be writing the same name at the same time.
std::string ScratchPath(const std::string& name) {
    return "/tmp/haltfw-" + name + "-" + std::to_string(getpid()) + ".nft";
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

namespace {

// Flushes the ruleset, restores `rs` and checks it came back: the digest
// read back is the digest of `rs`.
void FlushThenRestore(const NftRuleset& rs) {
    std::string digest = RulesetDigest(rs);
    Sh("nft flush ruleset");
    std::string err;
    bool restored = RestoreRuleset(rs, &err);
    INFO(err);
    REQUIRE(restored);
    CHECK(RulesetDigest(DumpOrFail()) == digest);
}

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
        elems += (i ? ", " : "") + std::to_string(16 + i / 65536) + "." + std::to_string(i / 256 % 256) + "." +
                 std::to_string(i % 256) + ".1";
    std::string file = ScratchPath("restore-big");
    {
        std::ofstream f(file);
        f << "flush ruleset\ntable ip big { set s { type ipv4_addr; elements = { " << elems << " }; }; }\n";
    }
    Sh("nft -f " + file);
    NftRuleset rs = DumpOrFail();
    REQUIRE(rs.Count(NftKind::kSetElem) == 5000);
    FlushThenRestore(rs);
    std::remove(file.c_str());
}

namespace {

// The listing to compare, without what a restore cannot keep by design: the
// time an element with a timeout has left (it starts again from its
// timeout), counter values and what a quota has used (from 0 again).
const char* kListing =
    "nft list ruleset | sed -E -e 's/ expires [0-9dhms]+//g' -e 's/counter packets [0-9]+ bytes [0-9]+/counter/g' "
    "-e 's/ used [0-9]+ [a-z]*bytes//g'";

// The live ruleset through the manifest, as arm writes it and the final
// stage reads it, flushed and put back: "" if it came back with the same
// digest and listing, else what went wrong.
std::string ManifestRoundTrip() {
    std::string listing = Run(kListing);
    Manifest armed;
    armed.ruleset = DumpOrFail();
    armed.digest = RulesetDigest(armed.ruleset);
    Manifest m;
    std::string err;
    if (!ParseManifest(SerializeManifest(armed), &m, &err)) return "manifest: " + err;
    Sh("nft flush ruleset");
    if (!RestoreRuleset(m.ruleset, &err)) return err;
    std::string after = Run(kListing);
    bool same_digest = RulesetDigest(DumpOrFail()) == armed.digest;
    if (same_digest && after == listing) return "";
    return std::string("restored, but ") + (same_digest ? "the listing" : "the digest") + " differs:\n" + listing +
           "---\n" + after;
}

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
        if (std::string problem = ManifestRoundTrip(); !problem.empty()) failed.push_back(file + ": " + problem);
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
                f << "        ip saddr 192.0.2." << r << " tcp dport " << 1000 + c << " counter name \"c" << c
                  << "\" accept\n";
            f << "    }\n";
        }
        f << "    chain forward {\n        type filter hook forward priority filter; policy drop;\n";
        for (int c = 0; c < 20; ++c) f << "        jump c" << c << "\n";
        f << "    }\n}\n";
    }
    Sh("nft -f " + file);
    NftRuleset rs = DumpOrFail();
    REQUIRE(rs.Count(NftKind::kRule) == 20 * 250 + 20);
    FlushThenRestore(rs);
    std::remove(file.c_str());
}

namespace {

// `count` elements of a set, loaded in this process (as apply does) and
// dumped at once, while the kernel may still be resizing the hash table.
std::string BigSetProgram(int count, bool interval) {
    std::string p = "flush ruleset\ntable ip big {\n set s {\n  type ipv4_addr\n";
    if (interval) p += "  flags interval\n";
    p += "  elements = { ";
    for (int i = 0; i < count; ++i) {
        // Interval sets: every other /32, so that no two elements merge.
        int n = interval ? 2 * i : i;
        p += (i ? ", 10." : "10.") + std::to_string(n >> 16 & 255) + "." + std::to_string(n >> 8 & 255) + "." +
             std::to_string(n & 255);
    }
    return p +
           " }\n }\n chain forward {\n  type filter hook forward priority 0; policy drop;\n  ip saddr @s accept\n "
           "}\n}\n";
}

size_t DistinctElements(const NftRuleset& rs) {
    std::vector<std::string> keys;
    for (const NftElements& g : rs.elements)
        for (size_t i = 0; i < g.size(); ++i) keys.emplace_back(g[i]);
    std::sort(keys.begin(), keys.end());
    return static_cast<size_t>(std::unique(keys.begin(), keys.end()) - keys.begin());
}

}  // namespace

TEST_CASE("a large set is dumped whole right after its load, and after a restore", "[restore][large]") {
    REQUIRE(InPrivateNetns());
    struct Case {
        int count;
        bool interval;
        int rounds;
    };
    int torn_total = 0;
    for (Case c : {Case{200000, false, 3}, Case{400000, false, 1}, Case{200000, true, 1}}) {
        std::string program = BigSetProgram(c.count, c.interval);
        for (int round = 0; round < c.rounds; ++round) {
            INFO(c.count << (c.interval ? " interval" : " hash") << " elements, round " << round);
            std::string err;
            REQUIRE(NftCommit(program, &err));
            NftRuleset rs;
            int torn = 0;
            bool dumped = DumpRuleset(&rs, &err, nullptr, &torn);
            INFO(err);
            REQUIRE(dumped);
            torn_total += torn;
            size_t elements = c.interval ? 2 * static_cast<size_t>(c.count) + 1 : static_cast<size_t>(c.count);
            REQUIRE(rs.Count(NftKind::kSetElem) == elements);
            REQUIRE(DistinctElements(rs) == elements);
            std::string digest = RulesetDigest(rs);

            Sh("nft flush ruleset");
            REQUIRE(RestoreRuleset(rs, &err));
            NftRuleset back;
            REQUIRE(DumpRuleset(&back, &err, nullptr, &torn));
            torn_total += torn;
            CHECK(DistinctElements(back) == elements);
            CHECK(RulesetDigest(back) == digest);
        }
    }
    std::fprintf(stderr, "large sets: %d torn listings found and read again\n", torn_total);
}

namespace {

// One rule of tests/data/rulesets/statements.list as a ruleset of its own:
// "FAMILY HOOK TYPE | RULE" (HOOK none: a chain on no hook).
std::string StatementRuleset(const std::string& line) {
    size_t bar = line.find('|');
    std::istringstream head(line.substr(0, bar));
    std::string family, hook, type;
    head >> family >> hook >> type;
    std::string rule = line.substr(bar + 1);
    std::string chain = hook == "none" ? ""
                                       : "  type " + type + " hook " + hook + " priority " +
                                             (type == "nat" ? "100" : "0") + "; policy accept;\n";
    return "flush ruleset\ntable " + family + " t {\n chain c {\n" + chain + "  " + rule + "\n }\n}\n";
}

}  // namespace

TEST_CASE("every statement of the list restores exactly, each in a ruleset of its own", "[restore][corpus]") {
    REQUIRE(InPrivateNetns());
    std::ifstream list(std::string(HALTFW_TEST_DATA) + "/rulesets/statements.list");
    REQUIRE(list);
    std::string file = ScratchPath("statement");
    std::vector<std::string> failed;
    int count = 0;
    for (std::string line; std::getline(list, line);) {
        if (line.empty() || line[0] == '#') continue;
        ++count;
        {
            std::ofstream f(file);
            f << StatementRuleset(line);
        }
        INFO(line);
        Sh("nft -f " + file);
        if (std::string problem = ManifestRoundTrip(); !problem.empty()) failed.push_back(line + ": " + problem);
    }
    std::remove(file.c_str());
    CHECK(count >= 150);
    std::string all;
    for (const std::string& f : failed) all += f + "\n";
    INFO(all);
    CHECK(failed.empty());
}

TEST_CASE("an interval concatenation keeps the kernel's element order, the same at every dump", "[restore]") {
    REQUIRE(InPrivateNetns());
    std::string file = ScratchPath("pipapo-order");
    {
        // The contained element first: the only order the kernel takes.
        std::ofstream f(file);
        f << "flush ruleset\ntable inet t { map m { type ipv4_addr . inet_service : verdict; flags interval; "
             "elements = { 10.1.0.0/16 . 22 : drop, 10.0.0.0/8 . 22 : accept }; }; }\n";
    }
    Sh("nft -f " + file);
    NftRuleset rs = DumpOrFail();
    REQUIRE(rs.elements.size() == 1);
    CHECK_FALSE(rs.elements[0].SortedAndDistinct());  // 10.1.0.0 before 10.0.0.0
    std::string digest = RulesetDigest(rs);
    for (int i = 0; i < 3; ++i) CHECK(RulesetDigest(DumpOrFail()) == digest);
    Manifest armed;
    armed.ruleset = rs;
    armed.digest = digest;
    Manifest m;
    std::string err;
    REQUIRE(ParseManifest(SerializeManifest(armed), &m, &err));
    CHECK(RulesetDigest(m.ruleset) == digest);
    Sh("nft flush ruleset");
    bool restored = RestoreRuleset(m.ruleset, &err);
    INFO(err);
    REQUIRE(restored);
    CHECK(RulesetDigest(DumpOrFail()) == digest);
    std::remove(file.c_str());
}

TEST_CASE("a connlimit's limit is part of the digest, and comes back with a restore", "[restore]") {
    REQUIRE(InPrivateNetns());
    Sh("nft flush ruleset");
    Sh("nft add table inet cl");
    Sh("nft add chain inet cl f '{ type filter hook forward priority 0; }'");
    Sh("nft add rule inet cl f ct count over 20 drop");
    NftRuleset twenty = DumpOrFail();
    Sh("nft flush chain inet cl f");
    Sh("nft add rule inet cl f ct count over 2000 drop");
    CHECK(RulesetDigest(DumpOrFail()) != RulesetDigest(twenty));
    std::string err;
    REQUIRE(RestoreRuleset(twenty, &err));
    CHECK(Run("nft list chain inet cl f | grep -c 'ct count over 20 drop'") == "1\n");
}
