#include "final/watchdog_stop.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "base/exitrd_layout.h"
#include "final/console.h"

namespace haltfw {
namespace {

// linux/magic.h's SYSFS_MAGIC, spelled out rather than included for one
// constant.
constexpr long kSysfsMagic = 0x62656572;

// sysfs on /sys: systemd-shutdown binds the old root's /sys there (v252,
// src/shared/switch-root.c), and the final stage mounts one of its own if
// it did not.
bool SysfsMounted(std::string* why) {
    struct statfs st {};
    if (statfs(kExitrdSys, &st) == 0 && st.f_type == kSysfsMagic) return true;
    (void)mkdir(kExitrdSys, 0555);  // there already, or the mount says why
    if (mount("sysfs", kExitrdSys, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) == 0) return true;
    *why = std::string("mount sysfs on ") + kExitrdSys + ": " + std::strerror(errno);
    return false;
}

class SysfsWatchdogs : public WatchdogDevices {
public:
    bool Scan(std::vector<Watchdog>* found, std::string* why) override {
        if (!SysfsMounted(why)) return false;
        *found = ScanWatchdogs(kWatchdogClassDir);
        return true;
    }

    std::vector<std::string> Nodes() override {
        std::vector<std::string> nodes;
        DIR* d = opendir("/dev");
        if (!d) return nodes;
        while (dirent* e = readdir(d))
            if (std::strncmp(e->d_name, "watchdog", 8) == 0) nodes.push_back(std::string("/dev/") + e->d_name);
        (void)closedir(d);  // a directory read only: nothing to lose
        return nodes;
    }

    // The kernel's watchdog core (drivers/watchdog/watchdog_dev.c, 6.1):
    // the 'V' sets _WDOG_ALLOW_RELEASE, and the release then stops the
    // watchdog, unless nowayout refuses it (and it is pinged instead). A
    // driver that cannot stop its hardware leaves it to the kernel's own
    // worker, which feeds it from then on (state "inactive" all the same).
    bool MagicClose(const Watchdog& w, std::string* err) override {
        if (w.major == 0 && w.minor == 0) {
            *err = "sysfs gives no device number for '" + w.name + "'";
            return false;
        }
        int fd = OpenOwnNode(kExitrdWatchdog, makedev(w.major, w.minor), O_WRONLY, err);
        if (fd < 0) return false;
        ssize_t n;
        do n = write(fd, "V", 1);
        while (n < 0 && errno == EINTR);
        int write_errno = errno;
        // The release is the stop; a close(2) that fails has released it
        // all the same, and the state read next tells what it did.
        (void)close(fd);
        if (n == 1) return true;
        *err = std::string("write ") + kExitrdWatchdog + ": " + (n < 0 ? std::strerror(write_errno) : "short write");
        return false;
    }
};

}  // namespace

std::vector<WatchdogOutcome> StopWatchdogs() {
    SysfsWatchdogs devices;
    return StopRunningWatchdogs(&devices);
}

}  // namespace haltfw
