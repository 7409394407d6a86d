// haltfw-inert: the halted firewall's PID 1 for ever. The final stage
// (haltfw-final) execs it after printing its report, with the console on
// fds 0, 1 and 2 and /proc still mounted:
//   1. block every signal (before anything else: a PID 1 that dies panics
//      the kernel, and no signal may interrupt what follows)
//   2. with --kmsg (the final stage gives it when netconsole is armed),
//      open the kernel log (a /dev/kmsg node of its own, made and
//      unlinked at once: nothing stays mounted to find one later), so that
//      its lines reach the kernel log, and through it netconsole, as well
//      as the console
//   3. remove every file of its root file system, the exitrd tmpfs: the
//      final stage, its loader and libraries, the manifest, the watcher's
//      state, itself (its own pages stay as long as it runs; unlinking a
//      running static program is fine). Nothing reads them again, and a
//      tmpfs holds its files in RAM: 2.8 MiB, plus 12 MB of manifest at
//      100,000 set elements
//   4. measure itself (/proc/self/smaps_rollup and status) and what the removal freed
//      (statfs of / before and after); with --heartbeat, open the few /proc
//      files its ALIVE lines read; take /proc off, and print one line,
//      HALTFW: INERT ..., after the report
//   5. sigwaitinfo for ever: SIGCHLD reaps, SIGINT (Ctrl-Alt-Del) reboots,
//      powers off or is ignored as --ctrl-alt-del says, every other
//      signal is ignored; with --heartbeat N, every N seconds one line,
//      HALTFW: ALIVE up=... (sigtimedwait until the next beat is due).
// Static (glibc's libc.a), no libstdc++, no heap of its own: small, and it
// maps nothing but itself, so its resident set is its own few pages.
//
// Only as PID 1 on a tmpfs root holding haltfw.manifest does it remove
// anything: run by hand (not PID 1) it refuses, and as the init of a
// container whose root is a disk, or a tmpfs that is not haltfw's exitrd,
// it removes nothing (a line says so) and waits all the same.
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <initializer_list>

#include "base/bounded_read.h"
#include "base/exitrd_layout.h"
#include "halt/inert_args.h"  // and so halt/ctrl_alt_del.h
#include "halt/proc_status.h"

using namespace haltfw;

namespace {

constexpr const char* kUsage =
    "usage: haltfw-inert [--ctrl-alt-del reboot|poweroff|ignore] [--heartbeat SECONDS] [--kmsg]\n"
    "PID 1 of the halted firewall, exec'd by haltfw-final (the final stage) in the exitrd:\n"
    "removes every file of its tmpfs root, prints 'HALTFW: INERT ...' (its resident set, what\n"
    "the removal freed) and then waits for signals for ever: SIGCHLD reaps, SIGINT (Ctrl-Alt-Del)\n"
    "reboots, powers off or is ignored (the default), anything else is ignored. With\n"
    "--heartbeat, every SECONDS (1 to 86400) one line 'HALTFW: ALIVE up=...' on the console;\n"
    "with --kmsg, its lines go to the kernel log as well (level 6), for netconsole to carry.\n"
    "Refuses to run unless it is PID 1.\n";

void Put(int fd, const char* s) {
    for (size_t len = std::strlen(s); len > 0;) {
        ssize_t n = write(fd, s, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        s += n;
        len -= static_cast<size_t>(n);
    }
}

// The kernel log: -1 until OpenKmsg, or if it could not be opened.
int g_kmsg = -1;

// One line, '\n'-terminated, on the console (fd 1), and with --kmsg in the
// kernel log at level 6 (info), verbatim, as the final stage writes its
// report there with netconsole: one write(2), one record. On a console
// that shows level-6 messages (netconsole needs the console log level to
// let them through, and it is the same for every console) the line
// appears twice, the kernel's copy after its timestamp; verify-console
// reads the lines written directly and leaves the copies aside.
void Line(const char* line) {
    Put(1, line);
    if (g_kmsg < 0) return;
    char rec[600] = "<6>";
    size_t n = 3;
    for (const char* s = line; *s && n + 1 < sizeof rec; ++s) rec[n++] = *s;
    // A failed or short write loses this record only: nowhere to say so.
    ssize_t ignored = write(g_kmsg, rec, n);
    (void)ignored;
}

// A message of its own, one line: "haltfw-inert: ...".
void Say(const char* a, const char* b = "", const char* c = "", const char* d = "", const char* e = "") {
    char line[512];
    size_t n = 0;
    for (const char* s : {"haltfw-inert: ", a, b, c, d, e, "\n"})
        for (; *s && n + 2 < sizeof line; ++s) line[n++] = *s;
    if (n > 0 && line[n - 1] != '\n') line[n++] = '\n';  // cut short: still one line
    line[n] = '\0';
    Line(line);
}

struct Removal {
    dev_t dev = 0;  // the root file system's: no other mount is entered
    long removed = 0;
    long failed = 0;
};

// Removes what `dirfd` holds, depth first; a directory on another file
// system (/proc, any mount point) is skipped with everything under it.
void RemoveUnder(int dirfd, Removal* r, int depth) {
    DIR* d = fdopendir(dirfd);  // owns dirfd from here
    if (!d) {
        (void)close(dirfd);
        ++r->failed;
        return;
    }
    while (dirent* e = readdir(d)) {
        const char* name = e->d_name;
        if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) continue;
        struct stat st {};
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_dev != r->dev) continue;
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0 && depth < 32) RemoveUnder(sub, r, depth + 1);
            else if (sub >= 0) (void)close(sub);
            if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0) ++r->removed;
            else ++r->failed;
        } else if (unlinkat(dirfd, name, 0) == 0) {
            ++r->removed;
        } else {
            ++r->failed;
        }
    }
    (void)closedir(d);
}

long UsedKib(const struct statfs& s) { return static_cast<long>((s.f_blocks - s.f_bfree) * s.f_bsize / 1024); }

// Where Measure and each heartbeat read their /proc files: one buffer, so
// the heartbeat dirties no page of its own.
char g_scratch[4096];

// The whole text of a small file (/proc/self/status, /proc/meminfo) into
// `buf`; "" if it cannot be read.
const char* ReadSmall(const char* path, char* buf, size_t size) {
    (void)ReadFileInto(path, buf, size);  // -1: unreadable, and `buf` is ""
    return buf;
}

// Whether its root is haltfw's exitrd: a tmpfs that still holds the
// manifest (a tmpfs without it is someone else's, the init of an unrelated
// container). If not, a line says so.
bool InExitrd() {
    struct statfs fs {};
    if (statfs("/", &fs) != 0 || fs.f_type != TMPFS_MAGIC) {
        Say("the root file system is not a tmpfs (not the exitrd): nothing removed");
        return false;
    }
    if (access(kExitrdManifest, F_OK) != 0) {
        Say("no ", kExitrdManifest, " in the root (not haltfw's exitrd): nothing removed");
        return false;
    }
    return true;
}

// The kernel log, opened before the removal: in the exitrd through a node
// of its own (the final stage's way, final/console.cc: the /dev it had is
// gone), made, opened and unlinked at once, so the removal finds nothing of
// it; elsewhere (a container's init) /dev/kmsg if there is one. A
// descriptor of its own, not one the final stage could pass on: the kernel
// rate-limits each open file of /dev/kmsg (10 records in 5 s, unless
// kernel.printk_devkmsg is "on", as systemd sets it at boot), and the
// final stage's report would have spent that one's.
void OpenKmsg(bool exitrd) {
    const char* path = "/dev/kmsg";
    if (exitrd) {
        path = kExitrdKmsg;
        (void)unlink(path);  // one left behind: the final stage unlinks its own at once
        if (mknod(path, S_IFCHR | 0200, makedev(1, 11)) != 0) {
            Say("mknod ", path, ": ", std::strerror(errno), "; no kernel log, the console alone");
            return;
        }
    }
    g_kmsg = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    int open_errno = errno;
    if (exitrd) (void)unlink(path);
    if (g_kmsg < 0) Say("open ", path, ": ", std::strerror(open_errno), "; no kernel log, the console alone");
}

// The removal of the exitrd's files, and what it freed.
void RemoveExitrd(InertFigures* f) {
    struct statfs before {}, after {};
    if (statfs("/", &before) != 0) return;
    struct stat root {};
    int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &root) != 0) {
        if (fd >= 0) (void)close(fd);
        return;
    }
    Removal r;
    r.dev = root.st_dev;
    RemoveUnder(fd, &r, 0);
    f->removed = r.removed;
    f->remove_failed = r.failed;
    if (statfs("/", &after) == 0) {
        f->freed_kib = UsedKib(before) - UsedKib(after);
        f->left_kib = UsedKib(after);
    }
}

// Its own footprint, read from /proc (the final stage leaves it mounted;
// mounted here if not; ProcOff takes it off).
void Measure(InertFigures* f) {
    if (access("/proc/self/status", R_OK) != 0) {
        // Without it the figures read -1, which says enough.
        (void)mkdir(kExitrdProc, 0555);
        (void)mount("proc", kExitrdProc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
    }
    char(&buf)[sizeof g_scratch] = g_scratch;
    // The resident set by a walk of the page tables: exact. The status
    // counters lag on Linux 6.1 (Debian 12): each thread caches its RSS
    // changes until 64 page faults have passed, and with fault-around this
    // program takes fewer; QEMU showed VmRSS 4 kB. Both are reported.
    const char* rollup = ReadSmall("/proc/self/smaps_rollup", buf, sizeof buf);
    f->rss_kib = StatusKib(rollup, "Rss");
    f->rss_anon_kib = StatusKib(rollup, "Anonymous");
    if (f->rss_kib >= 0 && f->rss_anon_kib >= 0) f->rss_file_kib = f->rss_kib - f->rss_anon_kib;
    const char* status = ReadSmall("/proc/self/status", buf, sizeof buf);
    f->vm_rss_kib = StatusKib(status, "VmRSS");
    f->vm_hwm_kib = StatusKib(status, "VmHWM");
    const char* meminfo = ReadSmall("/proc/meminfo", buf, sizeof buf);
    long total = StatusKib(meminfo, "MemTotal"), avail = StatusKib(meminfo, "MemAvailable");
    if (total >= 0 && avail >= 0) f->mem_used_kib = total - avail;
}

// What the heartbeat reads besides sysinfo(2): three /proc files, opened
// while /proc is still mounted; -1 for one that is not there (no conntrack
// module: nothing can load one any more, so the count stays unknown).
struct Pulse {
    int meminfo = -1;
    int conntrack = -1;
    int rollup = -1;
};

// Opened before ProcOff: a mount taken off with MNT_DETACH leaves every
// path at once but lives on while a file of it is open, so nothing stays
// mounted where anyone could reach it (there is no one), and these files
// go on showing the kernel's live figures to a read from offset 0.
void OpenPulse(Pulse* p) {
    p->meminfo = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
    p->conntrack = open("/proc/sys/net/netfilter/nf_conntrack_count", O_RDONLY | O_CLOEXEC);
    p->rollup = open("/proc/self/smaps_rollup", O_RDONLY | O_CLOEXEC);
}

// /proc off: nothing but the exitrd stays mounted.
void ProcOff() {
    // Either fails only if /proc was never mounted (the figures say so).
    (void)umount2(kExitrdProc, MNT_DETACH);
    (void)rmdir(kExitrdProc);  // the exitrd's last directory but /
}

// The whole of a /proc file held open, read again from its start; "" if it
// cannot be.
const char* Reread(int fd, char* buf, size_t size) {
    buf[0] = '\0';
    if (fd < 0) return buf;
    ssize_t n = pread(fd, buf, size - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

// One ALIVE line on the console.
void Beat(const Pulse& p) {
    AliveFigures a;
    struct sysinfo si {};
    if (sysinfo(&si) == 0) {
        a.up_s = si.uptime;
        a.load1 = si.loads[0];
        a.load_known = true;
        a.mem_free_kib = static_cast<long>(si.freeram * si.mem_unit / 1024);
    }
    char(&buf)[sizeof g_scratch] = g_scratch;
    a.mem_avail_kib = StatusKib(Reread(p.meminfo, buf, sizeof buf), "MemAvailable");
    a.rss_kib = StatusKib(Reread(p.rollup, buf, sizeof buf), "Rss");
    const char* count = Reread(p.conntrack, buf, sizeof buf);
    if (*count >= '0' && *count <= '9') {
        a.conntrack = 0;
        for (int i = 0; i < 18 && *count >= '0' && *count <= '9'; ++i, ++count)
            a.conntrack = a.conntrack * 10 + (*count - '0');
    }
    char line[256];
    FormatAliveLine(a, line, sizeof line);
    Line(line);
}

// The time left until `due` on CLOCK_BOOTTIME (sysinfo's uptime clock), or
// zero if it has come.
timespec Until(const timespec& due) {
    timespec now {};
    (void)clock_gettime(CLOCK_BOOTTIME, &now);  // a valid clock and pointer: cannot fail
    long long ns = (due.tv_sec - now.tv_sec) * 1000000000LL + (due.tv_nsec - now.tv_nsec);
    if (ns <= 0) return {0, 0};
    return {static_cast<time_t>(ns / 1000000000LL), static_cast<long>(ns % 1000000000LL)};
}

// For ever: the halted state is this loop, and every signal is blocked
// (main's first step), so each one waits here to be taken. With a
// heartbeat the wait ends when the next beat is due; beats are kept on a
// schedule of their own, so that signals do not make them drift, and one
// that came late (the machine stopped: a paused VM) starts the schedule
// again rather than printing the missed ones at once.
[[noreturn]] void WaitForever(const sigset_t& all, CtrlAltDelAction cad, int heartbeat_s, const Pulse& pulse) {
    timespec due {};
    (void)clock_gettime(CLOCK_BOOTTIME, &due);
    due.tv_sec += heartbeat_s;
    for (;;) {
        siginfo_t si;
        int sig = -1;
        if (heartbeat_s <= 0) {
            sig = sigwaitinfo(&all, &si);
        } else if (timespec left = Until(due); left.tv_sec > 0 || left.tv_nsec > 0) {
            sig = sigtimedwait(&all, &si, &left);  // -1 (EAGAIN) when the time is up
        } else {
            Beat(pulse);
            due.tv_sec += heartbeat_s;
            if (timespec again = Until(due); again.tv_sec == 0 && again.tv_nsec == 0) {
                (void)clock_gettime(CLOCK_BOOTTIME, &due);
                due.tv_sec += heartbeat_s;
            }
        }
        if (sig == SIGCHLD) {
            while (waitpid(-1, nullptr, WNOHANG) > 0) {
            }
        } else if (sig == SIGINT && cad != CtrlAltDelAction::kIgnore) {
            Say("Ctrl-Alt-Del: ", CtrlAltDelDoing(cad));
            if (reboot(CtrlAltDelRebootCmd(cad)) != 0)
                Say("reboot() failed: ", std::strerror(errno), "; staying inert");
        }
        // Every other signal, and a failed wait, changes nothing.
    }
}

}  // namespace

int main(int argc, char** argv) {
    const bool pid1 = getpid() == 1;
    sigset_t all;
    sigfillset(&all);
    if (pid1) (void)sigprocmask(SIG_BLOCK, &all, nullptr);  // first of all; a valid set and how cannot fail

    InertArgs args;
    const char* err = "";
    int bad = 0;
    bool ok = ParseInertArgs(argc, argv, &args, &err, &bad);
    if (!pid1) {
        if (ok && args.help) {
            Put(1, kUsage);
            return 0;
        }
        if (!ok) {
            Put(2, "haltfw-inert: '");
            Put(2, argv[bad]);
            Put(2, "': ");
            Put(2, err);
            Put(2, "\n");
            Put(2, kUsage);
            return 2;
        }
        Put(2, "haltfw-inert: refusing to run: not PID 1 (the final stage execs it in the exitrd)\n");
        return 2;
    }
    // From here on nothing may end the program: a bad argument is said
    // and Ctrl-Alt-Del ignored, with no heartbeat.
    if (!ok) Say("'", argv[bad], "': ", err, "; Ctrl-Alt-Del ignored, no heartbeat, the console alone");
    InertFigures f;
    f.ctrl_alt_del = args.ctrl_alt_del;
    bool exitrd = InExitrd();  // said on the console only: the kernel log is not open yet
    if (args.kmsg) OpenKmsg(exitrd);
    if (exitrd) RemoveExitrd(&f);
    Measure(&f);
    Pulse pulse;
    if (args.heartbeat_s > 0) OpenPulse(&pulse);
    ProcOff();
    char line[512];
    FormatInertLine(f, line, sizeof line);
    Line(line);
    WaitForever(all, args.ctrl_alt_del, args.heartbeat_s, pulse);
}
