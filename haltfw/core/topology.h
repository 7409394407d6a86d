// Devices haltfw creates: bridges (`bridge = DEV ...`) and 802.1Q VLANs
// (`vlan = DEV ID`), how they stack, and the invisible bridge: a bridge
// with no `address` that answers nothing at layer 3. Pure: the config's
// checks across interfaces, the sysctls that silence a bridge, the order in
// which devices are created, and check's verdict on a live bridge.
//
// What a halted bridge does, and what haltfw sets at creation (the bridge's
// own defaults where they already fit; docs/design.md, "The invisible
// bridge"):
// - STP off. Kernel STP would send BPDUs from the bridge's MAC (the box
//   seen at layer 2), and turning it on runs the /sbin/bridge-stp usermode
//   helper. Ports forward as soon as they are up; a loop in the cabling is
//   the network's to prevent.
// - MAC ageing 300 s, the kernel's default: learning and ageing are kernel
//   work and go on halted.
// - Multicast snooping off: with it on and no querier on the segment
//   (the box runs none, and the kernel's own querier would send queries
//   from the box), group membership is learnt from reports nobody asks for
//   and multicast can stop reaching hosts; off, multicast floods to every
//   port, as through a plain switch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/diag.h"
#include "net/sysctl.h"

namespace haltfw {

struct ReadinessInputs;
struct Readiness;

/// The bridge options haltfw sets when it creates a bridge, and keeps.
inline constexpr uint32_t kBridgeStpState = 0;          ///< IFLA_BR_STP_STATE: off.
inline constexpr uint32_t kBridgeAgeingCentis = 30000;  ///< IFLA_BR_AGEING_TIME: 300 s.
inline constexpr uint8_t kBridgeMcastSnooping = 0;      ///< IFLA_BR_MCAST_SNOOPING: off.
/// net.ipv4.conf.BRIDGE.arp_ignore on a bridge with no address: 8, "do not
/// reply for any local address", so the bridge answers no ARP even for an
/// address the box holds on another interface.
inline constexpr const char* kSilentArpIgnore = "8";

/// "net.ipv6.conf.eth0/20.disable_ipv6" for ("ipv6", "eth0.20",
/// "disable_ipv6"): sysctl(8)'s '/' for a '.' in the name.
std::string DeviceSysctlKey(const char* family, const std::string& dev, const char* leaf);

/// SysctlKeyDevice, its inverse, is in net/sysctl.h (the final stage uses it too).

/// What keeps a bridge with no address silent at layer 3, with the line of
/// its `bridge =`: disable_ipv6 = 1 on the bridge and each port, and
/// arp_ignore = 8 on the bridge.
std::vector<SysctlSetting> SilentBridgeSysctls(const InterfaceConfig& ifc);

/// The checks across interfaces of bridges and VLANs, each error with the
/// line of the key at fault: a device haltfw creates chosen by MAC, a
/// bridge that is its own port, a port in two bridges, a port that is a
/// bridge, a WireGuard device or an interface with addresses or routes, a
/// VLAN on itself or on a WireGuard device, one VLAN ID twice on a parent,
/// and devices that sit on each other in a loop.
void CheckTopology(const std::vector<InterfaceConfig>& ifs, const std::string& path, Diagnostics* diags);

/// The interfaces haltfw creates (bridges and VLANs, in that order of
/// need), each after every created device it sits on: a VLAN on a bridge
/// after the bridge, a bridge with a VLAN port after the VLAN. Config order
/// otherwise. Expects a config without loops (CheckTopology).
std::vector<const InterfaceConfig*> CreationOrder(const std::vector<InterfaceConfig>& ifs);

/// check: a bridge with no address must answer nothing at layer 3: no
/// address of either family on the bridge or a port, IPv6 off on each,
/// arp_ignore 8 on the bridge; a port enslaved elsewhere, or a bridge
/// whose STP or multicast snooping is on. Each finding a blocker.
void CheckSilentBridges(const ReadinessInputs& in, Readiness* r);

}  // namespace haltfw
