// Records of a crash the kernel kept across a reboot (pstore), found at
// arm for the halt report's 'pstore:' line and for `haltfw status`.
//
// The kernel's pstore keeps the end of the kernel log of a panic (or an
// oops) in a backend that survives a reset: EFI variables (efi-pstore, the
// one a PC has), memory the firmware leaves alone (ramoops), a block
// device. The next boot shows them as files in /sys/fs/pstore, one per
// part, named TYPE-BACKEND-ID ("dmesg-efi-173340002401001"), the file's
// time being when the kernel wrote it; a dmesg part begins with a line
// "Panic#1 Part1" (the reason, the dump's number in that boot, the part;
// Part1 holds the newest lines, the panic's among them).
//
// systemd-pstore.service (Debian 12: enabled, Storage=external,
// Unlink=yes) moves them early at boot to /var/lib/systemd/pstore: a dmesg
// part to a directory named after its ID (less the last six digits),
// anything else to the top, copies keeping the file's time; and deletes
// them from /sys/fs/pstore, which frees the backend's space (for efi, the
// variables). So at arm a record is in one of two places:
//   - /sys/fs/pstore: not archived (systemd-pstore not run, Storage=none,
//     Unlink=no): it stays, and is reported again at every boot until
//     someone deletes it there;
//   - the archive: reported only if archived during this boot (the copy's
//     change time, which nothing can set back, after the boot began), so a
//     crash is reported once, at the boot after it, however long the
//     archive keeps it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace haltfw {

/// Where the kernel and systemd keep the records (tests point elsewhere).
struct PstorePaths {
    std::string backend = "/sys/module/pstore/parameters/backend";
    std::string fs = "/sys/fs/pstore";
    std::string archive = "/var/lib/systemd/pstore";
};

/// One part of a record, as found.
struct PstoreRecord {
    std::string name;     ///< "dmesg-efi-173340002401001"
    std::string type;     ///< "dmesg", "console", "pmsg", ...
    std::string backend;  ///< "efi"
    std::string dir;      ///< The directory it was found in.
    bool archived = false;  ///< In systemd-pstore's archive, not /sys/fs/pstore.
    int64_t time = 0;     ///< When the kernel wrote it (the file's mtime), s since the epoch.
    /// A dmesg part's first line ("Panic#1 Part1"); "" if it has none
    /// (compressed and unreadable, ".enc.z", or not text).
    std::string header;
    /// The line saying what crashed ("Kernel panic - not syncing: ..."),
    /// printable ASCII, at most kPstoreMessageMax bytes; "" if none.
    std::string message;
    std::string error;    ///< Why its text could not be read; "" if it could.
};

struct PstoreScan {
    /// The registered backend ("efi"), "" for none (the kernel's
    /// "(null)"), or "?" if it could not be read.
    std::string backend;
    std::vector<PstoreRecord> records;  ///< By directory, then name.
    /// Entries not taken, each "PATH: why" (a symbolic link, a name that
    /// is not a record's, more entries than it reads): for tests and -v.
    std::vector<std::string> ignored;
    std::string fs, archive;  ///< The directories read (PstorePaths), for the line.
};

inline constexpr size_t kPstoreMessageMax = 160;
/// How much of one record is read; the rest is left unread.
inline constexpr size_t kPstoreReadMax = 256 * 1024;
/// Entries read per directory, and archive subdirectories looked into.
inline constexpr size_t kPstoreEntriesMax = 512;

/// Splits a record's file name, TYPE-BACKEND-ID[.enc.z], TYPE one of the
/// kernel's (6.1: fs/pstore/platform.c's names). False for anything else.
/// Pure.
bool ParsePstoreName(std::string_view name, std::string* type, std::string* backend);

/// A dmesg part's text: its first line if it reads "REASON#N PartM", and
/// the crash's line: the first "Kernel panic - not syncing" line, else the
/// first "BUG: ", "Oops: ", "general protection fault" or "WARNING: "
/// line, from that phrase on (the kernel's "<0>[  41.55] " before it left
/// out), non-printable bytes as '?', cut at kPstoreMessageMax. Pure.
void ParseDmesgText(std::string_view text, std::string* header, std::string* message);

/// The halt report's 'pstore:' line without "pstore: ", for people:
///   "no backend: the kernel has nowhere to keep a record of a crash across a reboot"
///   "no crash record from before this boot (backend efi)"
///   "a crash record from before this boot (efi, Panic#1 at 2026-12-05 12:03:44 UTC, 3 parts):
///    Kernel panic - not syncing: NMI: Not continuing; archived by systemd-pstore in
///    /var/lib/systemd/pstore/1733400024"
///   "2 crash records from before this boot (efi; the last Panic#2 at ...): ...; ..."
/// A dump is the parts of one backend with one "REASON#N" written within
/// a minute of each other; the last is the one whose line is shown.
/// Records still in /sys/fs/pstore say they are reported at every boot
/// until deleted there. Pure.
std::string PstoreLine(const PstoreScan& s);

/// Reads the backend and the records: every record file in `p.fs`, and in
/// `p.archive` (its top and its subdirectories) those whose change time is
/// at or after `boot_ns` (ns since the epoch, CLOCK_REALTIME). Never
/// follows a symbolic link, reads regular files only and at most
/// kPstoreReadMax bytes of each; never fails: what it cannot read is in
/// `ignored` or a record's `error`. A missing directory holds nothing.
PstoreScan ScanPstore(const PstorePaths& p, int64_t boot_ns);

/// When this boot began, in ns since the epoch: CLOCK_REALTIME less
/// CLOCK_BOOTTIME. (A clock set forward since the boot moves it later; a
/// record archived before that step would then be missed.)
int64_t BootTimeNs();

}  // namespace haltfw
