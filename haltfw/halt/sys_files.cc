#include "halt/sys_files.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/bounded_read.h"

namespace haltfw {
namespace {

bool Fail(std::string* err, const char* op, const std::string& path, int error) {
    if (err) *err = std::string(op) + "(" + path + "): " + std::strerror(error);
    return false;
}

// write(2) once, retried while it is interrupted.
ssize_t WriteRetrying(int fd, std::string_view data) {
    for (;;) {
        ssize_t n = write(fd, data.data(), data.size());
        if (n >= 0 || errno != EINTR) return n;
    }
}

}  // namespace

bool ReadFileUpTo(const char* path, size_t max, std::string* out, std::string* err, bool* complete) {
    out->clear();
    if (complete) *complete = true;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Fail(err, "open", path, errno);
    char buf[4096];
    bool ok = true;
    // One byte past the bound tells a file of exactly `max` bytes from a
    // longer one.
    for (;;) {
        size_t want = std::min(sizeof buf, max + 1 - out->size());
        ssize_t n = ReadRetrying(fd, buf, want);
        if (n < 0) ok = Fail(err, "read", path, errno);
        if (n <= 0) break;
        out->append(buf, static_cast<size_t>(n));
        if (out->size() > max) {
            out->resize(max);
            if (complete) *complete = false;
            break;
        }
    }
    (void)close(fd);  // read-only: nothing to lose
    return ok;
}

std::string ReadSysFile(const char* path, size_t max) {
    std::string text;
    (void)ReadFileUpTo(path, max, &text);  // what was read, or ""
    return text;
}

bool WriteSysFile(const char* path, std::string_view value, std::string* err) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return Fail(err, "open", path, errno);
    ssize_t n = WriteRetrying(fd, value);
    int error = n < 0 ? errno : EIO;  // EIO: a short write
    bool ok = n == static_cast<ssize_t>(value.size());
    // A sysctl reports a refused value at write(2); close(2) adds nothing.
    (void)close(fd);
    return ok || Fail(err, "write", path, error);
}

bool ReplaceFile(const std::string& path, std::string_view text, unsigned mode, std::string* err) {
    std::string tmp = path + ".new";
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) return Fail(err, "open", tmp, errno);
    ssize_t n = WriteRetrying(fd, text);
    int error = n < 0 ? errno : EIO;  // EIO: a short write
    bool ok = n == static_cast<ssize_t>(text.size());
    if (close(fd) != 0 && ok) {
        ok = false;
        error = errno;
    }
    if (!ok) {
        (void)unlink(tmp.c_str());  // a half-written file helps no one
        return Fail(err, "write", tmp, error);
    }
    if (rename(tmp.c_str(), path.c_str()) != 0) {
        error = errno;
        (void)unlink(tmp.c_str());
        return Fail(err, "rename", tmp, error);
    }
    return true;
}

}  // namespace haltfw
