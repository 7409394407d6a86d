#include "arm/run_lock.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <cstring>
#include <thread>

#include "core/state_file.h"
#include "base/text_lines.h"

namespace haltfw {
namespace {

std::string SysError(const std::string& what) { return what + ": " + std::strerror(errno); }

// Who holds the lock on the file `st` describes: the pid from /proc/locks,
// the verb from the file if the pid it names is that one.
LockOwner ReadOwner(const struct stat& st) {
    LockOwner owner, written;
    std::string locks, text, err;
    if (ReadWholeFile("/proc/locks", &locks, &err))
        owner.pid = FlockHolder(locks, major(st.st_dev), minor(st.st_dev), st.st_ino);
    if (ReadWholeFile(RunLockPath(), &text, &err, 4096) && ParseLockOwner(text, &written)) {
        if (owner.pid == 0 || owner.pid == written.pid) owner = written;
    }
    return owner;
}

void Wake(int) {}

// Blocks in flock() until the lock is ours or `wait` has passed: the kernel
// wakes us when the holder lets go. SIGALRM bounds the wait: its handler is
// installed without SA_RESTART, so flock() returns EINTR; the timer repeats
// every second, so that one that fired just before flock() blocked (and
// was lost) delays the end by a second at most, never for ever.
bool FlockWithin(int fd, std::chrono::seconds wait, bool* timed_out, std::string* err) {
    struct sigaction sa {}, old_sa {};
    sa.sa_handler = Wake;
    sigemptyset(&sa.sa_mask);
    itimerval tick{{1, 0}, {static_cast<time_t>(wait.count()), 0}}, old_tick{};
    if (sigaction(SIGALRM, &sa, &old_sa) != 0) {
        *err = SysError("sigaction SIGALRM");
        return false;
    }
    (void)setitimer(ITIMER_REAL, &tick, &old_tick);  // fails only for bad values
    auto deadline = std::chrono::steady_clock::now() + wait;
    int rc = 0;
    while ((rc = flock(fd, LOCK_EX)) != 0 && errno == EINTR && std::chrono::steady_clock::now() < deadline) {
    }
    int saved = errno;
    (void)setitimer(ITIMER_REAL, &old_tick, nullptr);
    (void)sigaction(SIGALRM, &old_sa, nullptr);
    if (rc == 0) return true;
    *timed_out = saved == EINTR;
    errno = saved;
    if (!*timed_out) *err = SysError("flock " + RunLockPath());
    return false;
}

}  // namespace

std::string RunLockPath() { return StateDir() + "/lock"; }

std::string SerializeLockOwner(const LockOwner& owner) {
    return "pid=" + std::to_string(owner.pid) + "\nverb=" + owner.verb + "\n";
}

bool ParseLockOwner(std::string_view text, LockOwner* owner) {
    LockOwner o;
    std::string_view line;
    while (NextLine(&text, &line)) {
        if (line.starts_with("pid=")) o.pid = std::strtol(std::string(line.substr(4)).c_str(), nullptr, 10);
        else if (line.starts_with("verb=")) o.verb = line.substr(5);
    }
    if (o.pid <= 0 || o.verb.empty()) return false;
    *owner = o;
    return true;
}

long FlockHolder(std::string_view proc_locks, unsigned major, unsigned minor, unsigned long ino) {
    char dev[64];
    std::snprintf(dev, sizeof dev, " %02x:%02x:%lu ", major, minor, ino);
    std::string_view line;
    while (NextLine(&proc_locks, &line)) {
        if (line.find("->") != std::string_view::npos || line.find(" FLOCK ") == std::string_view::npos) continue;
        size_t at = line.find(dev);
        if (at == std::string_view::npos) continue;
        // The pid is the field just before the device.
        size_t start = line.rfind(' ', at - 1);
        if (start == std::string_view::npos) continue;
        long pid = std::strtol(std::string(line.substr(start + 1, at - start - 1)).c_str(), nullptr, 10);
        if (pid > 0) return pid;
    }
    return 0;
}

std::string DescribeOwner(const LockOwner& owner) {
    std::string s = "another haltfw";
    if (owner.pid > 0 && !owner.verb.empty()) s += " (pid " + std::to_string(owner.pid) + ", '" + owner.verb + "')";
    else if (owner.pid > 0) s += " (pid " + std::to_string(owner.pid) + ")";
    else if (!owner.verb.empty()) s += " ('" + owner.verb + "')";
    return s;
}

bool LockHeld(LockOwner* owner) {
    struct stat st {};
    std::string locks, err;
    if (stat(RunLockPath().c_str(), &st) != 0 || !ReadWholeFile("/proc/locks", &locks, &err)) return false;
    if (FlockHolder(locks, major(st.st_dev), minor(st.st_dev), st.st_ino) == 0) return false;
    *owner = ReadOwner(st);
    return true;
}

RunLock::~RunLock() {
    if (fd_.valid()) (void)ftruncate(fd_.get(), 0);  // the lock goes with the fd
}

bool RunLock::Take(const std::string& verb, std::chrono::seconds wait, LockOwner* holder, std::string* err) {
    err->clear();
    std::string dir = StateDir(), path = RunLockPath();
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
        *err = SysError("mkdir " + dir);
        return false;
    }
    UniqueFd fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd.valid()) {
        *err = SysError("open " + path);
        return false;
    }
    if (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) {
            *err = SysError("flock " + path);
            return false;
        }
        // Who holds it: a holder that has only just taken the lock has not
        // written its pid and verb yet, and one that has just let go is in
        // no list; so read again for a moment (at most 100 ms), and take a
        // lock that came free meanwhile.
        bool taken = false;
        struct stat st {};
        for (int i = 0; i < 50 && !taken && fstat(fd.get(), &st) == 0; ++i) {
            *holder = ReadOwner(st);
            if (holder->pid == 0) taken = flock(fd.get(), LOCK_EX | LOCK_NB) == 0;
            else if (!holder->verb.empty()) break;
            if (!taken) std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        if (!taken) {
            if (wait.count() <= 0) return false;
            bool timed_out = false;
            if (!FlockWithin(fd.get(), wait, &timed_out, err)) return false;
        }
    }
    // Best effort: the owner only serves the message of one that finds
    // the lock busy.
    std::string owner = SerializeLockOwner({static_cast<long>(getpid()), verb});
    if (ftruncate(fd.get(), 0) == 0) (void)!pwrite(fd.get(), owner.data(), owner.size(), 0);
    fd_ = std::move(fd);
    return true;
}

}  // namespace haltfw
