#include "net/sysctl.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "base/quote.h"

namespace haltfw {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

std::vector<std::string_view> Words(std::string_view s) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && IsSpace(s[i])) ++i;
        size_t b = i;
        while (i < s.size() && !IsSpace(s[i])) ++i;
        if (i > b) out.push_back(s.substr(b, i - b));
    }
    return out;
}

enum class Number { kNo, kYes, kAmbiguous };

int DigitValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return 99;
}

bool Accumulate(std::string_view digits, unsigned base, uint64_t* v) {
    if (digits.empty()) return false;
    *v = 0;
    for (char c : digits) {
        unsigned d = static_cast<unsigned>(DigitValue(c));
        if (d >= base || *v > (UINT64_MAX - d) / base) return false;
        *v = *v * base + d;
    }
    return true;
}

// A word read the way /proc/sys's integer handlers read it (proc_get_long:
// an optional '-', then strtoul with base 0: "0x" hex, a leading 0 octal).
// kAmbiguous: a leading-0 word whose octal reading differs from its decimal
// one ("010" is 8 to the kernel) or is no octal at all ("08", refused).
Number ParseNumber(std::string_view w, bool* neg, uint64_t* v) {
    *neg = !w.empty() && w[0] == '-';
    if (*neg) w.remove_prefix(1);
    if (w.size() > 2 && w[0] == '0' && (w[1] == 'x' || w[1] == 'X'))
        return Accumulate(w.substr(2), 16, v) ? Number::kYes : Number::kNo;
    if (!Accumulate(w, 10, v)) return Number::kNo;
    if (w.size() < 2 || w[0] != '0') return Number::kYes;
    size_t nz = w.find_first_not_of('0');
    // Octal and decimal agree only for a single digit 0-7 after the zeros.
    bool same = nz == std::string_view::npos || (nz + 1 == w.size() && w[nz] <= '7');
    return same ? Number::kYes : Number::kAmbiguous;
}

}  // namespace

bool CheckSysctlKey(std::string_view key, std::string* why) {
    // kernel.*: an exact name or nothing, so that no key reaches another
    // file under /proc/sys/kernel (kernel.modprobe, kernel.core_pattern).
    if (key.starts_with("kernel.")) {
        std::string names;
        for (const char* k : kPanicSysctls) {
            if (key == k) return true;
            names += (names.empty() ? "" : ", ") + std::string(k);
        }
        *why = "under kernel.* only the panic settings can be set (" + names + ")";
        return false;
    }
    if (!key.starts_with("net.")) {
        *why = "only keys under net.* (and the kernel.* panic settings) can be set";
        return false;
    }
    size_t start = 0;
    for (;;) {
        size_t dot = key.find('.', start);
        std::string_view c = key.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (c.empty()) {
            *why = "empty component";
            return false;
        }
        for (char ch : c) {
            bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                      ch == '-' || ch == '@' || ch == '+' || ch == '/';
            if (!ok) {
                *why = "character " + QuoteValue(std::string_view(&ch, 1)) +
                       " is not allowed (letters, digits, '_', '-', '@', '+', and '/' for a '.' in an interface name)";
                return false;
            }
        }
        // '/' is sysctl(8)'s '.' inside a name: "//" would be the path "..".
        if (c == "/" || c == "//") {
            *why = "component " + QuoteValue(c) + " would be " + (c == "/" ? "'.'" : "'..'") +
                   " (a '/' stands for a '.' in an interface name)";
            return false;
        }
        if (dot == std::string_view::npos) return true;
        start = dot + 1;
    }
}

bool CheckSysctlValue(std::string_view value, std::string* why) {
    if (Words(value).empty()) {
        *why = "empty value";
        return false;
    }
    if (value.size() > kSysctlValueMax) {
        *why = "longer than " + std::to_string(kSysctlValueMax) + " bytes, the most the kernel parses";
        return false;
    }
    for (char c : value) {
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
            *why = "control byte " + QuoteValue(std::string_view(&c, 1)) + " (words are separated by spaces or tabs)";
            return false;
        }
    }
    for (std::string_view w : Words(value)) {
        bool neg = false;
        uint64_t v = 0;
        if (ParseNumber(w, &neg, &v) != Number::kAmbiguous) continue;
        uint64_t octal = 0;
        bool is_octal = Accumulate(w.substr(neg ? 1 : 0), 8, &octal);
        *why = "the kernel reads a number with a leading 0 as octal (" + QuoteValue(w) +
               (is_octal ? " is " + std::string(neg ? "-" : "") + std::to_string(octal) : " is not octal") +
               "): write it without the 0";
        return false;
    }
    return true;
}

std::string SysctlKernelForm(std::string_view value) {
    std::string out;
    bool all_numbers = true;
    std::vector<std::string> words;
    for (std::string_view w : Words(value)) {
        bool neg = false;
        uint64_t v = 0;
        if (ParseNumber(w, &neg, &v) == Number::kYes) {
            words.push_back((neg && v != 0 ? "-" : "") + std::to_string(v));
        } else {
            words.emplace_back(w);
            all_numbers = false;
        }
    }
    for (const std::string& w : words) {
        if (!out.empty()) out += all_numbers ? '\t' : ' ';
        out += w;
    }
    return out;
}

bool SysctlValuesEqual(std::string_view a, std::string_view b) { return SysctlKernelForm(a) == SysctlKernelForm(b); }

std::string SysctlPath(const std::string& key, const std::string& root) {
    std::string p = root + "/";
    for (char c : key) p += c == '.' ? '/' : c == '/' ? '.' : c;
    return p;
}

bool ReadSysctl(const std::string& key, std::string* value, std::string* err) {
    std::string why;
    if (!CheckSysctlKey(key, &why)) {
        *err = "read " + QuoteValue(key) + ": refused: " + why;
        return false;
    }
    int fd = open(SysctlPath(key).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *err = "read " + key + ": " + std::strerror(errno);
        return false;
    }
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    int saved = errno;
    close(fd);
    if (n < 0) {
        *err = "read " + key + ": " + std::strerror(saved);
        return false;
    }
    value->assign(buf, static_cast<size_t>(n));
    while (!value->empty() && value->back() == '\n') value->pop_back();
    return true;
}

bool WriteSysctl(const std::string& key, const std::string& value, std::string* err) {
    std::string why;
    if (!CheckSysctlKey(key, &why)) {
        *err = "write " + QuoteValue(key) + ": refused: " + why;
        return false;
    }
    int fd = open(SysctlPath(key).c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        *err = "write " + key + " = " + value + ": " + std::strerror(errno);
        return false;
    }
    // One write() call: /proc/sys handlers parse each write on its own.
    ssize_t n = write(fd, value.data(), value.size());
    int saved = errno;
    close(fd);
    if (n != static_cast<ssize_t>(value.size())) {
        *err = "write " + key + " = " + value + ": " + (n < 0 ? std::strerror(saved) : "short write");
        return false;
    }
    return true;
}

std::string SysctlKeyDevice(const std::string& key) {
    for (const char* head : {"net.ipv4.conf.", "net.ipv6.conf.", "net.ipv4.neigh.", "net.ipv6.neigh."}) {
        if (key.rfind(head, 0) != 0) continue;
        std::string rest = key.substr(std::string(head).size());
        size_t dot = rest.find('.');
        if (dot == std::string::npos) return "";
        std::string dev = rest.substr(0, dot);
        if (dev == "all" || dev == "default") return "";
        for (char& c : dev)
            if (c == '/') c = '.';
        return dev;
    }
    return "";
}

}  // namespace haltfw
