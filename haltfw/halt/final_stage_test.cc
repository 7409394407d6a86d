#include "halt/final_stage.h"

#include <catch2/catch.hpp>

using namespace haltfw;

TEST_CASE("the verb table: only halt with a valid manifest becomes the firewall") {
    CHECK(DecideAction("halt", true) == FinalAction::kFirewall);
    CHECK(DecideAction("halt", false) == FinalAction::kHalt);
    CHECK(DecideAction("poweroff", true) == FinalAction::kPowerOff);
    CHECK(DecideAction("poweroff", false) == FinalAction::kPowerOff);
    CHECK(DecideAction("reboot", true) == FinalAction::kReboot);
    CHECK(DecideAction("kexec", true) == FinalAction::kKexec);
    // Anything unexpected must not hang the machine.
    CHECK(DecideAction("", true) == FinalAction::kReboot);
    CHECK(DecideAction("suspend", false) == FinalAction::kReboot);
}

// What mountinfo looks like in the exitrd right after systemd-shutdown's
// pivot_root: the exitrd at /, the old root at /oldroot with what could not
// be unmounted under it, and the API file systems systemd moved over.
const char* kMountinfo =
    "200 1 0:50 / / rw,relatime shared:1 - tmpfs tmpfs rw,mode=700\n"
    "30 200 254:1 / /oldroot rw,relatime shared:2 - ext4 /dev/vda rw\n"
    "31 200 0:5 / /dev rw,nosuid shared:3 - devtmpfs udev rw\n"
    "32 31 0:25 / /dev/pts rw,nosuid shared:4 - devpts devpts rw\n"
    "33 200 0:22 / /proc rw,nosuid shared:5 - proc proc rw\n"
    "34 200 0:21 / /sys rw,nosuid shared:6 - sysfs sysfs rw\n"
    "35 34 0:26 / /sys/fs/cgroup rw shared:7 - cgroup2 cgroup2 rw\n"
    "36 200 0:24 / /run rw,nosuid shared:8 - tmpfs tmpfs rw\n"
    "37 30 0:40 / /oldroot/mnt/with\\040space rw - tmpfs tmpfs rw\n"
    "38 37 0:41 / /oldroot/mnt/with\\040space/deeper rw - tmpfs tmpfs rw\n";

TEST_CASE("mountinfo parses, unescaping mount points") {
    auto m = ParseMountinfo(kMountinfo);
    REQUIRE(m.size() == 10);
    CHECK(m[0].point == "/");
    CHECK(m[0].fstype == "tmpfs");
    CHECK(m[8].point == "/oldroot/mnt/with space");
    CHECK(m[8].parent == 30);
}

TEST_CASE("mounts come off children first, keeping / and what is kept") {
    auto order = UnmountOrder(ParseMountinfo(kMountinfo), {"/proc"});
    CHECK(order == std::vector<std::string>{
                       "/oldroot/mnt/with space/deeper",
                       "/oldroot/mnt/with space",
                       "/sys/fs/cgroup",
                       "/dev/pts",
                       "/run",
                       "/sys",
                       "/dev",
                       "/oldroot",
                   });
}

TEST_CASE("a mount stacked on the same point comes off before the one under it") {
    const char* stacked =
        "1 1 0:1 / / rw - rootfs rootfs rw\n"
        "2 1 0:2 / /oldroot rw - ext4 /dev/vda rw\n"
        "3 2 0:3 / /oldroot rw - tmpfs tmpfs rw\n";
    CHECK(UnmountOrder(ParseMountinfo(stacked), {}) == std::vector<std::string>{"/oldroot", "/oldroot"});
}

TEST_CASE("kernel threads are told from userspace by PF_KTHREAD") {
    // kthreadd and a worker (flags 0x208040 and 0x4208060 have PF_KTHREAD).
    CHECK(IsKernelThreadStat("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 3 0 0"));
    CHECK(IsKernelThreadStat("57 (kworker/0:1-events) I 2 0 0 0 -1 69238880 0 0 0 0"));
    // A userspace process whose name holds ") " and digits.
    CHECK_FALSE(IsKernelThreadStat("812 (evil) 1 2 (x)) S 1 812 812 0 -1 4194560 100 0 0 0"));
    CHECK_FALSE(IsKernelThreadStat("garbage"));
    // What a fuzzer found: a ')' at the end, nothing after it.
    CHECK_FALSE(IsKernelThreadStat("\xb1" "d)"));
    CHECK_FALSE(IsKernelThreadStat(")"));
    CHECK_FALSE(IsKernelThreadStat("1 (x) "));
}

TEST_CASE("VmRSS and VmHWM are read from /proc/self/status in KiB") {
    const char* status =
        "Name:\thaltfw-final\n"
        "VmPeak:\t    9000 kB\n"
        "VmHWM:\t    1520 kB\n"
        "VmRSS:\t    1384 kB\n"
        "RssAnon:\t     200 kB\n"
        "RssFile:\t    1184 kB\n";
    CHECK(StatusKib(status, "VmRSS") == 1384);
    CHECK(StatusKib(status, "VmHWM") == 1520);
    CHECK(StatusKib(status, "RssAnon") == 200);
    CHECK(StatusKib(status, "RssFile") == 1184);
    // A key that is only a prefix of another does not match it.
    CHECK(StatusKib(status, "VmR") == -1);
    CHECK(StatusKib(status, "VmSwap") == -1);
    CHECK(StatusKib("VmRSS:\t  12x kB\n", "VmRSS") == -1);
    CHECK(StatusKib("VmRSS:\t  12 pages\n", "VmRSS") == -1);
    CHECK(StatusKib("", "VmRSS") == -1);
}

TEST_CASE("the report's panic line says what a kernel panic does to the halted box") {
    CHECK(PanicLine("10", "1") == "reboot 10 s after a kernel panic (kernel.panic = 10, kernel.panic_on_oops = 1)");
    CHECK(PanicLine("3600", "0") ==
          "reboot 3600 s after a kernel panic (kernel.panic = 3600, kernel.panic_on_oops = 0)");
    CHECK(PanicLine("-1", "0") ==
          "reboot at once after a kernel panic (kernel.panic = -1, kernel.panic_on_oops = 0)");
    CHECK(PanicLine("0", "1") == "the box stays down after a kernel panic (kernel.panic = 0: no panic-reboot)");
    CHECK(PanicLine("5", "") == "reboot 5 s after a kernel panic (kernel.panic = 5, kernel.panic_on_oops = ?)");
    CHECK(PanicLine("", "", "read kernel.panic: No such file or directory") ==
          "unknown (read kernel.panic: No such file or directory)");
    CHECK(PanicLine("x1", "1") == "unknown (kernel.panic reads 'x1')");
    CHECK(PanicLine("-", "1") == "unknown (kernel.panic reads '-')");
    CHECK(PanicLine("99999999999", "1") == "unknown (kernel.panic reads '99999999999')");
}
