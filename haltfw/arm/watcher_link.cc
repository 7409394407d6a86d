#include "arm/watcher_link.h"

#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "arm/exitrd.h"
#include "arm/files.h"
#include "arm/systemd_bus.h"

namespace haltfw {
namespace {

using Clock = WatcherEffects::Clock;

// What the unit's stop job ends in.
bool Stopped(const std::string& state) { return state == "inactive" || state == "failed"; }

// The state of a running watcher, if the state file names one.
bool ReadLiveWatcher(WatcherEffects* fx, WatchState* ws) { return fx->ReadState(ws) && fx->IsWatcher(ws->pid); }

// Waits up to kNewWatcherWait for a running watcher other than `old_pid`
// (0: any) to write its state; false if none did. A restarted unit's old
// state names the old pid until the new watcher replaces it.
bool WaitForNewWatcher(WatcherEffects* fx, long old_pid, WatchState* ws) {
    Clock::time_point deadline = fx->Now() + kNewWatcherWait;
    for (;;) {
        if (ReadLiveWatcher(fx, ws) && ws->pid != old_pid) return true;
        if (fx->Now() >= deadline) return false;
        fx->Wait(0, deadline);
    }
}

// What a halt without a watcher falls back on.
constexpr const char* kFinalStageAlone = "only the final stage will restore a ruleset changed on the way down";

// The watcher to signal: the one running, else one started now. 0 for none
// (a warning said why).
long WatcherToSignal(WatcherEffects* fx, WatchState* ws, const Say& say) {
    if (ReadLiveWatcher(fx, ws)) return ws->pid;
    // Not running yet (arm has only just started it), or gone: a no-op for
    // a unit already starting. A dead one's state is not removed, which
    // could race with the new one's first write; WaitForNewWatcher waits for
    // a state whose pid lives.
    std::string err;
    if (!fx->Unit(UnitJob::kStart, &err)) {
        say(Tone::kWarning, "the ruleset watcher did not start (" + err + "): " + kFinalStageAlone);
        return 0;
    }
    if (!WaitForNewWatcher(fx, 0, ws)) {
        say(Tone::kWarning, std::string("the ruleset watcher did not report within 10 s (see 'systemctl status ") +
                                "haltfw-watch.service'): " + kFinalStageAlone);
        return 0;
    }
    return ws->pid;
}

// Waits up to kWatchingWait until the watcher `pid` says it watches, or has
// ended; says what it found.
void ConfirmWatching(WatcherEffects* fx, long pid, const Say& say) {
    std::string which = "(pid " + std::to_string(pid) + ")";
    Clock::time_point deadline = fx->Now() + kWatchingWait;
    long wait_on = pid;  // 0 once it has exited: then only the state file can still change
    for (;;) {
        WatchState ws;
        bool known = fx->ReadState(&ws) && ws.pid == pid;
        bool alive = known && fx->IsWatcher(pid);
        if (alive && ws.watching && ws.guard > 0) {
            say(Tone::kProgress, "watch: the armed ruleset is guarded through the shutdown by an owned copy no unit "
                                 "can change, and by haltfw-watch.service " + which);
            return;
        }
        if (alive && ws.watching) {
            say(Tone::kWarning, "the ruleset watcher " + which + " could not load its owned copy of the armed "
                                "ruleset (its console line says why): it guards the shutdown by restoring the "
                                "ruleset alone");
            return;
        }
        if (known && !alive) {
            say(Tone::kWarning, std::string("the ruleset watcher ended instead of watching (see 'systemctl status ") +
                                    "haltfw-watch.service'): " + kFinalStageAlone);
            return;
        }
        if (fx->Now() >= deadline) break;
        if (fx->Wait(wait_on, deadline) == Woke::kExited) wait_on = 0;
    }
    say(Tone::kWarning, "the ruleset watcher did not say it watches within 30 s: only the final stage may restore a "
                        "ruleset changed on the way down");
}

// Stops haltfw-watch.service through systemd, waiting up to kUnitStopWait:
// on the watcher's exit if the state file names one, then on the unit's
// state (see the header).
void StopUnit(WatcherEffects* fx, const Say& say) {
    std::string err, state;
    if (!fx->UnitState(&state, &err)) {
        say(Tone::kWarning, "could not ask systemd about the ruleset watcher (" + err + ")");
        return;
    }
    if (Stopped(state)) return;
    if (!fx->Unit(UnitJob::kStop, &err)) say(Tone::kWarning, "could not stop haltfw-watch.service (" + err + ")");
    WatchState ws;
    long wait_on = ReadLiveWatcher(fx, &ws) ? ws.pid : 0;
    Clock::time_point deadline = fx->Now() + kUnitStopWait;
    while (fx->UnitState(&state, &err) && !Stopped(state) && fx->Now() < deadline) {
        if (wait_on == 0) fx->Wait(0, std::min(deadline, fx->Now() + kUnitPoll));
        else if (fx->Wait(wait_on, deadline) == Woke::kExited) wait_on = 0;
    }
    if (Stopped(state)) say(Tone::kProgress, "watch: stopped haltfw-watch.service");
}

}  // namespace

void StartWatcherOnStandby(WatcherEffects* fx, const std::string& no_systemd_why, const Say& say) {
    if (!no_systemd_why.empty()) {
        say(Tone::kProgress, "watch: not started (" + no_systemd_why + ")");
        return;
    }
    WatchState ws;
    bool running = ReadLiveWatcher(fx, &ws);
    std::string why_restart = !running          ? ""
                              : ws.watching     ? "it was watching, from a halt that did not happen"
                              : fx->ProgramReplaced(ws.pid) ? "its program was replaced"
                                                            : "";
    if (running && why_restart.empty()) {
        say(Tone::kProgress, "watch: haltfw-watch.service runs (pid " + std::to_string(ws.pid) + ", on standby)");
        return;
    }
    std::string err;
    if (!fx->Unit(running ? UnitJob::kRestart : UnitJob::kStart, &err)) {
        say(Tone::kWarning, "the ruleset watcher did not " + std::string(running ? "restart" : "start") + " (" + err +
                                "); 'haltfw halt' tries again");
        return;
    }
    if (!running) {
        say(Tone::kProgress, "watch: haltfw-watch.service started, on standby until the halt");
        return;
    }
    if (WaitForNewWatcher(fx, ws.pid, &ws))
        say(Tone::kProgress, "watch: haltfw-watch.service restarted (" + why_restart + "), on standby (pid " +
                                 std::to_string(ws.pid) + ")");
    else
        say(Tone::kWarning, "the ruleset watcher did not come back within 10 s of its restart (" + why_restart +
                                "); 'haltfw halt' tries again");
}

void SetWatcherWatching(WatcherEffects* fx, const Say& say) {
    WatchState ws;
    long pid = WatcherToSignal(fx, &ws, say);
    if (pid == 0) return;
    std::string err;
    if (!fx->SignalWatching(pid, &err)) {
        say(Tone::kWarning,
            "could not signal the ruleset watcher (pid " + std::to_string(pid) + "): " + err + "; " + kFinalStageAlone);
        return;
    }
    // The signal is pending now; the halt starts no stop job before the
    // guard holds.
    ConfirmWatching(fx, pid, say);
}

void StandDownWatcher(WatcherEffects* fx, const Say& say) {
    std::string err;
    if (!fx->Unit(UnitJob::kStop, &err)) say(Tone::kWarning, err + ", ignoring");
    else say(Tone::kWarning, "the ruleset watcher is stopped; 'haltfw arm' starts it again on standby");
    fx->RemoveState();
}

bool StopWatcher(WatcherEffects* fx, bool systemd, const Say& say) {
    if (systemd) StopUnit(fx, say);
    WatchState ws;
    if (!ReadLiveWatcher(fx, &ws)) return true;
    fx->Kill(ws.pid);
    Clock::time_point deadline = fx->Now() + kKilledWait;
    bool alive = true;
    while ((alive = ReadLiveWatcher(fx, &ws)) && fx->Now() < deadline) fx->Wait(ws.pid, deadline);
    std::string which = "(pid " + std::to_string(ws.pid) + ")";
    if (alive) {
        say(Tone::kError, "disarm: the ruleset watcher " + which + " does not end; nothing disarmed");
        return false;
    }
    say(Tone::kProgress, "watch: killed the ruleset watcher " + which);
    return true;
}

std::string WatcherStatusLine(WatcherEffects* fx) {
    WatchState ws;
    if (!ReadLiveWatcher(fx, &ws)) return "watch: not running (arm starts it, and a halt if arm could not)";
    return "watch: haltfw-watch.service " + std::string(ws.watching ? "watching, a halt under way" : "on standby") +
           " (pid " + std::to_string(ws.pid) + ")";
}

// ---- the real effects -------------------------------------------------------

namespace {

// A wait without its event source (see the header) ends after this.
constexpr std::chrono::milliseconds kBlindWait{10};

class LinuxWatcher : public WatcherEffects {
public:
    LinuxWatcher(const std::string& exitrd, SystemdManager* systemd)
        : dir_(exitrd), state_path_(ExitrdWatchStatePath(exitrd)), systemd_(systemd),
          inotify_(inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) {}

    bool ReadState(WatchState* ws) override {
        // The watch before the read, so that a state written after it wakes
        // the next Wait. Taken again on every read: a watch holds an inode,
        // not a path, and arm may have mounted the exitrd's tmpfs since.
        watching_ = inotify_.valid() &&
                    inotify_add_watch(inotify_.get(), dir_.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE) >= 0;
        return ReadWatchState(state_path_, ws) == WatchStateRead::kRead;
    }
    void RemoveState() override { (void)unlink(state_path_.c_str()); }
    bool IsWatcher(long pid) override { return WatcherAlive(pid); }
    // /proc/PID/exe of an unlinked file ends in " (deleted)". (A replaced
    // library alone does not count: the old one stays mapped and matches
    // the old program.)
    bool ProgramReplaced(long pid) override {
        char target[4096];
        ssize_t n = readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), target, sizeof target - 1);
        return n > 0 && std::string_view(target, static_cast<size_t>(n)).ends_with(" (deleted)");
    }
    bool SignalWatching(long pid, std::string* err) override {
        if (kill(static_cast<pid_t>(pid), SIGUSR1) == 0) return true;
        *err = std::strerror(errno);
        return false;
    }
    // Its end shows in IsWatcher (and the pidfd); a failure (gone already,
    // say) needs nothing else.
    void Kill(long pid) override { (void)kill(static_cast<pid_t>(pid), SIGKILL); }
    bool Unit(UnitJob job, std::string* err) override {
        SystemdManager* m = Manager(err);
        std::string path;
        switch (job) {
        case UnitJob::kStart: return m && m->StartUnit(kWatchUnit, "replace", &path, err);
        case UnitJob::kRestart: return m && m->RestartUnit(kWatchUnit, "replace", &path, err);
        case UnitJob::kStop: return m && m->StopUnit(kWatchUnit, "replace", &path, err);
        }
        return false;
    }
    bool UnitState(std::string* state, std::string* err) override {
        SystemdManager* m = Manager(err);
        return m && m->ActiveState(kWatchUnit, state, err);
    }
    Clock::time_point Now() override { return Clock::now(); }
    Woke Wait(long pid, Clock::time_point until) override;

private:
    SystemdManager* Manager(std::string* err) {
        if (systemd_) return systemd_;
        if (!own_) own_ = SystemdManager::Connect(err);
        return own_.get();
    }
    // A pidfd for `pid`, kept while the same pid is waited on. *gone: the
    // process is not there (reaped, or the pid is another program's now).
    int PidFd(long pid, bool* gone);
    // Reads what inotify queued; true if it names the state file.
    bool StateFileEvent();

    std::string dir_;
    std::string state_path_;
    SystemdManager* systemd_;
    std::unique_ptr<SystemdManager> own_;
    UniqueFd inotify_;
    bool watching_ = false;
    long pidfd_pid_ = 0;
    UniqueFd pidfd_;
    bool pid_gone_ = false;
};

int LinuxWatcher::PidFd(long pid, bool* gone) {
    if (pid != pidfd_pid_) {
        pidfd_pid_ = pid;
        int fd = static_cast<int>(syscall(SYS_pidfd_open, static_cast<pid_t>(pid), 0));
        int open_errno = errno;
        pidfd_ = UniqueFd(fd);
        // ESRCH: reaped already. Checked again once the fd holds the
        // process: the pid might have been reused before it was opened.
        pid_gone_ = fd < 0 ? open_errno == ESRCH : !IsWatcher(pid);
    }
    *gone = pid_gone_;
    return pidfd_.get();
}

bool LinuxWatcher::StateFileEvent() {
    alignas(inotify_event) char buf[4096];
    bool named = false;
    ssize_t n;
    while ((n = read(inotify_.get(), buf, sizeof buf)) > 0) {
        for (char* p = buf; p < buf + n;) {
            auto* ev = reinterpret_cast<inotify_event*>(p);
            if (ev->len > 0 && std::strcmp(ev->name, kExitrdWatchState + 1) == 0) named = true;
            if (ev->mask & IN_Q_OVERFLOW) named = true;  // events were lost: read again
            p += sizeof(inotify_event) + ev->len;
        }
    }
    return named;
}

Woke LinuxWatcher::Wait(long pid, Clock::time_point until) {
    bool gone = false;
    int pidfd = pid ? PidFd(pid, &gone) : -1;
    if (gone) return Woke::kExited;
    // Without an event source, one short wait: the caller reads again.
    bool blind = !watching_ || (pid && pidfd < 0);
    if (blind) until = std::min(until, Clock::now() + kBlindWait);
    for (;;) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now());
        if (left.count() <= 0) return Woke::kDeadline;
        pollfd fds[2] = {{pidfd, POLLIN, 0}, {watching_ ? inotify_.get() : -1, POLLIN, 0}};
        int r = poll(fds, 2, static_cast<int>(std::min<int64_t>(left.count(), 60'000)));
        if (r < 0 && errno != EINTR) {  // not with these fds; should it happen, a short wait all the same
            (void)poll(nullptr, 0, static_cast<int>(kBlindWait.count()));
            return Woke::kDeadline;
        }
        if (r <= 0) continue;
        if (fds[0].revents) return Woke::kExited;
        if ((fds[1].revents & POLLIN) && StateFileEvent()) return Woke::kChanged;
    }
}

}  // namespace

std::unique_ptr<WatcherEffects> LinuxWatcherEffects(const std::string& exitrd, SystemdManager* systemd) {
    return std::make_unique<LinuxWatcher>(exitrd, systemd);
}

}  // namespace haltfw
