#include "arm/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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
    // Straight into the string, sized from fstat when the file has a size
    // (not /proc's): the exitrd's libraries are megabytes, read on every
    // arm and halt, and growing the string 64 KiB at a time copied each one
    // several times over (page faults and memmove, slow under emulation).
    struct stat st{};
    size_t chunk = 65536;
    if (fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && static_cast<size_t>(st.st_size) <= limit)
        chunk = static_cast<size_t>(st.st_size) + 1;  // +1: the read that sees the end
    size_t used = 0;
    for (;;) {
        if (used == out->size()) out->resize(used + chunk);
        ssize_t n = read(fd.get(), out->data() + used, out->size() - used);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            *err = SysError("read " + path);
            out->clear();
            return false;
        }
        if (n == 0) {
            out->resize(used);
            return true;
        }
        used += static_cast<size_t>(n);
        if (used > limit) {
            *err = "read " + path + ": larger than " +
                   (limit % (size_t{1} << 20) == 0 ? std::to_string(limit >> 20) + " MiB"
                                                   : std::to_string(limit) + " bytes");
            out->clear();
            return false;
        }
        chunk = std::max<size_t>(65536, used);  // a file that grew, or one without a size: doubling
    }
}

bool FileHolds(const std::string& path, std::string_view content, bool* same, std::string* err) {
    err->clear();
    *same = false;
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        if (errno == ENOENT) return true;
        *err = SysError("read " + path);
        return false;
    }
    struct stat st{};
    if (fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && static_cast<size_t>(st.st_size) != content.size())
        return true;
    char buf[65536];
    size_t off = 0;
    for (;;) {
        ssize_t n = read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            *err = SysError("read " + path);
            return false;
        }
        if (n == 0) break;
        size_t got = static_cast<size_t>(n);
        if (got > content.size() - off || std::memcmp(buf, content.data() + off, got) != 0) return true;
        off += got;
    }
    *same = off == content.size();
    return true;
}

bool WriteFileAtomic(const std::string& path, const std::string& content, mode_t mode, std::string* err,
                     Durability durability) {
    std::string tmp = path + ".tmp";
    UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
    if (!fd.valid()) {
        *err = SysError("write " + tmp);
        return false;
    }
    // O_CREAT's mode is filtered by the umask and ignored for an existing
    // temporary file: set it explicitly.
    bool ok = fchmod(fd.get(), mode) == 0 && WriteAll(fd.get(), content) &&
              (durability == Durability::kNoFsync || fsync(fd.get()) == 0);
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
