// One haltfw at a time. Two applies run together each snapshot the state,
// and a rollback of one puts back what it saw, undoing the other's work
// (seen: an empty live ruleset after two "successful" applies). So every
// verb that changes state (apply, arm, disarm, halt, watch's setup) holds an
// exclusive flock(2) on STATE_DIR/lock (state_file.h's StateDir: /run/haltfw,
// or $HALTFW_STATE_DIR), taken before it reads anything. The kernel lets go
// of it when the holder exits, however it exits, so a lock is never stale;
// an admin's script can join in with flock(1) on the same file.
//
// The holder writes its pid and verb into the file, for the message of the
// one that finds it busy. The verbs that only read never take the lock, not
// even shared for an instant (a changer trying it then would find it busy
// for no reason): they look for the holder in /proc/locks.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "arm/files.h"

namespace haltfw {

/// STATE_DIR/lock.
std::string RunLockPath();

/// Who holds the lock. `pid` 0: unknown (/proc/locks unreadable); `verb`
/// empty: it has not written it yet, or the file says another pid.
struct LockOwner {
    long pid = 0;
    std::string verb;
};

/// The lock file's content for `owner`: "pid=N\nverb=V\n".
std::string SerializeLockOwner(const LockOwner& owner);
/// Parses that content; false for anything else (an empty file included).
bool ParseLockOwner(std::string_view text, LockOwner* owner);

/// The pid holding a flock on the file with device `major`:`minor` and inode
/// `ino`, from the text of /proc/locks (lines "N: FLOCK ADVISORY WRITE PID
/// MAJ:MIN:INO 0 EOF", the device numbers in hex; lines with "->" are
/// waiters, not holders). 0 if none. Pure.
long FlockHolder(std::string_view proc_locks, unsigned major, unsigned minor, unsigned long ino);

/// "another haltfw (pid N, 'apply')", leaving out what is unknown.
std::string DescribeOwner(const LockOwner& owner);

/// Whether another process holds the lock now, and who (never creates or
/// locks anything: for the verbs that only read).
bool LockHeld(LockOwner* owner);

/// The lock, held from Take until destruction.
class RunLock {
public:
    RunLock() = default;
    RunLock(RunLock&&) = default;
    RunLock& operator=(RunLock&&) = default;
    /// Clears the owner (so that the file never names a process that let
    /// go) and closes, which releases the lock.
    ~RunLock();

    /// Takes the lock for `verb`, creating STATE_DIR if need be. If another
    /// holds it: with `wait` zero, false at once; else waits up to `wait`
    /// for it to let go (woken by the kernel when it does, not by polling),
    /// then false. False with *err empty means busy, and *holder says who;
    /// else *err says why the lock could not be taken at all. The fd is
    /// O_CLOEXEC: an exec (watch's) lets go of the lock.
    bool Take(const std::string& verb, std::chrono::seconds wait, LockOwner* holder, std::string* err);

    bool held() const { return fd_.valid(); }

private:
    UniqueFd fd_;
};

}  // namespace haltfw
