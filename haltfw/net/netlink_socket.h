// One owner type for a libmnl netlink socket, for every layer that opens
// one (rtnetlink here; nf_tables' dump, restore and guard in nft/; the
// watcher in final/): closed exactly once, on every path.
#pragma once

#include <libmnl/libmnl.h>

#include <memory>

namespace haltfw {

struct NetlinkSocketCloser {
    void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};

using NetlinkSocket = std::unique_ptr<mnl_socket, NetlinkSocketCloser>;

}  // namespace haltfw
