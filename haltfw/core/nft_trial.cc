#include "core/nft_trial.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>

#include "nft/nft_digest.h"
#include "core/nft_load.h"
#include "nft/nft_restore.h"
#include "net/rtnl.h"

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

namespace {

// Runs `work` in a scratch network namespace holding down veth links named
// as in `link_names` (rules may name interfaces: `iif "eth0"` is resolved
// when loaded), then returns to the calling thread's namespace; the scratch
// one, and all it holds, goes with its last reference.
bool InScratchNetns(const std::vector<std::string>& link_names, const std::function<bool(std::string*)>& work,
                    std::string* err) {
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
    return work(err);
}

}  // namespace

bool TrialLoad(const std::string& program, const std::vector<std::string>& link_names, NftRuleset* out,
               std::string* err) {
    return InScratchNetns(
        link_names, [&](std::string* e) { return NftCommit(program, e) && DumpRuleset(out, e); }, err);
}

bool TrialRestore(const NftRuleset& rs, const std::vector<std::string>& link_names, std::string* problem,
                  std::string* err) {
    problem->clear();
    std::string want = RulesetDigest(rs);
    return InScratchNetns(
        link_names,
        [&](std::string* e) {
            std::string why;
            NftRuleset back;
            if (!RestoreRuleset(rs, &why)) {
                *problem = why;
            } else if (!DumpRuleset(&back, e)) {
                return false;
            } else if (std::string got = RulesetDigest(back); got != want) {
                *problem = "restored, but the kernel then held a ruleset of digest " + got + ", not " + want;
            }
            return true;
        },
        err);
}

}  // namespace haltfw
