#include "final/fail_closed.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <exception>
#include <new>

#include "final/console.h"
#include "halt/report.h"
#include "net/sysctl.h"

namespace haltfw {
namespace {

// The files of kForwardingSysctls under /proc/sys, spelled out: the handler
// cannot build a path (SysctlPath allocates). Held to the keys below.
constexpr const char* kForwardingFiles[2] = {"/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv6/conf/all/forwarding"};

// Whether `path` is SysctlPath(key): "/proc/sys/", then the key with its
// dots as slashes and its slashes as dots.
constexpr bool IsSysctlFile(const char* key, const char* path) {
    for (const char* root = "/proc/sys/"; *root != '\0'; ++root, ++path)
        if (*path != *root) return false;
    for (; *key != '\0'; ++key, ++path)
        if (*path != (*key == '.' ? '/' : *key == '/' ? '.' : *key)) return false;
    return *path == '\0';
}
static_assert(IsSysctlFile(kForwardingSysctls[0], kForwardingFiles[0]), "not the file of kForwardingSysctls[0]");
static_assert(IsSysctlFile(kForwardingSysctls[1], kForwardingFiles[1]), "not the file of kForwardingSysctls[1]");

enum class Cause { kMemory, kException, kAbort, kExit };

// What the line says, and the report's reason word.
struct CauseText {
    const char* what;
    const char* reason;
};
constexpr CauseText kCauses[] = {
    {"out of memory (an allocation failed)", "memory"},
    {"an unexpected C++ exception (std::terminate)", "exception"},
    {"abort() called (a library's failed assertion, or a corrupted heap)", "abort"},
    {"exit() called by library code", "exit"},
};

FailClosedMode g_mode = FailClosedMode::kVerify;
int g_fds[2] = {-1, -1};
// Set by the first thread to fail closed; any other waits for ever.
std::atomic_flag g_fired;  // clear (C++20)

// Text built on the stack, cut short rather than grown: the heap may be
// what failed.
class Line {
public:
    Line& operator<<(const char* s) {
        while (*s != '\0' && len_ < sizeof buf_ - 1) buf_[len_++] = *s++;
        buf_[len_] = '\0';
        return *this;
    }
    const char* c_str() const { return buf_; }
    // One write(2), as the kernel log takes a record; its result ignored:
    // this is where failures are said, so there is nowhere to say its own.
    void WriteTo(int fd) const {
        ssize_t ignored = write(fd, buf_, len_);
        (void)ignored;
    }

private:
    char buf_[512] = "";
    size_t len_ = 0;
};

// "0" into a forwarding switch through `fd`, read back, as the watcher's
// ForwardingOffByFds does: pwrite at offset 0, since /proc/sys ignores a
// write at any other offset (sysctl_writes_strict).
bool WriteZero(int fd) {
    char now = 0;
    return fd >= 0 && pwrite(fd, "0\n", 2, 0) == 2 && pread(fd, &now, 1, 0) == 1 && now == '0';
}

// Both switches off, through the descriptor given or else /proc/sys's
// file; *off[i] whether kForwardingSysctls[i] reads 0 after.
void ForwardingOff(bool off[2]) {
    for (int i = 0; i < 2; ++i) {
        off[i] = WriteZero(g_fds[i]);
        if (off[i]) continue;
        int fd = open(kForwardingFiles[i], O_RDWR | O_CLOEXEC);
        off[i] = WriteZero(fd);
        if (fd >= 0) (void)close(fd);
    }
}

// PID 1's end here: it may never exit (the kernel would panic), so it
// waits for signals (all blocked) for ever, reaping any child left.
[[noreturn]] void StayForever() {
    sigset_t all;
    sigfillset(&all);
    for (;;) {
        (void)sigwaitinfo(&all, nullptr);  // a failed wait changes nothing
        while (waitpid(-1, nullptr, WNOHANG) > 0) {
        }
    }
}

[[noreturn]] void FailClosed(Cause cause) {
    // Nothing may interrupt the steps below: a helper's signal handler
    // could allocate, and PID 1 has every signal blocked anyway.
    sigset_t all;
    sigfillset(&all);
    (void)pthread_sigmask(SIG_BLOCK, &all, nullptr);  // a valid set and how: cannot fail
    // A second thread failing too waits; the first ends the process (a
    // helper) or keeps it for ever (PID 1).
    if (g_fired.test_and_set()) StayForever();
    const CauseText& c = kCauses[static_cast<int>(cause)];

    bool off[2];
    ForwardingOff(off);
    Line failed;
    for (int i = 0; i < 2; ++i)
        if (!off[i]) failed << (failed.c_str()[0] != '\0' ? ", " : "") << kForwardingSysctls[i];
    const char* failed_sep = failed.c_str()[0] != '\0' ? "; FAILED for: " : "";

    Line line;
    line << (g_mode == FailClosedMode::kWatch ? "haltfw-watch: " : "haltfw-final: ") << c.what
         << ": forwarding turned OFF, fail closed" << failed_sep << failed.c_str() << "\n";
    line.WriteTo(2);
    if (g_mode != FailClosedMode::kPid1) _exit(kFailClosedExit);

    // PID 1: a report of two lines, so that verify-console reads
    // HALTED-FAIL and not "no report" (halt/report.h); the kernel log's
    // copy as the final stage's own report would give it.
    Line report;
    report << kReportPrefix << "report begin (haltfw " << HALTFW_VERSION << ")\n"
           << kReportPrefix << c.what << ": forwarding turned OFF for every family (fail closed)"
           << (failed_sep[0] != '\0' ? "; FAILED: " : "") << failed.c_str() << "\n"
           << kReportPrefix << "HALTED-FAIL reason=" << c.reason << " lines=2\n";
    report.WriteTo(1);
    int kmsg = KmsgFd();
    if (kmsg >= 0) {
        Line k1, k2;
        k1 << "<6>" << line.c_str();
        k2 << "<6>haltfw-final: HALTED-FAIL reason=" << c.reason << "\n";
        k1.WriteTo(kmsg);
        k2.WriteTo(kmsg);
    }
    StayForever();
}

[[noreturn]] void OnNoMemory() { FailClosed(Cause::kMemory); }
[[noreturn]] void OnTerminate() { FailClosed(Cause::kException); }
// PID 1 only: abort() raises SIGABRT (unblocked) before its last resort,
// a forced SIGSEGV, which would kill init; exit() runs the atexit
// functions before the process ends, which for init is a panic too.
// Neither handler returns.
void OnAbort(int) { FailClosed(Cause::kAbort); }
void OnExit() { FailClosed(Cause::kExit); }

}  // namespace

void InstallFailClosed(FailClosedMode mode, int ipv4_fd, int ipv6_fd) {
    g_mode = mode;
    g_fds[0] = ipv4_fd;
    g_fds[1] = ipv6_fd;
    // Each returns the handler it replaces: libstdc++'s defaults, unused.
    (void)std::set_new_handler(OnNoMemory);
    (void)std::set_terminate(OnTerminate);
    if (mode != FailClosedMode::kPid1) return;
    // A helper may end as it will; PID 1 never. (No allocation here: these
    // are the first calls of main.)
    struct sigaction sa {};
    sa.sa_handler = OnAbort;
    sigfillset(&sa.sa_mask);
    (void)sigaction(SIGABRT, &sa, nullptr);  // a valid signal and handler: cannot fail
    (void)std::atexit(OnExit);               // fails only past 32 functions; this is the first
}

}  // namespace haltfw
