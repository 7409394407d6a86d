#include "arm/files.h"

#include <catch2/catch.hpp>
#include <stdlib.h>
#include <unistd.h>

#include <string>

#include "base/scratch_dir_test_support.h"

using namespace haltfw;

TEST_CASE("ReadWholeFile reads a file of several buffers exactly, and an empty one") {
    ScratchDir d;
    REQUIRE_FALSE(d.path.empty());
    std::string err, back;
    for (size_t n : {size_t{0}, size_t{1}, size_t{65536}, size_t{65537}, size_t{3} << 20}) {
        INFO(n);
        std::string data = TestBytes(n);
        REQUIRE(WriteFileAtomic(d.path + "/a", data, 0600, &err));
        REQUIRE(ReadWholeFile(d.path + "/a", &back, &err));
        CHECK(back.size() == n);
        CHECK(back == data);
    }
    CHECK_FALSE(ReadWholeFile(d.path + "/missing", &back, &err));
    CHECK(err.empty());
    REQUIRE(WriteFileAtomic(d.path + "/a", TestBytes(200000), 0600, &err));
    CHECK_FALSE(ReadWholeFile(d.path + "/a", &back, &err, 100000));
    CHECK(err == "read " + d.path + "/a: larger than 100000 bytes");
    CHECK_FALSE(ReadWholeFile(d.path + "/a", &back, &err, size_t{1} << 16 << 1));
    CHECK(err == "read " + d.path + "/a: larger than 131072 bytes");
    REQUIRE(WriteFileAtomic(d.path + "/a", TestBytes((size_t{1} << 20) + 1), 0600, &err));
    CHECK_FALSE(ReadWholeFile(d.path + "/a", &back, &err, size_t{1} << 20));
    CHECK(err == "read " + d.path + "/a: larger than 1 MiB");
}

TEST_CASE("FileHolds compares a file with bytes without reading it whole") {
    ScratchDir d;
    REQUIRE_FALSE(d.path.empty());
    std::string err, data = TestBytes((size_t{2} << 20) + 12345);
    REQUIRE(WriteFileAtomic(d.path + "/a", data, 0600, &err));
    bool same = false;
    REQUIRE(FileHolds(d.path + "/a", data, &same, &err));
    CHECK(same);

    std::string changed = data;
    changed[changed.size() - 1] ^= 1;  // the last byte, past the first buffers
    REQUIRE(FileHolds(d.path + "/a", changed, &same, &err));
    CHECK_FALSE(same);
    changed = data;
    changed[70000] ^= 1;  // inside the second buffer
    REQUIRE(FileHolds(d.path + "/a", changed, &same, &err));
    CHECK_FALSE(same);
    REQUIRE(FileHolds(d.path + "/a", data.substr(0, data.size() - 1), &same, &err));
    CHECK_FALSE(same);
    REQUIRE(FileHolds(d.path + "/a", data + "x", &same, &err));
    CHECK_FALSE(same);

    // A missing file is no error; nor is an empty one holding nothing.
    REQUIRE(FileHolds(d.path + "/missing", "", &same, &err));
    CHECK_FALSE(same);
    CHECK(err.empty());
    REQUIRE(WriteFileAtomic(d.path + "/b", "", 0600, &err));
    REQUIRE(FileHolds(d.path + "/b", "", &same, &err));
    CHECK(same);
    REQUIRE(FileHolds(d.path + "/b", "x", &same, &err));
    CHECK_FALSE(same);
}
