#!/bin/bash
# The gateway profile's zones against real traffic: this test's namespace is
# the router (only what 'haltfw apply' loads, no halt) with three LAN zones
# and a WAN, each zone a namespace of its own on a veth pair:
#
#   office  192.0.2.10    -- lan0:   192.0.2.1/26
#   servers 192.0.2.74    -- lan1:   192.0.2.65/26
#   guest   192.0.2.138, 2001:db8:20::10 -- guest0: 192.0.2.129/26, 2001:db8:20::1/64
#   WAN     198.51.100.254 and the far host 203.0.113.1 -- wan0: 198.51.100.1/24
#
# [gateway] lan = office servers guest, isolate = guest, a forward of tcp
# 8443 to the office host. Checked, hostile first: the guest reaches no
# office or server host (TCP and ping, by their own addresses), nothing of
# the box on any of its addresses; an office source address from the guest
# cable is dropped as spoofed; the office and the servers cannot reach the guest either; then what must
# work: every zone reaches the WAN (NATed), the guest reaches the forward
# by the WAN address, the office and the servers reach each other. Servers
# (socat) answer with the peer address they saw. A control at the end: with
# 'isolate' gone, the guest reaches the office host, so the checks above can
# fail.
. "$(dirname "$0")/lib.sh"

NS_OFFICE=hfw-z-office-$$
NS_SERVERS=hfw-z-servers-$$
NS_GUEST=hfw-z-guest-$$
NS_WAN=hfw-z-wan-$$
ALL_NS=("$NS_OFFICE" "$NS_SERVERS" "$NS_GUEST" "$NS_WAN")
cleanup() {
    local ns
    for ns in "${ALL_NS[@]}"; do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

# zone NS DEV ADDR/LEN GW: a namespace on a veth pair whose router end is DEV.
zone() {
    ip netns add "$1"
    ip link add "$2" type veth peer name eth0 netns "$1"
    ip -n "$1" link set lo up
    ip -n "$1" link set eth0 up
    ip -n "$1" addr add "$3" dev eth0
    ip -n "$1" route add default via "$4"
}
zone "$NS_OFFICE" lan0 192.0.2.10/26 192.0.2.1
zone "$NS_SERVERS" lan1 192.0.2.74/26 192.0.2.65
zone "$NS_GUEST" guest0 192.0.2.138/26 192.0.2.129
ip -n "$NS_GUEST" addr add 2001:db8:20::10/64 dev eth0 nodad
ip -n "$NS_GUEST" -6 route add default via 2001:db8:20::1
zone "$NS_WAN" wan0 198.51.100.254/24 198.51.100.1
ip -n "$NS_WAN" addr add 203.0.113.1/32 dev lo
# The upstream router knows the LAN prefixes: a dropped packet is the
# firewall's doing, not a missing route.
ip -n "$NS_WAN" route add 192.0.2.0/24 via 198.51.100.1

cat >"$CONF" <<CONF
[interface.wan]
device = wan0
address = 198.51.100.1/24
gateway = 198.51.100.254

[interface.office]
device = lan0
address = 192.0.2.1/26

[interface.servers]
device = lan1
address = 192.0.2.65/26

[interface.guest]
device = guest0
address = 192.0.2.129/26
address = 2001:db8:20::1/64

[sysctl]
# rp_filter off, so that what is dropped is the profile's doing alone.
net.ipv4.conf.all.rp_filter = 0
net.ipv4.conf.default.rp_filter = 0
net.ipv4.conf.guest0.rp_filter = 0

[gateway]
# The kernel here may have no flowtables (the appliance's has: tests/guest/gateway).
fastpath = no
lan = office servers guest
wan = wan
isolate = guest
forward = tcp 8443 192.0.2.10 80
CONF
run_haltfw 0 --config "$CONF" apply
run_haltfw 0 --config "$CONF" apply
expect_eq "second apply" "$OUT" "nothing to change: the live state matches $CONF"
for _ in $(seq 50); do
    [ -z "$(ip -6 addr show tentative)" ] && break
    sleep 0.2
done

# serve NS ADDR PORT: a TCP server answering each connection with the
# peer address it saw, for 120 s at most.
serve() {
    ip netns exec "$1" timeout 120 socat "TCP-LISTEN:$3,bind=$2,fork,reuseaddr" 'SYSTEM:echo $SOCAT_PEERADDR' \
        </dev/null >/dev/null 2>&1 &
}
serve "$NS_OFFICE" 192.0.2.10 80
serve "$NS_SERVERS" 192.0.2.74 80
serve "$NS_GUEST" 192.0.2.138 80
serve "$NS_WAN" 203.0.113.1 80
# The box's own addresses: a server in the router namespace on each, so
# that "nothing of the box answers" is the ruleset's doing, not a closed port.
timeout 120 socat TCP-LISTEN:22,fork,reuseaddr 'SYSTEM:echo box' </dev/null >/dev/null 2>&1 &
for _ in $(seq 50); do
    ss -ltn | grep -q ':22 ' && break
    sleep 0.1
done

# tcp NS ADDR PORT [SRC]: what the server answered ("" if nothing), 2 s at most.
tcp() {
    local bind=""
    [ -n "${4:-}" ] && bind=",bind=$4"
    ip netns exec "$1" timeout 3 socat -T2 - "TCP:$2:$3,connect-timeout=2$bind" </dev/null 2>/dev/null || true
}
# ping1 NS ADDR: 0 if one echo came back within 2 s.
ping1() { ip netns exec "$1" ping -c1 -W2 -q "$2" >/dev/null 2>&1; }

# Servers up: each answers in its own namespace.
for s in "$NS_OFFICE 192.0.2.10" "$NS_SERVERS 192.0.2.74" "$NS_GUEST 192.0.2.138" "$NS_WAN 203.0.113.1"; do
    read -r ns addr <<<"$s"
    for _ in $(seq 50); do
        [ -n "$(tcp "$ns" "$addr" 80)" ] && break
        sleep 0.1
    done
    [ -n "$(tcp "$ns" "$addr" 80)" ] || fail "the server on $addr did not start"
done

# ---- hostile first: the guest zone ----
expect_eq "guest -> office host (TCP)" "$(tcp "$NS_GUEST" 192.0.2.10 80)" ""
expect_eq "guest -> server host (TCP)" "$(tcp "$NS_GUEST" 192.0.2.74 80)" ""
! ping1 "$NS_GUEST" 192.0.2.10 || fail "guest -> office host: ping answered"
! ping1 "$NS_GUEST" 192.0.2.74 || fail "guest -> server host: ping answered"
for a in 192.0.2.129 192.0.2.1 192.0.2.65 198.51.100.1 2001:db8:20::1; do
    ! ping1 "$NS_GUEST" "$a" || fail "guest -> the box's $a: ping answered"
    expect_eq "guest -> the box's $a tcp 22" "$(tcp "$NS_GUEST" "$a" 22)" ""
done
# An office source address on the guest cable is dropped as spoofed: one
# UDP datagram from it and one from the guest's own address to a WAN
# listener; only the second arrives.
ip netns exec "$NS_WAN" timeout 20 socat -u UDP-RECV:9999,bind=203.0.113.1 "OPEN:$WORK/udp.log,creat,append" &
ip -n "$NS_GUEST" addr add 192.0.2.11/32 dev eth0
sleep 0.5
echo spoofed | ip netns exec "$NS_GUEST" socat -u - UDP-SENDTO:203.0.113.1:9999,bind=192.0.2.11
echo genuine | ip netns exec "$NS_GUEST" socat -u - UDP-SENDTO:203.0.113.1:9999,bind=192.0.2.138
for _ in $(seq 30); do
    grep -q genuine "$WORK/udp.log" 2>/dev/null && break
    sleep 0.1
done
expect_eq "datagrams from the guest cable that reached the WAN" "$(cat "$WORK/udp.log" 2>/dev/null)" "genuine"
ip -n "$NS_GUEST" addr del 192.0.2.11/32 dev eth0
# Nor can the trusted zones reach into the guest zone.
expect_eq "office -> guest host (TCP)" "$(tcp "$NS_OFFICE" 192.0.2.138 80)" ""
expect_eq "servers -> guest host (TCP)" "$(tcp "$NS_SERVERS" 192.0.2.138 80)" ""
! ping1 "$NS_OFFICE" 192.0.2.138 || fail "office -> guest host: ping answered"
# The WAN reaches no LAN host but the forward.
expect_eq "WAN -> office host" "$(tcp "$NS_WAN" 192.0.2.10 80)" ""

# ---- what must work ----
expect_eq "guest -> WAN, masqueraded" "$(tcp "$NS_GUEST" 203.0.113.1 80)" "198.51.100.1"
expect_eq "office -> WAN, masqueraded" "$(tcp "$NS_OFFICE" 203.0.113.1 80)" "198.51.100.1"
expect_eq "servers -> WAN, masqueraded" "$(tcp "$NS_SERVERS" 203.0.113.1 80)" "198.51.100.1"
expect_eq "WAN -> the forward" "$(tcp "$NS_WAN" 198.51.100.1 8443)" "198.51.100.254"
got=$(tcp "$NS_GUEST" 198.51.100.1 8443)
[ -n "$got" ] || fail "guest -> the forward by the WAN address: no answer"
expect_eq "office -> servers" "$(tcp "$NS_OFFICE" 192.0.2.74 80)" "192.0.2.10"
expect_eq "servers -> office" "$(tcp "$NS_SERVERS" 192.0.2.10 80)" "192.0.2.74"
ping1 "$NS_OFFICE" 192.0.2.1 || fail "office -> the box: no ping answer (icmp = yes)"

# ---- control: without isolate the guest reaches the office ----
sed -i '/^isolate = /d' "$CONF"
run_haltfw 0 --config "$CONF" apply
expect_eq "control: guest -> office host without isolate" "$(tcp "$NS_GUEST" 192.0.2.10 80)" "192.0.2.138"
echo "PASS: $TEST"
