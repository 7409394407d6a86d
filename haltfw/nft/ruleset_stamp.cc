#include "nft/ruleset_stamp.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "net/netns_cookie.h"
#include "nft/nft_dump.h"

namespace haltfw {
// A new one each boot (the kernel makes it at its first read): 36
// characters and a newline.
bool ReadBootId(std::string* id, std::string* err) {
    int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *err = std::string("boot id: /proc/sys/kernel/random/boot_id: ") + std::strerror(errno);
        return false;
    }
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf);
    int saved = errno;
    (void)close(fd);  // read only: nothing to lose
    if (n <= 0) {
        *err = std::string("boot id: /proc/sys/kernel/random/boot_id: ") +
               (n < 0 ? std::strerror(saved) : "empty");
        return false;
    }
    id->assign(buf, static_cast<size_t>(n));
    while (!id->empty() && id->back() == '\n') id->pop_back();
    return true;
}

bool ReadRulesetStamp(RulesetStamp* s, std::string* err) {
    RulesetStamp now;
    if (!ReadBootId(&now.boot_id, err) || !NetnsCookie(&now.netns, err) || !RulesetGeneration(&now.generation, err))
        return false;
    *s = now;
    return true;
}

}  // namespace haltfw
