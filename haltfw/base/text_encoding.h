// What haltfw accepts of a text file edited on another system. haltfw.conf
// and the rules files live on a FAT partition that users edit from any
// computer, so a file may come with CRLF line ends and a UTF-8 byte order
// mark (Windows editors write both). Those two are dropped; nothing else is:
// a lone CR, a NUL or a byte order mark inside the text stays for the parser
// to report with its line. Line numbers never move (only line ends change),
// and line 1's columns count from after the mark, as an editor shows them.
// Pure, header only.
#pragma once

#include <string>
#include <string_view>

namespace haltfw {

/// U+FEFF in UTF-8: the byte order mark a Windows editor puts first.
inline constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

/// `text` without a UTF-8 byte order mark at its start.
inline std::string_view WithoutBom(std::string_view text) {
    if (text.starts_with(kUtf8Bom)) text.remove_prefix(kUtf8Bom.size());
    return text;
}

/// A line as NextLine gives it, without the CR of its CRLF end (or the CR
/// that ends the last line of a text). Any other CR stays.
inline std::string_view WithoutLineEndCr(std::string_view line) {
    if (line.ends_with('\r')) line.remove_suffix(1);
    return line;
}

/// Whether `text` starts with a UTF-16 byte order mark (FF FE or FE FF):
/// Notepad's "Unicode", which no parser here reads.
inline bool IsUtf16(std::string_view text) {
    return text.starts_with("\xFF\xFE") || text.starts_with("\xFE\xFF");
}

/// Whether UnixText would change `text`: a byte order mark first, a CRLF,
/// or a CR last.
inline bool HasWindowsTextMarks(std::string_view text) {
    return text.starts_with(kUtf8Bom) || text.find("\r\n") != std::string_view::npos || text.ends_with('\r');
}

/// `text` without its byte order mark and with the CR of every CRLF (and a
/// CR at the very end) dropped: the file as nft needs it.
inline std::string UnixText(std::string_view text) {
    text = WithoutBom(text);
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        bool line_end_cr = text[i] == '\r' && (i + 1 == text.size() || text[i + 1] == '\n');
        if (!line_end_cr) out.push_back(text[i]);
    }
    return out;
}

/// The offset of the first byte of `text` that does not belong to well-formed
/// UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF),
/// or npos if there is none.
inline size_t FirstInvalidUtf8(std::string_view text) {
    size_t i = 0;
    while (i < text.size()) {
        auto b = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
        unsigned char c = b(i);
        size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (n == 0 || i + n > text.size()) return i;
        // The second byte's range rules out overlong forms, surrogates
        // (ED A0..BF) and code points past U+10FFFF (F4 90.., F5..).
        unsigned char lo = 0x80, hi = 0xBF;
        if (n == 2 && c < 0xC2) return i;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
        if (c > 0xF4) return i;
        for (size_t k = 1; k < n; ++k) {
            unsigned char want_lo = k == 1 ? lo : 0x80, want_hi = k == 1 ? hi : 0xBF;
            if (b(i + k) < want_lo || b(i + k) > want_hi) return i;
        }
        i += n;
    }
    return std::string_view::npos;
}

}  // namespace haltfw
