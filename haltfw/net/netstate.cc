#include "net/netstate.h"

#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>

namespace haltfw {

bool ValidLinkName(std::string_view name) {
    if (name.empty() || name.size() >= IFNAMSIZ || name == "." || name == "..") return false;
    for (unsigned char c : name)
        if (c == '/' || c == ':' || c <= ' ' || c == 0x7f) return false;
    return true;
}

Route StaticRoute(const Prefix& dst, std::optional<IpAddr> via, int oif, uint32_t metric) {
    Route r;
    r.dst = dst;
    r.gateway = via;
    r.oif = oif;
    r.metric = dst.addr.family == AF_INET6 && metric == 0 ? 1024 : metric;
    r.table = RT_TABLE_MAIN;
    r.protocol = RTPROT_STATIC;
    r.type = RTN_UNICAST;
    r.scope = via ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
    return r;
}

bool SameStaticRoute(const Route& want, const Route& have) {
    return want.dst == have.dst && want.metric == have.metric && want.oif == have.oif && want.gateway == have.gateway;
}

bool Link::up() const {
    return (flags & IFF_UP) != 0;
}

namespace {

// Linear search: a box has a handful of links, and a vector keeps the dump
// order the kernel gave.
template <class Pred>
const Link* FindIf(const std::vector<Link>& links, Pred pred) {
    auto it = std::find_if(links.begin(), links.end(), pred);
    return it == links.end() ? nullptr : &*it;
}

}  // namespace

const Link* NetState::FindLink(const std::string& name) const {
    return FindIf(links, [&](const Link& l) { return l.name == name; });
}

const Link* NetState::FindLinkByIndex(int index) const {
    return FindIf(links, [&](const Link& l) { return l.index == index; });
}

// Several links can share a MAC (a VLAN and its parent, bond members); the
// first in dump order, the lowest ifindex, wins.
const Link* NetState::FindLinkByMac(const MacAddr& mac) const {
    return FindIf(links, [&](const Link& l) { return l.mac == mac; });
}

}  // namespace haltfw
