// The ruleset watcher's state: what the watcher (haltfw-final --watch,
// started by `haltfw arm` through haltfw-watch.service) tells the CLI and
// the final stage, in the exitrd's haltfw.watch (kExitrdWatchState), one
// line:
//   haltfw-watch pid=N mode=standby|watching restored=N failed=N guard=N
//                proven=N netns=N
// (one line; proven and netns are the watcher's last proof, see below).
// It waits on standby while the box is armed and live (the admin may
// change the ruleset); `haltfw halt` sets it watching, and from then on it
// guards the armed ruleset to the final stage, which stops it and reports
// its counts. The watcher writes the file (WriteWatchState); the CLI and
// the final stage read it (ReadWatchState) and tell a live watcher by its
// argv[0] (WatcherAlive).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace haltfw {

struct WatchState {
    long pid = 0;
    bool watching = false;  ///< False: on standby, it touches nothing.
    int restored = 0;  ///< Times it found the ruleset changed and put it back.
    int failed = 0;    ///< Times the restore failed (it turned forwarding off).
    /// Tables of the shutdown guard it holds (nft_guard.h): set when it
    /// starts watching; 0 while on standby, or if the guard could not be
    /// loaded (it then guards by restoring alone).
    int guard = 0;
    /// The last ruleset generation at which the watcher knew the user's
    /// ruleset to be the armed one (its guard's load, conditional on arm's
    /// generation, or a check that found it as armed), in the network
    /// namespace whose cookie is `netns`; 0 and 0 when it knows of none.
    /// While the kernel's generation is still that one, the final stage
    /// need not read the ruleset (nft/ruleset_stamp.h).
    uint32_t proven = 0;
    uint64_t netns = 0;
};

/// The line, '\n'-terminated. Pure.
std::string FormatWatchState(const WatchState& s);
/// False for anything but one well-formed line with a positive pid: only
/// the form FormatWatchState writes (no sign, blank or leading zero), every
/// number in range. Pure.
bool ParseWatchState(std::string_view text, WatchState* s);

/// The watcher's argv[0]: `haltfw watch` execs it so. The '@' spares it
/// from systemd-shutdown's killing spree (as it spares root storage
/// daemons); readers tell a live watcher from a reused pid by it.
inline constexpr const char* kWatcherArgv0 = "@haltfw-watch";

/// Whether the text of /proc/PID/cmdline is the watcher's. Pure.
bool IsWatcherCmdline(std::string_view cmdline);

// ---- the writer's side: the watcher ----------------------------------------

/// Writes the state line to `path` whole (ReplaceFile: PATH.new, then a
/// rename), so that a reader never sees half a line. False, with *err
/// ("open(PATH.new): REASON"), if it could not.
bool WriteWatchState(const std::string& path, const WatchState& s, std::string* err);

// ---- the readers' side: the CLI and the final stage ------------------------

/// Far above the longest line FormatWatchState writes (about 160 bytes);
/// a file longer than this is no state line.
inline constexpr size_t kWatchStateMax = 4096;

enum class WatchStateRead {
    kNone,       ///< No file, or an empty one: no watcher has written.
    kMalformed,  ///< Something there, but no state line (or a longer file).
    kRead,
};

/// Reads and parses the state file at `path`, at most kWatchStateMax bytes;
/// *s is set only for kRead.
WatchStateRead ReadWatchState(const std::string& path, WatchState* s);

/// Whether process `pid` runs now with the watcher's argv[0] (reads the
/// first bytes of /proc/PID/cmdline). After systemd-shutdown's killing
/// spree a watcher's pid can have been reused only by another '@' process.
bool WatcherAlive(long pid);

}  // namespace haltfw
