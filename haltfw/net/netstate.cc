#include "net/netstate.h"

#include <net/if.h>

#include <algorithm>

namespace haltfw {

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
