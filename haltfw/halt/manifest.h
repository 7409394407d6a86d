// The armed manifest: everything the final stage must know to verify the
// halted box and to put its ruleset back, written by `haltfw arm` into the
// exitrd and read by haltfw-final as PID 1.
//
// A text file of one record per line, so a person can read it with less:
//
//   haltfw-manifest 1
//   version 0.1.0
//   digest <64 hex>
//   generation <boot id> <netns cookie> <ruleset generation id>
//   ctrl-alt-del ignore|reboot|poweroff
//   sysrq <n>
//   heartbeat <seconds>          (only when [halt] heartbeat is set)
//   netconsole <dev> <local ip> <remote ip> <port> <mac>   ([halt] netconsole)
//   pstore <text>                (the report's 'pstore:' line, as arm found it)
//   link <role> <kernel name>
//   address <kernel name> <prefix>
//   mtu <kernel name> <bytes>     (only when the config sets mtu)
//   route <kernel name> <destination prefix> <gateway or -> <metric>
//   port <bridge's kernel name> <port's kernel name>
//   silent <bridge's kernel name>   (a bridge with no address)
//   bridge <kernel name> <stp state> <ageing centis> <mcast snooping>
//                                (a bridge apply makes, with its options)
//   vlan <kernel name> <parent's kernel name> <ID>   (a VLAN apply makes)
//   ifindex <kernel name> <index>    (the link's index when armed)
//   wireguard <kernel name> <private key hex> <listen port> <fwmark>
//   wgpeer <kernel name> <public key hex> <preshared key hex or -> <endpoint or -> <keepalive s>
//          <allowed IP,allowed IP,... or ->   (one line; after its device's wireguard line)
//   sysctl <key> <value hex>
//   object <kind> <family> <table hex> <name hex> <payload hex>
//   end <sha256 hex of every byte before this line>
//
// The last line makes a truncated or corrupted file detectable; the first
// makes one from another format version refuse to load. Read and written a
// line at a time, hashed as it goes: at a million set elements the file is
// about 46 MB, which the final stage (PID 1) must not hold. Pure code,
// except the file functions at the end.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "halt/netconsole.h"
#include "net/net_addr.h"
#include "net/netstate.h"
#include "net/wireguard.h"
#include "nft/nft_dump.h"
#include "nft/ruleset_stamp.h"

namespace haltfw {

inline constexpr int kManifestFormat = 1;
/// The pstore record's text at most: with "HALTFW: pstore: " in front it
/// still fits one /dev/kmsg record (netconsole carries the report so).
inline constexpr size_t kMaxPstoreLine = 512;

/// A configured route through a link (the default routes of `gateway`
/// and `gateway6` too), as StaticRoute (net/netstate.h) makes it.
struct ManifestRoute {
    Prefix dst;
    std::optional<IpAddr> via;
    uint32_t metric = 0;            ///< As the kernel holds it (IPv6 0 is 1024).
    bool operator==(const ManifestRoute&) const = default;
};

struct ManifestLink {
    std::string role;
    std::string name;               ///< Kernel name when armed.
    std::vector<Prefix> addresses;  ///< Configured addresses it must hold.
    std::vector<ManifestRoute> routes;  ///< Configured routes through it.
    std::vector<std::string> ports; ///< A bridge's ports, each of which it must hold.
    /// A bridge with no address (the invisible bridge): it and its ports
    /// must hold no address of either family.
    bool silent = false;
    uint32_t mtu = 0;               ///< The configured MTU; 0: none configured.
    /// A device apply makes, which the final stage makes again if a unit
    /// deleted it on the way down (or puts back if it is another): a
    /// bridge with these options, or a VLAN on `vlan_parent`. Neither for
    /// a link haltfw does not make (a NIC), nor for a WireGuard device
    /// (Manifest::wireguard has what it takes).
    std::optional<Link::BridgeOptions> bridge;
    std::string vlan_parent;        ///< Empty: not a VLAN.
    uint16_t vlan_id = 0;
    /// The kernel's index of the link when armed; 0: unknown. Another at
    /// the halt means the device was made again since.
    int ifindex = 0;
};

struct Manifest {
    std::string version;            ///< haltfw version that armed it.
    std::string digest;             ///< RulesetDigest of `ruleset`.
    /// Where and when arm read the ruleset it records (nft/ruleset_stamp.h):
    /// while the kernel's stamp is still this one, the live ruleset is the
    /// armed one. Optional: generation 0 when there is none.
    RulesetStamp armed_at;
    std::string ctrl_alt_del = "ignore";
    int sysrq = 0;
    /// Seconds between haltfw-inert's ALIVE lines; 0: none ([halt] heartbeat).
    int heartbeat_s = 0;
    /// The netconsole target arm made ([halt] netconsole), in configfs's
    /// text; the final stage checks it and makes it again if need be.
    std::optional<NetconsoleTarget> netconsole;
    /// What arm found of a crash before this boot (core/pstore.h), the
    /// report's 'pstore:' line as it is: one line of printable ASCII,
    /// kMaxPstoreLine bytes at most. Empty: no such line (armed by a
    /// haltfw that did not look).
    std::string pstore;
    std::vector<ManifestLink> links;
    /// Each WireGuard device as armed: its private key (the exitrd is a
    /// 0700 tmpfs that haltfw-inert takes away; never printed), listen port
    /// (the kernel's choice when the config gives none), fwmark and peers
    /// with their keys, configured endpoints, keepalives and allowed IPs.
    /// Its link, addresses and routes are in `links`.
    std::vector<WgDevice> wireguard;
    /// Sysctls the halted box must keep (forwarding and friends).
    std::vector<std::pair<std::string, std::string>> sysctls;
    /// Canonical (see NftRuleset); empty when the ruleset was left in the
    /// file (ManifestRuleset::kLeaveInFile).
    NftRuleset ruleset;
    /// With kLeaveInFile, the file the ruleset was left in and the checksum
    /// its 'end' line had: what ReadManifestRuleset must find there again.
    /// Empty when `ruleset` holds the ruleset.
    std::string ruleset_file;
    std::string ruleset_checksum;
};

/// What ReadManifestFile does with the ruleset's records.
enum class ManifestRuleset {
    kRead,         ///< Into Manifest::ruleset.
    /// Checks them like every other line but keeps none: the final stage
    /// compares a dump of the live ruleset with the digest line first and
    /// reads the armed ruleset (ReadManifestRuleset) only to restore it,
    /// so that it never holds both.
    kLeaveInFile,
};

/// The WireGuard configuration's digest, without its secrets: SHA-256 (64
/// hex digits) of a canonical text of the devices, by name, each with its
/// public key in place of the private one (derived from it), its listen
/// port and fwmark, and its peers, by public key, each with the SHA-256 of
/// its preshared key in place of the key (of a random 32-byte key, that
/// tells nothing), its configured endpoint, keepalive and allowed IPs
/// (sorted). The order of devices, peers and allowed IPs does not matter.
/// "" when there is no device. Pure.
std::string WireguardDigest(const std::vector<WgDevice>& devices);

std::string SerializeManifest(const Manifest& m);

/// Parses and checks a manifest. Refuses (false, with *err) a file of
/// another format version, one whose end checksum is missing or wrong
/// (truncated, corrupted), any malformed line ("line 7: ..."), and any
/// sysctl key that fails CheckSysctlKey (sysctl.h) even with a good
/// checksum ("line 7: sysctl key 'kernel.modprobe': only keys under net.*
/// can be set").
bool ParseManifest(std::string_view text, Manifest* m, std::string* err);

/// Writes atomically (temporary file, fsync, rename), mode 0600.
bool WriteManifestFile(const std::string& path, const Manifest& m, std::string* err);
/// ParseManifest on a file, read in pieces of 64 KiB and never held whole
/// (errors "PATH: manifest: ..."; "read PATH: REASON"). A line over
/// 1 MiB (none that haltfw writes comes near) is refused like a malformed
/// one: "line 7: longer than 1048576 bytes".
bool ReadManifestFile(const std::string& path, Manifest* m, std::string* err,
                      ManifestRuleset ruleset = ManifestRuleset::kRead);
/// The ruleset that ReadManifestFile left in `m.ruleset_file`, read from
/// there: refused unless the file is whole and still the one read then
/// (its 'end' checksum), "PATH: manifest: changed since it was read". With
/// the ruleset in `m` already, a copy of it.
bool ReadManifestRuleset(const Manifest& m, NftRuleset* ruleset, std::string* err);

}  // namespace haltfw
