#include "base/text_lines.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace haltfw;

namespace {
std::vector<std::string> Lines(std::string_view text) {
    std::vector<std::string> out;
    for (std::string_view line; NextLine(&text, &line);) out.emplace_back(line);
    return out;
}
}  // namespace

TEST_CASE("NextLine walks lines: blank ones kept, a last line without newline counted") {
    CHECK(Lines("").empty());
    CHECK(Lines("\n") == std::vector<std::string>{""});
    CHECK(Lines("a\nb\n") == std::vector<std::string>{"a", "b"});
    CHECK(Lines("a\n\nb") == std::vector<std::string>{"a", "", "b"});
}
