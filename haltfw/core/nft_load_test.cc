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

TEST_CASE("nft's messages about a rules file's CRLF-free copy name the file, at the same line and column") {
    const std::vector<std::pair<std::string, std::string>> names = {
        {"/proc/thread-self/fd/1", "/etc/haltfw/rules.nft"}, {"/proc/thread-self/fd/12", "/etc/haltfw/win.nft"}};
    std::string nft =
        "/proc/thread-self/fd/12:3:8-8: Error: syntax error, unexpected newline\n"
        "  acept\n"
        "       ^\n"
        "In file included from /proc/thread-self/fd/1:2:1-25:\n"
        "/etc/haltfw/sets.nft:4:1-3: Error: syntax error\n";
    CHECK(NamingFiles(nft, names) ==
          "/etc/haltfw/win.nft:3:8-8: Error: syntax error, unexpected newline\n"
          "  acept\n"
          "       ^\n"
          "In file included from /etc/haltfw/rules.nft:2:1-25:\n"
          "/etc/haltfw/sets.nft:4:1-3: Error: syntax error\n");
    CHECK(NamingFiles("Error: Could not process rule: No such file or directory", names) ==
          "Error: Could not process rule: No such file or directory");
    CHECK(NamingFiles("/proc/thread-self/fd/1", names) == "/etc/haltfw/rules.nft");
    CHECK(NamingFiles("", names) == "");
}
