// Small file-system helpers for the halt preparation (exitrd, guards):
// whole-file reads and atomic writes, each fd O_CLOEXEC and closed by RAII.
// Errors read "OPERATION PATH: REASON".
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

namespace haltfw {

/// Owns one file descriptor; closes it on destruction.
class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    ~UniqueFd();
    UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
    UniqueFd& operator=(UniqueFd&& o) noexcept;
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    int release();
    /// Closes now and reports the error close() gives (on some file systems
    /// the last chance to hear of a failed write).
    bool Close(std::string* err, const std::string& path);

private:
    int fd_ = -1;
};

/// Reads the whole file. A missing file is false with *err empty, so that
/// callers can tell "absent" from "unreadable". Refuses files over `limit`.
bool ReadWholeFile(const std::string& path, std::string* out, std::string* err, size_t limit = 256u << 20);

/// *same: `path` exists and holds exactly `content`, compared through a
/// fixed buffer (never the whole file in memory). A missing file is
/// success with *same false; other errors read "read PATH: REASON".
bool FileHolds(const std::string& path, std::string_view content, bool* same, std::string* err);

/// Whether WriteFileAtomic fsyncs before its rename: not for a file on a
/// tmpfs that a power cut empties anyway.
enum class Durability { kFsync, kNoFsync };

/// Writes PATH.tmp with `mode`, fsyncs it (kFsync) and renames it over
/// `path`, so a reader sees the old or the new content, never a mix.
bool WriteFileAtomic(const std::string& path, const std::string& content, mode_t mode, std::string* err,
                     Durability durability = Durability::kFsync);

/// Removes a file; a missing file is success with *removed false.
bool RemoveFile(const std::string& path, bool* removed, std::string* err);

}  // namespace haltfw
