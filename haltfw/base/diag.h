// Diagnostics as values (after mold's Error(ctx) << ... / checkpoint()): a
// parser records every problem it finds and goes on, so the user sees all the
// bad lines of a file at once; the caller decides when to stop.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace haltfw {

struct Diagnostic {
    std::string file;   ///< As the user named it; empty for no file.
    int line = 0;       ///< 1-based; 0 for "the file as a whole".
    std::string message;

    /// "FILE:LINE: MESSAGE", "FILE: MESSAGE" or "MESSAGE".
    std::string Format() const;
};

class Diagnostics {
public:
    void Error(std::string file, int line, std::string message);
    void Warning(std::string file, int line, std::string message);

    bool ok() const { return errors_.empty(); }
    const std::vector<Diagnostic>& errors() const { return errors_; }
    const std::vector<Diagnostic>& warnings() const { return warnings_; }

    /// Every error, one formatted line each, in the order recorded.
    std::string FormatErrors() const;
    /// Every warning, the same way.
    std::string FormatWarnings() const;

private:
    std::vector<Diagnostic> errors_;
    std::vector<Diagnostic> warnings_;
};

/// How much of a user's value a message quotes.
inline constexpr size_t kQuotedValueMax = 80;

/// A user's value as messages show it: between `open` and `close` (single
/// quotes by default), at most kQuotedValueMax bytes of it, every byte that
/// is not printable ASCII, and the backslash, escaped as \xNN, and a longer
/// value marked "... (N bytes)" after the closing quote:
///   'eth0'   'a\x1b[2J'   'AAAA(80 bytes in all)AAAA'... (10485760 bytes)
/// So a binary config or a 10 MB line neither floods nor drives the
/// terminal. Every value taken from a file goes through this one helper.
/// Inline, so that code outside the config library (the manifest, the
/// final stage, sysctl.cc) quotes with it too without linking diag.cc.
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
