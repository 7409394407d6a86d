#!/bin/bash
# A guest VLAN on the LAN cable, isolated by the gateway profile, as haltfw
# apply makes it on the appliance's kernel: the box's lan0 carries the LAN
# untagged and VLAN 20 tagged (lan0.20, made by `vlan = lan0 20`), and
# [gateway] has lan = lan guest, isolate = guest. On that one cable a LAN
# host (untagged) and a guest host (a VLAN 20 device on the same link,
# moved into a namespace of its own). Hostile first: the guest host reaches
# neither the LAN host nor any address of the box (ping and TCP, with a
# listener on every address of the box; one reply fails), nor the LAN host
# it; then the guest and the LAN host each reach the WAN host (ping, and TCP
# masqueraded to the box's WAN address). The control: with the ruleset
# flushed, the same probes from the guest host are answered, so each
# negative above could fail.
#
#   wan e0 198.51.100.254 ---- wan0 198.51.100.1  [box, haltfw]
#   lan e0 192.0.2.10     -+-- lan0 192.0.2.1/25
#   guest g20 (VLAN 20 on lan's e0) 192.0.2.138 -- lan0.20 192.0.2.129/25
set -euo pipefail
# shellcheck source=tests/guest/lib.sh
source "$(dirname "$0")/../lib.sh"

g_need_haltfw

box=$(g_ns box)
wan=$(g_ns wan)
lan=$(g_ns lan)
guest=$(g_ns guest)
g_veth "$box" wan0 "$wan" e0
g_veth "$box" lan0 "$lan" e0
# The guest host shares the LAN host's link: its VLAN device sits on the
# LAN host's e0 and lives in the guest namespace (no DAD there, so that its
# link-local address can send at once).
ip netns exec "$guest" sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n "$lan" link add link e0 name g20 type vlan id 20 || g_fail "ip link add type vlan (8021q) failed"
ip -n "$lan" link set g20 netns "$guest"
ip -n "$guest" link set g20 up
ip -n "$wan" addr add 198.51.100.254/24 dev e0
ip -n "$lan" addr add 192.0.2.10/25 dev e0
ip -n "$lan" route add default via 192.0.2.1
ip -n "$guest" addr add 192.0.2.138/25 dev g20
ip -n "$guest" route add default via 192.0.2.129

cat >"$CONF" <<'CONF'
[interface.wan]
device = wan0
address = 198.51.100.1/24
gateway = 198.51.100.254

[interface.lan]
device = lan0
address = 192.0.2.1/25

[interface.guest]
device = lan0.20
vlan = lan0 20
address = 192.0.2.129/25

[gateway]
lan = lan guest
wan = wan
isolate = guest
CONF
out=$(ip netns exec "$box" "$HALTFW" --config "$CONF" apply 2>&1) || g_fail "apply: $out"
[[ $out == *"create VLAN lan0.20 (ID 20 on lan0)"* ]] || g_fail "apply did not create lan0.20: $out"

pids=()
trap 'kill "${pids[@]}" 2>/dev/null; g_cleanup; rm -rf "$WORK"' EXIT
# serve NS PORT [LISTEN] : answers every TCP connection on any address of
# NS (LISTEN TCP6-LISTEN, the default: IPv4 and IPv6; TCP4-LISTEN: IPv4,
# whose peer address reads plain) with the peer address it saw.
serve() {
    # shellcheck disable=SC2016 # $SOCAT_PEERADDR is the listener's shell's
    ip netns exec "$1" timeout 100 socat "${3:-TCP6-LISTEN}:$2,reuseaddr,fork" 'SYSTEM:echo $SOCAT_PEERADDR' \
        </dev/null >/dev/null 2>&1 &
    pids+=($!)
}
# tcp NS ADDR PORT : what the listener answered, "" if nothing in 2 s.
tcp() {
    local host=$2
    [[ $host == *:* ]] && host="[$host]"
    ip netns exec "$1" timeout 4 socat -T 2 -u "TCP:$host:$3,connect-timeout=2" STDOUT 2>/dev/null || true
}
# no_tcp NS ADDR PORT WHAT : the test fails if the connection gets an answer.
no_tcp() {
    local got
    got=$(tcp "$1" "$2" "$3")
    [[ -z $got ]] || g_fail "$4: TCP $2 port $3 answered ($got)"
}
serve "$wan" 80 TCP4-LISTEN
serve "$lan" 80
serve "$guest" 80
serve "$box" 22  # on every address of the box: silence is the ruleset's doing
# The box's link-local address on the guest's VLAN (and the guest's own),
# once DAD is over.
for _ in $(seq 50); do
    [[ -z $(ip -n "$box" -6 addr show tentative)$(ip -n "$guest" -6 addr show tentative) ]] && break
    sleep 0.1
done
ll=$(ip -n "$box" -6 addr show dev lan0.20 scope link | sed -n 's/.*inet6 \(fe80::[0-9a-f:]*\)\/64.*/\1/p')
[[ -n $ll ]] || g_fail "lan0.20 has no link-local address to probe: $(ip -n "$box" -6 addr show dev lan0.20)"
for _ in $(seq 20); do
    [[ -n $(tcp "$box" 127.0.0.1 22) ]] && break
    sleep 0.1
done
[[ -n $(tcp "$box" 127.0.0.1 22) ]] || g_fail "the box's own listener does not answer from inside"
box_addrs=(192.0.2.129 192.0.2.1 198.51.100.1 "$ll%g20")

# ---- hostile first: the guest VLAN ----
# All probes at once (each takes its whole 1-2 s when nothing answers).
probes=()
g_no_reply "$guest" 192.0.2.10 "guest -> LAN host" &
probes+=($!)
no_tcp "$guest" 192.0.2.10 80 "guest -> LAN host" &
probes+=($!)
for a in "${box_addrs[@]}"; do
    g_no_reply "$guest" "$a" "guest -> the box's $a" &
    probes+=($!)
    no_tcp "$guest" "$a" 22 "guest -> the box's $a" &
    probes+=($!)
done
g_no_reply "$lan" 192.0.2.138 "LAN host -> guest host" &
probes+=($!)
answered=0
for p in "${probes[@]}"; do wait "$p" || answered=$((answered + 1)); done
((answered == 0)) || g_fail "$answered of ${#probes[@]} probes of the guest VLAN's isolation failed (above)"
g_say "guest VLAN: no reply from the LAN host, nor from the box on ${box_addrs[*]} (ping, TCP), nor the LAN host to it"

# ---- what must work ----
g_ping "$guest" 198.51.100.254 2 || g_fail "guest -> WAN host: no ping answer"
got=$(tcp "$guest" 198.51.100.254 80)
[[ $got == 198.51.100.1 ]] || g_fail "guest -> WAN host TCP: expected the box's WAN address seen, got '$got'"
g_ping "$lan" 198.51.100.254 2 || g_fail "LAN host -> WAN host: no ping answer"
got=$(tcp "$lan" 198.51.100.254 80)
[[ $got == 198.51.100.1 ]] || g_fail "LAN host -> WAN host TCP: expected the box's WAN address seen, got '$got'"
g_say "the guest host and the LAN host reach the WAN host (ping, TCP masqueraded to 198.51.100.1)"

# ---- control: without the ruleset the same probes are answered ----
ip netns exec "$box" nft flush ruleset
g_ping "$guest" 192.0.2.10 2 || g_fail "control: guest -> LAN host ping fails even without the ruleset"
[[ -n $(tcp "$guest" 192.0.2.10 80) ]] || g_fail "control: guest -> LAN host TCP fails even without the ruleset"
for a in "${box_addrs[@]}"; do
    g_ping "$guest" "$a" 2 || g_fail "control: guest -> the box's $a ping fails even without the ruleset"
    [[ -n $(tcp "$guest" "$a" 22) ]] || g_fail "control: guest -> the box's $a TCP fails even without the ruleset"
done
g_ping "$lan" 192.0.2.138 2 || g_fail "control: LAN host -> guest host ping fails even without the ruleset"
g_say "control, ruleset flushed: the same probes of the LAN host, the box and the guest host are answered"
