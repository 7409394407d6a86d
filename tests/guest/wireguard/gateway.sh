#!/bin/bash
# The gateway profile with a VPN zone ([gateway] vpn = vpn), as haltfw apply
# loads it: a road-warrior peer on the WAN side reaches the LAN host through
# the tunnel with its own address, and a far host on the WAN masqueraded to
# the box's WAN address; the LAN host reaches the peer; over IPv6 too (the
# peer moves its endpoint to the box's IPv6 WAN address). A WAN host reaches
# nothing but the WireGuard port: not the box's TCP and UDP listeners, not
# the LAN host, not the tunnel's addresses, and a datagram that is no
# handshake gets no answer. With isolate = vpn the peer reaches the far host
# but not the LAN, nor the LAN it. With the fast path the WireGuard device
# is in the flowtable: 4 MB each way through the tunnel, and the forward
# chain sees only the packets before the offload (without it, many more).
#
#   peer e0 198.51.100.2 --+
#                          br0 198.51.100.254 (wan: far host 203.0.113.1)
#   box wan0 198.51.100.1 -+
#   box lan0 192.0.2.1 ---- e0 192.0.2.10 lan
#   peer wg0 203.0.113.130 ~~ box wg0 203.0.113.129/25 (haltfw)
set -euo pipefail
# shellcheck source=tests/guest/lib.sh
source "$(dirname "$0")/../lib.sh"
g_need_haltfw
command -v wg >/dev/null || { echo "wg (wireguard-tools) is not installed in this image"; exit 77; }
command -v socat >/dev/null || { echo "socat is not installed in this image"; exit 77; }
pids=()
stop_all() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    g_cleanup
    rm -rf "$WORK"
}
trap stop_all EXIT

box=$(g_ns box)
peer=$(g_ns peer)
lan=$(g_ns lan)
wan=$(g_ns wan)
g_veth "$box" wan0 "$wan" wbox
g_veth "$peer" e0 "$wan" wpeer
g_veth "$box" lan0 "$lan" e0
ip -n "$wan" link add br0 type bridge
ip -n "$wan" link set wbox master br0
ip -n "$wan" link set wpeer master br0
ip -n "$wan" link set br0 up
ip -n "$wan" addr add 198.51.100.254/24 dev br0
ip -n "$wan" addr add 2001:db8:1::fffe/64 dev br0 nodad
ip -n "$wan" addr add 203.0.113.1/32 dev lo
# The WAN host tries the LAN and the tunnel's prefix straight through the box.
ip -n "$wan" route add 192.0.2.0/24 via 198.51.100.1
ip -n "$wan" route add 203.0.113.128/25 via 198.51.100.1
ip -n "$peer" addr add 198.51.100.2/24 dev e0
ip -n "$peer" addr add 2001:db8:1::2/64 dev e0 nodad
ip -n "$lan" addr add 192.0.2.10/24 dev e0
ip -n "$lan" route add default via 192.0.2.1

(umask 077 && wg genkey >"$WORK/wg0.key")
BOX_PUB=$(wg pubkey <"$WORK/wg0.key")
PEER_KEY=$(wg genkey)
PEER_PUB=$(wg pubkey <<<"$PEER_KEY")

# A counter at the top of the forward chain (as tests/guest/gateway/fastpath.sh).
cat >"$WORK/count.nft" <<'NFT'
add counter inet gateway seen
insert rule inet gateway forward counter name seen
NFT
# conf EXTRA...: the box's config, [gateway] ending with the EXTRA lines.
conf() {
    printf '%s\n' '[ruleset]' 'file = count.nft' \
        '[interface.wan]' 'device = wan0' 'address = 198.51.100.1/24' 'address = 2001:db8:1::1/64' \
        'gateway = 198.51.100.254' \
        '[interface.lan]' 'device = lan0' 'address = 192.0.2.1/24' \
        '[interface.vpn]' 'device = wg0' 'wireguard-key = wg0.key' 'listen-port = 51820' 'address = 203.0.113.129/25' \
        '[peer.laptop]' 'interface = vpn' "public-key = $PEER_PUB" 'allowed-ips = 203.0.113.130/32' \
        '[gateway]' 'lan = lan' 'vpn = vpn' 'wan = wan' 'icmp = no' "$@" >"$CONF"
}
apply() {
    ip netns exec "$box" "$HALTFW" --config "$CONF" apply >"$WORK/apply.log" 2>&1 ||
        g_fail "apply ($*): $(cat "$WORK/apply.log")"
}

# Listeners that answer with the address they see the client at.
listen() {  # NS ADDR PORT
    # shellcheck disable=SC2016 # socat's shell expands it, per connection
    ip netns exec "$1" socat TCP-LISTEN:"$3",bind="$2",reuseaddr,fork 'SYSTEM:echo $SOCAT_PEERADDR' 2>/dev/null &
    pids+=($!)
}
listen "$lan" 192.0.2.10 80
listen "$wan" 203.0.113.1 80
listen "$box" 0.0.0.0 22  # a service of the box's, which the profile keeps from everyone
ip netns exec "$box" socat -u UDP6-RECV:5353 "OPEN:$WORK/udp5353,creat,append" 2>/dev/null &
pids+=($!)
# ask NS ADDR PORT: what the listener there answers (empty if unreachable).
ask() {
    ip netns exec "$1" timeout 8 socat -t 3 -T 5 - "TCP:$2:$3,connect-timeout=3" </dev/null 2>/dev/null || true
}
expect_answer() {  # WHAT NS ADDR PORT WANT
    local got
    got=$(ask "$2" "$3" "$4")
    [[ $got == "$5" ]] || g_fail "$1: $3:$4 answered '$got', expected '$5'"
}
expect_none() {  # WHAT NS ADDR PORT
    local got
    got=$(ask "$2" "$3" "$4")
    [[ -z $got ]] || g_fail "$1: $3:$4 answered '$got', expected nothing"
}

# ---- the plain VPN zone, fastpath = no ----
conf 'fastpath = no'
apply "vpn, fastpath = no"
ip netns exec "$box" nft list chain inet gateway input >"$WORK/input"
grep -qF 'iifname "wan0" udp dport 51820 accept' "$WORK/input" || g_fail "no WireGuard port in input: $(cat "$WORK/input")"

ip -n "$peer" link add wg0 type wireguard
ip netns exec "$peer" wg set wg0 private-key <(echo "$PEER_KEY") peer "$BOX_PUB" \
    allowed-ips 203.0.113.128/25,192.0.2.0/24,203.0.113.1/32 endpoint 198.51.100.1:51820
ip -n "$peer" addr add 203.0.113.130/25 dev wg0
ip -n "$peer" link set wg0 up
ip -n "$peer" route add 192.0.2.0/24 dev wg0
ip -n "$peer" route add 203.0.113.1/32 dev wg0
listen "$peer" 203.0.113.130 80
sleep 0.5

g_ping "$peer" 192.0.2.10 3 || g_fail "the peer does not reach the LAN host through the tunnel"
expect_answer "peer -> LAN host through the tunnel, not translated" "$peer" 192.0.2.10 80 203.0.113.130
hs=$(ip netns exec "$box" wg show wg0 latest-handshakes | awk '{ print $2 }')
[[ -n $hs && $hs != 0 ]] || g_fail "the box shows no handshake"
expect_answer "peer -> far host on the WAN, masqueraded" "$peer" 203.0.113.1 80 198.51.100.1
expect_answer "LAN host -> peer's tunnel address" "$lan" 203.0.113.130 80 192.0.2.10
g_say "vpn zone: peer -> LAN as 203.0.113.130, peer -> WAN as 198.51.100.1, LAN -> peer"

# A WAN host: nothing but the WireGuard port.
expect_answer "the box's own TCP listener, from inside" "$box" 127.0.0.1 22 127.0.0.1
expect_none "WAN host -> the box's TCP 22" "$wan" 198.51.100.1 22
expect_none "WAN host -> LAN host" "$wan" 192.0.2.10 80
expect_none "WAN host -> peer's tunnel address" "$wan" 203.0.113.130 80
echo probe | ip netns exec "$box" socat -u - UDP:127.0.0.1:5353
echo probe | ip netns exec "$wan" socat -u - UDP:198.51.100.1:5353
echo probe | ip netns exec "$wan" socat -u - 'UDP6:[2001:db8:1::1]:5353'
sleep 1
[[ $(grep -c probe "$WORK/udp5353") == 1 ]] || g_fail "the box's UDP 5353: expected only the local datagram, got: $(cat "$WORK/udp5353")"
g_no_reply "$wan" 198.51.100.1 "the box answers ping from the WAN with icmp = no"
got=$(echo "no handshake" | ip netns exec "$wan" timeout 5 socat -T 2 - UDP:198.51.100.1:51820 2>/dev/null || true)
[[ -z $got ]] || g_fail "the WireGuard port answered a datagram that is no handshake: '$got'"
g_say "WAN host: no TCP 22, no UDP 5353 (v4 and v6), no ping, no LAN, no tunnel address; WireGuard port silent to junk"

# IPv6 on the WAN: the peer moves its endpoint to the box's IPv6 address;
# the box follows it only if its port is open over IPv6.
ip netns exec "$peer" wg set wg0 peer "$BOX_PUB" endpoint '[2001:db8:1::1]:51820'
expect_answer "peer -> LAN host over the IPv6 endpoint" "$peer" 192.0.2.10 80 203.0.113.130
ep=$(ip netns exec "$box" wg show wg0 endpoints | awk '{ print $2 }')
[[ $ep == "[2001:db8:1::2]:"* ]] || g_fail "the box's peer endpoint is '$ep', expected [2001:db8:1::2]:PORT"
g_say "IPv6 WAN: the tunnel works with the endpoint [2001:db8:1::1]:51820"
ip netns exec "$peer" wg set wg0 peer "$BOX_PUB" endpoint 198.51.100.1:51820

# transfer FROM_NS TO_NS TO_ADDR PORT: 4,000,000 bytes; $seen: the forward
# chain's packet count for it.
transfer() {
    ip netns exec "$box" nft reset counter inet gateway seen >/dev/null
    rm -f "$WORK/got"
    ip netns exec "$2" timeout 60 socat -u TCP-LISTEN:"$4",bind="$3",reuseaddr "OPEN:$WORK/got,creat" &
    local server=$!
    sleep 0.5
    head -c 4000000 /dev/zero | ip netns exec "$1" timeout 60 socat -u - "TCP:$3:$4" ||
        g_fail "the transfer to $3 failed"
    wait "$server" || true
    [[ $(stat -c %s "$WORK/got") == 4000000 ]] || g_fail "$3 got $(stat -c %s "$WORK/got") bytes of 4000000"
    seen=$(ip netns exec "$box" nft list counter inet gateway seen | sed -n 's/.*packets \([0-9]*\).*/\1/p')
    [[ $seen =~ ^[0-9]+$ ]] || g_fail "cannot read the forward chain's counter"
}
transfer "$peer" "$lan" 192.0.2.10 5001
slow_in=$seen
transfer "$lan" "$peer" 203.0.113.130 5002
slow_out=$seen

# ---- isolate = vpn ----
conf 'fastpath = no' 'isolate = vpn'
apply "isolate = vpn"
expect_answer "isolated: peer -> far host, masqueraded" "$peer" 203.0.113.1 80 198.51.100.1
expect_none "isolated: peer -> LAN host" "$peer" 192.0.2.10 80
expect_none "isolated: LAN host -> peer" "$lan" 203.0.113.130 80
expect_none "isolated: peer -> the box's TCP 22 on its tunnel address" "$peer" 203.0.113.129 22
g_say "isolate = vpn: peer -> WAN only"

# ---- the fast path: wg0 in the flowtable ----
conf
apply "fastpath = yes"
ip netns exec "$box" nft list flowtables >"$WORK/ft"
grep -q 'devices = {.*wg0' "$WORK/ft" || g_fail "wg0 is not in the flowtable: $(cat "$WORK/ft")"
expect_answer "fastpath: peer -> LAN host" "$peer" 192.0.2.10 80 203.0.113.130
expect_answer "fastpath: peer -> far host" "$peer" 203.0.113.1 80 198.51.100.1
transfer "$peer" "$lan" 192.0.2.10 5003
fast_in=$seen
transfer "$lan" "$peer" 203.0.113.130 5004
fast_out=$seen
g_say "forward chain packets for 4,000,000 bytes peer -> LAN: $fast_in with fastpath, $slow_in without; LAN -> peer: $fast_out with, $slow_out without"
((slow_in > 40 && slow_out > 40)) || g_fail "without fastpath the forward chain saw $slow_in and $slow_out packets (expected more than 40 each)"
((fast_in <= 20 && fast_out <= 20)) || g_fail "with fastpath the forward chain saw $fast_in and $fast_out packets (expected the few before the offload, at most 20 each)"
expect_none "fastpath: WAN host -> LAN host" "$wan" 192.0.2.10 80
