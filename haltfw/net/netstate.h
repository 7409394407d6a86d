// The kernel's network state as plain values: what rtnetlink reports, and
// what the plan and the final stage compare against. No system calls here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/net_addr.h"

namespace haltfw {

/// Lifetime value rtnetlink uses for "forever" (INFINITY_LIFE_TIME).
inline constexpr uint32_t kForever = 0xFFFFFFFFu;

struct Link {
    int index = 0;
    std::string name;
    std::optional<MacAddr> mac;  ///< Absent for links without a hardware address.
    uint32_t mtu = 0;
    uint32_t flags = 0;          ///< IFF_* flags (IFF_UP, IFF_RUNNING, IFF_LOWER_UP...).
    std::string kind;            ///< IFLA_INFO_KIND ("veth", "bridge"...), empty if none.
    int master = 0;              ///< IFLA_MASTER: the bridge (or bond) it is a port of; 0: none.
    int parent = 0;              ///< IFLA_LINK of a "vlan" link: its parent; 0 otherwise.
    uint16_t vlan_id = 0;        ///< IFLA_VLAN_ID of a "vlan" link.
    /// A "bridge" link's options (IFLA_BR_*), as haltfw sets them.
    struct BridgeOptions {
        uint32_t stp_state = 0;
        uint32_t ageing_centis = 0;
        uint8_t mcast_snooping = 0;
        bool operator==(const BridgeOptions&) const = default;
    };
    std::optional<BridgeOptions> bridge;

    bool up() const;             ///< IFF_UP set.
};

struct Address {
    int ifindex = 0;
    Prefix prefix;               ///< The local address with its prefix length.
    uint32_t valid_lft = kForever;      ///< Seconds; kForever for a static address.
    uint32_t preferred_lft = kForever;
    uint32_t flags = 0;          ///< IFA_F_* (IFA_F_PERMANENT, IFA_F_DYNAMIC...).
    uint8_t scope = 0;           ///< RT_SCOPE_*.

    bool finite() const { return valid_lft != kForever; }
};

/// A unicast route in the main table (the only table haltfw manages).
struct Route {
    Prefix dst;                  ///< 0.0.0.0/0 or ::/0 for a default route.
    std::optional<IpAddr> gateway;
    int oif = 0;                 ///< Output interface index; 0 if none.
    uint32_t metric = 0;         ///< RTA_PRIORITY.
    uint8_t protocol = 0;        ///< RTPROT_* (RTPROT_KERNEL for connected routes).
    uint8_t scope = 0;           ///< RT_SCOPE_*.
    uint8_t type = 0;            ///< RTN_* (RTN_UNICAST...).
    uint32_t table = 0;          ///< RT_TABLE_MAIN for the routes haltfw manages.
};

/// True when the kernel would take `name` for a link (dev_valid_name): 1 to
/// 15 bytes, not "." or "..", no '/', ':', white space or control byte.
bool ValidLinkName(std::string_view name);

/// A static route of the main table as haltfw sets it: `dst` (network
/// form) through `oif`, by `via` if given (else on the link), with metric
/// `metric`. IPv6 metric 0 becomes 1024, as the kernel stores it
/// (IP6_RT_PRIO_USER; seen on 6.1 and 6.18), so that the route wanted is
/// the one read back.
Route StaticRoute(const Prefix& dst, std::optional<IpAddr> via, int oif, uint32_t metric);

/// True when `have` is `want` for what haltfw sets: destination, metric,
/// output link and gateway.
bool SameStaticRoute(const Route& want, const Route& have);

/// Everything haltfw reads of the network state in one snapshot.
struct NetState {
    std::vector<Link> links;
    std::vector<Address> addresses;
    std::vector<Route> routes;   ///< Main table only.

    const Link* FindLink(const std::string& name) const;
    const Link* FindLinkByIndex(int index) const;
    const Link* FindLinkByMac(const MacAddr& mac) const;
};

}  // namespace haltfw
