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
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace haltfw {

inline constexpr const char* kExitrdDefault = "/run/initramfs";

/// $HALTFW_EXITRD if set (tests, inside a private mount namespace), else
/// /run/initramfs.
std::string ExitrdRoot();
inline std::string ExitrdShutdownPath(const std::string& root) { return root + "/shutdown"; }
inline std::string ExitrdManifestPath(const std::string& root) { return root + "/haltfw.manifest"; }
/// haltfw-inert, which the final stage execs after its report.
inline constexpr const char* kExitrdInert = "/haltfw-inert";
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

/// A file of the exitrd: its path inside it ("/shutdown",
/// "/lib/x86_64-linux-gnu/libc.so.6"), bytes and mode.
struct ExitrdFile {
    std::string path;
    std::string bytes;
    unsigned mode = 0755;
};

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
