#include "nft_trial.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "nft_load.h"
#include "rtnl.h"

namespace haltfw {
namespace {

// Holds the original namespace and goes back to it on destruction.
class NetnsReturn {
public:
    explicit NetnsReturn(int fd) : fd_(fd) {}
    ~NetnsReturn() {
        if (setns(fd_, CLONE_NEWNET) != 0) {
            std::fprintf(stderr, "haltfw: cannot return to the original network namespace: %s\n", std::strerror(errno));
            std::abort();
        }
        close(fd_);
    }
    NetnsReturn(const NetnsReturn&) = delete;
    NetnsReturn& operator=(const NetnsReturn&) = delete;

private:
    int fd_;
};

}  // namespace

bool TrialLoad(const std::string& program, const std::vector<std::string>& link_names, NftRuleset* out, std::string* err) {
    int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *err = std::string("open /proc/thread-self/ns/net: ") + std::strerror(errno);
        return false;
    }
    if (unshare(CLONE_NEWNET) != 0) {
        *err = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
        close(fd);
        return false;
    }
    NetnsReturn back(fd);  // from here on, every return goes back first

    std::unique_ptr<RtnlSocket> rtnl = RtnlSocket::Open(err);
    if (!rtnl) return false;
    int n = 0;
    for (const std::string& name : link_names) {
        if (name == "lo") continue;
        if (!rtnl->CreateVeth(name, "hfwtrial" + std::to_string(n++), err)) return false;
    }
    if (!NftCommit(program, err)) return false;
    return DumpRuleset(out, err);
}

}  // namespace haltfw
