#include "arm/change_window.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "arm/files.h"
#include "core/state_file.h"
#include "base/text_lines.h"

namespace haltfw {
namespace {

constexpr int kHeld[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM};

std::string SysError(const std::string& what) { return what + ": " + std::strerror(errno); }

// The journal's home is /run, a tmpfs a power cut empties anyway: a rename
// keeps it whole for a reader, and no fsync is worth its cost on every step.
bool WriteJournalFile(const std::string& path, const std::string& content, std::string* err) {
    return WriteFileAtomic(path, content, 0644, err, Durability::kNoFsync);
}

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

std::string LocalTime(int64_t t) {
    time_t tt = static_cast<time_t>(t);
    struct tm tm {};
    char buf[32];
    if (!localtime_r(&tt, &tm) || std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        return "time " + std::to_string(t);
    return buf;
}

}  // namespace

std::string ChangeJournalPath() {
    // Keyed as the applied state is (state_file.h), by the namespace's cookie.
    uint64_t cookie = 0;
    std::string err;
    return StateDir() + "/journal-" + (NetnsCookie(&cookie, &err) ? std::to_string(cookie) : std::string("unknown"));
}

std::string SerializeJournal(const ChangeJournal& j) {
    std::string step = j.step;
    for (char& c : step)
        if (c == '\n') c = ' ';
    return "pid=" + std::to_string(j.pid) + "\nverb=" + j.verb + "\nstarted=" + std::to_string(j.started) +
           "\nstep_time=" + std::to_string(j.step_time) + "\nstep=" + step + "\n";
}

bool ParseJournal(std::string_view text, ChangeJournal* j, std::string* err) {
    ChangeJournal out;
    std::string_view line;
    while (NextLine(&text, &line)) {
        size_t eq = line.find('=');
        if (eq == std::string_view::npos) continue;
        std::string_view k = line.substr(0, eq);
        std::string v(line.substr(eq + 1));
        if (k == "pid") out.pid = std::strtol(v.c_str(), nullptr, 10);
        else if (k == "verb") out.verb = v;
        else if (k == "started") out.started = std::strtoll(v.c_str(), nullptr, 10);
        else if (k == "step_time") out.step_time = std::strtoll(v.c_str(), nullptr, 10);
        else if (k == "step") out.step = v;
    }
    if (out.pid <= 0 || out.verb.empty()) {
        *err = "no pid and verb in it";
        return false;
    }
    *j = out;
    return true;
}

std::string InterruptedNotice(const ChangeJournal& j) {
    const std::string& v = j.verb;
    std::string article = !v.empty() && std::string_view("aeiou").find(v[0]) != std::string_view::npos ? "an " : "a ";
    std::string converge = v == "halt" ? "arm" : v;  // converging need not halt the box
    return article + v + " (pid " + std::to_string(j.pid) + ") was interrupted at " +
           LocalTime(j.step_time ? j.step_time : j.started) +
           (j.step.empty() ? std::string() : ", during '" + j.step + "'") + "; run 'haltfw " + converge +
           "' to converge";
}

bool Converges(const std::string& verb, const std::string& interrupted_verb) {
    if (verb == "arm" || verb == "halt")
        return interrupted_verb == "apply" || interrupted_verb == "arm" || interrupted_verb == "halt";
    return verb == interrupted_verb;
}

std::string SignalName(int sig) {
    const char* abbrev = sigabbrev_np(sig);
    return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

bool ReadJournal(ChangeJournal* j, std::string* err) {
    std::string path = ChangeJournalPath(), text;
    if (!ReadWholeFile(path, &text, err, 65536)) return false;
    if (ParseJournal(text, j, err)) return true;
    *err = path + ": " + *err;
    return false;
}

HeldSignals::HeldSignals() {
    sigemptyset(&held_);
    for (int sig : kHeld) {
        struct sigaction sa {};
        if (sigaction(sig, nullptr, &sa) == 0 && sa.sa_handler == SIG_IGN) continue;
        sigaddset(&held_, sig);
    }
    sigprocmask(SIG_BLOCK, &held_, &old_mask_);
}

HeldSignals::~HeldSignals() {
    (void)Take();
    sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
}

int HeldSignals::Pending() const {
    sigset_t pending;
    if (sigpending(&pending) != 0) return 0;
    for (int sig : kHeld)
        if (sigismember(&held_, sig) && sigismember(&pending, sig)) return sig;
    return 0;
}

int HeldSignals::Take() {
    int first = Pending();
    const timespec zero{0, 0};
    while (sigtimedwait(&held_, nullptr, &zero) > 0) {
    }
    return first;
}

ChangeWindow::ChangeWindow(std::string verb, std::optional<ChangeJournal> interrupted)
    : verb_(std::move(verb)), interrupted_(std::move(interrupted)) {}

ChangeWindow::~ChangeWindow() {
    std::string err;
    ending_ = Ending::kHalf;  // a verb that never said how it ended: its journal stays
    if (!closed_) (void)Close(false, &err);
}

bool ChangeWindow::Open(std::string* err) {
    if (open()) return true;
    // Held before the journal says so: from the moment it exists, no held
    // signal can end the run.
    held_.emplace();
    std::string dir = StateDir();
    journal_ = {static_cast<long>(getpid()), verb_, Now(), Now(), ""};
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) *err = SysError("mkdir " + dir);
    else if (WriteJournalFile(ChangeJournalPath(), SerializeJournal(journal_), err)) return true;
    held_.reset();
    return false;
}

void ChangeWindow::Step(const std::string& what, std::string* err) {
    if (!open() || step_failed_) return;
    journal_.step = what;
    journal_.step_time = Now();
    if (!WriteJournalFile(ChangeJournalPath(), SerializeJournal(journal_), err)) step_failed_ = true;
}

void ChangeWindow::Reached(std::string state, Ending ending) {
    state_ = std::move(state);
    ending_ = ending;
}

int ChangeWindow::Close(bool ok, std::string* err) {
    if (closed_) return 0;
    closed_ = true;
    std::string path = ChangeJournalPath();
    bool removed = false;
    if (!open()) {
        // Nothing changed: a success found the live state at the config's.
        if (ok && interrupted_ && Converges(verb_, interrupted_->verb)) (void)RemoveFile(path, &removed, err);
        return 0;
    }
    bool keep_interrupted = interrupted_ && (ending_ == Ending::kUndone || !Converges(verb_, interrupted_->verb));
    if (keep_interrupted && ending_ != Ending::kHalf)
        (void)WriteJournalFile(path, SerializeJournal(*interrupted_), err);
    else if (ending_ != Ending::kHalf) (void)RemoveFile(path, &removed, err);
    int sig = held_->Take();
    held_.reset();
    return sig;
}

}  // namespace haltfw
