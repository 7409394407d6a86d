// The applied-state file in a scratch state directory: keyed by the
// namespace's cookie, with the digest apply left. No root needed.
#include "core/state_file.h"

#include <catch2/catch.hpp>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

using namespace haltfw;

namespace {

// Points HALTFW_STATE_DIR at a scratch directory for the test's length.
struct ScratchStateDir {
    std::string path;
    std::string old;
    bool had_old = false;
    ScratchStateDir() {
        const char* tmp = getenv("TMPDIR");
        std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/haltfw-state-test-XXXXXX";
        path = mkdtemp(templ.data()) ? templ : "";
        REQUIRE_FALSE(path.empty());
        if (const char* o = getenv("HALTFW_STATE_DIR")) had_old = true, old = o;
        setenv("HALTFW_STATE_DIR", (path + "/state").c_str(), 1);
    }
    ~ScratchStateDir() {
        if (had_old) setenv("HALTFW_STATE_DIR", old.c_str(), 1);
        else unsetenv("HALTFW_STATE_DIR");
        std::filesystem::remove_all(path);
    }
};

}  // namespace

TEST_CASE("state: a file without a digest, or for another namespace, is not taken") {
    ScratchStateDir d;
    uint64_t cookie = 0;
    std::string err, path;
    REQUIRE(NetnsCookie(&cookie, &err));
    REQUIRE(AppliedStatePath(&path, &err));
    CHECK(path == d.path + "/state/applied-" + std::to_string(cookie));
    std::filesystem::create_directories(d.path + "/state");

    // An older haltfw's file: input hash and generation, no digest.
    std::ofstream(path) << "config=/etc/haltfw/haltfw.conf\ninput=abc\ngeneration=7\n";
    AppliedState st;
    CHECK_FALSE(ReadAppliedState(&st, &err));
    CHECK(err == "read " + path + ": no ruleset digest in it");

    std::ofstream(path, std::ios::trunc) << "input=abc\ngeneration=7\ndigest=d1\nnetns=" << cookie + 1 << "\n";
    CHECK_FALSE(ReadAppliedState(&st, &err));
    CHECK(err == "read " + path + ": it is for network namespace " + std::to_string(cookie + 1) + ", not " +
                     std::to_string(cookie));
}

TEST_CASE("state: none yet is no error; written, it reads back with this namespace's cookie") {
    ScratchStateDir d;
    AppliedState st;
    std::string err = "x";
    CHECK_FALSE(ReadAppliedState(&st, &err));
    CHECK(err.empty());

    REQUIRE(WriteAppliedState({"/etc/haltfw/haltfw.conf", "abc", 42, "d1", 0}, &err));
    REQUIRE(ReadAppliedState(&st, &err));
    uint64_t cookie = 0;
    REQUIRE(NetnsCookie(&cookie, &err));
    CHECK(st.config == "/etc/haltfw/haltfw.conf");
    CHECK(st.input_hash == "abc");
    CHECK(st.generation == 42);
    CHECK(st.digest == "d1");
    CHECK(st.netns == cookie);

    REQUIRE(RemoveAppliedState(&err));
    CHECK_FALSE(ReadAppliedState(&st, &err));
    CHECK(err.empty());
    CHECK(RemoveAppliedState(&err));
}
