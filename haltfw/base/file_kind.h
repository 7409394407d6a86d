// FileKind: how a message names what a path turned out to be when a
// regular file was wanted ("not a regular file (a directory)").
#pragma once

#include <sys/stat.h>

namespace haltfw {

/// "a directory", "a FIFO", ... for st_mode; "not a file" for anything else.
inline const char* FileKind(mode_t mode) {
    switch (mode & S_IFMT) {
        case S_IFDIR: return "a directory";
        case S_IFIFO: return "a FIFO";
        case S_IFSOCK: return "a socket";
        case S_IFCHR: return "a character device";
        case S_IFBLK: return "a block device";
        case S_IFLNK: return "a symbolic link";
    }
    return "not a file";
}

}  // namespace haltfw
