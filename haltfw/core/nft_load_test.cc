#include "core/nft_load.h"

#include <catch2/catch.hpp>

using namespace haltfw;

TEST_CASE("nft's messages lose the include line of haltfw's own program, nothing else") {
    std::string nft =
        "In file included from <cmdline>:2:1-23:\n"
        "/etc/haltfw/rules.nft:3:8-8: Error: syntax error, unexpected newline\n"
        "  acept\n"
        "       ^\n";
    CHECK(WithoutProgramIncludeLines(nft) ==
          "/etc/haltfw/rules.nft:3:8-8: Error: syntax error, unexpected newline\n  acept\n       ^\n");
    // An include between the user's own files names a file they wrote.
    std::string nested =
        "In file included from <cmdline>:2:1-30:\n"
        "In file included from /etc/haltfw/rules.nft:1:1-25:\n"
        "/etc/haltfw/sets.nft:4:1-3: Error: syntax error\n";
    CHECK(WithoutProgramIncludeLines(nested) ==
          "In file included from /etc/haltfw/rules.nft:1:1-25:\n/etc/haltfw/sets.nft:4:1-3: Error: syntax error\n");
    CHECK(WithoutProgramIncludeLines("Error: Could not process rule: No such file or directory") ==
          "Error: Could not process rule: No such file or directory");
    CHECK(WithoutProgramIncludeLines("") == "");
}
