#!/bin/bash
# WireGuard in the kernel, set up with wg: two namespaces joined by a veth
# link (the "internet", 198.51.100.0/24), each with a wg0 device; their
# tunnel addresses (203.0.113.1 and .2) reach each other through it, wg
# shows a handshake, and with b's wg0 down they do not.
set -euo pipefail
# shellcheck source=tests/guest/lib.sh
source "$(dirname "$0")/../lib.sh"

a=$(g_ns a)
b=$(g_ns b)
g_veth "$a" e0 "$b" e0
ip -n "$a" addr add 198.51.100.1/24 dev e0
ip -n "$b" addr add 198.51.100.2/24 dev e0
ka=$(wg genkey)
kb=$(wg genkey)
pa=$(wg pubkey <<<"$ka")
pb=$(wg pubkey <<<"$kb")
for side in a b; do
    ns=${!side}
    ip -n "$ns" link add wg0 type wireguard || g_fail "ip link add type wireguard failed"
done
ip netns exec "$a" wg set wg0 private-key <(echo "$ka") listen-port 51820 peer "$pb" \
    allowed-ips 203.0.113.2/32 endpoint 198.51.100.2:51820
ip netns exec "$b" wg set wg0 private-key <(echo "$kb") listen-port 51820 peer "$pa" \
    allowed-ips 203.0.113.1/32 endpoint 198.51.100.1:51820
ip -n "$a" addr add 203.0.113.1/32 peer 203.0.113.2/32 dev wg0
ip -n "$b" addr add 203.0.113.2/32 peer 203.0.113.1/32 dev wg0
ip -n "$a" link set wg0 up
ip -n "$b" link set wg0 up
g_ping "$a" 203.0.113.2 || g_fail "no answer through the WireGuard tunnel"
hs=$(ip netns exec "$a" wg show wg0 latest-handshakes | awk '{ print $2 }')
[[ -n $hs && $hs != 0 ]] || g_fail "wg shows no handshake"
ip -n "$b" link set wg0 down
g_no_reply "$a" 203.0.113.2 "203.0.113.2 answered with b's wg0 down: not through the tunnel"
g_say "WireGuard: tunnel up, handshake at $hs; nothing without it"
