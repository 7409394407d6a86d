// rtnetlink over libmnl: reading links, addresses and routes, and the few
// changes haltfw makes to them. Every request asks for an ACK with
// NETLINK_EXT_ACK on, so a kernel refusal comes back with the kernel's own
// words ("Nexthop has invalid gateway"), never as a silent no-op.
//
// Library code: nothing here prints. Errors come back as `false` plus a
// message in `*err` of the form "OPERATION: REASON".
#pragma once

#include <memory>
#include <string>

#include "net/netlink_socket.h"
#include "net/netstate.h"

struct mnl_socket;

namespace haltfw {

/// One NETLINK_ROUTE socket, bound and closed with the object (O_CLOEXEC).
/// Not thread-safe; one request in flight at a time.
class RtnlSocket {
public:
    /// Opens and binds the socket. On failure returns nullptr and sets *err,
    /// e.g. "socket(NETLINK_ROUTE): Permission denied".
    static std::unique_ptr<RtnlSocket> Open(std::string* err);
    ~RtnlSocket();
    RtnlSocket(const RtnlSocket&) = delete;
    RtnlSocket& operator=(const RtnlSocket&) = delete;

    /// Dumps links, addresses (both families) and main-table unicast routes
    /// (both families) into *out, replacing what it held.
    bool Dump(NetState* out, std::string* err);

    /// Sets IFF_UP on the link (leaves other flags alone), or clears it.
    bool SetLinkUp(int ifindex, bool up, std::string* err);
    /// Creates a veth pair `name` <-> `peer` (both down). Used for scratch
    /// namespaces only: haltfw never creates links on the real system.
    bool CreateVeth(const std::string& name, const std::string& peer, std::string* err);

    /// Creates bridge `name` (down, no ports) with these options.
    bool CreateBridge(const std::string& name, const Link::BridgeOptions& o, std::string* err);
    /// Sets an existing bridge's options.
    bool SetBridgeOptions(int ifindex, const Link::BridgeOptions& o, std::string* err);
    /// Creates 802.1Q VLAN `name` with ID `id` on link `parent` (down).
    bool CreateVlan(const std::string& name, int parent, uint16_t id, std::string* err);
    /// Creates WireGuard device `name` (down, no key, no peers: wireguard.h
    /// configures it).
    bool CreateWireguard(const std::string& name, std::string* err);
    /// Makes the link a port of `master` (IFLA_MASTER); master 0 releases it.
    bool SetMaster(int ifindex, int master, std::string* err);
    /// Deletes the link.
    bool DeleteLink(int ifindex, std::string* err);
    /// The index of the link named `name` ("RTM_GETLINK NAME: No such
    /// device (ENODEV)" when there is none).
    bool LinkIndex(const std::string& name, int* ifindex, std::string* err);

    /// Sets the link MTU.
    bool SetLinkMtu(int ifindex, uint32_t mtu, std::string* err);

    /// Adds an address with infinite lifetimes (a static address). With
    /// `replace`, an existing equal address is replaced (NLM_F_REPLACE), which
    /// turns a finite-lifetime address into a permanent one.
    bool AddAddress(int ifindex, const Prefix& p, bool replace, std::string* err);
    bool DelAddress(int ifindex, const Prefix& p, std::string* err);

    /// Adds or replaces (NLM_F_CREATE|NLM_F_REPLACE) a route in the main
    /// table, protocol RTPROT_STATIC, scope universe when it has a gateway and
    /// link otherwise.
    bool ReplaceRoute(const Route& r, std::string* err);
    /// Deletes the route matching dst, table main, metric and (if set) oif.
    bool DelRoute(const Route& r, std::string* err);

private:
    RtnlSocket() = default;
    NetlinkSocket sock_;
    unsigned port_ = 0;
    unsigned seq_ = 0;
};

}  // namespace haltfw
