// haltfw-inert: what PID 1 becomes last. The final stage execs it after
// its report; it removes the exitrd's files (the final stage, its loader
// and libraries, the manifest, itself), so the tmpfs gives their memory
// back, prints one INERT line with its own footprint, and waits in
// sigwaitinfo for ever (with --heartbeat, printing an ALIVE line at each
// interval). This header is its pure part: the command line, the INERT and
// ALIVE lines, allocation-free, because haltfw-inert is a small static
// program that links nothing of libstdc++.
#pragma once

#include <cstddef>

#include "halt/ctrl_alt_del.h"

namespace haltfw {

/// The heartbeat's interval, in seconds: [halt] heartbeat's bounds too.
inline constexpr int kHeartbeatMinSeconds = 1;
inline constexpr int kHeartbeatMaxSeconds = 86400;

struct InertArgs {
    /// What Ctrl-Alt-Del (SIGINT to PID 1) does once inert.
    CtrlAltDelAction ctrl_alt_del = CtrlAltDelAction::kIgnore;
    /// Seconds between ALIVE lines; 0: none.
    int heartbeat_s = 0;
    /// Its lines (INERT, ALIVE, its own messages) to the kernel log too,
    /// verbatim at level 6, for netconsole to carry (--kmsg).
    bool kmsg = false;
    bool help = false;
};

/// Parses `haltfw-inert [--ctrl-alt-del reboot|poweroff|ignore]
/// [--heartbeat SECONDS] [--kmsg] [--help]` (also `--OPTION=VALUE` for
/// those with a value). On an error
/// returns false with `*err` a static message ("unknown option", "missing
/// value for --ctrl-alt-del", "bad value for --ctrl-alt-del (reboot,
/// poweroff or ignore)", "missing value for --heartbeat", "bad value for
/// --heartbeat (seconds, 1 to 86400)") and `*bad` the index of the argument
/// at fault; `*args` is then left at its defaults (Ctrl-Alt-Del ignored, no
/// heartbeat, the console alone). Pure.
bool ParseInertArgs(int argc, const char* const* argv, InertArgs* args, const char** err, int* bad);

/// What haltfw-inert measured as it went inert; -1 where unknown.
struct InertFigures {
    /// Resident set from /proc/self/smaps_rollup, a walk of the page
    /// tables: Rss, its Anonymous part, and the rest (its own program's
    /// pages, a tmpfs file).
    long rss_kib = -1;
    long rss_anon_kib = -1;
    long rss_file_kib = -1;
    /// The kernel's counters in /proc/self/status, as they are: VmRSS and
    /// VmHWM (after the exec, a new mm's: haltfw-inert's own peak). Before
    /// Linux 6.2 they lag, each thread caching up to 64 faults' worth
    /// (SPLIT_RSS_COUNTING): a program of few faults shows a few KiB.
    long vm_rss_kib = -1;
    long vm_hwm_kib = -1;
    long mem_used_kib = -1;   ///< MemTotal - MemAvailable, after the removal
    long removed = 0;         ///< Files and directories removed from the exitrd.
    long remove_failed = 0;   ///< Entries it could not remove.
    long freed_kib = 0;       ///< Blocks the exitrd's tmpfs gave back (statfs before and after).
    long left_kib = -1;       ///< Blocks the exitrd still holds (its own program, still mapped).
    CtrlAltDelAction ctrl_alt_del = CtrlAltDelAction::kIgnore;
};

/// The INERT line, '\n'-terminated, into `buf` (NUL-terminated, cut at
/// `size` - 1); returns its length:
///   HALTFW: INERT rss_kib=N rss_anon_kib=N rss_file_kib=N vm_rss_kib=N
///           vm_hwm_kib=N mem_used_kib=N removed=N remove_failed=N
///           freed_kib=N left_kib=N ctrl_alt_del=WORD
/// (one line). Pure.
size_t FormatInertLine(const InertFigures& f, char* buf, size_t size);

/// What haltfw-inert reads at each heartbeat; -1 where unknown. From
/// sysinfo(2), which needs no file system: uptime, the 1-minute load and
/// free RAM; through files of /proc opened before it was taken off (see
/// haltfw_inert.cc): MemAvailable, the conntrack table's count, its own
/// resident set.
struct AliveFigures {
    long up_s = -1;              ///< Seconds since boot.
    unsigned long load1 = 0;     ///< 1-minute load average, fixed point (sysinfo's << 16).
    bool load_known = false;
    long mem_avail_kib = -1;     ///< MemAvailable (/proc/meminfo).
    long mem_free_kib = -1;      ///< Free RAM (sysinfo).
    long conntrack = -1;         ///< net.netfilter.nf_conntrack_count; -1 without conntrack.
    long rss_kib = -1;           ///< Its own resident set (/proc/self/smaps_rollup).
};

/// The ALIVE line, '\n'-terminated, into `buf` (NUL-terminated, cut at
/// `size` - 1); returns its length:
///   HALTFW: ALIVE up=N load1=N.NN mem_avail_kib=N mem_free_kib=N
///           conntrack=N rss_kib=N
/// (one line; load1=-1 when unknown). Pure.
size_t FormatAliveLine(const AliveFigures& f, char* buf, size_t size);

}  // namespace haltfw
