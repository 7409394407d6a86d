// haltfw-final: the last program the machine runs. systemd-shutdown
// pivots into the exitrd (/run/initramfs) and execs it as /shutdown, PID 1,
// with the verb as argv[1] and the console on fds 0, 1 and 2.
//
// For "halt" with a valid armed manifest it becomes the halted firewall:
//   1. block every signal, get a console that survives unmounting /dev
//   2. kill what userspace is left (a survivor fails the halt); from here
//      on no usermode helper can start
//   3. verify the ruleset (restore it from the manifest if it differs;
//      fail closed, forwarding off, if it still differs), links, sysctls
//   4. take every mount off, check swap; meanwhile a second thread sets
//      sysrq (turning it off waits for the kernel)
//   5. lock down the rest: Ctrl-Alt-Del, sysrq as the thread wrote it
//   6. print the report on the console, then exec haltfw-inert, which
//      removes the exitrd's files and stays PID 1, inert, for ever (or,
//      without it, stay inert itself).
// Any other verb, or no valid manifest, does what systemd would have done
// (reboot, power off, halt, kexec) after taking the mounts off.
//
// It never calls reboot() for the firewall (halting stops the CPUs and
// the NIC drivers: NOTES.md), never exits as PID 1 (the kernel would
// panic), and never throws: the library reports errors as values.
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/reboot.h>
#include <malloc.h>
#include <signal.h>
#include <sys/mount.h>
#include <poll.h>
#include <pthread.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "halt/final_stage.h"
#include "halt/manifest.h"
#include "nft/nft_guard.h"
#include "halt/report.h"
#include "base/text_lines.h"

using namespace haltfw;

namespace {

const char* kManifestPath = "/haltfw.manifest";
const char* kWatchStatePath = "/haltfw.watch";  // kWatchStateName in the exitrd
const char* kInertPath = "/haltfw-inert";       // what PID 1 becomes after the report
const char* kVersion = HALTFW_VERSION;

int g_kmsg = -1;

// A message outside the report: on the console and in the kernel log, each
// with the program's name in front (callers pass the message alone).
void Say(const std::string& msg) {
    std::string l = "haltfw-final: " + msg + "\n";
    ssize_t ignored = write(1, l.data(), l.size());
    (void)ignored;
    if (g_kmsg >= 0) {
        std::string k = "<6>" + l;
        ignored = write(g_kmsg, k.data(), k.size());
    }
}

// The kernel log's copy alone (the console already has the report).
void Kmsg(const std::string& line) {
    if (g_kmsg < 0) return;
    std::string k = "<6>haltfw-final: " + line + "\n";
    ssize_t ignored = write(g_kmsg, k.data(), k.size());
    (void)ignored;
}

std::string ReadFile(const char* path) {
    std::string out;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return out;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    close(fd);
    return out;
}

bool WriteFile(const char* path, const std::string& value) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool ok = write(fd, value.data(), value.size()) == static_cast<ssize_t>(value.size());
    close(fd);
    return ok;
}

long MonotonicMs() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// Device nodes of our own in the exitrd's tmpfs, so the console stays open
// when the devtmpfs that systemd moved to /dev is taken off.
void OwnConsole() {
    mknod("/.console", S_IFCHR | 0600, makedev(5, 1));
    mknod("/.kmsg", S_IFCHR | 0600, makedev(1, 11));
    int fd = open("/.console", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd >= 0) {
        for (int i = 0; i < 3; ++i) dup2(fd, i);  // dup2 clears O_CLOEXEC
        if (fd > 2) close(fd);
    }
    g_kmsg = open("/.kmsg", O_WRONLY | O_CLOEXEC);
    unlink("/.console");
    unlink("/.kmsg");
}

bool EnsureProc(bool* mounted_by_us) {
    *mounted_by_us = false;
    if (access("/proc/self/mountinfo", R_OK) == 0) return true;
    mkdir("/proc", 0555);
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) return false;
    *mounted_by_us = true;
    return true;
}

struct ProcessScan {
    std::vector<std::string> userspace;  ///< "PID (comm)" of userspace processes but us.
    int kernel_threads = 0;
};

// `spare`: the ruleset watcher, which the final stage stops itself once
// the ruleset is verified (0: none).
ProcessScan ScanProcesses(long spare = 0) {
    ProcessScan s;
    DIR* d = opendir("/proc");
    if (!d) return s;
    while (dirent* e = readdir(d)) {
        int pid = std::atoi(e->d_name);
        if (pid <= 1 || pid == spare) continue;
        std::string stat = ReadFile(("/proc/" + std::string(e->d_name) + "/stat").c_str());
        if (stat.empty()) continue;  // gone meanwhile
        if (IsKernelThreadStat(stat)) {
            ++s.kernel_threads;
            continue;
        }
        // A line without "(comm)" (it cannot come from the kernel) is still
        // a process: named by its pid alone, never by a substr that throws.
        size_t a = stat.find('('), b = stat.rfind(')');
        bool named = a != std::string::npos && b != std::string::npos && a < b;
        s.userspace.push_back(std::to_string(pid) + (named ? " " + stat.substr(a, b - a + 1) : std::string()));
    }
    closedir(d);
    return s;
}

void ReapChildren() {
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
}

// systemd-shutdown leaves processes whose argv[0] starts with '@' (root
// storage daemons); nothing may run once halted.
std::string KillLeftovers(ProcessScan* scan, long spare = 0) {
    *scan = ScanProcesses(spare);
    if (scan->userspace.empty()) return "";
    std::string killed;
    for (const std::string& p : scan->userspace) {
        kill(std::atoi(p.c_str()), SIGKILL);
        killed += (killed.empty() ? "" : ", ") + p;
    }
    for (int i = 0; i < 50; ++i) {  // up to 5 s for them to die
        ReapChildren();
        *scan = ScanProcesses(spare);
        if (scan->userspace.empty()) break;
        usleep(100000);
    }
    return killed;
}

struct UnmountResult {
    int unmounted = 0;
    std::vector<std::string> lazy;
    std::vector<std::string> left;
};

// Everything but / and /proc, deepest first; a mount still busy after a
// few passes is detached lazily (reported), which frees it once unused.
UnmountResult UnmountAll() {
    UnmountResult r;
    for (int pass = 0; pass < 4; ++pass) {
        std::vector<std::string> order = UnmountOrder(ParseMountinfo(ReadFile("/proc/self/mountinfo")), {"/proc"});
        if (order.empty()) return r;
        for (const std::string& p : order) {
            if (umount2(p.c_str(), UMOUNT_NOFOLLOW) == 0) {
                ++r.unmounted;
            } else if (pass == 3 && umount2(p.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) {
                ++r.unmounted;
                r.lazy.push_back(p);
            }
        }
    }
    r.left = UnmountOrder(ParseMountinfo(ReadFile("/proc/self/mountinfo")), {"/proc"});
    return r;
}

std::vector<std::string> ActiveSwaps() {
    std::vector<std::string> out;
    std::string text = ReadFile("/proc/swaps");
    std::string_view rest = text, line;
    NextLine(&rest, &line);  // the header
    while (NextLine(&rest, &line))
        if (!line.empty()) out.emplace_back(line.substr(0, line.find_first_of(" \t")));
    return out;
}

std::string Join(const std::vector<std::string>& v) {
    std::string s;
    for (const std::string& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
}

long MemUsedKib(long* total) {
    std::string m = ReadFile("/proc/meminfo");
    auto field = [&](const char* k) {
        size_t at = m.find(k);
        return at == std::string::npos ? 0L : std::atol(m.c_str() + at + std::strlen(k));
    };
    *total = field("MemTotal:");
    return *total - field("MemAvailable:");
}

// kernel.sysrq, written on a thread of its own beside the unmounts. Turning
// sysrq off unregisters its keyboard handler, and the kernel waits there
// for RCU grace periods: 20 ms under QEMU (ftrace: input_close_device and
// input_unregister_handle), asleep, which the unmounts use. Without a
// thread (pthread_create failed) the write happens at once, in line.
struct SysrqWrite {
    std::string value;
    bool ok = false;
    bool threaded = false;
    pthread_t thread{};
};

void* WriteSysrq(void* arg) {
    auto* w = static_cast<SysrqWrite*>(arg);
    w->ok = WriteFile("/proc/sys/kernel/sysrq", w->value);
    return nullptr;
}

void StartSysrqWrite(int value, SysrqWrite* w) {
    w->value = std::to_string(value);
    w->threaded = pthread_create(&w->thread, nullptr, WriteSysrq, w) == 0;
    if (!w->threaded) WriteSysrq(w);
}

bool FinishSysrqWrite(SysrqWrite* w) {
    if (w->threaded) pthread_join(w->thread, nullptr);
    w->threaded = false;
    return w->ok;
}

// The lockdown's first part, as soon as the leftovers are dead: with
// kernel.modprobe empty the kernel starts no usermode helper for modules
// at all (kernel.modules_disabled would not stop the spawn); the uevent
// helper off. Returns what could not be set.
std::vector<std::string> HelpersOff() {
    std::vector<std::string> failed;
    if (!WriteFile("/proc/sys/kernel/modprobe", "\n") || !ReadFile("/proc/sys/kernel/modprobe").starts_with("\n"))
        failed.push_back("kernel.modprobe");
    if (access("/proc/sys/kernel/hotplug", F_OK) == 0 && !WriteFile("/proc/sys/kernel/hotplug", "\n")) failed.push_back("kernel.hotplug");
    return failed;
}

// The rest, and the report's line: sysrq (written by then: StartSysrqWrite)
// and Ctrl-Alt-Del as configured.
std::string Lockdown(const Manifest& m, std::vector<std::string> failed, bool sysrq_ok) {
    if (!sysrq_ok) failed.push_back("kernel.sysrq");
    // Ctrl-Alt-Del reaches PID 1 as SIGINT (and is handled in the loop).
    if (reboot(RB_DISABLE_CAD) != 0) failed.push_back("ctrl-alt-del");
    std::string s = "kernel.modprobe empty, uevent helper empty, sysrq " + std::to_string(m.sysrq) + ", ctrl-alt-del " + m.ctrl_alt_del;
    if (!failed.empty()) s += "; FAILED: " + Join(failed);
    return s;
}

[[noreturn]] void Inert(const std::string& ctrl_alt_del) {
    sigset_t all;
    sigfillset(&all);
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&all, &si);
        if (sig == SIGCHLD) {
            ReapChildren();
        } else if (sig == SIGINT && ctrl_alt_del == "reboot") {
            Say("Ctrl-Alt-Del: rebooting");
            reboot(RB_AUTOBOOT);
        } else if (sig == SIGINT && ctrl_alt_del == "poweroff") {
            Say("Ctrl-Alt-Del: powering off");
            reboot(RB_POWER_OFF);
        }
        // Every other signal, and a failed wait, changes nothing.
    }
}

// PID 1's last exec: haltfw-inert, a small static program, removes the
// exitrd's files (this program, its loader and libraries, the manifest:
// nothing reads them again, and a tmpfs keeps them in RAM), prints its
// INERT line and waits for ever. It takes /proc off after measuring
// itself, so /proc stays mounted for it. Without it in the exitrd (armed
// with a --final of its own) or if the exec fails, the final stage stays
// PID 1 itself and its files stay in memory.
[[noreturn]] void BecomeInert(const std::string& ctrl_alt_del) {
    if (access(kInertPath, F_OK) == 0) {
        const char* argv[] = {"haltfw-inert", "--ctrl-alt-del", ctrl_alt_del.c_str(), nullptr};
        execv(kInertPath, const_cast<char* const*>(argv));
        Say(std::string("exec ") + kInertPath + ": " + std::strerror(errno) + "; the final stage stays PID 1, its files in memory");
    } else {
        Say(std::string("no ") + kInertPath + " in the exitrd: the final stage stays PID 1, its files in memory");
    }
    umount2("/proc", MNT_DETACH);  // no mount but the exitrd
    Inert(ctrl_alt_del);
}

// The ruleset watcher, if one is alive: it guarded the ruleset through the
// shutdown transaction (it outlived systemd-shutdown's killing spree by its
// '@' argv[0]) if `haltfw halt` set it watching. After the killing spree
// its pid cannot have been reused by anything but another '@' process,
// hence the check of its command line. Returns its pid, or 0.
long LiveWatcher() {
    WatchState ws;
    if (!ParseWatchState(ReadFile(kWatchStatePath), &ws)) return 0;
    std::string cmdline = ReadFile(("/proc/" + std::to_string(ws.pid) + "/cmdline").c_str());
    return cmdline.starts_with("@haltfw-watch") ? ws.pid : 0;
}

// Stops the watcher (`pid`, 0 if none was alive) once the final stage has
// verified the ruleset: with it goes its guard, the owned copy of the
// armed ruleset, which held until then. Returns the report's line, and the
// times it restored the ruleset (-1: it never watched).
std::string StopWatcher(long pid, int* restored) {
    *restored = -1;
    std::string text = ReadFile(kWatchStatePath);
    if (text.empty()) return "not running: the final stage alone guarded the ruleset";
    WatchState ws;
    if (!ParseWatchState(text, &ws)) return "its state file is unreadable; stopped with the other leftovers";
    if (pid > 0) {
        (void)kill(static_cast<pid_t>(pid), SIGKILL);
        // Our child (systemd, now us, started it); never an unbounded wait
        // in PID 1: up to 5 s, then the last process scan reports it.
        for (int i = 0; i < 5000 && waitpid(static_cast<pid_t>(pid), nullptr, WNOHANG) == 0; ++i) usleep(1000);
    }
    bool alive = pid > 0;
    if (!ParseWatchState(ReadFile(kWatchStatePath), &ws)) Say("the watcher's state file became unreadable; its last counts are lost");
    if (!ws.watching)
        return (alive ? "stopped (pid " + std::to_string(ws.pid) + ") on standby" : "had ended early on standby (pid " + std::to_string(ws.pid) + ")") +
               ": nothing set it watching (only 'haltfw halt' does, and the watcher says on the console if it could not "
               "start), so the final stage alone guarded the ruleset";
    *restored = ws.restored;
    std::string what = ws.restored == 0 ? "found the ruleset unchanged throughout"
                                        : "restored the armed ruleset " + std::to_string(ws.restored) + " time" + (ws.restored == 1 ? "" : "s");
    if (ws.failed > 0) what += "; its restore FAILED " + std::to_string(ws.failed) + " time" + (ws.failed == 1 ? "" : "s") + " (forwarding off)";
    what += ws.guard > 0 ? "; its owned copy of the armed ruleset (" + std::to_string(ws.guard) + (ws.guard == 1 ? " table" : " tables") +
                               ") held until the final stage's check"
                         : "; it held no owned copy (it could not load one: see its console line)";
    return (alive ? "stopped (pid " + std::to_string(ws.pid) + ") after the check; during the shutdown it "
                  : "had ended early (pid " + std::to_string(ws.pid) + "); until then it ") + what;
}

[[noreturn]] void Firewall(Manifest m) {
    long t0 = MonotonicMs();
    HaltReport r;
    r.version = kVersion;
    r.lines.push_back("verb 'halt' with a manifest armed by haltfw " + m.version + ": halted firewall");

    // Everything but the watcher goes first; the watcher, and its guard
    // (the owned copy of the armed ruleset), stay until the user's own
    // tables are verified, so that the ruleset is never unguarded.
    long watcher = LiveWatcher();
    ProcessScan procs;
    std::string killed = KillLeftovers(&procs, watcher);
    std::vector<std::string> helpers_failed = HelpersOff();
    // Whatever survived the kill was alive during the checks below, so it
    // fails the halt even if it is gone by the last scan (its end could
    // still have changed what they checked: a tap device it held, say).
    std::vector<std::string> survivors = procs.userspace;

    // The checks come before the unmounts: with no userspace left (or else
    // the halt fails, above) nothing changes the ruleset, links or sysctls
    // any more. After the old root's unmount a ruleset check took from 30
    // to 170 ms under QEMU, against 27-30 ms before it: probably the kernel
    // freeing that file system's inodes and dentries (RCU callbacks) on
    // the one CPU (docs/benchmarks.md).
    std::string digest;
    int addresses = 0;
    uint32_t verified_at = 0;
    Check rules = VerifyRuleset(m, &digest, &verified_at);
    int watch_restored = -1;
    std::string watch = StopWatcher(watcher, &watch_restored);
    // Its end takes the guard away without a ruleset transaction; only the
    // watcher itself could have committed since the check (a restore of
    // the armed ruleset). A generation that moved is checked again.
    uint32_t now = 0;
    std::string gen_err;
    if (rules.ok && (!RulesetGeneration(&now, &gen_err) || now != verified_at)) rules = VerifyRuleset(m, &digest);
    Check links = VerifyLinks(m, &addresses);
    Check sysctls = VerifySysctls(m);
    std::vector<std::string> fwd_failed;
    if (!rules.ok) fwd_failed = ForwardingOff();  // fail closed
    // The armed ruleset served to verify and restore and is never needed
    // again: give its memory back now (the exec into haltfw-inert drops
    // the whole heap, but the memory figures below come first, and without
    // haltfw-inert it would stay resident for ever). malloc_trim, because
    // glibc keeps freed small chunks in its heap otherwise.
    m.ruleset = NftRuleset{};
    malloc_trim(0);

    SysrqWrite sysrq;
    StartSysrqWrite(m.sysrq, &sysrq);
    UnmountResult um = UnmountAll();
    std::vector<std::string> swaps = ActiveSwaps();
    for (const std::string& s : swaps) swapoff(s.c_str());
    if (!swaps.empty()) swaps = ActiveSwaps();
    std::string lock = Lockdown(m, std::move(helpers_failed), FinishSysrqWrite(&sysrq));
    long total = 0, used = MemUsedKib(&total);
    procs = ScanProcesses();
    long verify_ms = MonotonicMs() - t0;
    std::vector<std::string> left = procs.userspace;
    for (const std::string& p : survivors)
        if (std::find(left.begin(), left.end(), p) == left.end()) left.push_back(p + " (alive during the checks)");

    r.lines.push_back("processes: " + (left.empty() ? std::string("none but PID 1") : "LEFT: " + Join(left)) +
                      " (" + std::to_string(procs.kernel_threads) + " kernel threads)" + (killed.empty() ? "" : "; killed: " + killed));
    r.lines.push_back("mounts: " + std::to_string(um.unmounted) + " taken off" + (um.lazy.empty() ? "" : " (lazily: " + Join(um.lazy) + ")") +
                      (um.left.empty() ? "; none left but the exitrd and /proc" : "; LEFT: " + Join(um.left)));
    r.lines.push_back("swap: " + (swaps.empty() ? std::string("off") : "STILL ON: " + Join(swaps)));
    r.lines.push_back("watch: " + watch);
    r.lines.push_back("ruleset: " + rules.detail);
    r.lines.push_back("links: " + links.detail);
    r.lines.push_back("sysctls: " + sysctls.detail);
    if (!rules.ok)
        r.lines.push_back("forwarding: turned OFF for every family (fail closed)" + (fwd_failed.empty() ? "" : "; FAILED: " + Join(fwd_failed)));
    r.lines.push_back("lockdown: " + lock);
    // The final stage's peak resident set during the verification (the
    // armed ruleset in memory twice at most). What PID 1 holds for ever is
    // haltfw-inert's, on its INERT line after the report.
    long rss_peak = StatusKib(ReadFile("/proc/self/status"), "VmHWM");
    r.lines.push_back("memory: " + std::to_string(used) + " KiB used of " + std::to_string(total) + " KiB; final stage peak resident " +
                      std::to_string(rss_peak) + " KiB");

    const char* reason = !rules.ok ? "ruleset" : !links.ok ? "links" : !sysctls.ok ? "sysctls" : !left.empty() ? "processes"
                       : !um.left.empty() ? "mounts" : !swaps.empty() ? "swap" : lock.find("FAILED") != std::string::npos ? "lockdown" : "";
    r.ok = *reason == '\0';
    r.reason = reason;
    r.fields = {{"digest", digest},
                {"links", std::to_string(m.links.size())},
                {"addresses", std::to_string(addresses)},
                {"processes", std::to_string(1 + left.size())},
                {"mounts_left", std::to_string(um.left.size())},
                {"swap", std::to_string(swaps.size())},
                {"restored", rules.repaired ? "1" : "0"},
                {"mem_used_kib", std::to_string(used)},
                {"verify_ms", std::to_string(verify_ms)},
                {"rss_peak_kib", std::to_string(rss_peak)}};
    if (watch_restored >= 0) r.fields.push_back({"watch_restored", std::to_string(watch_restored)});
    std::string text = FormatReport(r);
    ssize_t ignored = write(1, text.data(), text.size());
    (void)ignored;
    for (const std::string& l : r.lines) Kmsg(l);
    Kmsg(r.ok ? "HALTED-OK" : "HALTED-FAIL reason=" + r.reason);

    // Keep nothing open but the console.
    if (g_kmsg >= 0) close(g_kmsg);
    g_kmsg = -1;
    BecomeInert(m.ctrl_alt_del);
}

[[noreturn]] void Finish(FinalAction a) {
    ProcessScan procs;
    std::string killed = KillLeftovers(&procs);  // the watcher on standby among them, if armed
    UnmountResult um = UnmountAll();
    sync();
    Say(std::string(FinalActionName(a)) + " (" + std::to_string(um.unmounted) + " mounts taken off" +
        (um.left.empty() ? "" : ", left: " + Join(um.left)) + (killed.empty() ? "" : "; killed: " + killed) + ")");
    switch (a) {
        case FinalAction::kPowerOff: reboot(RB_POWER_OFF); break;
        case FinalAction::kHalt: reboot(RB_HALT_SYSTEM); break;
        case FinalAction::kKexec: reboot(LINUX_REBOOT_CMD_KEXEC); reboot(RB_AUTOBOOT); break;
        default: reboot(RB_AUTOBOOT); break;
    }
    Say(std::string("reboot() failed: ") + std::strerror(errno) + "; staying inert");
    Inert("ignore");
}

// Not PID 1: `haltfw-final --verify MANIFEST` runs the ruleset, link and
// sysctl checks (with their repairs and the fail-closed step) in the
// current network namespace and prints the report: for tests, and for an
// operator who wants to see what the final stage would say.
int VerifyOnly(const char* path) {
    Manifest m;
    std::string err;
    if (!ReadManifestFile(path, &m, &err)) {
        std::fprintf(stderr, "haltfw-final: %s\n", err.c_str());
        return 2;
    }
    std::string digest;
    int addresses = 0;
    Check checks[] = {VerifyRuleset(m, &digest), VerifyLinks(m, &addresses), VerifySysctls(m)};
    HaltReport r;
    r.version = kVersion;
    r.lines.push_back("verify only (not PID 1): manifest " + std::string(path));
    for (const Check& c : checks) r.lines.push_back(c.name + ": " + c.detail);
    if (!checks[0].ok) {
        std::vector<std::string> failed = ForwardingOff();
        r.lines.push_back("forwarding: turned OFF for every family (fail closed)" + (failed.empty() ? "" : "; FAILED: " + Join(failed)));
    }
    for (const Check& c : checks)
        if (!c.ok && r.reason.empty()) r.reason = c.name;
    r.ok = r.reason.empty();
    r.fields = {{"digest", digest}, {"links", std::to_string(m.links.size())}, {"addresses", std::to_string(addresses)},
                {"restored", checks[0].repaired ? "1" : "0"}};
    std::fputs(FormatReport(r).c_str(), stdout);
    return r.ok ? 0 : 1;
}

// ---- the ruleset watcher ----

struct MnlClose {
    void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};

void WatchSay(const std::string& msg) {
    std::string l = "haltfw-watch: " + msg + "\n";
    ssize_t ignored = write(1, l.data(), l.size());
    (void)ignored;
}

// Written whole and renamed into place: the CLI and the final stage never
// read half a line.
void WriteWatchState(const char* path, const WatchState& st) {
    std::string tmp = std::string(path) + ".new";
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return;
    std::string line = FormatWatchState(st);
    bool ok = write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    close(fd);
    if (ok) rename(tmp.c_str(), path);
}

// Whether a datagram from the nftables group holds NFT_MSG_NEWGEN, which
// the kernel sends once per committed transaction, after its objects.
bool EndsTransaction(const char* buf, size_t len) {
    int left = static_cast<int>(len);
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf); mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
        if (NFNL_SUBSYS_ID(nlh->nlmsg_type) == NFNL_SUBSYS_NFTABLES && NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWGEN)
            return true;
    return false;
}

// Not PID 1: `haltfw-final --watch MANIFEST STATE IPV4FD IPV6FD`, which
// `haltfw watch` (haltfw-watch.service, started by `haltfw arm`) execs
// chrooted into the exitrd with argv[0] "@haltfw-watch". It closes the
// flush window: a unit the guards do not know that flushes or changes the
// ruleset when the shutdown transaction stops it would otherwise leave the
// box forwarding without its ruleset until the final stage.
//
// It starts on standby, subscribed to the nftables events but touching
// nothing: the box is live, and the admin may change its ruleset (and arm
// again). `haltfw halt` sends it SIGUSR1 right before it starts
// haltfw.target; then it reads the manifest, says so in its state file and
// checks the digest after every committed transaction from then on, putting
// the armed ruleset back at once, or turning forwarding off if it cannot,
// as the final stage would. Started at arm, not at halt, it costs the halt
// no process start. It needs nothing from the root file system, and its
// '@' spares it from systemd-shutdown's killing spree; the final stage
// stops it (StopWatcher), and the one of a reboot or power-off kills it
// with the other leftovers.
//
// Forwarding off through sysctl files `haltfw watch` opened before its
// chroot (the exitrd has no /proc); -1 for one it could not open. Returns
// the keys it could not switch off.
std::vector<std::string> ForwardingOffByFds(int ipv4_fd, int ipv6_fd) {
    std::vector<std::string> failed;
    const std::pair<const char*, int> files[] = {{"net.ipv4.ip_forward", ipv4_fd}, {"net.ipv6.conf.all.forwarding", ipv6_fd}};
    for (const auto& [key, fd] : files) {
        char now = 0;
        if (fd < 0 || pwrite(fd, "0\n", 2, 0) != 2 || pread(fd, &now, 1, 0) != 1 || now != '0') failed.push_back(key);
    }
    return failed;
}

int Watch(const char* manifest_path, const char* state_path, int ipv4_fd, int ipv6_fd) {
    signal(SIGPIPE, SIG_IGN);  // the console may go away; the watching goes on
    // SIGUSR1, the halt's word to start watching, arrives on a descriptor
    // beside the events; blocked before anyone can learn our pid.
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, nullptr);
    int sfd = signalfd(-1, &usr1, SFD_CLOEXEC);
    if (sfd < 0) {
        WatchSay(std::string("signalfd: ") + std::strerror(errno));
        return 3;
    }
    // Subscribed before anything else: nothing committed after the halt
    // has begun can be missed.
    std::unique_ptr<mnl_socket, MnlClose> nl(mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC));
    if (!nl || mnl_socket_bind(nl.get(), 1u << (NFNLGRP_NFTABLES - 1), MNL_SOCKET_AUTOPID) < 0) {
        WatchSay(std::string("cannot subscribe to the nftables events: ") + std::strerror(errno));
        return 3;
    }
    // Room for the events of a large restore; an overrun (ENOBUFS) only
    // means a check more.
    int rcvbuf = 8 << 20;
    setsockopt(mnl_socket_get_fd(nl.get()), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);

    Manifest m;
    WatchState st{getpid(), false, 0, 0, 0};
    // Held until this process ends: the final stage kills it once it has
    // verified the user's tables, and the kernel then drops the copy.
    NftGuard guard;
    auto check = [&] {
        long t0 = MonotonicMs();
        std::string digest;
        Check c = VerifyRuleset(m, &digest);
        if (c.ok && c.repaired) {
            ++st.restored;
            WatchSay("the ruleset changed during the shutdown; put the armed one back in " + std::to_string(MonotonicMs() - t0) +
                     " ms (" + c.detail + ")");
        } else if (!c.ok && st.guard > 0) {
            // The owned copy still holds every packet to the armed
            // ruleset: no reason to stop forwarding. The next transaction
            // brings another try, and the final stage one more, with
            // nothing left running to race it.
            WatchSay("the armed ruleset could not be put back in the user's tables this time (" + c.detail +
                     "); the owned copy still holds it, forwarding stays on");
        } else if (!c.ok) {
            ++st.failed;
            std::vector<std::string> left = ForwardingOffByFds(ipv4_fd, ipv6_fd);
            WatchSay("the armed ruleset cannot be put back (" + c.detail + "): forwarding turned OFF" +
                     (left.empty() ? "" : "; FAILED for: " + Join(left)));
        }
        WriteWatchState(state_path, st);
    };
    // The manifest is read when the halt begins, not now: arm may rewrite
    // it any number of times while the box is live. `armed_gen`: the
    // generation id `haltfw halt` sent (sigqueue) at which its arm read the
    // armed ruleset; while the kernel's is the same, the ruleset is too and
    // the first full check is skipped. A plain kill sends none: checked.
    auto start_watching = [&](const uint32_t* armed_gen) -> bool {
        std::string err;
        if (!ReadManifestFile(manifest_path, &m, &err)) {
            WatchSay(err + "; not watching");
            return false;
        }
        // The guard before the word "watching": `haltfw halt` starts the
        // shutdown only once the state file says it, so no stop job runs
        // before the owned copy holds the armed ruleset.
        // (The generation first: the guard's own load is a transaction.)
        uint32_t gen = 0;
        bool same = armed_gen && RulesetGeneration(&gen, &err) && gen == *armed_gen;
        std::string guard_err;
        if (guard.Load(m.ruleset, &guard_err)) st.guard = static_cast<int>(guard.tables());
        if (st.guard == 0 && guard_err.empty()) guard_err = "guard: the armed ruleset has no table to copy";
        st.watching = true;
        // Watching, then said so, then checked: `haltfw halt` does not wait
        // for the first dump (seconds under TCG at 100,000 elements).
        WriteWatchState(state_path, st);
        WatchSay("watching the armed ruleset (digest " + m.digest + ") until the final stage" +
                 (same ? "; unchanged since the halt's arm (generation " + std::to_string(gen) + ")" : "") +
                 (st.guard > 0 ? "; guarded by an owned copy (" + std::to_string(st.guard) + (st.guard == 1 ? " table" : " tables") +
                                     ") that no unit can change"
                               : "; " + guard_err + ": guarded by restoring alone"));
        // Events from here on are still queued on the socket: any commit
        // after the generation was read gets its check below.
        if (!same) check();
        return true;
    };
    WriteWatchState(state_path, st);
    WatchSay("on standby; the halt ('haltfw halt') sets it watching");

    std::vector<char> buf(1 << 16);
    pollfd fds[2] = {{mnl_socket_get_fd(nl.get()), POLLIN, 0}, {sfd, POLLIN, 0}};
    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            WatchSay(std::string("poll: ") + std::strerror(errno));
            return 3;
        }
        if (fds[1].revents & POLLIN) {
            signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) == sizeof si && !st.watching) {
                uint32_t sent = static_cast<uint32_t>(si.ssi_int);
                if (!start_watching(si.ssi_code == SI_QUEUE ? &sent : nullptr)) return 2;
            }
        }
        if (!(fds[0].revents & POLLIN)) continue;
        ssize_t n = mnl_socket_recvfrom(nl.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != ENOBUFS) {
            WatchSay(std::string("receiving the nftables events: ") + std::strerror(errno) + "; the final stage alone guards the ruleset now");
            return 3;
        }
        // On standby the events only drain the socket.
        if (st.watching && (n < 0 || EndsTransaction(buf.data(), static_cast<size_t>(n)))) check();
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (getpid() != 1) {
        if (argc == 3 && std::strcmp(argv[1], "--verify") == 0) return VerifyOnly(argv[2]);
        if (argc == 6 && std::strcmp(argv[1], "--watch") == 0) return Watch(argv[2], argv[3], std::atoi(argv[4]), std::atoi(argv[5]));
        std::fprintf(stderr,
                     "haltfw-final: refusing to run: not PID 1 (systemd-shutdown runs it from the exitrd)\n"
                     "usage: haltfw-final --verify MANIFEST        (check the live state against a manifest)\n"
                     "       haltfw-final --watch MANIFEST STATE IPV4FD IPV6FD\n"
                     "                     (guard the ruleset during the shutdown, from SIGUSR1 on:\n"
                     "                      what 'haltfw watch' runs)\n");
        return 2;
    }
    // Before anything else: a signal left to its default does nothing to
    // PID 1, but blocked is certain, and sigwaitinfo takes them later.
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, nullptr);
    OwnConsole();

    bool our_proc = false;
    EnsureProc(&our_proc);
    std::string verb = argc > 1 ? argv[1] : "";
    Manifest m;
    std::string err;
    bool valid = ReadManifestFile(kManifestPath, &m, &err);
    FinalAction action = DecideAction(verb, valid);
    if (verb == "halt" && !valid) Say("no valid manifest (" + err + "): an ordinary halt");
    if (action == FinalAction::kFirewall) Firewall(std::move(m));
    Finish(action);
}
