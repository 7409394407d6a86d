#include "arm/run_lock.h"
#include "core/state_dir_test_support.h"

#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <thread>

using namespace haltfw;

namespace {

double SecondsSince(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST_CASE("the lock file names its holder") {
    LockOwner o;
    REQUIRE(ParseLockOwner(SerializeLockOwner({1234, "apply"}), &o));
    CHECK(o.pid == 1234);
    CHECK(o.verb == "apply");
    CHECK(SerializeLockOwner({1234, "apply"}) == "pid=1234\nverb=apply\n");
    CHECK_FALSE(ParseLockOwner("", &o));  // released: the holder cleared it
    CHECK_FALSE(ParseLockOwner("pid=0\nverb=apply\n", &o));
    CHECK_FALSE(ParseLockOwner("pid=12\n", &o));
}

TEST_CASE("the holder in /proc/locks") {
    const char* locks =
        "1: POSIX  ADVISORY  WRITE 77 fe:01:4242 0 EOF\n"
        "2: FLOCK  ADVISORY  WRITE 1234 fe:01:4242 0 EOF\n"
        "2: -> FLOCK  ADVISORY  WRITE 999 fe:01:4242 0 EOF\n"
        "3: FLOCK  ADVISORY  WRITE 55 00:1a:4242 0 EOF\n";
    CHECK(FlockHolder(locks, 0xfe, 1, 4242) == 1234);
    CHECK(FlockHolder(locks, 0, 0x1a, 4242) == 55);
    CHECK(FlockHolder(locks, 0xfe, 1, 424) == 0);  // another inode, not a prefix of it
    CHECK(FlockHolder("2: -> FLOCK  ADVISORY  WRITE 999 fe:01:4242 0 EOF\n", 0xfe, 1, 4242) == 0);  // a waiter only
    CHECK(FlockHolder("", 0xfe, 1, 4242) == 0);
}

TEST_CASE("the busy message says what is known") {
    CHECK(DescribeOwner({1234, "apply"}) == "another haltfw (pid 1234, 'apply')");
    CHECK(DescribeOwner({1234, ""}) == "another haltfw (pid 1234)");
    CHECK(DescribeOwner({0, "arm"}) == "another haltfw ('arm')");
    CHECK(DescribeOwner({}) == "another haltfw");
}

TEST_CASE("one holder at a time") {
    ScratchStateDir scratch("run-lock", "state");
    LockOwner holder;
    CHECK_FALSE(LockHeld(&holder));  // no file yet: nothing created by looking

    RunLock first;
    std::string err;
    REQUIRE(first.Take("apply", std::chrono::seconds(0), &holder, &err));
    CHECK(err.empty());
    REQUIRE(LockHeld(&holder));
    CHECK(holder.pid == getpid());
    CHECK(holder.verb == "apply");

    SECTION("a second fails at once") {
        RunLock second;
        CHECK_FALSE(second.Take("arm", std::chrono::seconds(0), &holder, &err));
        CHECK(err.empty());
        CHECK(holder.pid == getpid());
        CHECK(holder.verb == "apply");
        CHECK_FALSE(second.held());
    }
    SECTION("a second waits the time it is given, no longer") {
        RunLock second;
        auto t0 = std::chrono::steady_clock::now();
        CHECK_FALSE(second.Take("arm", std::chrono::seconds(1), &holder, &err));
        CHECK(err.empty());
        double s = SecondsSince(t0);
        CHECK(s >= 0.9);
        CHECK(s < 3.0);
    }
    SECTION("released, it is free and names no one") {
        first = RunLock();
        CHECK_FALSE(LockHeld(&holder));
        RunLock second;
        CHECK(second.Take("arm", std::chrono::seconds(0), &holder, &err));
    }
}

TEST_CASE("a waiter gets the lock when its holder exits") {
    ScratchStateDir scratch("run-lock", "state");
    int ready[2];
    REQUIRE(pipe(ready) == 0);
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        RunLock lock;
        LockOwner h;
        std::string e;
        bool ok = lock.Take("apply", std::chrono::seconds(0), &h, &e);
        (void)!write(ready[1], ok ? "y" : "n", 1);
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        _exit(0);  // the kernel releases the lock
    }
    char c = 0;
    REQUIRE(read(ready[0], &c, 1) == 1);
    REQUIRE(c == 'y');
    close(ready[0]);
    close(ready[1]);

    RunLock lock;
    LockOwner holder;
    std::string err;
    CHECK_FALSE(lock.Take("arm", std::chrono::seconds(0), &holder, &err));
    CHECK(holder.pid == child);
    CHECK(holder.verb == "apply");
    auto t0 = std::chrono::steady_clock::now();
    CHECK(lock.Take("arm", std::chrono::seconds(10), &holder, &err));
    CHECK(SecondsSince(t0) < 2.0);  // woken by the release, not by the bound
    int status = 0;
    waitpid(child, &status, 0);
}

TEST_CASE("a lock that cannot be made is an error, not busy") {
    setenv("HALTFW_STATE_DIR", "/proc/haltfw-no-such-dir", 1);
    RunLock lock;
    LockOwner holder;
    std::string err;
    CHECK_FALSE(lock.Take("apply", std::chrono::seconds(0), &holder, &err));
    CHECK(err.rfind("mkdir /proc/haltfw-no-such-dir: ", 0) == 0);
    unsetenv("HALTFW_STATE_DIR");
}
