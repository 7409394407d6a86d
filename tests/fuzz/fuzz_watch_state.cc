// The watcher's state line (watch_state.h), which the CLI and the final
// stage (PID 1) read from the exitrd: only the line FormatWatchState
// writes is accepted, and it reads back as the same state.
#include "halt/watch_state.h"
#include "fuzz_check.h"

using namespace haltfw;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view s = FuzzText(data, size);
    WatchState w;
    if (!ParseWatchState(s, &w)) return 0;
    FUZZ_CHECK(w.pid > 0 && w.restored >= 0 && w.failed >= 0 && w.guard >= 0);
    std::string line = FormatWatchState(w);
    // One canonical form: no sign, no leading zero, no blank, no value
    // that sscanf would have wrapped.
    FUZZ_CHECK(line == s || line.substr(0, line.size() - 1) == s);
    WatchState back;
    FUZZ_CHECK(ParseWatchState(line, &back));
    FUZZ_CHECK(back.pid == w.pid && back.watching == w.watching && back.restored == w.restored &&
               back.failed == w.failed && back.guard == w.guard);
    return 0;
}
