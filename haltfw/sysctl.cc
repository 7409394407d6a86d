#include "sysctl.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace haltfw {
namespace {

std::string Normalise(const std::string& s) {
    std::string out;
    bool space = false;
    for (char c : s) {
        if (c == ' ' || c == '\t' || c == '\n') {
            space = !out.empty();
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += c;
    }
    return out;
}

}  // namespace

std::string SysctlPath(const std::string& key, const std::string& root) {
    std::string p = root + "/";
    for (char c : key) p += c == '.' ? '/' : c == '/' ? '.' : c;
    return p;
}

bool ReadSysctl(const std::string& key, std::string* value, std::string* err) {
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

bool SysctlValuesEqual(const std::string& a, const std::string& b) { return Normalise(a) == Normalise(b); }

}  // namespace haltfw
