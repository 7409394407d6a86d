#!/bin/bash
# `vlan = DEV ID`: the haltfw installed in the image creates VLAN 20 on the
# box's trunk0 in a namespace of its own. Hostile first: a parent that does
# not exist, and a device of that name that is another VLAN, change
# nothing. Then a host tagging VLAN 20 reaches the box's address on it;
# the same host untagged, or on VLAN 30, does not; a second apply changes
# nothing.
#
#   host e0 (e0.20 192.0.2.10) ---- trunk0 (trunk0.20 192.0.2.1, haltfw)  box
set -euo pipefail
# shellcheck source=tests/guest/lib.sh
source "$(dirname "$0")/../lib.sh"

g_need_haltfw

box=$(g_ns box)
host=$(g_ns host)
g_veth "$box" trunk0 "$host" e0
printf '%s\n' 'table inet filter {' '    chain input {' \
    '        type filter hook input priority filter; policy accept;' '    }' '}' >"$WORK/rules.nft"
# write_conf PARENT : line 5 is the vlan line.
write_conf() {
    printf '%s\n' '[ruleset]' 'file = rules.nft' '[interface.guest]' 'device = trunk0.20' "vlan = $1 20" \
        'address = 192.0.2.1/24' >"$CONF"
}
# hfw EXPECTED_RC ARGS... : haltfw in the box namespace; output in $OUT.
hfw() {
    local want=$1 rc=0
    shift
    OUT=$(ip netns exec "$box" "$HALTFW" --config "$CONF" "$@" 2>&1) || rc=$?
    [[ $rc -eq $want ]] || g_fail "haltfw $*: exit $rc, expected $want: $OUT"
}
links() { ip -n "$box" -br link show | awk '{ print $1 }' | sort | tr '\n' ' '; }
expect_in() { [[ $2 == *"$3"* ]] || g_fail "$1: expected '$3' in: $2"; }

# 1. No such parent: refused, nothing made.
write_conf trunk9
before=$(links)
hfw 1 apply
expect_in "missing parent" "$OUT" "$CONF:5: interface 'guest': vlan parent 'trunk9' does not exist"
[[ $(links) == "$before" ]] || g_fail "links changed after a refused apply: $(links)"

# 2. trunk0.20 exists as VLAN 30: refused, left alone.
ip -n "$box" link add link trunk0 name trunk0.20 type vlan id 30 || g_fail "ip link add type vlan (8021q) failed"
write_conf trunk0
hfw 1 apply
expect_in "wrong VLAN" "$OUT" "$CONF:5: interface 'guest': device 'trunk0.20' exists as VLAN 30 on 'trunk0', not VLAN 20 on 'trunk0'"
ip -n "$box" -d link show trunk0.20 | grep -q 'id 30' || g_fail "the VLAN 30 device was changed"
ip -n "$box" link del trunk0.20

# 3. haltfw creates VLAN 20.
hfw 0 apply
expect_in "apply" "$OUT" "interface 'guest': create VLAN trunk0.20 (ID 20 on trunk0)"
ip -n "$box" -d link show trunk0.20 | grep -q 'vlan protocol 802.1Q id 20' ||
    g_fail "trunk0.20 is not VLAN 20: $(ip -n "$box" -d link show trunk0.20)"
ip -n "$box" -br addr show dev trunk0.20 | grep -q '192.0.2.1/24' || g_fail "trunk0.20 has no 192.0.2.1/24"
hfw 0 apply
[[ $OUT == "nothing to change: the live state matches $CONF" ]] || g_fail "second apply: $OUT"

# Tagged 20: answered.
ip -n "$host" link add link e0 name e0.20 type vlan id 20
ip -n "$host" link set e0.20 up
ip -n "$host" addr add 192.0.2.10/24 dev e0.20
g_ping "$host" 192.0.2.1 || g_fail "a host on VLAN 20 got no answer from the box's VLAN 20 address"
# Untagged: nothing lands on trunk0.20.
ip -n "$host" link del e0.20
ip -n "$host" addr add 192.0.2.10/24 dev e0
g_no_reply "$host" 192.0.2.1 "untagged traffic reached the box's VLAN 20 address"
arp=$(ip netns exec "$host" busybox arping -c 2 -w 3 -I e0 192.0.2.1 2>&1 || true)
[[ $arp == *"Received 0 "* ]] || g_fail "untagged ARP for the VLAN 20 address was answered: $arp"
# Tagged 30: nothing either.
ip -n "$host" addr flush dev e0
ip -n "$host" link add link e0 name e0.30 type vlan id 30
ip -n "$host" link set e0.30 up
ip -n "$host" addr add 192.0.2.10/24 dev e0.30
g_no_reply "$host" 192.0.2.1 "VLAN 30 traffic reached the box's VLAN 20 address"
g_say "VLAN 20 made by haltfw: tagged 20 answered, untagged and VLAN 30 not; a second apply changed nothing"
