// The gateway profile: haltfw.conf's [gateway] section turned into one
// nftables table, for people who do not want to write nft. Pure: config in,
// text out, no system calls; the same config always gives the same text.
//
// The text is written for a box that runs no services once halted (no DHCP,
// DNS or SSH server, nothing in userspace at all): every statement it uses is
// evaluated by the kernel alone, so it keeps working after the halt.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/profile_text.h"
#include "net/net_addr.h"

namespace haltfw {

/// The table the profile generates ("table inet gateway"). Rules files that
/// extend the profile add to its chains by this name.
inline constexpr const char* kGatewayTable = "gateway";

/// A named group of services for `block =`: their LAN->WAN traffic is
/// dropped.
struct ServiceGroup {
    std::string_view name;
    std::string_view what;        ///< For comments and the manual.
    std::vector<PortRange> tcp;
    std::vector<PortRange> udp;
};

/// Every known group, sorted by name.
const std::vector<ServiceGroup>& ServiceGroups();

/// The group called `name`, or nullptr.
const ServiceGroup* FindServiceGroup(std::string_view name);

/// "msrpc, netbios, smtp, telnet": the known names, for messages.
std::string ServiceGroupNames();

/// The networks the LAN side sends from: those of `lan`'s addresses and of
/// its routes (a subnet behind a LAN router), minus default routes; sorted
/// (IPv4 first), without duplicates or prefixes inside another one, so that
/// they make a valid nft interval set.
std::vector<Prefix> LanPrefixes(const InterfaceConfig& lan);

/// The nft text of the profile for `cfg`: one "table inet gateway" with the
/// LAN prefix sets, anti-spoofing, the input, forward and output policies and
/// the NAT chains; the VPN zones (`vpn =`) as LAN zones, with their
/// WireGuard ports open on the WAN; every rule under a comment naming the
/// [gateway] key (and its line) it comes from. `cfg` must have passed
/// ParseConfig without error and hold a [gateway]; otherwise the result is
/// empty.
std::string GatewayRuleset(const Config& cfg);

}  // namespace haltfw
