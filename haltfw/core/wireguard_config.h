// The WireGuard part of haltfw.conf: `wireguard-key` and `listen-port` in an
// [interface.ROLE] (which makes haltfw create its device as a WireGuard
// device), and the [peer.NAME] sections. Parsed with the rest of the file
// by config.cc, which hands each such entry here; checked across sections
// once the whole file is read; and the key files read by LoadConfig.
//
// A key file is refused unless it is a regular file (not a symbolic link),
// mode 0600 or 0400, owned by root, holding one base64 key and at most a
// newline. Messages say what is wrong with a key, never the key.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/diag.h"
#include "net/net_addr.h"
#include "net/wg_key.h"

namespace haltfw {

struct Config;
struct InterfaceConfig;
struct IniEntry;

/// The WireGuard keys of an [interface.ROLE].
struct WireguardInterfaceConfig {
    std::string key_file;          ///< Made absolute against the config's directory; empty if unusable (said).
    std::string key_file_shown;    ///< key_file as a message shows it (QuoteUnlessKey of the name as written).
    int key_line = 0;              ///< 0: no wireguard-key (an error if listen-port is given).
    uint16_t listen_port = 0;      ///< 0: not given; the kernel picks a port.
    int listen_port_line = 0;
    /// Read from key_file by LoadConfig (ParseConfig leaves them unset).
    std::optional<WgSecret> private_key;
    WgKey public_key{};            ///< Derived from private_key.
};

/// An allowed-ips prefix of a peer.
struct AllowedIpSpec {
    Prefix prefix;                 ///< Network form.
    int line = 0;
};

/// A [peer.NAME] section.
struct PeerConfig {
    std::string name;
    int line = 0;                  ///< Line of the section header.
    std::string interface;         ///< Role of its WireGuard [interface.ROLE].
    int interface_line = 0;
    std::optional<WgKey> public_key;
    int public_key_line = 0;
    std::vector<AllowedIpSpec> allowed_ips;
    std::optional<WgEndpoint> endpoint;
    int endpoint_line = 0;
    uint16_t keepalive_s = 0;      ///< 0: not given.
    int keepalive_line = 0;
    std::string psk_file;          ///< Absolute; empty: no preshared key.
    std::string psk_file_shown;    ///< psk_file as a message shows it (as key_file_shown).
    int psk_line = 0;
    std::optional<WgSecret> preshared_key;  ///< Read by LoadConfig.
};

/// `value` quoted for a message, or, when it could be a key's text
/// (LooksLikeWgKey), a note saying it is not shown: no message prints a
/// private or preshared key pasted in the wrong place.
std::string QuoteUnlessKey(std::string_view value);

/// True when the interface has `wireguard-key =`: haltfw creates its
/// device as a WireGuard device.
bool IsWireguard(const InterfaceConfig& ifc);

/// True for the keys ParseWireguardInterfaceKey handles.
bool IsWireguardInterfaceKey(const std::string& key);

/// Handles `wireguard-key` or `listen-port` of an [interface.ROLE],
/// a repeat included.
void ParseWireguardInterfaceKey(InterfaceConfig* ifc, const IniEntry& e, const std::string& config_path,
                                Diagnostics* diags);

/// Handles one entry of a [peer.NAME] section.
void ParsePeerKey(PeerConfig* peer, const IniEntry& e, const std::string& config_path, Diagnostics* diags);

/// The checks across sections, once the file is read: each peer's
/// interface is a WireGuard one; no two peers of a device share a public
/// key or an allowed IP; listen-port only with wireguard-key; a WireGuard
/// interface named by device, not mac.
void CheckWireguard(const Config& cfg, Diagnostics* diags);

/// Reads and checks a key file (rules above); on failure *why says what is
/// wrong, e.g. "mode 0644: a key file must be mode 0600 or 0400". `owner`
/// is the uid the file must belong to (root; tests pass their own).
bool ReadWgKeyFile(const std::string& path, uid_t owner, WgSecret* key, std::string* why);

/// Reads every key file the config names (errors at the key's line) and
/// derives each device's public key; then refuses a peer whose public key
/// is its own device's.
void LoadWireguardKeys(Config* cfg, uid_t owner, Diagnostics* diags);

/// The peers of the interface with role `role`, in config order.
std::vector<const PeerConfig*> PeersOf(const Config& cfg, const std::string& role);

}  // namespace haltfw
