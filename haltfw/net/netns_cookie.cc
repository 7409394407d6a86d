#include "net/netns_cookie.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace haltfw {

bool NetnsCookie(uint64_t* cookie, std::string* err) {
    // Any socket reports the cookie of the namespace it was made in.
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = std::string("network namespace cookie: socket: ") + std::strerror(errno);
        return false;
    }
    socklen_t len = sizeof *cookie;
    int rc = getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len);
    int saved = errno;
    (void)close(fd);  // a socket of our own, never written: nothing to lose
    if (rc != 0 || len != sizeof *cookie) {
        *err = std::string("network namespace cookie: getsockopt SO_NETNS_COOKIE: ") +
               std::strerror(rc != 0 ? saved : EINVAL);
        return false;
    }
    return true;
}

}  // namespace haltfw
