#include "core/watchdogs.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace haltfw {
namespace {

// The first line of a small sysfs attribute, "" if it cannot be read.
std::string Attribute(const std::filesystem::path& dir, const char* name) {
    std::ifstream f(dir / name);
    std::string line;
    std::getline(f, line);
    return line;
}

}  // namespace

std::vector<Watchdog> ReadWatchdogs(const std::string& class_dir) {
    std::vector<Watchdog> out;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(class_dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::string name = it->path().filename().string();
        if (!name.starts_with("watchdog")) continue;
        Watchdog w;
        w.name = name;
        w.identity = Attribute(it->path(), "identity");
        w.active = Attribute(it->path(), "state") == "active";
        w.nowayout = Attribute(it->path(), "nowayout") == "1";
        w.timeout_s = std::atoi(Attribute(it->path(), "timeout").c_str());
        out.push_back(w);
    }
    std::sort(out.begin(), out.end(), [](const Watchdog& a, const Watchdog& b) { return a.name < b.name; });
    return out;
}

}  // namespace haltfw
