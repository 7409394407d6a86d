// /proc/PID/stat lines (final_stage.h: which processes are kernel threads)
// and "Key: N kB" lines of /proc/PID/status, smaps_rollup and /proc/meminfo
// (proc_status.h), as the final stage and haltfw-inert, PID 1 both, read
// them: never a throw, never a read out of bounds, -1 or a count.
#include "halt/final_stage.h"
#include "fuzz_check.h"
#include "halt/proc_status.h"

using namespace haltfw;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view s = FuzzText(data, size);
    (void)IsKernelThreadStat(s);
    for (const char* key : {"VmRSS", "VmHWM", "MemTotal", "MemAvailable", "Rss", "Anonymous"})
        FUZZ_CHECK(StatusKib(s, key) >= -1);
    // The first line as the key, the rest as the text.
    std::string_view rest = s, key;
    if (NextLine(&rest, &key)) FUZZ_CHECK(StatusKib(rest, key) >= -1);
    return 0;
}
