#include "final/watcher.h"

#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "final/console.h"
#include "halt/final_stage.h"
#include "halt/manifest.h"
#include "halt/report.h"
#include "halt/watch_state.h"
#include "nft/nft_dump.h"
#include "nft/nft_guard.h"
#include "net/netlink_socket.h"
#include "net/netns_cookie.h"

namespace haltfw {
namespace {

void WatchSay(const std::string& msg) {
    std::string l = "haltfw-watch: " + msg + "\n";
    ssize_t ignored = write(1, l.data(), l.size());  // the console is where it would be said
    (void)ignored;
}

// Whether a datagram from the nftables group holds NFT_MSG_NEWGEN, which
// the kernel sends once per committed transaction, after its objects.
bool EndsTransaction(const char* buf, size_t len) {
    int left = static_cast<int>(len);
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf); mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
        if (NFNL_SUBSYS_ID(nlh->nlmsg_type) == NFNL_SUBSYS_NFTABLES && NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWGEN)
            return true;
    return false;
}

// Forwarding off through the sysctl files `haltfw watch` opened before its
// chroot; -1 for one it could not open. Returns the keys it could not
// switch off.
std::vector<std::string> ForwardingOffByFds(int ipv4_fd, int ipv6_fd) {
    std::vector<std::string> failed;
    const std::pair<const char*, int> files[] = {{kForwardingSysctls[0], ipv4_fd}, {kForwardingSysctls[1], ipv6_fd}};
    for (const auto& [key, fd] : files) {
        char now = 0;
        if (fd < 0 || pwrite(fd, "0\n", 2, 0) != 2 || pread(fd, &now, 1, 0) != 1 || now != '0') failed.push_back(key);
    }
    return failed;
}

// The watcher from SIGUSR1 on: the manifest, the guard and the counts its
// state file tells.
class Watcher {
public:
    Watcher(const char* manifest_path, const char* state_path, int ipv4_fd, int ipv6_fd)
        : manifest_path_(manifest_path), state_path_(state_path), ipv4_fd_(ipv4_fd), ipv6_fd_(ipv6_fd) {
        st_.pid = getpid();
    }

    bool watching() const { return st_.watching; }

    // The state file, whole each time (WriteWatchState): the CLI and the
    // final stage read it.
    void WriteState() {
        std::string err;
        if (!WriteWatchState(state_path_, st_, &err))
            WatchSay("cannot write its state (" + err + "); the CLI and the final stage see an older one");
    }

    // The manifest is read when the halt begins, not at start: arm may
    // rewrite it any number of times while the box is live. It says at
    // which ruleset generation arm read the armed ruleset: the guard's load
    // is conditional on it, and if that holds the first full check is
    // skipped (nft/ruleset_stamp.h).
    bool StartWatching();

    // The digest after a committed transaction: the armed ruleset put back
    // if it changed, forwarding off if it cannot be. Skipped while the
    // kernel's generation is the last one proven (st_.proven): the events
    // of the guard's own load, say.
    void CheckRuleset();

private:
    std::string manifest_path_;
    std::string state_path_;
    int ipv4_fd_;
    int ipv6_fd_;
    Manifest m_;
    WatchState st_;
    // Held until this process ends: the final stage kills it once it has
    // verified the user's tables, and the kernel then drops the copy.
    NftGuard guard_;
};

bool Watcher::StartWatching() {
    std::string err;
    // The ruleset stays in the file: the guard reads it once, below, and
    // a check reads it again only to restore it (VerifyRuleset).
    if (!ReadManifestFile(manifest_path_, &m_, &err, ManifestRuleset::kLeaveInFile)) {
        WatchSay(err + "; not watching");
        return false;
    }
    // The guard before the word "watching": `haltfw halt` starts the
    // shutdown only once the state file says it, so no stop job runs
    // before the owned copy holds the armed ruleset.
    // The manifest's stamp counts in this namespace alone. (The boot needs
    // no check: the exitrd is a tmpfs of this boot. Nor could it be read:
    // the chroot has no /proc.)
    if (!NetnsCookie(&st_.netns, &err)) st_.netns = 0;  // then nothing it proves counts
    uint32_t armed_gen = m_.armed_at.generation != 0 && st_.netns != 0 && st_.netns == m_.armed_at.netns
                             ? m_.armed_at.generation
                             : 0;
    std::string guard_err;
    NftRuleset armed;
    if (ReadManifestRuleset(m_, &armed, &guard_err) && guard_.Load(std::move(armed), &guard_err, armed_gen))
        st_.guard = static_cast<int>(guard_.tables());
    // Proven: by the guard's conditional load, or, with no guard, by a
    // generation still arm's.
    uint32_t gen = 0;
    st_.proven = guard_.proven();
    if (st_.proven == 0 && armed_gen != 0 && RulesetGeneration(&gen, &err) && gen == armed_gen) st_.proven = gen;
    bool same = st_.proven != 0;
    if (st_.guard == 0 && guard_err.empty()) guard_err = "guard: the armed ruleset has no table to copy";
    st_.watching = true;
    // Watching, then said so, then checked: `haltfw halt` does not wait
    // for the first dump (seconds under TCG at 100,000 elements).
    WriteState();
    std::string tables = std::to_string(st_.guard) + (st_.guard == 1 ? " table" : " tables");
    WatchSay("watching the armed ruleset (digest " + m_.digest + ") until the final stage" +
             (same ? "; unchanged since the halt's arm (generation " + std::to_string(armed_gen) + ")" : "") +
             (st_.guard > 0 ? "; guarded by an owned copy (" + tables + ") that no unit can change"
                            : "; " + guard_err + ": guarded by restoring alone"));
    // Events from here on are still queued on the socket: any commit
    // after the generation was read gets its check.
    if (!same) CheckRuleset();
    return true;
}

void Watcher::CheckRuleset() {
    std::string err;
    uint32_t now = 0;
    if (st_.proven != 0 && RulesetGeneration(&now, &err) && now == st_.proven) return;
    long t0 = MonotonicMs();
    std::string digest;
    uint32_t read_at = 0;
    Check c = VerifyRuleset(m_, &digest, &read_at);
    st_.proven = c.ok ? read_at : 0;
    if (c.ok && c.repaired) {
        ++st_.restored;
        WatchSay("the ruleset changed during the shutdown; put the armed one back in " +
                 std::to_string(MonotonicMs() - t0) + " ms (" + c.detail + ")");
    } else if (!c.ok && st_.guard > 0) {
        // The owned copy still holds every packet to the armed ruleset: no
        // reason to stop forwarding. The next transaction brings another
        // try, and the final stage one more, with nothing left running to
        // race it.
        WatchSay("the armed ruleset could not be put back in the user's tables this time (" + c.detail +
                 "); the owned copy still holds it, forwarding stays on");
    } else if (!c.ok) {
        ++st_.failed;
        std::vector<std::string> left = ForwardingOffByFds(ipv4_fd_, ipv6_fd_);
        WatchSay("the armed ruleset cannot be put back (" + c.detail + "): forwarding turned OFF" +
                 (left.empty() ? "" : "; FAILED for: " + JoinList(left)));
    }
    WriteState();
}

}  // namespace

int Watch(const char* manifest_path, const char* state_path, int ipv4_fd, int ipv6_fd) {
    (void)signal(SIGPIPE, SIG_IGN);  // the console may go away; the watching goes on
    // SIGUSR1, the halt's word to start watching, arrives on a descriptor
    // beside the events; blocked before anyone can learn our pid.
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    (void)sigprocmask(SIG_BLOCK, &usr1, nullptr);  // a valid set and how: cannot fail
    int sfd = signalfd(-1, &usr1, SFD_CLOEXEC);
    if (sfd < 0) {
        WatchSay(std::string("signalfd: ") + std::strerror(errno));
        return 3;
    }
    // Subscribed before anything else: nothing committed after the halt
    // has begun can be missed.
    NetlinkSocket nl(mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC));
    if (!nl || mnl_socket_bind(nl.get(), 1u << (NFNLGRP_NFTABLES - 1), MNL_SOCKET_AUTOPID) < 0) {
        WatchSay(std::string("cannot subscribe to the nftables events: ") + std::strerror(errno));
        return 3;
    }
    // Room for the events of a large restore. Ignored if refused: an
    // overrun (ENOBUFS) only means a check more.
    int rcvbuf = 8 << 20;
    (void)setsockopt(mnl_socket_get_fd(nl.get()), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);

    Watcher w(manifest_path, state_path, ipv4_fd, ipv6_fd);
    w.WriteState();
    WatchSay("on standby; the halt ('haltfw halt') sets it watching");

    // Until the final stage kills it: a daemon, waiting on its two
    // descriptors (not PID 1, so it may end on a failure, said here).
    std::vector<char> buf(1 << 16);
    pollfd fds[2] = {{mnl_socket_get_fd(nl.get()), POLLIN, 0}, {sfd, POLLIN, 0}};
    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            WatchSay(std::string("poll: ") + std::strerror(errno));
            return 3;
        }
        if (fds[1].revents & POLLIN) {
            signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) == sizeof si && !w.watching()) {
                if (!w.StartWatching()) return 2;
            }
        }
        if (!(fds[0].revents & POLLIN)) continue;
        ssize_t n = mnl_socket_recvfrom(nl.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != ENOBUFS) {
            WatchSay(std::string("receiving the nftables events: ") + std::strerror(errno) +
                     "; the final stage alone guards the ruleset now");
            return 3;
        }
        // On standby the events only drain the socket.
        if (w.watching() && (n < 0 || EndsTransaction(buf.data(), static_cast<size_t>(n)))) w.CheckRuleset();
    }
}

}  // namespace haltfw
