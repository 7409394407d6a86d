#include "halt/watch_state.h"

#include <charconv>
#include <cstring>

#include "halt/sys_files.h"

namespace haltfw {
namespace {

// `key` then a number as FormatWatchState writes it, off the front of
// *rest: digits only, no sign, blank or leading zero, in range. Not sscanf:
// its %d has undefined behaviour on a value out of range, and it takes
// " +08" for 8.
template <typename T>
bool TakeField(std::string_view* rest, std::string_view key, T* v) {
    if (!rest->starts_with(key)) return false;
    rest->remove_prefix(key.size());
    size_t n = 0;
    while (n < rest->size() && (*rest)[n] >= '0' && (*rest)[n] <= '9') ++n;
    if (n == 0 || (n > 1 && rest->front() == '0')) return false;
    if (std::from_chars(rest->data(), rest->data() + n, *v).ec != std::errc()) return false;
    rest->remove_prefix(n);
    return true;
}

}  // namespace

std::string FormatWatchState(const WatchState& s) {
    return "haltfw-watch pid=" + std::to_string(s.pid) + " mode=" + (s.watching ? "watching" : "standby") +
           " restored=" + std::to_string(s.restored) + " failed=" + std::to_string(s.failed) +
           " guard=" + std::to_string(s.guard) + " proven=" + std::to_string(s.proven) +
           " netns=" + std::to_string(s.netns) + "\n";
}

bool ParseWatchState(std::string_view text, WatchState* s) {
    if (text.ends_with('\n')) text.remove_suffix(1);
    WatchState w;
    std::string_view rest = text;
    if (!TakeField(&rest, "haltfw-watch pid=", &w.pid)) return false;
    if (rest.starts_with(" mode=watching")) w.watching = true;
    else if (!rest.starts_with(" mode=standby")) return false;
    rest.remove_prefix(w.watching ? 14 : 13);
    if (!TakeField(&rest, " restored=", &w.restored) || !TakeField(&rest, " failed=", &w.failed) ||
        !TakeField(&rest, " guard=", &w.guard) || !TakeField(&rest, " proven=", &w.proven) ||
        !TakeField(&rest, " netns=", &w.netns) || !rest.empty() || w.pid <= 0)
        return false;
    *s = w;
    return true;
}

bool IsWatcherCmdline(std::string_view cmdline) { return cmdline.starts_with(kWatcherArgv0); }

bool WriteWatchState(const std::string& path, const WatchState& s, std::string* err) {
    return ReplaceFile(path, FormatWatchState(s), 0644, err);
}

WatchStateRead ReadWatchState(const std::string& path, WatchState* s) {
    std::string text;
    bool complete = true;
    (void)ReadFileUpTo(path.c_str(), kWatchStateMax, &text, nullptr, &complete);  // unreadable: nothing there
    if (text.empty()) return WatchStateRead::kNone;
    if (!complete || !ParseWatchState(text, s)) return WatchStateRead::kMalformed;
    return WatchStateRead::kRead;
}

bool WatcherAlive(long pid) {
    if (pid <= 0) return false;
    std::string path = "/proc/" + std::to_string(pid) + "/cmdline";
    // Only its start matters; argv can be as long as ARG_MAX.
    return IsWatcherCmdline(ReadSysFile(path.c_str(), std::strlen(kWatcherArgv0)));
}

}  // namespace haltfw
