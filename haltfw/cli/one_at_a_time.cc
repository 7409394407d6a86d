#include "cli/one_at_a_time.h"

#include <chrono>

#include "cli/verbs.h"

namespace haltfw::cli {
namespace {

// How long a verb that changes state waits for another one to finish.
constexpr std::chrono::seconds kLockWait{30};

// What a run that never ended (SIGKILL, a crash) left: its journal, found
// with the lock free. Said by every verb but verify-console.
std::optional<ChangeJournal> NoticeInterrupted() {
    ChangeJournal j;
    std::string err;
    if (ReadJournal(&j, &err)) {
        Warn(InterruptedNotice(j));
        return j;
    }
    if (!err.empty()) Warn("journal: " + err + ", ignoring");
    return std::nullopt;
}

}  // namespace

void NoticeOthers() {
    LockOwner holder;
    if (LockHeld(&holder)) Warn(DescribeOwner(holder) + " is changing the state: what follows may show it halfway");
    else NoticeInterrupted();
}

int TakeRunLock(const std::string& verb, bool no_wait, RunLock* lock, std::optional<ChangeJournal>* interrupted) {
    LockOwner holder;
    std::string err;
    bool busy = !lock->Take(verb, std::chrono::seconds(0), &holder, &err) && err.empty();
    // haltfw-watch.service is started by arm and halt, which hold the lock
    // and wait for the watcher to come up: it goes on under theirs.
    if (busy && verb == "watch" && (holder.verb == "arm" || holder.verb == "halt")) {
        Progress("watch: started while " + DescribeOwner(holder) + " holds the lock; going on under it");
        return kOk;
    }
    std::string wait = std::to_string(kLockWait.count()) + " s";
    if (busy && !no_wait) {
        out.Say(Priority::kNotice, "waiting up to " + wait + " for " + DescribeOwner(holder) + " to finish");
        busy = !lock->Take(verb, kLockWait, &holder, &err) && err.empty();
    }
    if (!err.empty()) {
        Fail("cannot take the lock: " + err + "; nothing changed");
        return kSystem;
    }
    if (busy) {
        Fail(DescribeOwner(holder) + (no_wait ? " is running" : " is still running after " + wait) +
             "; nothing changed");
        return kNotReady;
    }
    *interrupted = NoticeInterrupted();
    return kOk;
}

int EndChanges(ChangeWindow* window, int rc) {
    std::string err;
    int sig = window->Close(rc == kOk, &err);
    if (!err.empty()) Warn("journal: " + err + ", ignoring");
    if (sig == 0) return rc;
    Fail("interrupted by " + SignalName(sig) + ": " + window->state());
    return 128 + sig;
}

}  // namespace haltfw::cli
