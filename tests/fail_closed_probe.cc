// haltfw_fail_closed_probe WHAT: fails the ways haltfw-final can, with
// haltfw-final's own backstop (final/fail_closed.cc) installed as its main
// installs it, for tests/netns/fail_closed.sh. The real program has no
// throw a test could reach (tests/netns/fail_closed.sh runs it out of
// memory for real), and a test hook has no place in PID 1's code.
//   at         std::out_of_range from vector::at: libstdc++ throws it
//   length     std::length_error from vector::reserve past max_size()
//   new        ::operator new of 2^62 bytes, which malloc refuses
//   new-array  new char[2^62]
//   nothrow    new (std::nothrow) char[2^62]
//   aligned    ::operator new(2^62, std::align_val_t(64))
//   abort      abort(), as glibc does on a corrupted heap (PID 1 only)
//   exit       exit(1), as libnftnl's assertions do (PID 1 only)
// As PID 1 (unshare --pid --fork) it installs PID 1's mode, else --verify's.
// Built with -fno-exceptions, as haltfw-final is.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "final/fail_closed.h"

namespace {

// volatile: the compiler may not see that they fail.
volatile size_t g_huge = size_t{1} << 62;
volatile size_t g_index = 1;

}  // namespace

int main(int argc, char** argv) {
    haltfw::InstallFailClosed(getpid() == 1 ? haltfw::FailClosedMode::kPid1 : haltfw::FailClosedMode::kVerify);
    const char* what = argc == 2 ? argv[1] : "";
    void* p = nullptr;
    if (std::strcmp(what, "at") == 0) {
        std::vector<int> v(1);
        std::printf("%d\n", v.at(g_index));
    } else if (std::strcmp(what, "length") == 0) {
        std::vector<int> v;
        v.reserve(g_huge);
    } else if (std::strcmp(what, "new") == 0) {
        p = ::operator new(g_huge);
    } else if (std::strcmp(what, "new-array") == 0) {
        p = new char[g_huge];
    } else if (std::strcmp(what, "nothrow") == 0) {
        p = new (std::nothrow) char[g_huge];
    } else if (std::strcmp(what, "aligned") == 0) {
        p = ::operator new(g_huge, std::align_val_t(64));
    } else if (std::strcmp(what, "abort") == 0) {
        std::abort();
    } else if (std::strcmp(what, "exit") == 0) {
        std::exit(1);
    } else {
        std::fprintf(stderr, "usage: haltfw_fail_closed_probe at|length|new|new-array|nothrow|aligned|abort|exit\n");
        return 2;
    }
    std::printf("probe: '%s' did not fail (%p)\n", what, p);
    return 1;
}
