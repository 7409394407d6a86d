// Walking a text line by line: the one loop every parser here needs
// (mountinfo, /proc/PID/status, ld.so --list, unit files, the INI config,
// the manifest, a serial log).
#pragma once

#include <string_view>

namespace haltfw {

/// Takes the first line of `*rest` off its front into `*line` (without its
/// '\n'), for `while (NextLine(&rest, &line))`. A last line without '\n'
/// counts; an empty text has no lines. Pure.
inline bool NextLine(std::string_view* rest, std::string_view* line) {
    if (rest->empty()) return false;
    size_t nl = rest->find('\n');
    // Not substr: it can throw, and haltfw-inert links no exception support.
    *line = std::string_view(rest->data(), nl == std::string_view::npos ? rest->size() : nl);
    rest->remove_prefix(nl == std::string_view::npos ? rest->size() : nl + 1);
    return true;
}

}  // namespace haltfw
