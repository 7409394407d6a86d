// The current network namespace's cookie: a 64-bit number the kernel
// gives each namespace (SO_NETNS_COOKIE, Linux >= 5.14) and never reuses
// while it runs, unlike the namespace's inode number, which a new
// namespace can get again.
#pragma once

#include <cstdint>
#include <string>

namespace haltfw {

/// Errors read "network namespace cookie: getsockopt SO_NETNS_COOKIE: REASON".
bool NetnsCookie(uint64_t* cookie, std::string* err);

}  // namespace haltfw
