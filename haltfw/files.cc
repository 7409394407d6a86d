#include "files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace haltfw {
namespace {

std::string SysError(const std::string& what) { return what + ": " + std::strerror(errno); }

bool WriteAll(int fd, const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
        ssize_t n = write(fd, data.data() + off, data.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0) errno = EIO;
            return false;
        }
        off += static_cast<size_t>(n);
    }
    return true;
}

}  // namespace

UniqueFd::~UniqueFd() {
    if (fd_ >= 0) close(fd_);
}

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) close(fd_);
        fd_ = o.release();
    }
    return *this;
}

int UniqueFd::release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
}

bool UniqueFd::Close(std::string* err, const std::string& path) {
    int fd = release();
    if (fd >= 0 && close(fd) != 0) {
        *err = SysError("close " + path);
        return false;
    }
    return true;
}

bool ReadWholeFile(const std::string& path, std::string* out, std::string* err, size_t limit) {
    err->clear();
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        if (errno != ENOENT) *err = SysError("read " + path);
        return false;
    }
    out->clear();
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            *err = SysError("read " + path);
            return false;
        }
        if (n == 0) return true;
        out->append(buf, static_cast<size_t>(n));
        if (out->size() > limit) {
            *err = "read " + path + ": larger than " + std::to_string(limit >> 20) + " MiB";
            return false;
        }
    }
}

bool WriteFileAtomic(const std::string& path, const std::string& content, mode_t mode, std::string* err) {
    std::string tmp = path + ".tmp";
    UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
    if (!fd.valid()) {
        *err = SysError("write " + tmp);
        return false;
    }
    // O_CREAT's mode is filtered by the umask and ignored for an existing
    // temporary file: set it explicitly.
    bool ok = fchmod(fd.get(), mode) == 0 && WriteAll(fd.get(), content) && fsync(fd.get()) == 0;
    if (!ok) *err = SysError("write " + tmp);
    if (ok && !fd.Close(err, tmp)) ok = false;
    if (ok && rename(tmp.c_str(), path.c_str()) != 0) {
        *err = SysError("rename " + tmp + " to " + path);
        ok = false;
    }
    if (!ok) unlink(tmp.c_str());
    return ok;
}

bool RemoveFile(const std::string& path, bool* removed, std::string* err) {
    *removed = false;
    if (unlink(path.c_str()) == 0) {
        *removed = true;
        return true;
    }
    if (errno == ENOENT) return true;
    *err = SysError("remove " + path);
    return false;
}

}  // namespace haltfw
