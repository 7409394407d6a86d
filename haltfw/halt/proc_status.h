// Reading "Key:   1234 kB" lines of /proc/PID/status and /proc/meminfo.
// Header only and allocation-free: the final stage and haltfw-inert (a
// static program that links no libstdc++) both use it.
#pragma once

#include <string_view>

#include "base/text_lines.h"

namespace haltfw {

/// The value of a "Key:  1234 kB" line of /proc/PID/status (VmRSS, VmHWM)
/// or /proc/meminfo (MemTotal) in KiB; -1 if the key is absent or its value
/// does not parse. Pure.
inline long StatusKib(std::string_view status, std::string_view key) {
    for (std::string_view line; NextLine(&status, &line);) {
        // Not starts_with or substr, which can throw (see text_lines.h).
        if (line.size() <= key.size() || std::string_view(line.data(), key.size()) != key || line[key.size()] != ':')
            continue;
        // "VmRSS:\t    1384 kB": blanks, digits, blanks, the unit.
        std::string_view v = line;
        v.remove_prefix(key.size() + 1);
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
        long n = 0;
        size_t digits = 0;
        for (; digits < v.size() && v[digits] >= '0' && v[digits] <= '9'; ++digits) {
            if (n > (__LONG_MAX__ - 9) / 10) return -1;  // would overflow
            n = n * 10 + (v[digits] - '0');
        }
        if (digits == 0) return -1;
        v.remove_prefix(digits);
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
        return v == "kB" ? n : -1;
    }
    return -1;
}

}  // namespace haltfw
