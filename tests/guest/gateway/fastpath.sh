#!/bin/bash
# The gateway profile's fast path on the appliance's kernel (flowtables):
# every golden file of the profile passes the kernel's check mode (those
# with a flowtable can only be checked here), and a TCP transfer through a
# box configured by 'haltfw apply' shows what fastpath does: with it, the
# forward chain sees a handful of the connection's packets (those before it
# is established and offloaded); with fastpath = no, every one of them (as
# veth passes them: GSO segments of up to 64 KiB). A
# counter in the forward chain, inserted by a rules file, counts them.
set -euo pipefail
# shellcheck source=tests/guest/lib.sh
source "$(dirname "$0")/../lib.sh"
g_need_haltfw
work=$WORK

# ---- the golden files, in the kernel's check mode ----
chk=$(g_ns check)
for dev in lan0 lan1 wan0 guest0 eth0 eth1 wg0; do  # a veth stands in for wg0: the check needs a device
    ip -n "$chk" link add "$dev" type veth peer name "p$dev"
done
n=0
for f in data/gateway/*.nft; do
    out=$(ip netns exec "$chk" nft -c -f "$f" 2>&1) || g_fail "nft -c refused $f: $out"
    n=$((n + 1))
done
((n >= 6)) || g_fail "expected at least 6 golden files, found $n"
grep -q '^\s*flowtable fastpath' data/gateway/fastpath.nft || g_fail "fastpath.nft has no flowtable"
g_say "the kernel's check mode accepts all $n golden files"

# ---- a transfer through the box, with and without the fast path ----
box=$(g_ns box)
lan=$(g_ns lan)
wan=$(g_ns wan)
g_veth "$box" lan0 "$lan" eth0
g_veth "$box" wan0 "$wan" eth0
ip -n "$lan" addr add 192.0.2.10/24 dev eth0
ip -n "$lan" route add default via 192.0.2.1
ip -n "$wan" addr add 198.51.100.254/24 dev eth0
ip -n "$wan" addr add 203.0.113.1/32 dev lo
cat >"$work/count.nft" <<'NFT'
add counter inet gateway seen
insert rule inet gateway forward counter name seen
NFT
conf() {
    cat <<CONF
[ruleset]
file = $work/count.nft

[interface.wan]
device = wan0
address = 198.51.100.1/24
gateway = 198.51.100.254

[interface.lan]
device = lan0
address = 192.0.2.1/24

[gateway]
lan = lan
wan = wan
$1
CONF
}
# transfer: 2,000,000 bytes LAN -> far host; $seen: the forward chain's
# packet count for it.
transfer() {
    ip netns exec "$box" nft reset counter inet gateway seen >/dev/null
    ip netns exec "$wan" timeout 60 socat -u TCP-LISTEN:5001,bind=203.0.113.1,reuseaddr - >"$work/got" &
    local server=$!
    sleep 0.5
    head -c 2000000 /dev/zero | ip netns exec "$lan" timeout 60 socat -u - TCP:203.0.113.1:5001 ||
        g_fail "the transfer through the box failed"
    wait "$server" || true
    [[ $(stat -c %s "$work/got") == 2000000 ]] || g_fail "the far host got $(stat -c %s "$work/got") bytes of 2000000"
    seen=$(ip netns exec "$box" nft list counter inet gateway seen | sed -n 's/.*packets \([0-9]*\).*/\1/p')
    [[ $seen =~ ^[0-9]+$ ]] || g_fail "cannot read the forward chain's counter"
}

conf "" >"$work/fast.conf"
ip netns exec "$box" haltfw --config "$work/fast.conf" apply >"$work/apply.log" 2>&1 ||
    g_fail "apply (fastpath by default): $(cat "$work/apply.log")"
ip netns exec "$box" nft list flowtables | grep -q 'flowtable fastpath' || g_fail "no flowtable after apply"
transfer
fast=$seen
conf "fastpath = no" >"$work/slow.conf"
ip netns exec "$box" haltfw --config "$work/slow.conf" apply >"$work/apply.log" 2>&1 ||
    g_fail "apply (fastpath = no): $(cat "$work/apply.log")"
if ip netns exec "$box" nft list flowtables | grep -q flowtable; then g_fail "a flowtable with fastpath = no"; fi
transfer
slow=$seen
g_say "forward chain packets for 2,000,000 bytes: $fast with fastpath, $slow without"
# veth passes GSO segments of up to 64 KiB: without the fast path the chain
# sees at least 2,000,000 / 65,536 > 30 of them; with it, only the packets
# before the offload (the handshake, and what was in flight), however long
# the transfer.
((slow > 30)) || g_fail "without fastpath the forward chain saw $slow packets of a 2 MB transfer (expected more than 30)"
((fast <= 20)) || g_fail "with fastpath the forward chain saw $fast packets (expected the few before the offload, at most 20)"
((slow >= 5 * fast)) || g_fail "with fastpath the forward chain saw $fast packets, without it $slow: not the fast path"
