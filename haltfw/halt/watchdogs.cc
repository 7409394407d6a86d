#include "halt/watchdogs.h"

#include <dirent.h>

#include <algorithm>

#include "halt/sys_files.h"

namespace haltfw {
namespace {

// A sysfs attribute's text without its line end (sysfs ends each with one).
std::string_view Chomp(std::string_view s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.remove_suffix(1);
    return s;
}

// A plain decimal number up to `max`; false for anything else ("", "+1",
// "1 s", an overflow).
bool Decimal(std::string_view s, unsigned long max, unsigned long* out) {
    if (s.empty()) return false;
    unsigned long n = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        n = n * 10 + static_cast<unsigned long>(c - '0');
        if (n > max) return false;
    }
    *out = n;
    return true;
}

// "watchdog0 (i6300ESB timer)", or the name alone when the driver gave none.
std::string Label(const Watchdog& w) { return w.name + (w.identity.empty() ? "" : " (" + w.identity + ")"); }

// "the box resets in 30 s": a watchdog left running with nothing to feed it
// fires when its timeout runs out, counted from its last ping (the try's
// open and close ping it: the kernel's release pings one it cannot stop).
std::string ResetsIn(const Watchdog& w) {
    return w.timeout_s > 0 ? "the box resets in " + std::to_string(w.timeout_s) + " s"
                           : "the box resets when its timeout runs out";
}

std::string Line(const WatchdogOutcome& o) {
    const Watchdog& w = o.found;
    if (o.unknown && w.name.empty()) return "watchdog: none seen, but sysfs cannot be read (" + o.unknown_why + ")";
    if (o.unknown) return "watchdog: " + w.name + ": its state cannot be read (" + o.unknown_why + "); left alone";
    if (!w.active) return "watchdog: " + Label(w) + " not running";
    if (!o.active_after) return "watchdog: " + Label(w) + " stopped with the magic close";
    if (!o.error.empty())
        return "watchdog: " + Label(w) + " running; its magic close FAILED: " + o.error + "; " + ResetsIn(w);
    if (w.nowayout) return "watchdog: " + Label(w) + " cannot be stopped (nowayout): " + ResetsIn(w);
    return "watchdog: " + Label(w) + " STILL RUNNING after the magic close: " + ResetsIn(w);
}

}  // namespace

int SysfsSeconds(std::string_view text) {
    unsigned long n = 0;
    return Decimal(Chomp(text), 0x7fffffff, &n) ? static_cast<int>(n) : 0;
}

bool ParseDevNumber(std::string_view text, unsigned* major, unsigned* minor) {
    *major = *minor = 0;
    text = Chomp(text);
    size_t colon = text.find(':');
    if (colon == std::string_view::npos) return false;
    // Not substr, which can throw (text_lines.h): the colon is in range.
    std::string_view a(text.data(), colon), b(text.data() + colon + 1, text.size() - colon - 1);
    unsigned long ma = 0, mi = 0;
    // The kernel's limits: 12 bits of major, 20 of minor (MINORBITS).
    if (!Decimal(a, 0xfff, &ma) || !Decimal(b, 0xfffff, &mi)) return false;
    *major = static_cast<unsigned>(ma);
    *minor = static_cast<unsigned>(mi);
    return true;
}

std::vector<Watchdog> ScanWatchdogs(const std::string& class_dir) {
    std::vector<Watchdog> out;
    DIR* d = opendir(class_dir.c_str());
    if (!d) return out;
    while (dirent* e = readdir(d)) {
        std::string_view name = e->d_name;
        if (name.size() <= 8 || name.compare(0, 8, "watchdog") != 0) continue;
        std::string dir = class_dir + "/" + e->d_name + "/";
        auto attr = [&](const char* a) { return ReadSysFile((dir + a).c_str(), 4096); };
        Watchdog w;
        w.name = e->d_name;
        w.identity = std::string(Chomp(attr("identity")));
        w.active = Chomp(attr("state")) == "active";
        w.nowayout = Chomp(attr("nowayout")) == "1";
        w.timeout_s = SysfsSeconds(attr("timeout"));
        (void)ParseDevNumber(attr("dev"), &w.major, &w.minor);  // none: both stay 0
        out.push_back(std::move(w));
    }
    (void)closedir(d);  // a directory read only: nothing to lose
    std::sort(out.begin(), out.end(), [](const Watchdog& a, const Watchdog& b) { return a.name < b.name; });
    return out;
}

std::vector<WatchdogOutcome> StopRunningWatchdogs(WatchdogDevices* devices) {
    std::vector<WatchdogOutcome> out;
    std::vector<Watchdog> found;
    std::string why;
    if (!devices->Scan(&found, &why)) {
        std::vector<std::string> nodes = devices->Nodes();
        if (nodes.empty()) nodes.emplace_back();
        for (std::string& n : nodes) {
            WatchdogOutcome o;
            o.found.name = std::move(n);
            o.unknown = true;
            o.unknown_why = why;
            out.push_back(std::move(o));
        }
        return out;
    }
    bool tried = false;
    for (Watchdog& w : found) {
        WatchdogOutcome o;
        o.active_after = w.active;
        if (w.active) {
            o.tried = tried = true;
            (void)devices->MagicClose(w, &o.error);  // the state read next tells whether it stopped
        }
        o.found = std::move(w);
        out.push_back(std::move(o));
    }
    if (!tried) return out;
    std::vector<Watchdog> now;
    if (!devices->Scan(&now, &why)) return out;  // not read again: still running, as far as anyone knows
    for (WatchdogOutcome& o : out) {
        if (!o.tried) continue;
        for (const Watchdog& n : now)
            if (n.name == o.found.name) o.active_after = n.active;
    }
    return out;
}

bool WatchdogQuiet(const WatchdogOutcome& o) { return !o.unknown && (!o.found.active || !o.active_after); }

std::vector<std::string> WatchdogReportLines(const std::vector<WatchdogOutcome>& outcomes) {
    if (outcomes.empty()) return {"watchdog: none"};
    std::vector<std::string> lines;
    for (const WatchdogOutcome& o : outcomes) lines.push_back(Line(o));
    return lines;
}

}  // namespace haltfw
