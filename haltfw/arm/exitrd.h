// The exitrd: a tmpfs haltfw mounts on /run/initramfs, holding the final
// stage as `shutdown` and the armed manifest. systemd-shutdown (v252) pivots
// into it at the very end of a shutdown and execs /shutdown as PID 1.
//
// Why a tmpfs of its own: Debian 12's initramfs-tools mounts /run noexec, and
// on a noexec mount systemd's access(X_OK) check fails, so it silently skips
// the exitrd and halts the CPUs. A mount of our own also hides whatever
// else sits in /run/initramfs (dracut's .need_shutdown marker among it, so
// dracut-shutdown.service does not unpack an initramfs over the final stage).
// The mount survives the shutdown: systemd (v252) treats mounts under
// /run/initramfs as extrinsic (src/core/mount.c: its mount unit is never
// stopped) and systemd-shutdown's unmount loop skips them
// (nonunmountable_path in src/shutdown/umount.c).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/exitrd_layout.h"

namespace haltfw {

/// $HALTFW_EXITRD if set (tests, inside a private mount namespace), else
/// /run/initramfs (kExitrdDefault).
std::string ExitrdRoot();
// The exitrd's files (base/exitrd_layout.h) under `root`.
inline std::string ExitrdShutdownPath(const std::string& root) { return root + kExitrdShutdown; }
inline std::string ExitrdManifestPath(const std::string& root) { return root + kExitrdManifest; }
inline std::string ExitrdWatchStatePath(const std::string& root) { return root + kExitrdWatchState; }
/// haltfw-inert, which the final stage execs after its report.
inline std::string ExitrdInertPath(const std::string& root) { return root + kExitrdInert; }

/// The ELF machine (EM_*) haltfw itself was built for.
uint16_t NativeElfMachine();

/// Checks that `image` is an executable the exitrd can run with nothing
/// else in it: an ELF file of the native class, byte order and `machine`,
/// an executable (not a relocatable or core file), without a program
/// interpreter (PT_INTERP) and without DT_NEEDED libraries. A static-pie
/// passes. Errors read "dynamically linked (interpreter
/// '/lib64/ld-linux-x86-64.so.2')". Pure.
bool CheckStaticElf(std::string_view image, uint16_t machine, std::string* err);

/// What the exitrd needs of an ELF executable: its program interpreter
/// ("" for a static one) and how many libraries it names (DT_NEEDED).
struct ElfFacts {
    std::string interpreter;
    int needed = 0;
};

/// Checks that `image` is an ELF executable of the native class, byte order
/// and `machine`, and reads its ElfFacts. Pure.
bool InspectElf(std::string_view image, uint16_t machine, ElfFacts* facts, std::string* err);

/// What stat(2) says of a file (symlinks followed): which file it is and
/// when it last changed. A write, a truncate, a chmod or a rename over it
/// changes the stamp; only the kernel sets ctime, so a write followed by
/// restoring the mtime (touch -d) still shows.
struct FileStamp {
    uint64_t dev = 0;
    uint64_t ino = 0;
    uint64_t size = 0;
    unsigned mode = 0;
    int64_t mtime_ns = 0;
    int64_t ctime_ns = 0;
    bool operator==(const FileStamp&) const = default;
};

/// stat(2) of `path`; false when it does not exist or cannot be stat'ed.
bool StampFile(const std::string& path, FileStamp* stamp);

/// A file of the exitrd: its path inside it ("/shutdown",
/// "/lib/x86_64-linux-gnu/libc.so.6"), bytes and mode, and where the bytes
/// came from, stamped before they were read (at `stamped_ns`, realtime).
struct ExitrdFile {
    std::string path;
    std::string bytes;
    unsigned mode = 0755;
    std::string source;
    FileStamp source_stamp;
    int64_t stamped_ns = 0;
};

/// CLOCK_REALTIME in nanoseconds.
int64_t RealtimeNs();

/// The libraries in the output of `INTERPRETER --list BINARY` (what ldd
/// prints): the resolved path of each "NAME => PATH (ADDRESS)" line, in
/// order; the vDSO and the interpreter's own line are skipped. A library
/// "not found" is an error naming it. Pure.
bool ParseLoaderList(std::string_view out, std::vector<std::string>* libs, std::string* err);

/// The final stage and what it needs in the exitrd: itself as /shutdown and,
/// when it is dynamically linked, its program interpreter and every library
/// the interpreter resolves for it, each at its own path (after the pivot
/// into the exitrd they are found where they were). Errors read
/// "final stage PATH: REASON".
bool LoadExitrdFiles(const std::string& final_path, std::vector<ExitrdFile>* files, std::string* err);

/// haltfw-inert in the directory of the final stage at `final_path`
/// ("/x/haltfw-final" -> "/x/haltfw-inert"). Pure.
std::string InertBeside(const std::string& final_path);

/// Reads haltfw-inert at `path` into `*file` (as /haltfw-inert, 0755); it
/// must be static (CheckStaticElf): the exitrd's libraries are gone by
/// the time it runs. Errors read "inert program PATH: REASON".
bool LoadInertFile(const std::string& path, ExitrdFile* file, std::string* err);

// ---- the record of the exitrd's files --------------------------------------
//
// Arm compares the exitrd's files with their sources byte for byte, some
// 3 MiB on every arm and every halt (a halt arms again). After an arm it
// writes ROOT/haltfw.files: for each file its source and the stamps of the
// source and of the copy. The next arm that finds every stamp as recorded
// (and the loader's cache and preload list, which decide the libraries,
// unchanged) takes the files as current without reading them: make and
// rsync's quick check, with ctime and the inode in it. A source that
// changed within kRecordRacyNs of the recording is not recorded (its stamp
// could be shared with a second change in the same clock tick), and any
// difference means the full compare, as before.

inline std::string ExitrdRecordPath(const std::string& root) { return root + kExitrdRecord; }
inline constexpr const char* kLoaderCache = "/etc/ld.so.cache";
inline constexpr const char* kLoaderPreload = "/etc/ld.so.preload";
inline constexpr const char* kSelfExe = "/proc/self/exe";
inline constexpr int64_t kRecordRacyNs = 2'000'000'000;

/// What decides the exitrd's files besides their sources: the loader's
/// cache and preload list (which libraries `ld.so --list` names) and the
/// haltfw program that installs them. Stamped before the files are listed.
struct ExitrdContext {
    std::optional<FileStamp> loader_cache;    ///< kLoaderCache; none if absent.
    std::optional<FileStamp> loader_preload;  ///< kLoaderPreload; none if absent.
    std::optional<FileStamp> writer;          ///< kSelfExe.
    bool operator==(const ExitrdContext&) const = default;
};

struct ExitrdRecord {
    struct Entry {
        std::string path;    ///< Inside the exitrd: "/shutdown".
        std::string source;  ///< Where it came from, as arm was given it.
        FileStamp source_stamp;
        FileStamp copy_stamp;
    };
    std::vector<Entry> entries;
    ExitrdContext context;
};

/// Text form: a "haltfw-files 2" line, then "loader-cache STAMP|-",
/// "loader-preload STAMP|-", "writer STAMP|-", then one
/// "file PATH<TAB>SOURCE<TAB>STAMP<TAB>STAMP" line per entry, STAMP being
/// dev:ino:size:mode:mtime_ns:ctime_ns. Pure.
std::string SerializeExitrdRecord(const ExitrdRecord& r);
/// Errors read "line N: REASON". Pure.
bool ParseExitrdRecord(std::string_view text, ExitrdRecord* r, std::string* err);

/// Looks a stamp up: false when the file is missing (StampFile, or a fake).
using StampLookup = std::function<bool(const std::string& path, FileStamp* stamp)>;

/// The ExitrdContext as `stamp` finds it now.
ExitrdContext StampExitrdContext(const StampLookup& stamp);

/// The record of an arm that installed `files` (and `inert`, if any) into
/// the exitrd `root`, in `context` (stamped before the files were listed):
/// each copy stamped now through `stamp`. False, with *why, when a file
/// cannot be recorded: a source stamp missing, a copy gone, a source whose
/// mtime or ctime was within kRecordRacyNs of the moment it was stamped (a
/// second change in the same clock tick would not show), a path with a tab
/// or newline. Pure given `stamp`.
bool BuildExitrdRecord(const std::string& root, const std::vector<ExitrdFile>& files, const ExitrdFile* inert,
                       const ExitrdContext& context, const StampLookup& stamp, ExitrdRecord* r, std::string* why);

/// Whether the exitrd `root` holds what an arm with the final stage
/// `final_path` and haltfw-inert `inert_path` ("" for none) would install,
/// by `r` alone: /shutdown recorded from `final_path`, /haltfw-inert from
/// `inert_path` (or, without one, no /haltfw-inert in the exitrd), every
/// source and copy with its recorded stamp, the ExitrdContext as recorded.
/// *why: the first difference. Pure given `stamp`.
bool ExitrdRecordCurrent(const ExitrdRecord& r, const std::string& root, const std::string& final_path,
                         const std::string& inert_path, const StampLookup& stamp, std::string* why);

/// One line of /proc/self/mountinfo, the parts haltfw needs.
struct ExitrdMount {
    std::string mount_point;  ///< Unescaped (\040 -> ' ').
    std::string options;      ///< Per-mount options: "rw,nosuid,nodev".
    std::string fstype;
    bool HasOption(std::string_view opt) const;
};

/// The top-most mount on `path` (the last mountinfo line for it), if any.
/// `path` must be canonical (no symlinks, no trailing '/'). Pure.
std::optional<ExitrdMount> FindMount(std::string_view mountinfo, const std::string& path);

/// What is mounted on the exitrd root now.
struct ExitrdState {
    std::string root;          ///< Canonical path.
    std::optional<ExitrdMount> mount;
    /// A tmpfs that allows exec: the only kind haltfw mounts or reuses.
    bool Usable() const { return mount && mount->fstype == "tmpfs" && !mount->HasOption("noexec"); }
};

/// Reads /proc/self/mountinfo for `root` (canonicalised when it exists).
bool ReadExitrdState(const std::string& root, ExitrdState* st, std::string* err);

/// Mounts a tmpfs (mode 0700, exec allowed, nosuid) on `root`, creating the
/// directory (mode 0700) if needed. If a usable tmpfs is already there it is
/// reused (`*mounted` false): re-arming replaces the files in place. Refuses
/// any other mount on `root`: "exitrd /run/initramfs: already a mount of
/// type 'ext4', not haltfw's; refusing to mount over it".
bool MountExitrd(const std::string& root, bool* mounted, bool* created_dir, std::string* err);

/// Unmounts `root`; if it is busy, detaches it lazily (`*lazy` true).
bool UnmountExitrd(const std::string& root, bool* lazy, std::string* err);

}  // namespace haltfw
