// The stretch of a verb from its first change to its last, and what keeps
// it whole (docs/design.md, "How apply stays whole"):
//  - SIGINT, SIGTERM, SIGHUP and SIGQUIT are held (blocked) in it, so a
//    Ctrl-C, a kill or an SSH session that drops cannot stop it halfway;
//    the verb asks between its steps whether one arrived, takes the shorter
//    way to a whole state, and then exits with 128+N (haltfw_main.cc);
//  - a journal, STATE_DIR/journal-COOKIE, exists while it lasts: what a
//    SIGKILL (which nothing holds) leaves behind, for the next run of any
//    verb to report.
#pragma once

#include <signal.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace haltfw {

/// What the journal records: who was changing, and the step it was at.
struct ChangeJournal {
    long pid = 0;
    std::string verb;       ///< apply, arm, disarm or halt.
    int64_t started = 0;    ///< Unix time of the first change.
    int64_t step_time = 0;  ///< Unix time `step` began.
    std::string step;       ///< The step begun last, as its progress line said it.
};

/// STATE_DIR/journal-COOKIE, for the current network namespace (apply's
/// changes are the namespace's; COOKIE as in AppliedStatePath).
std::string ChangeJournalPath();

/// "pid=N\nverb=V\nstarted=T\nstep_time=T\nstep=S\n" (newlines in the step
/// become spaces).
std::string SerializeJournal(const ChangeJournal& j);
/// False, with *err, for anything without a pid and a verb.
bool ParseJournal(std::string_view text, ChangeJournal* j, std::string* err);

/// What the next run says: "an apply (pid N) was interrupted at TIME,
/// during 'STEP'; run 'haltfw apply' to converge". Local time.
std::string InterruptedNotice(const ChangeJournal& j);

/// Whether a `verb` that ended well leaves nothing of an interrupted
/// `interrupted_verb` to converge: apply converges an apply, arm and halt an
/// apply, arm or halt, disarm a disarm.
bool Converges(const std::string& verb, const std::string& interrupted_verb);

/// "SIGINT" for SIGINT.
std::string SignalName(int sig);

/// Blocks the four signals from construction to destruction. A signal the
/// process ignores (nohup's SIGHUP) stays ignored: held, it would be
/// queued anyway, and then taken for an interruption.
class HeldSignals {
public:
    HeldSignals();
    /// Discards what arrived (Take) and restores the signal mask.
    ~HeldSignals();
    HeldSignals(const HeldSignals&) = delete;
    HeldSignals& operator=(const HeldSignals&) = delete;

    /// The lowest-numbered held signal that arrived, 0 for none. Leaves it
    /// pending: a second Ctrl-C or a second kill changes nothing.
    int Pending() const;
    /// Like Pending, and consumes every held signal that arrived.
    int Take();

private:
    sigset_t held_;
    sigset_t old_mask_;
};

/// One verb's change window. Begins closed; Open holds the signals and
/// writes the journal; Close ends both.
class ChangeWindow {
public:
    /// How the verb ended its changes, for the journal.
    enum class Ending {
        kDone,    ///< At its goal (or nothing to change): an interruption before is converged.
        kUndone,  ///< Back where it started: an interruption before stays as it was.
        kHalf,    ///< Neither (an incomplete rollback or undo): this run's journal stays.
    };

    /// `interrupted`: the journal this run found when it started.
    ChangeWindow(std::string verb, std::optional<ChangeJournal> interrupted);
    ~ChangeWindow();

    /// Before the first change; again is a no-op. False with *err if the
    /// journal cannot be written: then nothing may change.
    bool Open(std::string* err);
    bool open() const { return held_.has_value(); }
    /// The step about to begin, into the journal; a failed write is said
    /// once in *err and not again.
    void Step(const std::string& what, std::string* err);
    /// The held signal that arrived, 0 for none (or if not open).
    int Signal() const { return held_ ? held_->Pending() : 0; }

    /// What the state is, in words, for the line a signal's exit prints,
    /// and how the changes ended.
    void Reached(std::string state, Ending ending);
    const std::string& state() const { return state_; }

    /// After the last change (or when the verb ends): the journal goes (or
    /// the interrupted one comes back), the held signals are consumed.
    /// `ok`: the verb succeeded (matters if it never opened: a success then
    /// found nothing to change). Returns the signal that arrived, 0 for none.
    int Close(bool ok, std::string* err);

private:
    std::string verb_;
    std::optional<ChangeJournal> interrupted_;
    std::optional<HeldSignals> held_;
    ChangeJournal journal_;
    std::string state_;
    Ending ending_ = Ending::kHalf;  ///< Until the verb says (Reached).
    bool step_failed_ = false;
    bool closed_ = false;
};

/// Reads the journal: false with *err empty when there is none.
bool ReadJournal(ChangeJournal* j, std::string* err);

}  // namespace haltfw
