#include "final/netconsole_halt.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/exitrd_layout.h"
#include "halt/sys_files.h"

namespace haltfw {
namespace {

// The target: checked, made again if need be. Returns what the report
// says of it; *sending as NetconsoleAtHalt's.
std::string CheckTarget(const NetconsoleTarget& armed, bool* sending) {
    const std::string what = armed.Describe();
    (void)mkdir(kExitrdConfigfs, 0700);  // there already, or the mount says why
    if (mount("configfs", kExitrdConfigfs, "configfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
        std::string why = std::strerror(errno);
        (void)rmdir(kExitrdConfigfs);
        return what + " NOT CHECKED: mount configfs: " + why;
    }
    NetconsoleState found;
    std::string err, line;
    if (!ReadNetconsole(kExitrdConfigfs, &found, &err)) {
        line = what + " NOT SENDING: " + err;
    } else if (std::string drift = NetconsoleDrift(armed, found); drift.empty()) {
        *sending = true;
        line = what + " as armed";
    } else if (WriteNetconsole(kExitrdConfigfs, armed, &err)) {
        *sending = true;
        line = what + " made again (it was " + drift + ")";
    } else {
        line = what + " NOT SENDING: it was " + drift + "; making it again: " + err;
    }
    // Lazily if busy: nothing of ours holds it, and a mount left behind
    // would show in the report's mounts line.
    if (umount2(kExitrdConfigfs, UMOUNT_NOFOLLOW) != 0) (void)umount2(kExitrdConfigfs, MNT_DETACH | UMOUNT_NOFOLLOW);
    (void)rmdir(kExitrdConfigfs);
    return line;
}

// Raises the console log level to 7 if it is lower; the report's words.
std::string LetReportThrough() {
    int level = ConsoleLogLevel(ReadSysFile("/proc/sys/kernel/printk"));
    std::string err, note;
    if (level < 0) {
        note = "console log level unknown";
    } else if (level >= 7) {
        note = "console log level " + std::to_string(level);
    } else if (WriteSysFile("/proc/sys/kernel/printk", "7", &err)) {
        note = "console log level 7 (raised from " + std::to_string(level) + ")";
    } else {
        note = "console log level " + std::to_string(level) + " (NOT raised: " + err +
               "; only messages more urgent than that reach the collector)";
    }
    // "on": every write to /dev/kmsg is logged. One that the command line
    // locked (printk.devkmsg=) refuses the change: then so be it.
    (void)WriteSysFile("/proc/sys/kernel/printk_devkmsg", "on\n");
    return note;
}

}  // namespace

std::string NetconsoleAtHalt(const NetconsoleTarget& armed, bool* sending) {
    *sending = false;
    std::string target = CheckTarget(armed, sending);
    std::string level = LetReportThrough();
    if (level.find("NOT") != std::string::npos || level.find("unknown") != std::string::npos) *sending = false;
    return target + "; " + level;
}

}  // namespace haltfw
