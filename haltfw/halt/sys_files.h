// Small file access for the programs that run from the exitrd (the final
// stage as PID 1, and its watcher): /proc and /sys files, and the exitrd's
// own small files. Every fd O_CLOEXEC, EINTR retried, no read past a bound
// the caller can see. (arm/files.h is the CLI's, in a library PID 1 may
// not link.) Errors read "open(PATH): REASON".
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace haltfw {

/// The default bound: far above any /proc/PID/stat, status, meminfo,
/// swaps or sysctl file.
inline constexpr size_t kSysFileMax = 1 << 20;

/// Reads `path` into *out, at most `max` bytes. False, with *err (if
/// given), when it cannot be opened or a read fails (*out then holds what
/// was read before). *complete (if given) is false when the file held
/// more than `max` bytes: *out has its first `max`.
bool ReadFileUpTo(const char* path, size_t max, std::string* out, std::string* err = nullptr, bool* complete = nullptr);

/// The text of a /proc or /sys file, at most `max` bytes; "" if it cannot
/// be opened: for the reads where nothing there and nothing readable mean
/// the same.
std::string ReadSysFile(const char* path, size_t max = kSysFileMax);

/// Writes `value` to the existing file `path` (a sysctl, say) in one
/// write(2): no O_CREAT, no O_TRUNC. False, with *err (if given), when it
/// cannot be opened or the write fails or falls short.
bool WriteSysFile(const char* path, std::string_view value, std::string* err = nullptr);

/// Replaces `path` with `text` whole: written to PATH.new (created with
/// `mode`, truncated), then renamed over `path`, so a reader sees the old
/// text or the new, never half of one. No fsync: for files on a tmpfs (the
/// exitrd) that need not outlive a crash. False, with *err, on any failure
/// (PATH.new is then removed).
bool ReplaceFile(const std::string& path, std::string_view text, unsigned mode, std::string* err);

}  // namespace haltfw
