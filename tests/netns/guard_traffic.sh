#!/bin/bash
# The shutdown guard against real traffic. The watcher, set watching as
# 'haltfw halt' sets it, holds an owned copy of the armed ruleset; here it
# is then frozen (SIGSTOP), so that nothing restores anything and the copy
# alone stands against what a unit may do to the user's tables on its way
# down: a flush, deleted tables, an accept-all rule inserted ahead, a policy
# turned to accept. Through each, and while they happen under a 1,000 pps
# ping, the LAN host's packets still leave NATed (0 with a LAN source on the
# WAN side) and the WAN cannot reach the LAN. A control at the end, with the
# watcher gone and so its copy, shows the counters would see a leak.
#
#   LAN ns 192.0.2.10 -- lan0 [this ns: 192.0.2.1, 198.51.100.1] wan0 -- WAN ns 198.51.100.254
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/arm_env.bash"
REAL=${HALTFW_FINAL_BIN:?HALTFW_FINAL_BIN (the built haltfw-final) must be set}
LAN=hfw-guard-lan-$$
WAN=hfw-guard-wan-$$
watcher=
cleanup() {
    [ -n "$watcher" ] && { kill -CONT "$watcher"; kill "$watcher"; } 2>/dev/null
    del_lan_wan
    umount "$HALTFW_EXITRD" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

make_lan_wan
in_lan ip addr add 192.0.2.10/24 dev eth0
in_lan ip route add default via 192.0.2.1
in_wan ip addr add 198.51.100.254/24 dev eth0
# The WAN side routes the LAN prefix back through the box, so that "WAN->LAN
# dropped" is the ruleset's doing; it counts what reaches it by source.
in_wan ip route add 192.0.2.0/24 via 198.51.100.1
in_wan nft -f - <<'NFT'
table ip seen {
    chain pre {
        type filter hook prerouting priority -300; policy accept;
        ip saddr 192.0.2.0/24 counter
        ip saddr 198.51.100.1 counter
    }
}
NFT
# seen_from N : packets the WAN side has seen from the LAN prefix (N=1) or
# from the box's WAN address, NATed (N=2).
seen_from() { in_wan nft list chain ip seen pre | grep -o 'counter packets [0-9]*' | sed -n "${1}p" | awk '{print $3}'; }

write_config
run_haltfw 0 --config "$WORK/haltfw.conf" arm --final "$REAL"
armed=$("$HALTFW" digest)
tables=$(nft list tables | wc -l)

STATE="$HALTFW_EXITRD/haltfw.watch"
"$HALTFW" watch >"$WORK/watch.out" 2>&1 &
watcher=$!
for _ in $(seq 500); do [ -s "$STATE" ] && break; sleep 0.01; done
kill -USR1 "$watcher"
for _ in $(seq 500); do grep -q " mode=watching " "$STATE" && break; sleep 0.01; done
# Nothing committed since arm: the guard's load proved the user's ruleset
# as armed at its own generation.
expect_eq "watching with its guard" "$(cat "$STATE")" \
    "haltfw-watch pid=$watcher mode=watching restored=0 failed=0 guard=$tables proven=$(generation) netns=$(armed_cookie)"
expect_contains "its console line" "$(cat "$WORK/watch.out")" "guarded by an owned copy ($tables tables) that no unit can change"
[ "$tables" -ge 2 ] || fail "the test's ruleset should have at least two tables (it has $tables)"
kill -STOP "$watcher"  # from here on only the owned copy guards

# check_traffic WHAT : the LAN reaches the WAN NATed and only NATed; the WAN
# does not reach the LAN.
check_traffic() {
    local lan_before nat_before
    lan_before=$(seen_from 1)
    nat_before=$(seen_from 2)
    in_lan ping -c 3 -i 0.2 -W 1 198.51.100.254 >/dev/null || fail "$1: LAN->WAN ping got no answer"
    expect_eq "$1: packets with a LAN source on the WAN side" "$(seen_from 1)" "$lan_before"
    [ "$(seen_from 2)" -ge $((nat_before + 3)) ] || fail "$1: the LAN's pings did not arrive NATed"
    if in_wan ping -c 2 -i 0.2 -W 1 192.0.2.10 >/dev/null 2>&1; then fail "$1: the WAN reached the LAN"; fi
}
# restore_user_tables : the armed ruleset back in the user's tables (as the
# watcher or the final stage would; the guard's copy stays as it is).
restore_user_tables() {
    "$REAL" --verify "$HALTFW_EXITRD/haltfw.manifest" >/dev/null || fail "restore: $("$REAL" --verify "$HALTFW_EXITRD/haltfw.manifest")"
    expect_eq "digest after the restore" "$("$HALTFW" digest)" "$armed"
}

check_traffic "as armed"
nft flush ruleset
expect_eq "the guard's tables after a flush" "$(nft list tables | grep -c ' haltfw_guard_')" "$tables"
check_traffic "after a flush"
restore_user_tables
nft delete table inet filter
nft delete table ip nat
check_traffic "after the tables were deleted"
restore_user_tables
nft insert rule inet filter forward accept
nft chain inet filter forward '{ policy accept; }'
nft insert rule ip nat postrouting oifname "wan0" accept
check_traffic "after an accept-all rule, a policy accept and a NAT bypass"
restore_user_tables

# The same, while it happens: 1,000 pps from the LAN across each change.
lan_before=$(seen_from 1)
nat_before=$(seen_from 2)
in_lan ping -c 3000 -i 0.001 -W 1 198.51.100.254 >"$WORK/ping.out" 2>&1 &
pinger=$!
sleep 0.5
nft flush ruleset
sleep 0.5
restore_user_tables
sleep 0.3
nft delete table ip nat
sleep 0.3
nft insert rule inet filter forward accept
sleep 0.5
wait "$pinger" || true
expect_eq "LAN-sourced packets on the WAN side across the changes" "$(seen_from 1)" "$lan_before"
received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$WORK/ping.out")
echo "guard_traffic: $received of 3000 pings answered across the changes, $(($(seen_from 2) - nat_before)) arrived NATed, 0 un-NATed"
[ "${received:-0}" -ge 2900 ] || fail "only ${received:-0} of 3000 pings answered across the changes"
restore_user_tables

# Control: the watcher gone, its copy goes too; a flush now lets the LAN's
# packets out un-NATed, and the counters see it.
kill -CONT "$watcher"
kill -KILL "$watcher"
wait "$watcher" 2>/dev/null || true
watcher=
expect_eq "the guard's tables with the watcher gone" "$(nft list tables | grep -c ' haltfw_guard_' || true)" "0"
nft flush ruleset
lan_before=$(seen_from 1)
in_lan ping -c 2 -i 0.2 -W 1 198.51.100.254 >/dev/null 2>&1 || true
[ "$(seen_from 1)" -gt "$lan_before" ] || fail "control: with no ruleset and no guard the LAN's packets should arrive un-NATed"
echo "guard_traffic: ok"
