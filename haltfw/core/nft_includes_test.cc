// The files a ruleset reads through include statements, in a scratch
// directory: no kernel, no root.
#include "core/nft_includes.h"

#include <catch2/catch.hpp>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "base/scratch_dir_test_support.h"
#include "core/nft_load.h"

using namespace haltfw;

namespace {

std::vector<std::string> Visited(const std::vector<std::string>& roots, const std::vector<std::string>& paths = {}) {
    std::vector<std::string> out;
    VisitRulesetSources(roots, paths, [&](const NftSource& s) {
        out.push_back(s.path + (s.error.empty() ? "" : " (" + s.error + ")"));
    });
    return out;
}

std::string Hash(const std::string& rules) {
    Config cfg;
    cfg.rule_files.push_back({rules, 1});
    std::string h, err;
    REQUIRE(RulesetInputHash(cfg, &h, &err));
    return h;
}

}  // namespace

TEST_CASE("include names: not in comments or strings, and only before a quoted string") {
    CHECK(IncludeNames("# include \"/etc/a.nft\"\n"
                       "table ip t { chain c { comment \"see include\"; } }\n"
                       "include x\n") == std::vector<std::string>{});
    CHECK(IncludeNames("include \"/etc/unterminated") == std::vector<std::string>{});
}

TEST_CASE("include names: every statement, nested in blocks, blanks and comments around") {
    CHECK(IncludeNames("include \"/etc/a.nft\"\n"
                       "table inet t {\n"
                       "\tinclude\t\"sets/*.nft\" # the sets\n"
                       "  chain c { include \"./chain.nft\"; }\n"
                       "}\n"
                       "include\"../x\"") ==
          std::vector<std::string>{"/etc/a.nft", "sets/*.nft", "./chain.nft", "../x"});
}

TEST_CASE("a missing name, a directory named without a wildcard, dot files and subdirectories include nothing") {
    ScratchDir d;
    d.Write("dir/a.nft", "");
    d.Write("dir/.hidden.nft", "");
    d.Write("dir/sub/b.nft", "");
    CHECK(ResolveInclude(d.path + "/missing.nft", {}).empty());
    CHECK(ResolveInclude(d.path + "/dir", {}).empty());
    CHECK(ResolveInclude(d.path + "/dir/", {}).empty());
    CHECK(ResolveInclude(d.path + "/dir/*", {}) == std::vector<std::string>{d.path + "/dir/a.nft"});
}

TEST_CASE("a relative name is searched in the include paths: the first without wildcards, all with them") {
    ScratchDir d;
    d.Write("one/x.nft", "");
    d.Write("two/x.nft", "");
    d.Write("two/y.nft", "");
    std::vector<std::string> paths = {d.path + "/one", d.path + "/two"};
    CHECK(ResolveInclude("x.nft", paths) == std::vector<std::string>{d.path + "/one/x.nft"});
    CHECK(ResolveInclude("y.nft", paths) == std::vector<std::string>{d.path + "/two/y.nft"});
    CHECK(ResolveInclude("*.nft", paths) ==
          std::vector<std::string>{d.path + "/one/x.nft", d.path + "/two/x.nft", d.path + "/two/y.nft"});
    CHECK(NftDefaultIncludePaths() == std::vector<std::string>{"/etc"});
}

TEST_CASE("sources: a FIFO is not read, a missing file is visited with its error, a cycle ends") {
    ScratchDir d;
    REQUIRE(mkfifo((d.path + "/fifo.nft").c_str(), 0600) == 0);
    std::string a = d.Write("a.nft", "include \"" + d.path + "/b.nft\"\ninclude \"" + d.path + "/fifo.nft\"\n");
    d.Write("b.nft", "include \"" + d.path + "/a.nft\"\n");
    CHECK(Visited({a}) == std::vector<std::string>{a, d.path + "/b.nft", d.path + "/fifo.nft (not a regular file)"});
    CHECK(Visited({d.path + "/none.nft"}) ==
          std::vector<std::string>{d.path + "/none.nft (No such file or directory)"});
}

TEST_CASE("sources: nested includes and an included directory, depth first in nft's order") {
    ScratchDir d;
    std::string rules = d.Write(
        "rules.nft", "include \"" + d.path + "/defs.nft\"\ntable inet f {\n include \"" + d.path + "/d/*.nft\"\n}\n");
    d.Write("defs.nft", "include \"" + d.path + "/nested.nft\"\n");
    d.Write("nested.nft", "define lan = 192.0.2.0/24\n");
    d.Write("d/10-in.nft", "");
    d.Write("d/20-fwd.nft", "");
    CHECK(Visited({rules}) == std::vector<std::string>{rules, d.path + "/defs.nft", d.path + "/nested.nft",
                                                       d.path + "/d/10-in.nft", d.path + "/d/20-fwd.nft"});
}

TEST_CASE("the input hash changes with a nested included file, and with a file added to an included directory") {
    ScratchDir d;
    std::string rules =
        d.Write("rules.nft", "include \"" + d.path + "/defs.nft\"\ninclude \"" + d.path + "/d/*.nft\"\n");
    d.Write("defs.nft", "include \"" + d.path + "/nested.nft\"\n");
    d.Write("nested.nft", "define lan = 192.0.2.0/24\n");
    d.Write("d/10-in.nft", "table ip a {\n}\n");
    std::string before = Hash(rules);
    d.Write("unrelated.nft", "table ip z {\n}\n");
    CHECK(Hash(rules) == before);

    d.Write("nested.nft", "define lan = 192.0.2.0/25\n");
    std::string edited = Hash(rules);
    CHECK(edited != before);
    d.Write("d/20-more.nft", "");
    std::string added = Hash(rules);
    CHECK(added != edited);
    std::filesystem::remove(d.path + "/d/20-more.nft");
    CHECK(Hash(rules) == edited);
    d.Write("d/10-in.nft", "table ip b {\n}\n");
    CHECK(Hash(rules) != edited);
}

TEST_CASE("the input hash: an unreadable rules file is an error, an unreadable included one is not") {
    ScratchDir d;
    Config cfg;
    cfg.rule_files.push_back({d.path + "/none.nft", 3});
    std::string h, err;
    CHECK_FALSE(RulesetInputHash(cfg, &h, &err));
    CHECK(err == "read " + d.path + "/none.nft: No such file or directory");
    std::string rules = d.Write("rules.nft", "include \"" + d.path + "/gone.nft\"\n");
    std::string missing = Hash(rules);
    d.Write("gone.nft", "");
    CHECK(Hash(rules) != missing);
}
