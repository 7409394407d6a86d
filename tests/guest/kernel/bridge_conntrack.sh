#!/bin/bash
# A bridge filtered in the bridge family with conntrack (nf_conntrack_bridge,
# Linux >= 5.3): a bridge namespace with no address joins a LAN and a WAN
# namespace; LAN->WAN pings pass, their replies come back as established,
# WAN->LAN pings (new connections) are dropped, and the bridge namespace
# itself answers nothing.
set -euo pipefail
# shellcheck source=tests/guest/lib.sh
source "$(dirname "$0")/../lib.sh"

br=$(g_ns br)
lan=$(g_ns lan)
wan=$(g_ns wan)
g_veth "$br" p-lan "$lan" e0
g_veth "$br" p-wan "$wan" e0
ip -n "$br" link add br0 type bridge
ip -n "$br" link set p-lan master br0
ip -n "$br" link set p-wan master br0
for dev in br0 p-lan p-wan; do
    ip netns exec "$br" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1"
done
ip -n "$br" link set br0 up
ip -n "$lan" addr add 192.0.2.10/24 dev e0
ip -n "$wan" addr add 192.0.2.20/24 dev e0
g_ping "$lan" 192.0.2.20 || g_fail "LAN -> WAN through the unfiltered bridge: no answer"

ip netns exec "$br" nft -f - <<'NFT' || g_fail "nft could not load a bridge-family ruleset with ct state"
table bridge filter {
    chain forward {
        type filter hook forward priority 0; policy drop;
        ct state established,related accept
        iifname "p-lan" ct state new accept
        ether type arp accept
    }
}
NFT
g_ping "$lan" 192.0.2.20 || g_fail "LAN -> WAN through the filtering bridge: no answer (established replies dropped?)"
g_no_reply "$wan" 192.0.2.10 "WAN -> LAN (new connections) passed the filtering bridge"
ip netns exec "$br" nft list ruleset | grep -q 'ct state established,related accept' || g_fail "the ruleset is not as loaded"
# The bridge has no address at all: no IPv4, and IPv6 off (no link-local).
addrs=$(ip -n "$br" -br addr show | awk '$1 != "lo" && NF > 2 { print }')
[[ -z $addrs ]] || g_fail "the bridge namespace has addresses: $addrs"
g_say "bridge conntrack: LAN->WAN passes with its replies, WAN->LAN new dropped, the bridge has no address"
