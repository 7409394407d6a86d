#include "final/pid1_steps.h"

#include <dirent.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/exitrd_layout.h"
#include "base/text_lines.h"
#include "final/console.h"
#include "halt/final_stage.h"
#include "halt/report.h"
#include "halt/sys_files.h"
#include "halt/watch_state.h"

namespace haltfw {

bool EnsureProc() {
    if (access("/proc/self/mountinfo", R_OK) == 0) return true;
    (void)mkdir(kExitrdProc, 0555);  // there already, or the mount says why
    if (mount("proc", kExitrdProc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) == 0) return true;
    Say(std::string("mount /proc: ") + std::strerror(errno) + "; no process scan, mount list or memory figures");
    return false;
}

// ---- processes -------------------------------------------------------------

ProcessScan ScanProcesses(long spare) {
    ProcessScan s;
    DIR* d = opendir("/proc");
    if (!d) return s;
    while (dirent* e = readdir(d)) {
        int pid = std::atoi(e->d_name);
        if (pid <= 1 || pid == spare) continue;
        std::string stat = ReadSysFile(("/proc/" + std::string(e->d_name) + "/stat").c_str());
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
    (void)closedir(d);
    return s;
}

void ReapChildren() {
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
}

std::string KillLeftovers(ProcessScan* scan, long spare) {
    *scan = ScanProcesses(spare);
    if (scan->userspace.empty()) return "";
    std::string killed;
    for (const std::string& p : scan->userspace) {
        (void)kill(std::atoi(p.c_str()), SIGKILL);  // one already gone is fine; one left shows in the scan
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

// ---- the ruleset watcher's end ---------------------------------------------

long LiveWatcher() {
    WatchState ws;
    if (ReadWatchState(kExitrdWatchState, &ws) != WatchStateRead::kRead) return 0;
    return WatcherAlive(ws.pid) ? ws.pid : 0;
}

RulesetStamp WatcherProof() {
    RulesetStamp s;
    WatchState ws;
    std::string err;
    // The state file lives in the exitrd, a tmpfs of this boot: its boot
    // is this one.
    if (ReadWatchState(kExitrdWatchState, &ws) != WatchStateRead::kRead || !ws.watching || ws.proven == 0 ||
        !ReadBootId(&s.boot_id, &err))
        return RulesetStamp{};
    s.netns = ws.netns;
    s.generation = ws.proven;
    return s;
}

namespace {

// The report's words for what a watcher that watched did.
std::string WatcherDeeds(const WatchState& ws) {
    std::string what = ws.restored == 0 ? "found the ruleset unchanged throughout"
                                        : "restored the armed ruleset " + std::to_string(ws.restored) + " time" +
                                              (ws.restored == 1 ? "" : "s");
    if (ws.failed > 0)
        what += "; its restore FAILED " + std::to_string(ws.failed) + " time" + (ws.failed == 1 ? "" : "s") +
                " (forwarding off)";
    what += ws.guard > 0 ? "; its owned copy of the armed ruleset (" + std::to_string(ws.guard) +
                               (ws.guard == 1 ? " table" : " tables") + ") held until the final stage's check"
                         : "; it held no owned copy (it could not load one: see its console line)";
    return what;
}

}  // namespace

std::string EndWatcher(long pid, int* restored) {
    *restored = -1;
    WatchState ws;
    switch (ReadWatchState(kExitrdWatchState, &ws)) {
        case WatchStateRead::kNone: return "not running: the final stage alone guarded the ruleset";
        case WatchStateRead::kMalformed: return "its state file is unreadable; stopped with the other leftovers";
        case WatchStateRead::kRead: break;
    }
    if (pid > 0) {
        (void)kill(static_cast<pid_t>(pid), SIGKILL);
        // Our child (systemd, now us, started it); never an unbounded wait
        // in PID 1: up to 5 s, then the last process scan reports it.
        for (int i = 0; i < 5000 && waitpid(static_cast<pid_t>(pid), nullptr, WNOHANG) == 0; ++i) usleep(1000);
    }
    bool alive = pid > 0;
    // Its last counts, written before it died; ws keeps the first read's if
    // this one fails.
    if (ReadWatchState(kExitrdWatchState, &ws) != WatchStateRead::kRead)
        Say("the watcher's state file became unreadable; its last counts are lost");
    if (!ws.watching)
        return (alive ? "stopped (pid " + std::to_string(ws.pid) + ") on standby"
                      : "had ended early on standby (pid " + std::to_string(ws.pid) + ")") +
               ": nothing set it watching (only 'haltfw halt' does, and the watcher says on the console if it "
               "could not start), so the final stage alone guarded the ruleset";
    *restored = ws.restored;
    return (alive ? "stopped (pid " + std::to_string(ws.pid) + ") after the check; during the shutdown it "
                  : "had ended early (pid " + std::to_string(ws.pid) + "); until then it ") +
           WatcherDeeds(ws);
}

// ---- mounts, swap, memory --------------------------------------------------

namespace {

// /proc/self/mountinfo at fs.mount-max (100,000 mounts by default) and
// some 600 bytes a line: far more than any exitrd sees.
constexpr size_t kMountinfoMax = size_t{64} << 20;

std::vector<std::string> MountsToTakeOff() {
    return UnmountOrder(ParseMountinfo(ReadSysFile("/proc/self/mountinfo", kMountinfoMax)), {kExitrdProc});
}

}  // namespace

UnmountResult UnmountAll() {
    UnmountResult r;
    for (int pass = 0; pass < 4; ++pass) {
        std::vector<std::string> order = MountsToTakeOff();
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
    r.left = MountsToTakeOff();
    return r;
}

std::vector<std::string> ActiveSwaps() {
    std::vector<std::string> out;
    std::string text = ReadSysFile("/proc/swaps");
    std::string_view rest = text, line;
    NextLine(&rest, &line);  // the header
    while (NextLine(&rest, &line))
        if (!line.empty()) out.emplace_back(line.substr(0, line.find_first_of(" \t")));
    return out;
}

std::vector<std::string> SwapsOff(const std::vector<std::string>& swaps) {
    if (swaps.empty()) return swaps;
    for (const std::string& s : swaps)
        if (swapoff(s.c_str()) != 0) Say("swapoff '" + s + "': " + std::strerror(errno));
    return ActiveSwaps();
}

long MemUsedKib(long* total) {
    std::string m = ReadSysFile("/proc/meminfo");
    auto field = [&](const char* k) {
        size_t at = m.find(k);
        return at == std::string::npos ? 0L : std::atol(m.c_str() + at + std::strlen(k));
    };
    *total = field("MemTotal:");
    return *total - field("MemAvailable:");
}

// ---- the lockdown ----------------------------------------------------------

namespace {

void* WriteSysrq(void* arg) {
    auto* w = static_cast<SysrqWrite*>(arg);
    w->ok = WriteSysFile("/proc/sys/kernel/sysrq", w->value);
    return nullptr;
}

}  // namespace

void StartSysrqWrite(int value, SysrqWrite* w) {
    w->value = std::to_string(value);
    w->threaded = pthread_create(&w->thread, nullptr, WriteSysrq, w) == 0;
    if (!w->threaded) WriteSysrq(w);
}

bool FinishSysrqWrite(SysrqWrite* w) {
    if (w->threaded) (void)pthread_join(w->thread, nullptr);  // a thread of ours, joined once: cannot fail
    w->threaded = false;
    return w->ok;
}

std::vector<std::string> HelpersOff() {
    std::vector<std::string> failed;
    if (!WriteSysFile("/proc/sys/kernel/modprobe", "\n") || !ReadSysFile("/proc/sys/kernel/modprobe").starts_with("\n"))
        failed.push_back("kernel.modprobe");
    if (access("/proc/sys/kernel/hotplug", F_OK) == 0 && !WriteSysFile("/proc/sys/kernel/hotplug", "\n"))
        failed.push_back("kernel.hotplug");
    return failed;
}

std::string Lockdown(const Manifest& m, std::vector<std::string> failed, bool sysrq_ok) {
    if (!sysrq_ok) failed.push_back("kernel.sysrq");
    // Ctrl-Alt-Del reaches PID 1 as SIGINT (and is handled in the loop).
    if (reboot(RB_DISABLE_CAD) != 0) failed.push_back("ctrl-alt-del");
    std::string s = "kernel.modprobe empty, uevent helper empty, sysrq " + std::to_string(m.sysrq) + ", ctrl-alt-del " +
                    m.ctrl_alt_del;
    if (!failed.empty()) s += "; FAILED: " + JoinList(failed);
    return s;
}

// ---- staying PID 1 ---------------------------------------------------------

void Inert(CtrlAltDelAction cad) {
    sigset_t all;
    sigfillset(&all);
    // For ever: the halted state is this loop, and every signal is blocked
    // (main's first step), so each one waits here to be taken.
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&all, &si);
        if (sig == SIGCHLD) {
            ReapChildren();
        } else if (sig == SIGINT && cad != CtrlAltDelAction::kIgnore) {
            Say(std::string("Ctrl-Alt-Del: ") + CtrlAltDelDoing(cad));
            if (reboot(CtrlAltDelRebootCmd(cad)) != 0)
                Say(std::string("reboot() failed: ") + std::strerror(errno) + "; staying inert");
        }
        // Every other signal, and a failed wait, changes nothing.
    }
}

// haltfw-inert removes the exitrd's files (this program, its loader and
// libraries, the manifest: nothing reads them again, and a tmpfs keeps
// them in RAM), prints its INERT line and waits for ever. It takes /proc
// off after measuring itself, so /proc stays mounted for it.
void BecomeInert(const std::string& ctrl_alt_del, int heartbeat_s, bool kmsg) {
    if (access(kExitrdInert, F_OK) == 0) {
        std::string beat = std::to_string(heartbeat_s);
        const char* argv[7] = {kInertProgram, "--ctrl-alt-del", ctrl_alt_del.c_str()};
        int n = 3;
        if (heartbeat_s > 0) {
            argv[n++] = "--heartbeat";
            argv[n++] = beat.c_str();
        }
        if (kmsg) argv[n++] = "--kmsg";
        argv[n] = nullptr;
        execv(kExitrdInert, const_cast<char* const*>(argv));
        Say(std::string("exec ") + kExitrdInert + ": " + std::strerror(errno) +
            "; the final stage stays PID 1, its files in memory");
    } else {
        Say(std::string("no ") + kExitrdInert + " in the exitrd: the final stage stays PID 1, its files in memory");
    }
    // No mount but the exitrd; one still busy is detached all the same.
    (void)umount2(kExitrdProc, MNT_DETACH);
    CtrlAltDelAction cad = CtrlAltDelAction::kIgnore;
    (void)ParseCtrlAltDel(ctrl_alt_del, &cad);  // no such word: ignored, as haltfw-inert would
    Inert(cad);
}

}  // namespace haltfw
