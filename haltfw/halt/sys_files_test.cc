#include "halt/sys_files.h"

#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "base/bounded_read.h"
#include "base/scratch_dir_test_support.h"

using namespace haltfw;

TEST_CASE("ReadFileUpTo reads a file whole up to its bound, and says when there was more") {
    ScratchDir d;
    REQUIRE_FALSE(d.path.empty());
    std::string path = d.path + "/a", err, back;
    for (size_t n : {size_t{0}, size_t{1}, size_t{4095}, size_t{4096}, size_t{4097}, size_t{100000}}) {
        INFO(n);
        std::string data = TestBytes(n);
        REQUIRE(ReplaceFile(path, data, 0600, &err));
        bool complete = false;
        REQUIRE(ReadFileUpTo(path.c_str(), n, &back, &err, &complete));
        CHECK(complete);  // exactly the bound is whole
        CHECK(back == data);
        if (n == 0) continue;
        REQUIRE(ReadFileUpTo(path.c_str(), n - 1, &back, &err, &complete));
        CHECK_FALSE(complete);
        CHECK(back == data.substr(0, n - 1));
    }
    CHECK_FALSE(ReadFileUpTo((d.path + "/none").c_str(), 10, &back, &err));
    CHECK(err == "open(" + d.path + "/none): No such file or directory");
    CHECK(back.empty());
    CHECK_FALSE(ReadFileUpTo(d.path.c_str(), 10, &back, &err));  // a directory opens, but does not read
    CHECK(err == "read(" + d.path + "): Is a directory");
}

TEST_CASE("ReadSysFile: a /proc file, a missing one as empty text") {
    std::string status = ReadSysFile("/proc/self/status");
    CHECK(status.starts_with("Name:\t"));
    CHECK(ReadSysFile("/proc/self/status", 5) == "Name:");
    CHECK(ReadSysFile("/nonexistent/haltfw").empty());
}

TEST_CASE("WriteSysFile writes an existing file in place, and never creates one") {
    ScratchDir d;
    REQUIRE_FALSE(d.path.empty());
    std::string path = d.path + "/a", err;
    REQUIRE(ReplaceFile(path, "1234\n", 0600, &err));
    REQUIRE(WriteSysFile(path.c_str(), "0\n", &err));
    CHECK(ReadSysFile(path.c_str()) == "0\n34\n");  // no O_TRUNC: a sysctl file takes the write whole
    CHECK_FALSE(WriteSysFile((d.path + "/b").c_str(), "0\n", &err));
    CHECK(err == "open(" + d.path + "/b): No such file or directory");
    CHECK(access((d.path + "/b").c_str(), F_OK) != 0);
}

TEST_CASE("ReplaceFile puts the new text in place whole, with its mode") {
    ScratchDir d;
    REQUIRE_FALSE(d.path.empty());
    std::string path = d.path + "/a", err;
    REQUIRE(ReplaceFile(path, "old\n", 0600, &err));
    REQUIRE(ReplaceFile(path, "new\n", 0644, &err));
    CHECK(ReadSysFile(path.c_str()) == "new\n");
    struct stat st {};
    REQUIRE(stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == (0644 & ~[] { mode_t m = umask(0); umask(m); return m; }()));
    CHECK(access((path + ".new").c_str(), F_OK) != 0);
    // Renaming over a directory fails, and leaves no PATH.new behind.
    std::string dir = d.path + "/sub";
    REQUIRE(mkdir(dir.c_str(), 0700) == 0);
    REQUIRE(ReplaceFile(dir + "/f", "x", 0600, &err));  // not empty
    CHECK_FALSE(ReplaceFile(dir, "x", 0644, &err));
    CHECK(err == "rename(" + dir + ".new): Is a directory");
    CHECK(access((dir + ".new").c_str(), F_OK) != 0);
    (void)unlink((dir + "/f").c_str());
    (void)rmdir(dir.c_str());
}

TEST_CASE("ReadFileInto: allocation-free, never past the buffer, always terminated") {
    ScratchDir d;
    REQUIRE_FALSE(d.path.empty());
    std::string path = d.path + "/a", err;
    REQUIRE(ReplaceFile(path, "0123456789", 0600, &err));
    char buf[8];
    CHECK(ReadFileInto(path.c_str(), buf, sizeof buf) == 7);
    CHECK(std::string(buf) == "0123456");
    char one[1];
    CHECK(ReadFileInto(path.c_str(), one, sizeof one) == 0);
    CHECK(one[0] == '\0');
    char big[64];
    CHECK(ReadFileInto(path.c_str(), big, sizeof big) == 10);
    CHECK(std::string(big) == "0123456789");
    CHECK(ReadFileInto((d.path + "/none").c_str(), big, sizeof big) == -1);
    CHECK(big[0] == '\0');
}
