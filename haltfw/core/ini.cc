#include "core/ini.h"

#include "base/text_encoding.h"
#include "base/text_lines.h"
#include "net/wg_key.h"

namespace haltfw {
namespace {

std::string_view Trim(std::string_view s) {
    const char* ws = " \t\r";
    size_t b = s.find_first_not_of(ws);
    if (b == std::string_view::npos) return {};
    size_t e = s.find_last_not_of(ws);
    return s.substr(b, e - b + 1);
}

// A '#' starts a comment at the beginning of a line or after white space, so
// that values such as "mac = 52:54:00:12:34:56" or nft-like text keep a '#'
// written inside a word.
std::string_view StripComment(std::string_view s) {
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '#' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) return s.substr(0, i);
    }
    return s;
}

// What in a line makes it unreadable, or "". A CR or NUL anywhere, even in
// a comment: a terminal or an editor shows such a line other than the
// parser reads it (a CR sends the cursor back over what came before). A
// byte order mark past the start of the file, or bytes that are not UTF-8,
// outside a comment (a comment in Latin-1 harms nothing).
std::string BadBytes(std::string_view raw) {
    if (raw.find('\0') != std::string_view::npos) return "a NUL byte: not a text file (or one saved as UTF-16)";
    if (raw.find('\r') != std::string_view::npos)
        return "a carriage return (CR) inside the line: lines end in LF or CRLF";
    std::string_view text = StripComment(raw);
    if (Trim(text).starts_with(';')) return {};
    if (text.find(kUtf8Bom) != std::string_view::npos)
        return "a byte order mark (U+FEFF) inside the file: only the file's first bytes may be one";
    if (FirstInvalidUtf8(text) != std::string_view::npos) return "not UTF-8: " + QuoteValue(Trim(text));
    return {};
}

}  // namespace

IniFile ParseIni(std::string_view text, const std::string& file, Diagnostics* diags) {
    IniFile out;
    if (IsUtf16(text)) {
        diags->Error(file, 0, "UTF-16 text (it starts with a UTF-16 byte order mark): save it as UTF-8");
        return out;
    }
    // A file saved on Windows: its byte order mark and the CRs of its CRLF
    // line ends go before anything else, so no value keeps a '\r' and every
    // line number is the one an editor shows.
    text = WithoutBom(text);
    std::string section;
    int lineno = 0;
    for (std::string_view raw; NextLine(&text, &raw);) {
        ++lineno;
        raw = WithoutLineEndCr(raw);
        if (std::string bad = BadBytes(raw); !bad.empty()) {
            diags->Error(file, lineno, std::move(bad));
            continue;
        }

        std::string_view line = Trim(StripComment(raw));
        if (line.empty() || line[0] == ';') continue;
        if (line[0] == '[') {
            if (line.back() != ']') {
                diags->Error(file, lineno, "unclosed section header " + QuoteValue(line));
                continue;
            }
            section = std::string(Trim(line.substr(1, line.size() - 2)));
            if (section.empty()) diags->Error(file, lineno, "empty section name");
            out.sections.push_back({section, lineno});
            continue;
        }
        size_t eq = line.find('=');
        if (eq == std::string_view::npos) {
            // A WireGuard key alone on a line is not repeated (net/wg_key.h).
            diags->Error(file, lineno, "expected 'key = value' or '[section]', got " +
                                           (LooksLikeWgKey(line) ? "a line that looks like a key (not shown)"
                                                                 : QuoteValue(line)));
            continue;
        }
        std::string key(Trim(line.substr(0, eq)));
        if (key.empty()) {
            diags->Error(file, lineno, "missing key before '='");
            continue;
        }
        out.entries.push_back({section, std::move(key), std::string(Trim(line.substr(eq + 1))), lineno});
    }
    return out;
}

}  // namespace haltfw
