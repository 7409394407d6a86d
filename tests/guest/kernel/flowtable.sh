#!/bin/bash
# A flowtable (the software fast path) on a routed namespace between a LAN
# and a WAN: created with nft, it offloads an established TCP connection,
# which conntrack then shows with the OFFLOAD status (the flow goes on
# without the forward chain).
set -euo pipefail
# shellcheck source=tests/guest/lib.sh
source "$(dirname "$0")/../lib.sh"

rt=$(g_ns rt)
lan=$(g_ns lan)
wan=$(g_ns wan)
g_veth "$rt" r-lan "$lan" e0
g_veth "$rt" r-wan "$wan" e0
ip -n "$rt" addr add 192.0.2.1/24 dev r-lan
ip -n "$rt" addr add 198.51.100.1/24 dev r-wan
ip -n "$lan" addr add 192.0.2.10/24 dev e0
ip -n "$lan" route add default via 192.0.2.1
ip -n "$wan" addr add 198.51.100.20/24 dev e0
ip -n "$wan" route add default via 198.51.100.1
ip netns exec "$rt" sysctl -qw net.ipv4.ip_forward=1
ip netns exec "$rt" nft -f - <<'NFT' || g_fail "nft could not load a ruleset with a flowtable"
table inet fw {
    flowtable ft {
        hook ingress priority 0; devices = { r-lan, r-wan };
    }
    chain forward {
        type filter hook forward priority 0; policy accept;
        ip protocol tcp flow add @ft
        counter
    }
}
NFT
ip netns exec "$rt" nft list flowtables | grep -q 'flowtable ft' || g_fail "no flowtable listed"
# A TCP connection that lasts a few seconds: socat on both ends.
ip netns exec "$wan" timeout 20 socat -u TCP-LISTEN:5001,reuseaddr OPEN:/dev/null &
sleep 1
ip netns exec "$lan" timeout 15 socat -u SYSTEM:'for i in 1 2 3 4 5 6; do echo tick; sleep 1; done' TCP:198.51.100.20:5001 &
client=$!
sleep 3
offloaded=$(ip netns exec "$rt" cat /proc/net/nf_conntrack 2>/dev/null | grep -c 'OFFLOAD' || true)
wait "$client" || g_fail "the TCP connection through the router failed"
((offloaded >= 1)) || g_fail "no conntrack entry marked OFFLOAD while the connection ran"
g_say "flowtable: the TCP connection was offloaded ($offloaded conntrack entries with OFFLOAD)"
