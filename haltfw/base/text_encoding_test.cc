#include "base/text_encoding.h"

#include <catch2/catch.hpp>
#include <string>

using namespace haltfw;

TEST_CASE("a byte order mark is dropped only at the start; a CR only where a line ends") {
    CHECK(WithoutBom("\xEF\xBB\xBF[ruleset]") == "[ruleset]");
    CHECK(WithoutBom("[ruleset]\xEF\xBB\xBF") == "[ruleset]\xEF\xBB\xBF");
    CHECK(WithoutBom("\xEF\xBB") == "\xEF\xBB");
    CHECK(WithoutLineEndCr("device = eth0\r") == "device = eth0");
    CHECK(WithoutLineEndCr("device = eth0\r\r") == "device = eth0\r");
    CHECK(WithoutLineEndCr("a\rb") == "a\rb");
}

TEST_CASE("UnixText: the file as an editor shows it, every line where it was") {
    CHECK(UnixText("table inet t {\r\n chain c {\r\n }\r\n}\r\n") == "table inet t {\n chain c {\n }\n}\n");
    CHECK(UnixText("\xEF\xBB\xBFtable inet t {\n}\n") == "table inet t {\n}\n");
    CHECK(UnixText("\xEF\xBB\xBF" "a\r\nb\r") == "a\nb");
    // Mixed line ends: only the CRs of CRLFs go; a lone CR and a second
    // byte order mark stay for the parser to report.
    CHECK(UnixText("a\r\nb\nc\rd\r\r\n\xEF\xBB\xBF" "e\n") == "a\nb\nc\rd\r\n\xEF\xBB\xBF" "e\n");
    CHECK(UnixText("") == "");
    CHECK(HasWindowsTextMarks("a\r\n"));
    CHECK(HasWindowsTextMarks("\xEF\xBB\xBF" "a\n"));
    CHECK(HasWindowsTextMarks("a\r"));
    CHECK_FALSE(HasWindowsTextMarks("a\rb\n"));
    CHECK_FALSE(HasWindowsTextMarks("a\nb\n"));
}

TEST_CASE("UTF-16 is recognised by its byte order mark, either byte order") {
    CHECK(IsUtf16("\xFF\xFE[\0r\0"));
    CHECK(IsUtf16("\xFE\xFF\0[\0r"));
    CHECK_FALSE(IsUtf16("\xEF\xBB\xBF["));
    CHECK_FALSE(IsUtf16("\xFF"));
}

TEST_CASE("FirstInvalidUtf8 finds the first byte that is not well-formed UTF-8") {
    const auto npos = std::string_view::npos;
    CHECK(FirstInvalidUtf8("") == npos);
    CHECK(FirstInvalidUtf8("eth0 Gr\xC3\xB6\xC3\x9F" "e \xE2\x82\xAC \xF0\x9F\x94\xA5 \xEF\xBB\xBF") == npos);
    CHECK(FirstInvalidUtf8("Gr\xF6\xDF" "e") == 2);        // Latin-1
    CHECK(FirstInvalidUtf8("a\xC0\xAF") == 1);             // overlong '/'
    CHECK(FirstInvalidUtf8("a\xE0\x80\xAF") == 1);         // overlong, three bytes
    CHECK(FirstInvalidUtf8("a\xED\xA0\x80") == 1);         // a surrogate
    CHECK(FirstInvalidUtf8("a\xF4\x90\x80\x80") == 1);     // past U+10FFFF
    CHECK(FirstInvalidUtf8("a\xF4\x8F\xBF\xBF") == npos);  // U+10FFFF
    CHECK(FirstInvalidUtf8("ab\xE2\x82") == 2);            // cut short
    CHECK(FirstInvalidUtf8("\x80") == 0);                  // a lone continuation byte
    CHECK(FirstInvalidUtf8("\xFF\xFE") == 0);
}
