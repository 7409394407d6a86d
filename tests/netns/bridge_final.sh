#!/bin/bash
# The invisible bridge through arm and the real final stage (haltfw-final
# --verify, as after the halt): the manifest records the bridge, its options
# and ports, and that it is silent. The bridge deleted (as ifupdown's bridge
# hook does at ifdown) is made again, silent before it is ever up; a veth
# under its name is replaced; STP turned on is turned off again. A port
# taken out of the bridge, an IPv4 address put on the bridge and IPv6
# turned back on for a port are each repaired, a link attached to the bridge
# after arm is released, and the verdict is HALTED-OK.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/arm_env.bash"
REAL=${HALTFW_FINAL_BIN:?HALTFW_FINAL_BIN (the built haltfw-final) must be set}
make_links
cat >"$WORK/rules.nft" <<'NFT'
table bridge filter {
    chain forward {
        type filter hook forward priority filter; policy accept;
        counter
    }
}
table netdev edge {
    chain ingress {
        type filter hook ingress device "br0" priority filter; policy accept;
    }
}
NFT
cat >"$CONF" <<CONF
[ruleset]
file = $WORK/rules.nft

[interface.lan]
device = br0
bridge = lan0 wan0
CONF

run_haltfw 0 --config "$CONF" arm --final "$REAL"
grep -qx "port br0 lan0" "$M" || fail "the manifest has no 'port br0 lan0' record"
grep -qx "port br0 wan0" "$M" || fail "the manifest has no 'port br0 wan0' record"
grep -qx "silent br0" "$M" || fail "the manifest has no 'silent br0' record"
grep -qx "bridge br0 0 30000 0" "$M" || fail "the manifest has no 'bridge br0 0 30000 0' record"
grep -qx "ifindex br0 $(cat /sys/class/net/br0/ifindex)" "$M" || fail "the manifest has no 'ifindex br0' record of its index"
digest=$("$HALTFW" digest)
vout=$("$REAL" --verify "$M" 2>&1) || fail "verify of the armed bridge: $vout"
expect_contains "verify" "$vout" "HALTFW: HALTED-OK digest=$digest links=1 addresses=0 restored=0"
expect_contains "links line" "$vout" "HALTFW: links: 1 up with 0 addresses; br0 bridges lan0 wan0, silent"
case $vout in *repaired*) fail "verify repaired something on an untouched bridge: $vout" ;; esac

# Someone takes a port out, gives the bridge an address and turns IPv6 on.
ip link set wan0 nomaster
ip addr add 192.0.2.9/24 dev br0
echo 0 >/proc/sys/net/ipv6/conf/lan0/disable_ipv6
vout=$("$REAL" --verify "$M" 2>&1) || fail "verify after tampering: $vout"
expect_contains "port repaired" "$vout" "repaired: br0 port wan0 put back"
expect_contains "address removed" "$vout" "repaired: br0 192.0.2.9/24 removed (a silent bridge)"
expect_contains "sysctl repaired" "$vout" "net.ipv6.conf.lan0.disable_ipv6=1"
expect_contains "verdict" "$vout" "HALTFW: HALTED-OK digest=$digest"
expect_eq "wan0 master" "$(ip -j link show wan0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0].get("master"))')" br0
expect_eq "br0 addresses" "$(ip -br addr show dev br0 | awk '{ $1 = $2 = ""; print }' | tr -d ' ')" ""
expect_eq "lan0 disable_ipv6" "$(cat /proc/sys/net/ipv6/conf/lan0/disable_ipv6)" 1

# A link someone attaches to the bridge after arm (a tap, a container's
# veth): released, for the halted box bridges only what was armed.
ip link add tap0 type veth peer name tap0p
ip link set tap0 master br0 up
vout=$("$REAL" --verify "$M" 2>&1) || fail "verify with a port not armed: $vout"
expect_contains "foreign port released" "$vout" "repaired: br0 port tap0 released (not armed)"
expect_contains "verdict" "$vout" "HALTFW: HALTED-OK digest=$digest"
expect_eq "tap0 master" "$(ip -j link show tap0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0].get("master"))')" None

# master_of LINK: the bridge LINK is a port of, or None.
master_of() {
    ip -j link show "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0].get("master"))'
}
# br0_as_armed WHAT: br0 a bridge again, silent, STP off, with both ports.
br0_as_armed() {
    expect_eq "$1: br0 kind" "$(ip -j -d link show br0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["linkinfo"]["info_kind"])')" bridge
    expect_eq "$1: br0 addresses" "$(ip addr show dev br0 | grep -c inet || true)" 0
    expect_eq "$1: br0 disable_ipv6" "$(cat /proc/sys/net/ipv6/conf/br0/disable_ipv6)" 1
    expect_eq "$1: br0 arp_ignore" "$(cat /proc/sys/net/ipv4/conf/br0/arp_ignore)" 8
    expect_eq "$1: br0 STP" "$(cat /sys/class/net/br0/bridge/stp_state)" 0
    expect_eq "$1: lan0 master" "$(master_of lan0)" br0
    expect_eq "$1: wan0 master" "$(master_of wan0)" br0
    ip link show br0 | grep -q '[<,]UP[,>]' || fail "$1: br0 is not up"
}

# The bridge deleted at stop: made again, down, with IPv6 off, and only
# then up, so it never had a link-local address to announce.
ip monitor address >"$WORK/addr.log" 2>&1 &
mon=$!
sleep 0.2
ip link del br0
vout=$("$REAL" --verify "$M" 2>&1) || fail "verify after the bridge was deleted: $vout"
sleep 0.2
kill "$mon"
wait "$mon" 2>/dev/null || true
expect_contains "bridge remade" "$vout" "repaired: br0 recreated"
expect_contains "ports back" "$vout" "repaired: br0 port lan0 put back; repaired: br0 port wan0 put back"
expect_contains "verdict" "$vout" "HALTFW: HALTED-OK digest=$digest"
br0_as_armed "after deletion"
if grep -q 'br0' "$WORK/addr.log"; then fail "the remade br0 held an address for a moment: $(cat "$WORK/addr.log")"; fi

# A veth under the bridge's name: deleted, and the bridge made in its place.
ip link del br0
ip link add br0 type veth peer name br0p
vout=$("$REAL" --verify "$M" 2>&1) || fail "verify with a veth named br0: $vout"
expect_contains "impostor deleted" "$vout" "repaired: br0 (a veth device) deleted; repaired: br0 recreated"
expect_contains "verdict" "$vout" "HALTFW: HALTED-OK digest=$digest"
br0_as_armed "after a veth took its name"
if ip link show br0p >/dev/null 2>&1; then fail "the impostor's peer br0p is still there"; fi

# STP turned on (the bridge would send BPDUs of its own): turned off.
ip link set br0 type bridge stp_state 1
vout=$("$REAL" --verify "$M" 2>&1) || fail "verify with STP on: $vout"
expect_contains "STP off again" "$vout" "repaired: br0 STP off, ageing 300 s, multicast snooping off (was STP on"
br0_as_armed "after STP was turned on"

# A unit deletes br0 and makes it again as the same bridge, ports and all:
# not the device armed, so its hooks may be gone; the ruleset is read.
ip link del br0
ip link add br0 type bridge stp_state 0 mcast_snooping 0
echo 1 >/proc/sys/net/ipv6/conf/br0/disable_ipv6
echo 8 >/proc/sys/net/ipv4/conf/br0/arp_ignore
ip link set lan0 master br0
ip link set wan0 master br0
ip link set br0 up
vout=$("$REAL" --verify "$M" 2>&1) || fail "verify with br0 made again by a unit: $vout"
expect_contains "made again noticed" "$vout" "br0 is not the device armed (index $(cat /sys/class/net/br0/ifindex), was "
expect_contains "ruleset read" "$vout" "HALTFW: ruleset: digest $digest as armed ("
case $vout in *"not read again"*) fail "the ruleset was not read though br0 was made again: $vout" ;; esac

# The ruleset cannot be restored: forwarding off, and the bridge, which no
# forwarding switch stops, set down (fail closed).
write_unrestorable_manifest "$M" "$WORK/bad.manifest"
nft flush ruleset
if vout=$("$REAL" --verify "$WORK/bad.manifest" 2>&1); then fail "verify passed with a ruleset it cannot restore: $vout"; fi
expect_contains "fail closed" "$vout" "HALTFW: forwarding: turned OFF for every family (fail closed); bridges set down: br0"
expect_contains "reason" "$vout" "HALTED-FAIL reason=ruleset"
if ip link show br0 | grep -q '[<,]UP[,>]'; then fail "br0 is still up after the fail-closed verify: $(ip link show br0)"; fi

run_haltfw 0 --config "$CONF" disarm
echo "ok: $TEST"
