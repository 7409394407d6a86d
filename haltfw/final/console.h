// What haltfw-final says as PID 1: on the console (fds 0, 1 and 2, which
// systemd-shutdown passes as /dev/console) and in the kernel log, each
// line with the program's name in front. The report goes to the console
// whole (WriteConsole) and line by line to the kernel log (Kmsg).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

namespace haltfw {

/// Moves the console and the kernel log onto device nodes of the final
/// stage's own in the exitrd's tmpfs (made, opened and unlinked at once),
/// so that they stay open when the devtmpfs systemd moved to /dev is taken
/// off. Says on the console what it could not do.
void OwnConsole();

/// A character device node of the final stage's own at `path` (in the
/// exitrd's tmpfs), opened with `flags` (and O_CLOEXEC) and unlinked at
/// once: the fd keeps the device, whatever happens to /dev. -1, with
/// *err ("mknod PATH: REASON", "open PATH: REASON"), if it could not be
/// made or opened.
int OpenOwnNode(const char* path, dev_t dev, int flags, std::string* err);

/// A message outside the report, on the console and in the kernel log:
/// "haltfw-final: MSG" (callers pass the message alone).
void Say(const std::string& msg);

/// The kernel log's copy alone (the console already has the report).
void Kmsg(const std::string& line);

/// `text`'s lines to the kernel log as they are, at level 6 (info), with
/// no program name in front: the report's own lines ("HALTFW: ..."), for
/// netconsole. False if a write failed (a line over the kernel's 992
/// bytes, say).
bool KmsgLines(std::string_view text);

/// Text to the console as it is: the report.
void WriteConsole(std::string_view text);

/// Closes the kernel log: PID 1 keeps nothing open but the console.
void CloseKmsg();

/// The kernel log's descriptor, or -1 (none yet, or closed): for the
/// fail-closed handler (final/fail_closed.h), which may not allocate and so
/// writes its lines itself. Reads one int.
int KmsgFd();

/// CLOCK_MONOTONIC in milliseconds, for the timings the final stage and
/// the watcher report.
long MonotonicMs();

}  // namespace haltfw
