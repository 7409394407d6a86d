// Rules files saved on Windows against the real kernel: a CRLF file with a
// byte order mark loads as its LF twin does (same digest of the kernel's
// dump), and nft's errors in it name the file, line and column as for the
// twin. Run as `unshare --net haltfw_netns_tests`.
#include "core/nft_load.h"

#include <catch2/catch.hpp>

#include <string>

#include "base/scratch_dir_test_support.h"
#include "nft/nft_digest.h"
#include "nft/nft_dump.h"

using namespace haltfw;

namespace {

const char* kRules = R"(# a gateway's table
table inet filter {
    set trusted {
        type ipv4_addr
        elements = { 192.0.2.10, 192.0.2.11 }
    }
    chain input {
        type filter hook input priority filter; policy drop;
        ct state established,related accept comment "return traffic"
        iifname "lo" accept
        ip saddr @trusted tcp dport 22 accept
    }
    chain forward {
        type filter hook forward priority filter; policy drop;
    }
}
)";

std::string Windows(const std::string& lf) {
    std::string out = "\xEF\xBB\xBF";
    for (char c : lf) out += c == '\n' ? std::string("\r\n") : std::string(1, c);
    return out;
}

std::string Program(const std::string& file) {
    Config c;
    c.rule_files.push_back({file, 2});
    return RulesetProgram(c);
}

// Loads `file` and returns the digest of what the kernel then holds.
std::string LoadedDigest(const std::string& file) {
    std::string err;
    REQUIRE(NftCheck(Program(file), &err));
    REQUIRE(NftCommit(Program(file), &err));
    NftRuleset rs;
    REQUIRE(DumpRuleset(&rs, &err));
    return RulesetDigest(rs);
}

// nft's messages for `file`, with its path written FILE.
std::string Refusal(const std::string& file) {
    std::string err;
    CHECK_FALSE(NftCheck(Program(file), &err));
    for (size_t at; (at = err.find(file)) != std::string::npos;) err.replace(at, file.size(), "FILE");
    return err;
}

}  // namespace

TEST_CASE("a rules file saved on Windows loads as its LF twin: the same ruleset digest") {
    ScratchDir s("nft-load");
    REQUIRE_FALSE(s.path.empty());
    std::string lf = s.Write("lf.nft", kRules), win = s.Write("win.nft", Windows(kRules));
    std::string bom_only = s.Write("bom.nft", "\xEF\xBB\xBF" + std::string(kRules));
    std::string crlf_only = s.Write("crlf.nft", Windows(kRules).substr(3));
    const std::string want = LoadedDigest(lf);
    CHECK(LoadedDigest(win) == want);
    CHECK(LoadedDigest(bom_only) == want);
    CHECK(LoadedDigest(crlf_only) == want);
}

TEST_CASE("nft's errors in a rules file saved on Windows name the file, line and column of its LF twin") {
    ScratchDir s("nft-load");
    REQUIRE_FALSE(s.path.empty());
    // A typo on line 1 (columns count from after the byte order mark, as an
    // editor shows them) and one on line 10.
    std::string bad = kRules;
    bad.replace(bad.find("# a gateway"), 1, "x");
    bad.replace(bad.find("iifname"), 7, "iifnam");
    const std::string lf = Refusal(s.Write("lf.nft", bad));
    CHECK(lf ==
          "FILE:1:12-12: Error: syntax error, unexpected junk\n"
          "x a gateway's table\n"
          "           ^\n"
          "FILE:10:9-14: Error: No symbol type information\n"
          "        iifnam \"lo\" accept\n"
          "        ^^^^^^");
    CHECK(Refusal(s.Write("win.nft", Windows(bad))) == lf);
}

TEST_CASE("what nft cannot read in a rules file saved on Windows is refused at its own line") {
    ScratchDir s("nft-load");
    REQUIRE_FALSE(s.path.empty());
    // A lone CR, and a second byte order mark (two files run together):
    // both stay in the text nft reads, at the lines they were on.
    std::string cr = Windows(kRules);
    cr.replace(cr.find("iifname \"lo\" accept\r\n"), 21, "iifname \"lo\"\raccept\r\n");
    CHECK(Refusal(s.Write("cr.nft", cr)).starts_with("FILE:10:"));
    std::string twice = Windows(kRules) + Windows("table ip t {\n}\n");
    CHECK(Refusal(s.Write("twice.nft", twice)).starts_with("FILE:17:1"));
}
