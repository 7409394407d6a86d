// /proc/self/mountinfo as the final stage (PID 1) reads it to take the old
// root's mounts off (final_stage.h): any text parses, and the unmount
// order lists every mount point but "/" and the kept ones, once each.
#include <algorithm>
#include <map>

#include "halt/final_stage.h"
#include "fuzz_check.h"

using namespace haltfw;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view s = FuzzText(data, size);
    std::vector<MountEntry> mounts = ParseMountinfo(s);
    const std::vector<std::string> keep = {"/proc", "/run/initramfs"};
    std::vector<std::string> order = UnmountOrder(mounts, keep);
    std::map<std::string, int> want, got;
    for (const MountEntry& m : mounts)
        if (m.point != "/" && std::find(keep.begin(), keep.end(), m.point) == keep.end()) ++want[m.point];
    for (const std::string& p : order) ++got[p];
    FUZZ_CHECK(want == got);
    return 0;
}
