// The WireGuard part of a plan: the device each WireGuard interface asks
// for, compared with what the kernel holds (WG_CMD_GET_DEVICE), so that a
// second apply of the same config changes nothing. Pure: the live device
// comes in through PlanInputs::read_wireguard.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/plan.h"
#include "net/wireguard.h"

namespace haltfw {

/// The device `ifc` asks for: its private key, listen port (0: not given)
/// and peers in config order, each with its preshared key, endpoint,
/// keepalive and allowed IPs. Needs the keys LoadConfig read.
WgDevice WantedWireguard(const Config& cfg, const InterfaceConfig& ifc);

/// What must change to make `have` the wanted device, one phrase each, in
/// a fixed order: "private key", "listen port 51820 (was 40000)", "add
/// peer 'laptop'", "peer 'laptop': allowed IPs", "remove peer KEY"...;
/// empty when nothing must. A listen port or an endpoint the config does
/// not give is the kernel's to choose or learn, and not a difference. Names
/// what differs, never a secret's value. (WgDeviceDifferences with the
/// peers' names; KeepLearned, net/wireguard.h, gives the device to send.)
std::vector<std::string> WireguardDifferences(const Config& cfg, const InterfaceConfig& ifc, const WgDevice& want,
                                              const WgDevice& have);

/// Plans each WireGuard interface: a device that does not exist is created
/// (added to *creating) and configured; one that exists must be a
/// WireGuard device and is configured when it differs. Problems go to
/// plan->problems.
void PlanWireguard(const Config& cfg, const NetState& state, const PlanInputs& in, std::set<std::string>* creating,
                   Plan* plan);

/// status's lines for a live WireGuard device, each starting with two
/// spaces: the device's public key (never a private or preshared key), its
/// port and peer count, then each configured peer by name (endpoint, latest
/// handshake as seconds before `now`, bytes received and sent), a configured
/// peer the device lacks as MISSING, and a peer the config does not name by
/// its public key. Pure.
std::vector<std::string> WireguardStatusLines(const Config& cfg, const InterfaceConfig& ifc, const WgDevice& live,
                                              int64_t now);

}  // namespace haltfw
