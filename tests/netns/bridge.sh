#!/bin/bash
# The invisible bridge: apply makes br0 over lan0 and wan0 in this (the
# box's) namespace, between a LAN and a WAN namespace. Hostile first: a
# port that does not exist, or one that holds an address, changes nothing;
# a port the kernel refuses (a bridge) rolls the bridge back whole. Then: the LAN host reaches the WAN host at
# layer 2 (IPv4 and IPv6); the box answers no ARP, no ping, no TCP, has no
# address and no IPv6 link-local on the bridge or its ports, even for an
# address it holds elsewhere (on lo) and with rp_filter off; a second apply
# changes nothing; check says the bridge is silent, and names what breaks
# the silence.
. "$(dirname "$0")/lib.sh"
LAN=hfw-br-lan-$$
# shellcheck disable=SC2034 # used by lib.sh's make_lan_wan, in_wan, del_lan_wan
WAN=hfw-br-wan-$$
trap 'del_lan_wan; rm -rf "$WORK"' EXIT
make_lan_wan
in_lan ip addr add 192.0.2.10/24 dev eth0
in_wan ip addr add 192.0.2.20/24 dev eth0
in_lan ip addr add 2001:db8:b::10/64 dev eth0 nodad
in_wan ip addr add 2001:db8:b::20/64 dev eth0 nodad
# An address of the box's own, on another interface: an ARP reply for it
# on the bridge would show the box. rp_filter off, so that nothing but the
# bridge's own settings keeps it quiet.
ip addr add 192.0.2.1/32 dev lo

cat >"$WORK/rules.nft" <<'NFT'
table inet t {
    chain input {
        type filter hook input priority filter; policy accept;
    }
}
NFT
bridge_conf() {
    cat >"$CONF" <<CONF
[ruleset]
file = $WORK/rules.nft

[interface.lan]
device = br0
bridge = $1

[sysctl]
net.ipv4.conf.all.rp_filter = 0
net.ipv4.conf.default.rp_filter = 0
CONF
}

# ARP: one who-has for $2 out of NS's eth0; prints the replies' sender MACs.
arp_probe() {
    ip netns exec "$1" python3 - "$2" <<'PY'
import socket, struct, sys, time, fcntl
target = socket.inet_aton(sys.argv[1])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
s.bind(("eth0", 0))
mac = s.getsockname()[4]
src = socket.inet_aton("192.0.2.10")
req = b"\xff" * 6 + mac + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + src + b"\0" * 6 + target
s.settimeout(0.2)
end = time.time() + 1.5
for _ in range(3):
    s.send(req)
    time.sleep(0.1)
while time.time() < end:
    try:
        f = s.recv(128)
    except socket.timeout:
        continue
    if f[20:22] == b"\x00\x02" and f[28:32] == target:
        print(f[22:28].hex(":"))
PY
}

# TCP connect from the LAN: "open" or "closed".
tcp_probe() {
    in_lan python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
s.settimeout(2)
try:
    s.connect((sys.argv[1], int(sys.argv[2]))); print("open")
except OSError:
    print("closed")' "$1" "$2"
}

# A bridge the kernel will not take as a port (a bridge in a bridge).
ip link add hfwbrx type bridge

# 1. A port that does not exist: refused before anything changes.
bridge_conf "lan0 nope0"
before=$(net_snapshot)
run_haltfw 1 --config "$CONF" apply
expect_contains "missing port" "$OUT" "$CONF:6: interface 'lan': bridge port 'nope0' does not exist"
expect_contains "missing port" "$OUT" "cannot apply; nothing changed"
expect_eq "nothing changed (missing port)" "$(net_snapshot)" "$before"
[ ! -e /sys/class/net/br0 ] || fail "br0 exists after a refused apply"

# 1b. A port that holds an address: IPv6 off on it would delete an IPv6
#     one for good, past any rollback: refused before anything changes.
ip addr add 2001:db8:c::5/64 dev lan0 nodad
bridge_conf "lan0 wan0"
before_addr=$(net_snapshot)
run_haltfw 1 --config "$CONF" apply
expect_contains "port with an address" "$OUT" "$CONF:6: interface 'lan': bridge port 'lan0' holds address 2001:db8:c::5/64"
expect_contains "port with an address" "$OUT" "cannot apply; nothing changed"
expect_eq "nothing changed (port with an address)" "$(net_snapshot)" "$before_addr"
ip addr del 2001:db8:c::5/64 dev lan0

# 2. A port the kernel refuses halfway: everything undone, the bridge gone,
#    lan0 out of it with IPv6 back on.
bridge_conf "lan0 hfwbrx"
before_v6=$(cat /proc/sys/net/ipv6/conf/lan0/disable_ipv6)
run_haltfw 1 --config "$CONF" apply
expect_contains "refused port" "$OUT" "$CONF:6: interface 'lan' (br0): add port hfwbrx:"
expect_contains "refused port" "$OUT" "rollback: undo 'interface 'lan': create bridge br0 (STP off, multicast snooping off)': delete br0"
expect_contains "refused port" "$OUT" "every change was rolled back"
[ ! -e /sys/class/net/br0 ] || fail "br0 still exists after the rollback"
expect_eq "nothing changed (refused port)" "$(net_snapshot)" "$before"
expect_eq "lan0 disable_ipv6 put back" "$(cat /proc/sys/net/ipv6/conf/lan0/disable_ipv6)" "$before_v6"
[ -z "$(ip -j link show lan0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0].get("master", ""))')" ] ||
    fail "lan0 still has a master after the rollback"

# 3. The invisible bridge.
bridge_conf "lan0 wan0"
run_haltfw 0 --config "$CONF" apply
expect_contains "apply" "$OUT" "interface 'lan': create bridge br0 (STP off, multicast snooping off)"
shape=$(ip -d -j link show br0 | python3 -c '
import json, sys
d = json.load(sys.stdin)[0]
i = d["linkinfo"]["info_data"]
print(d["linkinfo"]["info_kind"], "UP" in d["flags"], "stp", i["stp_state"], "ageing", i["ageing_time"],
      "snooping", i["mcast_snooping"])')
expect_eq "bridge and its options" "$shape" "bridge True stp 0 ageing 30000 snooping 0"
for p in lan0 wan0; do
    expect_eq "$p master" "$(ip -j link show "$p" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0].get("master"))')" br0
done
for d in br0 lan0 wan0; do
    expect_eq "$d disable_ipv6" "$(cat /proc/sys/net/ipv6/conf/$d/disable_ipv6)" 1
    expect_eq "$d addresses" "$(ip -br addr show dev "$d" | awk '{ $1 = $2 = ""; print }' | tr -d ' ')" ""
done
expect_eq "br0 arp_ignore" "$(cat /proc/sys/net/ipv4/conf/br0/arp_ignore)" 8

# Layer 2 through the box, both families (ND's multicast included).
in_lan ping -n -c 2 -i 0.3 -W 2 192.0.2.20 >/dev/null || fail "LAN -> WAN ping through the bridge: no answer"
in_wan ping -n -c 2 -i 0.3 -W 2 192.0.2.10 >/dev/null || fail "WAN -> LAN ping through the bridge: no answer"
in_lan ping -n -c 2 -i 0.3 -W 3 2001:db8:b::20 >/dev/null || fail "LAN -> WAN IPv6 ping through the bridge: no answer"
expect_eq "ARP for the WAN host, through the bridge" "$(arp_probe "$LAN" 192.0.2.20 | sort -u | wc -l)" 1

# Nothing of the box: no ARP reply for its own address, no ping, no TCP
# (a listener on every address), no IPv6 neighbour among all-nodes.
socat TCP-LISTEN:8080,fork,reuseaddr /dev/null &
listener=$!
trap 'kill $listener 2>/dev/null; del_lan_wan; rm -rf "$WORK"' EXIT
sleep 0.3
expect_eq "ARP replies from the box" "$(arp_probe "$LAN" 192.0.2.1)" ""
in_lan ip neigh replace 192.0.2.1 lladdr "$(cat /sys/class/net/br0/address)" dev eth0
if in_lan ping -n -c 2 -i 0.3 -W 1 192.0.2.1 >/dev/null; then fail "the box answered a ping on the bridge"; fi
expect_eq "TCP to the box" "$(tcp_probe 192.0.2.1 8080)" closed
nodes=$(in_lan ping -n -c 2 -i 0.5 -W 2 ff02::1%eth0 2>/dev/null | sed -n 's/.* from \([0-9a-f:]*\)%*[a-z0-9]*: .*/\1/p' | sort -u)
lan_ll=$(in_lan ip -6 -br addr show dev eth0 scope link | awk '{ sub("/.*", "", $3); print $3 }')
wan_ll=$(in_wan ip -6 -br addr show dev eth0 scope link | awk '{ sub("/.*", "", $3); print $3 }')
if [ -z "$lan_ll" ] || [ -z "$wan_ll" ]; then fail "no IPv6 link-local address on the LAN or WAN host"; fi
expect_eq "IPv6 all-nodes answer from the LAN" "$nodes" "$(printf '%s\n' "$lan_ll" "$wan_ll" | sort -u)"

# The ARP probe can see the box: with arp_ignore 0 the same probe gets
# the bridge's MAC (what apply's setting prevents).
echo 0 >/proc/sys/net/ipv4/conf/br0/arp_ignore
expect_eq "ARP reply with arp_ignore 0" "$(arp_probe "$LAN" 192.0.2.1 | sort -u)" "$(cat /sys/class/net/br0/address)"

# 4. check names what breaks the silence; apply puts it right, and a
#    second apply changes nothing.
echo 0 >/proc/sys/net/ipv6/conf/wan0/disable_ipv6
run_haltfw 1 --config "$CONF" check
expect_contains "check" "$OUT" "interface 'lan' (br0), a bridge with no address: the bridge answers ARP for the box's addresses on other interfaces (net.ipv4.conf.br0.arp_ignore = 0, not 8); 'haltfw apply' sets it"
expect_contains "check" "$OUT" "interface 'lan' (br0), a bridge with no address: IPv6 is on for port 'wan0' (net.ipv6.conf.wan0.disable_ipv6 = 0)"
run_haltfw 0 --config "$CONF" apply
expect_contains "repair" "$OUT" "sysctl net.ipv4.conf.br0.arp_ignore = 8 (was 0)"
expect_contains "repair" "$OUT" "sysctl net.ipv6.conf.wan0.disable_ipv6 = 1 (was 0)"
expect_eq "wan0 link-local gone" "$(ip -6 -br addr show dev wan0)" ""
run_haltfw 0 --config "$CONF" apply
expect_eq "second apply" "$OUT" "nothing to change: the live state matches $CONF"
run_haltfw 0 --verbose --config "$CONF" check
expect_contains "check" "$OUT" "fine: interface 'lan' (br0), a bridge with no address: 2 ports, nothing of the box at layer 3 (no address, IPv6 off, no ARP replies)"
echo "ok: $TEST"
