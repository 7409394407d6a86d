// haltfw-final's backstop for the two failures its code cannot return as a
// value: an allocation that fails and a C++ exception nothing catches. The
// program is built with -fno-exceptions (haltfw/CMakeLists.txt), so none of
// its own code throws or catches; but libstdc++'s code still throws
// (std::bad_alloc from operator new, std::length_error from a vector grown
// past max_size, ...), and with nothing to catch it the default would be
// std::terminate's abort(): a core dump for a helper, and for PID 1 a forced
// SIGSEGV from abort's last resort, which kills init and panics the kernel
// (docs/design.md, "Out of memory and exceptions").
//
// InstallFailClosed sets a new handler (std::set_new_handler) and a
// terminate handler (std::set_terminate) that fail closed instead: both
// forwarding switches (kForwardingSysctls) written "0", one fixed line on
// stderr (the console, for PID 1), then PID 1 waits for ever and a helper
// _exits with kFailClosedExit. They allocate nothing and make only
// async-signal-safe system calls: the heap may be what failed.
//
// A new handler, not a replacement operator new: libstdc++'s operator new
// calls the handler each time malloc returns NULL, and every other standard
// overload goes through it (new[] calls new; the nothrow forms call the
// throwing one and catch; the aligned forms loop the same way), so one
// handler covers them all and delete stays libstdc++'s. A new(std::nothrow)
// that would have returned NULL fails closed too: std::stable_sort's
// temporary buffer (nft/nft_dump.cc, halt/final_stage.cc), which would
// otherwise have been asked for again at half the size. What the handlers
// cannot see: malloc returning NULL to C code (libc, libmnl, libnftnl),
// which those report as errors. As PID 1 it also catches abort() (SIGABRT,
// which abort raises before it forces a SIGSEGV that would kill init) and
// exit() (an atexit function, which never returns): libnftnl's assertions
// call exit(), glibc aborts on a corrupted heap. A crash (SIGSEGV) still
// kills PID 1, and the kernel panics.
#pragma once

namespace haltfw {

enum class FailClosedMode {
    kPid1,    ///< The final stage: the line on the console and the kernel log, a report, then for ever.
    kVerify,  ///< `--verify`: the line on stderr, then _exit(kFailClosedExit).
    kWatch,   ///< `--watch`: the same, forwarding off through the descriptors it was given.
};

/// The helpers' exit code when the backstop fires: none of VerifyOnly's
/// (0, 1, 2) or Watch's (2, 3).
inline constexpr int kFailClosedExit = 4;

/// Installs both handlers; first thing in main, before anything allocates.
/// `ipv4_fd` and `ipv6_fd`: the forwarding sysctls already open for writing
/// (the watcher's, opened before its chroot), or -1: the handler opens
/// /proc/sys's file itself when it fires.
void InstallFailClosed(FailClosedMode mode, int ipv4_fd = -1, int ipv6_fd = -1);

}  // namespace haltfw
