#include "halt/watch_state.h"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "base/scratch_dir_test_support.h"
#include "halt/sys_files.h"

using namespace haltfw;

TEST_CASE("The watcher's state line round-trips, and nothing else parses") {
    WatchState s{4242, true, 2, 1, 3, 41, 4097};
    std::string line = FormatWatchState(s);
    CHECK(line == "haltfw-watch pid=4242 mode=watching restored=2 failed=1 guard=3 proven=41 netns=4097\n");
    WatchState back;
    REQUIRE(ParseWatchState(line, &back));
    CHECK(back.pid == 4242);
    CHECK(back.watching);
    CHECK(back.restored == 2);
    CHECK(back.failed == 1);
    CHECK(back.guard == 3);
    CHECK(back.proven == 41);
    CHECK(back.netns == 4097);
    REQUIRE(ParseWatchState(FormatWatchState({17, false, 0, 0, 0}), &back));
    CHECK(back.pid == 17);
    CHECK_FALSE(back.watching);
    for (const char* bad :
         {"", "haltfw-watch pid=0 mode=standby restored=0 failed=0\n",
          "haltfw-watch pid=12 mode=watching restored=-1 failed=0", "haltfw-watch pid=12 mode=watching restored=0",
          "haltfw-watch pid=12 mode=watching restored=0 failed=0 extra",
          "haltfw-watch pid=12 mode=standby restored=0 failed=0\n"
          "haltfw-watch pid=13 mode=standby restored=0 failed=0\n",
          "watch pid=12 mode=standby restored=0 failed=0", "haltfw-watch pid=12 mode=asleep restored=0 failed=0",
          "haltfw-watch pid=12 restored=0 failed=0",
          // The format before the guard: never half-read.
          "haltfw-watch pid=12 mode=watching restored=0 failed=0",
          "haltfw-watch pid=12 mode=watching restored=0 failed=0 guard=-1",
          "haltfw-watch pid=12 mode=watching restored=0 failed=0 guard=2 extra",
          // The format before the watcher's proof: never half-read either.
          "haltfw-watch pid=12 mode=watching restored=0 failed=0 guard=2",
          "haltfw-watch pid=12 mode=watching restored=0 failed=0 guard=2 proven=5",
          "haltfw-watch pid=12 mode=watching restored=0 failed=0 guard=2 netns=3 proven=5",
          "haltfw-watch pid=12 mode=watching restored=0 failed=0 guard=2 proven=5 netns=3 extra"}) {
        INFO(bad);
        CHECK_FALSE(ParseWatchState(bad, &back));
    }
}

TEST_CASE("The watcher's state line: only the form FormatWatchState writes, every number in range") {
    WatchState back;
    // What a fuzzer found: "pid=08" read as 8 (sscanf), so two texts meant one state.
    for (const char* bad : {"haltfw-watch pid=08 mode=standby restored=0 failed=0 guard=0 proven=0 netns=0\n",
                            "haltfw-watch pid=+8 mode=standby restored=0 failed=0 guard=0 proven=0 netns=0",
                            "haltfw-watch pid= 8 mode=standby restored=0 failed=0 guard=0 proven=0 netns=0",
                            "haltfw-watch pid=8 mode=standby restored=00 failed=0 guard=0 proven=0 netns=0",
                            "haltfw-watch pid=8  mode=standby restored=0 failed=0 guard=0 proven=0 netns=0",
                            "haltfw-watch pid=8 mode=standby restored=0 failed=0 guard=0 proven=0 netns=0\n\n",
                            // Out of range: sscanf's %d and %ld have undefined behaviour here.
                            "haltfw-watch pid=8 mode=standby restored=4294967296 failed=0 guard=0 proven=0 netns=0",
                            "haltfw-watch pid=99999999999999999999 mode=standby restored=0 failed=0 guard=0 "
                            "proven=0 netns=0",
                            "haltfw-watch pid=8 mode=standby restored=0 failed=0 guard=2147483648 proven=0 netns=0",
                            "haltfw-watch pid=8 mode=standby restored=0 failed=0 guard=0 proven=4294967296 netns=0",
                            "haltfw-watch pid=8 mode=standby restored=0 failed=0 guard=0 proven=0 "
                            "netns=18446744073709551616",
                            "haltfw-watch pid=8 mode=standby restored=0 failed=0 guard=0 proven=-1 netns=0",
                            "haltfw-watch pid=8 mode=standby restored=0 failed=0 guard=0 proven=07 netns=0"}) {
        INFO(bad);
        CHECK_FALSE(ParseWatchState(bad, &back));
    }
    REQUIRE(ParseWatchState("haltfw-watch pid=8 mode=standby restored=0 failed=0 guard=2147483647 "
                            "proven=4294967295 netns=18446744073709551615",
                            &back));
    CHECK(back.guard == 2147483647);
    CHECK(back.proven == 4294967295u);
    CHECK(back.netns == 18446744073709551615u);
    REQUIRE(ParseWatchState(FormatWatchState({9223372036854775807, true, 10, 0, 1}), &back));
    CHECK(back.pid == 9223372036854775807);
    CHECK(back.restored == 10);
}

TEST_CASE("The watcher's state: written whole, read back; no file, an empty one and a bad one told apart") {
    ScratchDir d;
    REQUIRE_FALSE(d.path.empty());
    std::string path = d.path + "/haltfw.watch", err;
    WatchState back{99, false, 0, 0, 0};
    CHECK(ReadWatchState(path, &back) == WatchStateRead::kNone);
    CHECK(back.pid == 99);  // untouched

    REQUIRE(WriteWatchState(path, {4242, true, 2, 1, 3}, &err));
    CHECK(ReadSysFile(path.c_str()) ==
          "haltfw-watch pid=4242 mode=watching restored=2 failed=1 guard=3 proven=0 netns=0\n");
    CHECK(access((path + ".new").c_str(), F_OK) != 0);  // renamed into place
    REQUIRE(ReadWatchState(path, &back) == WatchStateRead::kRead);
    CHECK(back.pid == 4242);
    CHECK(back.watching);
    CHECK(back.guard == 3);
    // A second write replaces the first whole.
    REQUIRE(WriteWatchState(path, {17, false, 0, 0, 0}, &err));
    REQUIRE(ReadWatchState(path, &back) == WatchStateRead::kRead);
    CHECK(back.pid == 17);
    CHECK_FALSE(back.watching);

    REQUIRE(ReplaceFile(path, "", 0644, &err));
    CHECK(ReadWatchState(path, &back) == WatchStateRead::kNone);
    REQUIRE(ReplaceFile(path, "haltfw-watch pid=12 restored=0 failed=0\n", 0644, &err));
    CHECK(ReadWatchState(path, &back) == WatchStateRead::kMalformed);
    CHECK(back.pid == 17);  // untouched
    // A good line behind more than the bound is no state line either.
    REQUIRE(ReplaceFile(path, FormatWatchState({5, false, 0, 0, 0}) + std::string(kWatchStateMax, ' '), 0644, &err));
    CHECK(ReadWatchState(path, &back) == WatchStateRead::kMalformed);

    CHECK_FALSE(WriteWatchState(d.path + "/no/such/dir/haltfw.watch", {5, false, 0, 0, 0}, &err));
    CHECK(err == "open(" + d.path + "/no/such/dir/haltfw.watch.new): No such file or directory");
}

TEST_CASE("The watcher is told by its argv[0]") {
    CHECK(IsWatcherCmdline(std::string("@haltfw-watch\0--watch\0/haltfw.manifest\0", 39)));
    CHECK(IsWatcherCmdline("@haltfw-watch"));
    CHECK_FALSE(IsWatcherCmdline("haltfw-watch"));
    CHECK_FALSE(IsWatcherCmdline("@haltfw-wat"));
    CHECK_FALSE(IsWatcherCmdline(""));
    // This test program is no watcher, and neither is a pid that cannot be.
    CHECK_FALSE(WatcherAlive(getpid()));
    CHECK_FALSE(WatcherAlive(0));
    CHECK_FALSE(WatcherAlive(-1));
}
