// The bridge-filter profile: haltfw.conf's [bridge-filter] section turned
// into one nftables table in the bridge family, for the invisible bridge
// (topology.h) and for people who do not write nft: the inside ports may
// start connections outward, the outside ports none inward but the listed
// forwards. The bridge twin of the gateway profile (gateway.h). Pure: config
// in, text out; the same config always gives the same text.
//
// What the kernel does with the frames the table sees (Linux 6.1,
// net/bridge/netfilter/nf_conntrack_bridge.c, nf_tables' bridge family):
// - Bridge conntrack (nf_conntrack_bridge, loaded by the first rule that
//   uses `ct`) tracks untagged IPv4 and IPv6; every other ethertype is
//   marked untracked, so ARP is neither 'new' nor 'invalid', and neither
//   are the ICMPv6 types of neighbour discovery and MLD, which conntrack
//   leaves untracked too.
// - A VLAN tag is taken off into the skb on receive: conntrack then tracks
//   the inner packet as if untagged (in the same table as the untagged
//   traffic), while `ether type` reads the tag back (0x8100, 0x88a8). The
//   profile judges untagged frames only and drops tagged ones between the
//   sides before any conntrack rule can accept them.
// - `meta ibrname`/`obrname` name the bridge of the port a frame came in
//   or goes out by: at the input hook only ibrname is known, at the output
//   hook only obrname. The chains leave other bridges of the box to other
//   tables.
#pragma once

#include <string>

#include "core/config.h"

namespace haltfw {

struct ReadinessInputs;
struct Readiness;

/// The table the profile generates ("table bridge bridge_filter"). Rules
/// files that extend the profile add to its forward_extra chain by this name.
inline constexpr const char* kBridgeFilterTable = "bridge_filter";

/// The prefix of the drop log's lines (log-drops = yes), apart from the
/// gateway profile's "haltfw drop: ".
inline constexpr const char* kBridgeDropLogPrefix = "haltfw bridge drop: ";

/// The nft text of the profile for `cfg`: one "table bridge bridge_filter"
/// with input and output chains that let nothing of the bridge reach or
/// leave the box, and a forward chain for what crosses between the sides;
/// every rule under a comment naming the [bridge-filter] key (and its line)
/// it comes from. `cfg` must have passed ParseConfig without error and hold
/// a [bridge-filter]; otherwise the result is empty.
std::string BridgeFilterRuleset(const Config& cfg);

/// check: with br_netfilter loaded (net.bridge.bridge-nf-call-iptables or
/// -ip6tables = 1) what the bridge forwards also passes the ip, ip6 and
/// inet families' hooks, where other tables (the gateway profile's forward
/// chain) may drop or rewrite it: a warning. Nothing without [bridge-filter].
void CheckBridgeNetfilter(const ReadinessInputs& in, Readiness* r);

}  // namespace haltfw
