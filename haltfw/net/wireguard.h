// WireGuard devices over the kernel's "wireguard" generic netlink family
// (linux/wireguard.h), with libmnl: what haltfw sets (WG_CMD_SET_DEVICE)
// and what it reads back (WG_CMD_GET_DEVICE), as plain values. No `wg` and
// no `wg-quick`: once the device, its key and its peers are set, every
// handshake, rekey, roam and keepalive is kernel work, which is what lets a
// halted box keep serving as a VPN gateway.
//
// Private and preshared keys travel as WgSecret and are never formatted;
// every buffer that held one (a request, a received dump) is wiped when done.
// Library code: nothing here prints. Errors: false plus "OPERATION: REASON".
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/net_addr.h"
#include "net/netlink_socket.h"
#include "net/wg_key.h"

namespace haltfw {

struct WgPeer {
    WgKey public_key{};
    std::optional<WgSecret> preshared_key;   ///< Unset: none (all zeros to the kernel).
    std::optional<WgEndpoint> endpoint;
    uint16_t keepalive_s = 0;                ///< 0: off.
    std::vector<Prefix> allowed_ips;         ///< Network form.
    // Read back only (GET_DEVICE):
    int64_t last_handshake_s = 0;            ///< Unix seconds; 0: never.
    uint64_t rx_bytes = 0, tx_bytes = 0;
};

/// The configuration of one device: what SET_DEVICE sends (replacing every
/// peer) and what GET_DEVICE reads back.
struct WgDevice {
    std::string name;
    int ifindex = 0;                         ///< Read back; SET names the device by `name`.
    std::optional<WgSecret> private_key;     ///< Unset: none.
    WgKey public_key{};                      ///< Read back (the kernel derives it).
    uint16_t listen_port = 0;                ///< SET: 0 lets the kernel choose.
    uint32_t fwmark = 0;
    std::vector<WgPeer> peers;
};

/// The largest WG_CMD_SET_DEVICE message haltfw sends; a device whose
/// peers do not fit goes in several (below).
inline constexpr size_t kWgSetMessageMax = 16384;

/// Builds the WG_CMD_SET_DEVICE requests for `d` (the caller sends them in
/// order and wipes them): the first carries the private key, listen port,
/// fwmark and WGDEVICE_F_REPLACE_PEERS, and every message as many peers as
/// fit in `max_size` bytes, each with its keys, endpoint, keepalive and
/// WGPEER_F_REPLACE_ALLOWEDIPS. A peer whose allowed IPs do not fit goes
/// on in the next message, named by its public key alone, without the
/// flag (as linux/wireguard.h describes). Sequence numbers count up from
/// `seq`. Pure; `family` is the resolved family id; `d.name` must be a
/// ValidLinkName (net/netstate.h), as SetDevice checks.
std::vector<std::vector<char>> BuildWgSetDevice(const WgDevice& d, uint16_t family, uint32_t seq,
                                                size_t max_size = kWgSetMessageMax);

/// Adds one GET_DEVICE reply message to *d (the kernel splits a large device
/// over several, a peer's allowed IPs too: a peer whose public key is the
/// last one's continues it). Pure. Every attribute it reads is checked
/// (type and length, mnl_attr_validate) before it is read; false with *why
/// on a malformed message, e.g. "WGDEVICE_A_IFNAME: malformed (4 bytes,
/// expected a string ending in NUL)".
bool ParseWgDeviceMessage(const void* msg, size_t len, WgDevice* d, std::string* why);

/// The peer of `d` with this public key, or null.
const WgPeer* FindWgPeer(const WgDevice& d, const WgKey& public_key);

/// What must change to make `have` the wanted device, one phrase each, in
/// a fixed order: "private key", "listen port 51820 (was 40000)", "fwmark
/// 1 (was 0)", "add peer 'laptop'", "peer 'laptop': allowed IPs", "remove
/// peer KEY"...; empty when nothing must. Peer i of `want` is named
/// names[i], or by its public key past the end of `names`. A listen port
/// (0) or an endpoint `want` does not give is the kernel's to choose or
/// learn, and not a difference; with `endpoints` false no endpoint is (a
/// peer may roam from its configured one, and the kernel follows it).
/// Names what differs, never a secret's value. Pure.
std::vector<std::string> WgDeviceDifferences(const WgDevice& want, const WgDevice& have,
                                             const std::vector<std::string>& names = {}, bool endpoints = true);

/// The device to send for a change: `want` with what it leaves to the
/// kernel kept as the kernel has it (its chosen port, the endpoints it
/// learnt from peers), so that a change of one peer does not move the
/// port or forget where the others are. Pure.
WgDevice KeepLearned(const WgDevice& want, const WgDevice& have);

/// One NETLINK_GENERIC socket with the "wireguard" family resolved.
class WgSocket {
public:
    /// Opens the socket and resolves the family (CTRL_CMD_GETFAMILY; the
    /// kernel loads the wireguard module on that request if it can). Errors:
    /// "generic netlink family 'wireguard': not found (ENOENT): is the
    /// wireguard module available?".
    static std::unique_ptr<WgSocket> Open(std::string* err);
    ~WgSocket();
    WgSocket(const WgSocket&) = delete;
    WgSocket& operator=(const WgSocket&) = delete;

    /// Replaces the device's whole configuration with `d` (peers included).
    bool SetDevice(const WgDevice& d, std::string* err);
    /// Reads the device named `name` (a dump, coalesced).
    bool GetDevice(const std::string& name, WgDevice* d, std::string* err);

private:
    WgSocket() = default;
    bool Exchange(std::vector<char>* req, bool dump, WgDevice* into, std::string* err);
    NetlinkSocket sock_;
    unsigned port_ = 0;
    unsigned seq_ = 0;
    uint16_t family_ = 0;
};

}  // namespace haltfw
