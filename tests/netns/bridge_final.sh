#!/bin/bash
# The invisible bridge through arm and the real final stage (haltfw-final
# --verify, as after the halt): the manifest records the bridge's ports and
# that it is silent; a port taken out of the bridge, an IPv4 address put on
# the bridge and IPv6 turned back on for a port are each repaired, a link
# attached to the bridge after arm is released, and the verdict is HALTED-OK.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/arm_env.bash"
REAL=${HALTFW_FINAL_BIN:?HALTFW_FINAL_BIN (the built haltfw-final) must be set}
make_links
cat >"$WORK/rules.nft" <<'NFT'
table bridge filter {
    chain forward {
        type filter hook forward priority filter; policy accept;
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

run_haltfw 0 --config "$CONF" disarm
echo "ok: $TEST"
