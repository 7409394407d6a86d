#!/bin/bash
# A VLAN and an invisible bridge through arm and the real final stage
# (haltfw-final --verify, the checks the halted box runs as PID 1), on the
# appliance's kernel. A unit's stop that deletes them (ifupdown's vlan and
# bridge hooks do at ifdown) has them made again before the ruleset is
# checked: the flowtable on the VLAN and the ingress chain on the bridge,
# whose hooks went with the devices without a new ruleset generation, are
# put back, and a tagged host reaches the box again. A VLAN with another ID
# under the name is replaced; a VLAN whose parent is gone fails the halt.
#
#   host e0.20 192.0.2.10 ---- trunk0 (trunk0.20 192.0.2.1, haltfw)  box
#                               br0 = port0 port1 (no address) ---- p0, p1 side
set -euo pipefail
# arm mounts the exitrd: in a mount namespace of this test's own.
[[ -n ${G_PRIVATE_MOUNTS:-} ]] || exec env G_PRIVATE_MOUNTS=1 unshare --mount --propagation private bash "$0" "$@"
# shellcheck source=tests/guest/lib.sh
source "$(dirname "$0")/../lib.sh"

g_need_haltfw
box=$(g_ns box)
host=$(g_ns host)
side=$(g_ns side)
g_arm_in "$box"
g_veth "$box" trunk0 "$host" e0
g_veth "$box" port0 "$side" p0
g_veth "$box" port1 "$side" p1
ip -n "$host" link add link e0 name e0.20 type vlan id 20
ip -n "$host" link set e0.20 up
ip -n "$host" addr add 192.0.2.10/24 dev e0.20

cat >"$WORK/rules.nft" <<'NFT'
table inet fast {
    flowtable ft {
        hook ingress priority filter
        devices = { "trunk0.20" }
    }
    chain forward {
        type filter hook forward priority filter; policy accept;
        meta l4proto { tcp, udp } flow add @ft
    }
}
table netdev edge {
    chain in {
        type filter hook ingress device "br0" priority filter; policy accept;
        counter
    }
}
NFT
printf '%s\n' '[ruleset]' "file = $WORK/rules.nft" \
    '[interface.guest]' 'device = trunk0.20' 'vlan = trunk0 20' 'address = 192.0.2.1/24' \
    '[interface.lan]' 'device = br0' 'bridge = port0 port1' >"$CONF"

expect_has() { [[ $OUT == *"$2"* ]] || g_fail "$1: expected '$2' in:
$OUT"; }
expect_line() { grep -qxF -- "$2" <<<"$OUT" || g_fail "$1: expected the line '$2' in:
$OUT"; }

hfw 0 apply
hfw 0 arm --final "$FINAL_BIN"
grep -qx "vlan trunk0.20 trunk0 20" "$M" || g_fail "the manifest has no 'vlan trunk0.20 trunk0 20' record"
grep -qx "bridge br0 0 30000 0" "$M" || g_fail "the manifest has no 'bridge br0 0 30000 0' record"
g_ping "$host" 192.0.2.1 2 || g_fail "the tagged host does not reach the box after arm"

# verify WHAT [RC]: haltfw-final --verify in the box's namespace, exit RC
# (default 0); output in $OUT.
verify() {
    local rc=0
    OUT=$(in_box "$FINAL_BIN" --verify "$M" 2>&1) || rc=$?
    [[ $rc == "${2:-0}" ]] || g_fail "$1: haltfw-final --verify exited $rc, expected ${2:-0}:
$OUT"
}
# hooks WHAT: the flowtable is on trunk0.20 and the ingress chain on br0.
hooks() {
    ip netns exec "$box" nft list flowtable inet fast ft | grep -qE 'devices = \{ *"?trunk0\.20"? *\}' ||
        g_fail "$1: the flowtable is not on trunk0.20: $(ip netns exec "$box" nft list flowtable inet fast ft)"
    ip netns exec "$box" nft list chain netdev edge in | grep -qE 'device "?br0"?' ||
        g_fail "$1: no ingress chain on br0: $(ip netns exec "$box" nft list table netdev edge 2>&1)"
}
# as_armed WHAT: both devices as armed, and the tagged host reaches the box.
as_armed() {
    local d
    d=$(ip -n "$box" -d link show trunk0.20)
    grep -q "vlan protocol 802.1Q id 20" <<<"$d" || g_fail "$1: trunk0.20 is not VLAN 20: $d"
    [[ $(ip -n "$box" -d link show br0) == *"bridge forward_delay"* ]] || g_fail "$1: br0 is not a bridge"
    [[ $(ip -n "$box" addr show dev br0 | grep -c inet || true) == 0 ]] || g_fail "$1: br0 holds an address"
    [[ $(ip netns exec "$box" cat /proc/sys/net/ipv6/conf/br0/disable_ipv6) == 1 ]] || g_fail "$1: IPv6 is on for br0"
    for d in port0 port1; do
        ip -n "$box" link show "$d" | grep -q "master br0" || g_fail "$1: $d is not in br0"
    done
    hooks "$1"
    g_ping "$host" 192.0.2.1 2 || g_fail "$1: the tagged host does not reach the box"
}

verify "untouched"
expect_has "untouched" "HALTFW: HALTED-OK digest="
[[ $OUT != *repaired* ]] || g_fail "untouched: something was repaired: $OUT"
hooks "armed"

# A unit's stop deletes both: made again before the ruleset is checked.
ip -n "$box" link del trunk0.20
ip -n "$box" link del br0
verify "deleted"
expect_has "deleted" "repaired: trunk0.20 recreated as VLAN 20 on trunk0"
expect_has "deleted" "repaired: br0 recreated"
expect_has "deleted" "repaired: trunk0.20 set up"
expect_has "deleted" "repaired: trunk0.20 192.0.2.1/24 added"
expect_has "deleted" "repaired: br0 port port0 put back"
# Their deletion took the hooks with no new generation: read whole, restored.
expect_has "deleted" "restored from the manifest: now "
expect_has "deleted" "HALTFW: HALTED-OK digest="
as_armed "deleted"
g_say "deleted VLAN and bridge: made again, their hooks back, the tagged host answered"

# Another VLAN under the name: replaced by the armed one.
ip -n "$box" link del trunk0.20
ip -n "$box" link add link trunk0 name trunk0.20 type vlan id 30
verify "VLAN 30 under the name"
expect_has "VLAN 30 under the name" "repaired: trunk0.20 (VLAN 30 on trunk0) deleted; repaired: trunk0.20 recreated as VLAN 20 on trunk0"
expect_has "VLAN 30 under the name" "HALTFW: HALTED-OK digest="
as_armed "VLAN 30 under the name"
g_say "VLAN 30 under the armed VLAN's name: replaced"

# The parent gone: nothing can be made, and the halt fails. br0 is not
# the device armed any more (made again above), so the ruleset is read;
# its flowtable names the missing VLAN, the restore cannot put it back,
# and the box fails closed: forwarding off and the bridge set down.
ip -n "$box" link del trunk0
verify "parent gone" 1
expect_has "parent gone" "FAILED: trunk0.20 missing, and cannot be made again: its parent trunk0 is missing"
expect_has "parent gone" "br0 is not the device armed (index "
expect_has "parent gone" "HALTFW: forwarding: turned OFF for every family (fail closed); bridges set down: br0"
expect_has "parent gone" "HALTFW: HALTED-FAIL reason=ruleset"
g_say "VLAN parent gone: the halt fails, as it must"

hfw 0 disarm
echo "ok: $G_TEST"
