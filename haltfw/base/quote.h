// QuoteValue: how every message shows a value taken from a file. Header
// only and allocation-light, so that every layer (the config, the manifest,
// the final stage, sysctl names) quotes the same way without linking the
// config library.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace haltfw {

/// How much of a user's value a message quotes.
inline constexpr size_t kQuotedValueMax = 80;

/// A user's value as messages show it: between `open` and `close` (single
/// quotes by default), at most kQuotedValueMax bytes of it, every byte that
/// is not printable ASCII, and the backslash, escaped as \xNN, and a longer
/// value marked "... (N bytes)" after the closing quote:
///   'eth0'   'a\x1b[2J'   'AAAA(80 bytes in all)AAAA'... (10485760 bytes)
/// So a binary config or a 10 MB line neither floods nor drives the
/// terminal. Every value taken from a file goes through this one helper.
inline std::string QuoteValue(std::string_view value, char open = '\'', char close = '\'') {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string_view head = value.substr(0, kQuotedValueMax);
    std::string out(1, open);
    for (unsigned char c : head) {
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out += static_cast<char>(c);
        } else {
            out += "\\x";
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    out += close;
    if (value.size() > head.size()) out += "... (" + std::to_string(value.size()) + " bytes)";
    return out;
}

}  // namespace haltfw
