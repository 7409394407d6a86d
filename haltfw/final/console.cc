#include "final/console.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/exitrd_layout.h"

namespace haltfw {
namespace {

int g_kmsg = -1;

// One write(2), its result ignored: the console and the kernel log are
// where failures are said, so there is nowhere to say theirs.
void WriteIgnoring(int fd, std::string_view text) {
    ssize_t ignored = write(fd, text.data(), text.size());
    (void)ignored;
}

}  // namespace

int OpenOwnNode(const char* path, dev_t dev, int flags, std::string* err) {
    if (mknod(path, S_IFCHR | 0600, dev) != 0) {
        *err = std::string("mknod ") + path + ": " + std::strerror(errno);
        return -1;
    }
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0) *err = std::string("open ") + path + ": " + std::strerror(errno);
    // A node left behind costs a few bytes of the tmpfs, and haltfw-inert
    // removes it with the rest.
    (void)unlink(path);
    return fd;
}

void OwnConsole() {
    std::string console_err, kmsg_err;
    int fd = OpenOwnNode(kExitrdConsole, makedev(5, 1), O_RDWR | O_NOCTTY, &console_err);
    if (fd >= 0) {
        // dup2 clears O_CLOEXEC: the console is what haltfw-inert inherits.
        // One that fails leaves that fd on the console systemd-shutdown passed.
        for (int i = 0; i < 3; ++i) (void)dup2(fd, i);
        if (fd > 2) (void)close(fd);
    }
    g_kmsg = OpenOwnNode(kExitrdKmsg, makedev(1, 11), O_WRONLY, &kmsg_err);
    if (fd < 0) Say(console_err + "; the console stays on the descriptors systemd-shutdown passed");
    if (g_kmsg < 0) Say(kmsg_err + "; messages go to the console alone");
}

void Say(const std::string& msg) {
    std::string l = "haltfw-final: " + msg + "\n";
    WriteConsole(l);
    if (g_kmsg >= 0) {
        WriteIgnoring(g_kmsg, "<6>" + l);
    }
}

void Kmsg(const std::string& line) {
    if (g_kmsg < 0) return;
    WriteIgnoring(g_kmsg, "<6>haltfw-final: " + line + "\n");
}

bool KmsgLines(std::string_view text) {
    if (g_kmsg < 0) return false;
    bool ok = true;
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string line = "<6>" + std::string(text.substr(0, nl)) + "\n";
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        ssize_t n = write(g_kmsg, line.data(), line.size());
        ok = ok && n == static_cast<ssize_t>(line.size());
    }
    return ok;
}

void WriteConsole(std::string_view text) { WriteIgnoring(1, text); }

void CloseKmsg() {
    if (g_kmsg >= 0) (void)close(g_kmsg);
    g_kmsg = -1;
}

int KmsgFd() { return g_kmsg; }

long MonotonicMs() {
    timespec ts{};
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);  // cannot fail for CLOCK_MONOTONIC
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace haltfw
