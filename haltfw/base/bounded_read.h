// Reading a small file into a buffer the caller owns: no allocation, every
// fd O_CLOEXEC, EINTR retried, never past the buffer. The one read loop of
// the programs that run as PID 1: haltfw-inert (static, no libstdc++) uses
// it as it is, and halt/sys_files.h builds its std::string reads on it.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

namespace haltfw {

/// read(2), retried while it is interrupted (EINTR).
inline ssize_t ReadRetrying(int fd, char* buf, size_t size) {
    for (;;) {
        ssize_t n = read(fd, buf, size);
        if (n >= 0 || errno != EINTR) return n;
    }
}

/// The text of `path` (a /proc file, say) into `buf`, at most `size` - 1
/// bytes, NUL-terminated; returns its length, or -1 (with errno, `buf`
/// "") if it cannot be opened. A read error ends the text where it
/// stopped. `size` must be at least 1.
inline long ReadFileInto(const char* path, char* buf, size_t size) {
    buf[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t len = 0;
    for (ssize_t n; len + 1 < size && (n = ReadRetrying(fd, buf + len, size - 1 - len)) > 0;)
        len += static_cast<size_t>(n);
    buf[len] = '\0';
    (void)close(fd);  // read-only: nothing to lose
    return static_cast<long>(len);
}

}  // namespace haltfw
