// haltfw.conf as plain values, and its parser. Pure: ParseConfig takes the
// text; LoadConfig adds the file-system checks (reading the config, and that
// each rules file, and each file a rules file includes, is a regular file
// within kConfigInputMax).
//
// Every value keeps the line it came from, so that a later failure (the
// kernel refusing a route, say) can still point at the line that asked for it.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/diag.h"
#include "core/wireguard_config.h"
#include "halt/ctrl_alt_del.h"
#include "halt/inert_args.h"
#include "net/net_addr.h"

namespace haltfw {

inline constexpr const char* kDefaultConfigPath = "/etc/haltfw/haltfw.conf";

/// The largest config or rules file haltfw reads (documented in
/// haltfw.conf(5) and haltfw(8)).
inline constexpr size_t kConfigInputMax = size_t{64} << 20;

struct RuleFile {
    std::string path;  ///< As written, made absolute against the config's directory.
    int line = 0;
};

struct RouteSpec {
    Prefix dst;                    ///< Network form (host bits clear).
    std::optional<IpAddr> via;
    uint32_t metric = 0;
    std::string text;              ///< As written, for messages.
    int line = 0;
};

struct AddressSpec {
    Prefix prefix;
    int line = 0;
};

struct InterfaceConfig {
    std::string role;              ///< "wan" for [interface.wan].
    int line = 0;                  ///< Line of the section header.
    std::string device;            ///< Kernel name; empty when chosen by MAC.
    std::optional<MacAddr> mac;
    std::vector<AddressSpec> addresses;
    std::optional<AddressSpec> gateway;   ///< IPv4 default route via this interface.
    std::optional<AddressSpec> gateway6;  ///< IPv6 default route via this interface.
    std::vector<RouteSpec> routes;
    std::optional<uint32_t> mtu;
    int mtu_line = 0;
    /// wireguard-key / listen-port (core/wireguard_config.h): set when
    /// either is given; IsWireguard() says whether haltfw creates the
    /// device as a WireGuard device.
    std::optional<WireguardInterfaceConfig> wireguard;
    /// The key that makes haltfw create `device` ("bridge", "vlan", or
    /// "wireguard-key"), with its line; empty for a device that exists
    /// (topology.h).
    std::string kind_key;
    int kind_line = 0;
    /// bridge = DEV ...: the bridge's ports, as listed.
    std::vector<std::string> bridge_ports;
    /// vlan = DEV ID: the 802.1Q parent and VLAN ID (1-4094).
    std::string vlan_parent;
    uint16_t vlan_id = 0;

    bool IsBridge() const { return kind_key == "bridge"; }
    bool IsVlan() const { return kind_key == "vlan"; }
    /// A bridge with no `address`: the invisible bridge, silent at layer 3.
    bool IsSilentBridge() const { return IsBridge() && addresses.empty(); }

    /// "'wan'" or "'wan' (eth0)": how messages name the interface.
    std::string Describe() const;
};

struct SysctlSetting {
    std::string key;               ///< Dotted, as sysctl(8) writes it.
    std::string value;
    int line = 0;                  ///< 0 for a built-in safe default.
};

/// forward = PROTO PORT[-PORT] LANHOST [PORT] in [gateway].
struct ForwardSpec {
    std::string proto;       ///< "tcp" or "udp".
    uint16_t first = 0;      ///< WAN port, or the first of a range.
    uint16_t last = 0;       ///< == first for a single port.
    IpAddr host;             ///< IPv4: translated (DNAT); IPv6: opened as it is.
    uint16_t to_port = 0;    ///< LAN port; 0 keeps the WAN port(s).
    std::string text;        ///< As written, for messages and comments.
    int line = 0;
};

/// block = NAME ... in [gateway]: a named service group (gateway.h).
struct BlockSpec {
    std::string name;
    int line = 0;
};

/// [gateway]: the built-in gateway profile (gateway.h turns it into nft
/// text). Roles are checked against the [interface.*] sections. For each
/// yes/no key the line is 0 when the default applies.
struct GatewayConfig {
    int line = 0;                 ///< Line of the (first) [gateway] header.
    /// lan = ROLE ...: the LAN zones, as listed; wan = ROLE. Role names of
    /// [interface.*] sections.
    std::vector<std::string> lans;
    std::string wan;
    int lan_line = 0, wan_line = 0;
    /// vpn = ROLE ...: WireGuard interfaces (each with a listen-port) that
    /// are LAN zones for forwarding, whose ports are opened on the WAN. Not
    /// also in `lans`.
    std::vector<std::string> vpns;
    int vpn_line = 0;
    /// isolate = ROLE ...: LAN or VPN roles that reach the WAN (and the
    /// forwards by their public address) but no other zone and not the box.
    std::vector<std::string> isolate;
    int isolate_line = 0;
    bool masquerade = true;
    int masquerade_line = 0;
    bool icmp = true;
    int icmp_line = 0;
    bool log_drops = false;
    int log_drops_line = 0;
    /// fastpath: a flowtable on the profile's devices, so that established
    /// TCP and UDP connections skip the forward chain.
    bool fastpath = true;
    int fastpath_line = 0;
    std::vector<ForwardSpec> forwards;
    std::vector<BlockSpec> blocks;
};

/// [bridge-filter]: the built-in profile of the invisible bridge
/// (bridge_filter.h turns it into nft text). The bridge's role and ports are
/// checked against the [interface.*] sections. For each yes/no key the line
/// is 0 when the default applies.
struct BridgeFilterConfig {
    int line = 0;                 ///< Line of the (first) [bridge-filter] header.
    std::string bridge;           ///< bridge = ROLE: an [interface.ROLE] with `bridge =` and no address.
    int bridge_line = 0;
    /// inside = DEV ...: the bridge's ports on the protected side; outside =
    /// DEV ...: the others. As listed.
    std::vector<std::string> inside, outside;
    int inside_line = 0, outside_line = 0;
    bool icmp = true;
    int icmp_line = 0;
    bool log_drops = false;
    int log_drops_line = 0;
    /// forward = PROTO PORT[-PORT] HOST: inward connections accepted, not
    /// translated (to_port is 0).
    std::vector<ForwardSpec> forwards;
};

// [halt] heartbeat's bounds: haltfw-inert's (halt/inert_args.h).
/// [halt] panic-reboot's bounds, in seconds (kernel.panic).
inline constexpr int kPanicRebootMin = 1;
inline constexpr int kPanicRebootMax = 3600;

/// [halt] netconsole: the kernel log over UDP to a collector on the link
/// of one of the config's interfaces (halt/netconsole.h).
struct NetconsoleSpec {
    IpAddr remote;
    uint16_t port = 0;
    std::string text;              ///< As written, for messages.
    int line = 0;
    /// netconsole-mac: the next hop's MAC; none: decided at arm.
    std::optional<MacAddr> mac;
    int mac_line = 0;
    /// Found by the parser: the role whose address's prefix holds
    /// `remote`, and that address (the packets' source).
    std::string role;
    IpAddr local;
};

struct HaltConfig {
    std::vector<std::string> modules;
    CtrlAltDelAction ctrl_alt_del = CtrlAltDelAction::kIgnore;
    int sysrq = 0;
    /// Seconds between haltfw-inert's ALIVE lines once halted; 0: none.
    int heartbeat_s = 0;
    /// Seconds from a kernel panic to the reboot; 0: not set. When set,
    /// config.sysctls holds kernel.panic and (unless [sysctl] sets it)
    /// kernel.panic_on_oops = 1, with this key's line.
    int panic_reboot_s = 0;
    int panic_reboot_line = 0;
    /// [halt] netconsole = IP:PORT (and netconsole-mac), when set.
    std::optional<NetconsoleSpec> netconsole;
};

struct Config {
    std::string path;
    std::vector<RuleFile> rule_files;
    std::vector<InterfaceConfig> interfaces;
    /// The safe defaults first, then the file's settings; a file setting of a
    /// default key replaces the default in place.
    std::vector<SysctlSetting> sysctls;
    HaltConfig halt;
    /// Set when the file has a [gateway] section; its text comes before the
    /// rules files in the ruleset program.
    std::optional<GatewayConfig> gateway;
    /// Set when the file has a [bridge-filter] section; its text follows the
    /// gateway's (a table of its own) in the ruleset program.
    std::optional<BridgeFilterConfig> bridge_filter;
    /// The [peer.NAME] sections, in file order.
    std::vector<PeerConfig> peers;

    const InterfaceConfig* FindRole(std::string_view role) const;
};

/// The sysctls haltfw sets unless the config says otherwise.
const std::vector<SysctlSetting>& DefaultSysctls();

/// Parses the text of a config file named `path` (used in messages and to
/// resolve relative rules-file paths). Records every error in `diags` and
/// returns what could be parsed; the result is usable only if diags->ok().
Config ParseConfig(std::string_view text, const std::string& path, Diagnostics* diags);

/// Reads and parses `path`, then checks each rules file and, through its
/// `include "..."` lines, each file it includes (as nft resolves them).
/// Errors go to `diags`: "cannot read: REASON", "not a regular file (a
/// FIFO)", "larger than 64 MiB (N bytes)", naming the config (for itself)
/// or the [ruleset] line.
/// It also reads the WireGuard key files (wireguard_config.h), which must be
/// owned by `key_owner` (root; tests pass their own uid).
Config LoadConfig(const std::string& path, Diagnostics* diags, uid_t key_owner = 0);

/// Reads a file the config consists of: a regular file (looked at through
/// O_PATH first, so a FIFO never blocks and a device is never opened) of at
/// most kConfigInputMax bytes, read with that bound. On failure *why says
/// what is wrong without the path ("not a regular file (a FIFO)"). `id`,
/// if given, gets the file's device and inode.
bool ReadConfigInput(const std::string& path, std::string* text, std::string* why,
                     std::pair<dev_t, ino_t>* id = nullptr);

/// Where the config's ruleset comes from, for messages: "1 rules file",
/// "the gateway profile", "the gateway profile and 2 rules files", "the
/// gateway and bridge-filter profiles".
std::string DescribeRulesetSources(const Config& cfg);

}  // namespace haltfw
