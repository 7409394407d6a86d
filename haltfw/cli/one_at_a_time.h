// One haltfw at a time (arm/run_lock.h), as the command line applies it
// around a verb: the verbs that change state take the run lock before they
// read anything; those that only read say whether another haltfw is at
// work, or what one that was killed left; and a verb's changes end in
// EndChanges, which turns a signal held in them into the exit status.
#pragma once

#include <optional>
#include <string>

#include "arm/change_window.h"
#include "arm/run_lock.h"

namespace haltfw::cli {

/// Takes the run lock for a verb that changes state, waiting up to 30 s
/// for another run to end (unless `no_wait`). Returns kOk, or the exit
/// code; *interrupted gets the journal of a run that never ended.
int TakeRunLock(const std::string& verb, bool no_wait, RunLock* lock, std::optional<ChangeJournal>* interrupted);

/// For a verb that only reads: says when another haltfw is changing what
/// it reads, or what an interrupted one left.
void NoticeOthers();

/// The end of a verb's changes: the journal goes, the held signals are
/// taken. If one arrived, the verb went the shorter way to a whole state
/// first; this says what the state is and returns 128+N, as a shell reports
/// a process a signal ended; else `rc`.
int EndChanges(ChangeWindow* window, int rc);

}  // namespace haltfw::cli
