#include "core/ini.h"

#include "base/text_lines.h"

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

}  // namespace

IniFile ParseIni(std::string_view text, const std::string& file, Diagnostics* diags) {
    IniFile out;
    std::string section;
    int lineno = 0;
    for (std::string_view raw; NextLine(&text, &raw);) {
        ++lineno;

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
            diags->Error(file, lineno, "expected 'key = value' or '[section]', got " + QuoteValue(line));
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
