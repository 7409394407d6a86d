// Shared by the Catch2 namespace tests (run as `unshare --net BINARY`):
// the guard every test case starts with, and a shell helper for setup.
#pragma once

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace haltfw {

inline std::string NetnsOf(const std::string& pid) {
    char buf[128];
    ssize_t n = readlink(("/proc/" + pid + "/ns/net").c_str(), buf, sizeof(buf));
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

// True when this process has a network namespace of its own. The reference
// is PID 1's namespace; where /proc/1/ns/net cannot be read (some sandboxes
// hide it even from root) it is the parent's: `unshare --net` execs the test,
// so the parent is still in the namespace the test was started from. With
// neither readable, the answer is no.
inline bool InPrivateNetns() {
    std::string self = NetnsOf("self");
    std::string ref = NetnsOf("1");
    if (ref.empty())
        ref = NetnsOf(std::to_string(getppid()));
    UNSCOPED_INFO("own netns '" << self << "', reference netns '" << ref << "'");
    return !self.empty() && !ref.empty() && self != ref;
}

// Setup through iproute2, so the code under test is checked against state it
// did not create itself.
inline void Sh(const std::string& cmd) {
    INFO("command: " << cmd);
    REQUIRE(system(cmd.c_str()) == 0);
}

// A command's standard output; the command must succeed.
inline std::string Run(const std::string& cmd) {
    INFO("command: " << cmd);
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    REQUIRE(p);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    REQUIRE(pclose(p) == 0);
    return out;
}

}  // namespace haltfw
