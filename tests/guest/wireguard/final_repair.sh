#!/bin/bash
# The WireGuard device through arm and the real final stage (haltfw-final
# --verify, the checks the halted box runs as PID 1): the manifest records
# the device, its peers and its routes, never a key in a line anyone reads;
# a device a unit deleted is made again with its key, port, peers,
# addresses and routes, one of another kind under its name is replaced, a
# peer added behind haltfw's back is taken away, and after each the road
# warrior's tunnel works again. The report's WireGuard digest leaves the
# secrets out and follows the configuration.
set -euo pipefail
# arm mounts the exitrd: in a mount namespace of this test's own.
[[ -n ${G_PRIVATE_MOUNTS:-} ]] || exec env G_PRIVATE_MOUNTS=1 unshare --mount --propagation private bash "$0" "$@"
source "$(dirname "$0")/wg_common.bash"

g_arm_in "$box"

# no_secret WHAT: $OUT shows neither secret key, in base64 or in hex.
no_secret() {
    local f secret
    for f in "$WORK/wg0.key" "$WORK/laptop.psk"; do
        for secret in "$(cat "$f")" "$(base64 -d <"$f" | od -An -tx1 | tr -d ' \n')"; do
            if grep -qiF -- "$secret" <<<"$OUT"; then g_fail "$1: the output shows the key of $(basename "$f")"; fi
        done
    done
}

# A second peer that never connects, a route through the tunnel, and a
# ruleset that names wg0 by its hooks: a flowtable and an ingress chain,
# which lose wg0 with no new ruleset generation when it is deleted.
write_conf
cat >>"$WORK/rules.nft" <<'NFT'
table inet fast {
    flowtable ft {
        hook ingress priority filter
        devices = { "wg0", "lan0" }
    }
    chain forward {
        type filter hook forward priority filter - 1; policy accept;
        meta l4proto { tcp, udp } flow add @ft
    }
}
table netdev wgin {
    chain in {
        type filter hook ingress device "wg0" priority filter; policy accept;
        counter
    }
}
NFT
SITE_PUB=$(wg genkey | wg pubkey)
sed -i '/^address = 203.0.113.129\/25$/a route = 198.51.100.128/25\nmtu = 1380' "$CONF"
printf '%s\n' '[peer.site]' 'interface = vpn' "public-key = $SITE_PUB" 'allowed-ips = 198.51.100.128/25' >>"$CONF"

# check before the first apply: the ruleset names wg0, which apply has not
# made yet; nft -c here would fail (ENOENT), so check loads it in a scratch
# namespace with a stand-in for it. Not ready only because wg0 is missing.
hfw 1 check
expect_line "check" "ruleset: accepted by the kernel in check mode"
expect_has "check" "BLOCKER: interface 'vpn' (wg0): the device does not exist yet ('haltfw apply' creates it)"
no_secret "check"

hfw 0 arm --final "$FINAL_BIN"
no_secret "arm"
expect_has "arm" "WireGuard digest "
armed_wg=$(sed -n 's/.*WireGuard digest \([0-9a-f]\{64\}\).*/\1/p' <<<"$OUT")
[[ -n $armed_wg ]] || g_fail "arm printed no WireGuard digest: $OUT"
grep -qx "route wg0 198.51.100.128/25 - 0" "$M" || g_fail "the manifest has no route record for wg0"
grep -qx "mtu wg0 1380" "$M" || g_fail "the manifest has no mtu record for wg0"
[[ $(grep -c "^wgpeer wg0 " "$M") == 2 ]] || g_fail "the manifest does not hold both peers"
grep -q "^wireguard wg0 [0-9a-f]\{64\} 51820 0$" "$M" || g_fail "the manifest has no wireguard record for wg0"
[[ $(stat -c %a "$M") == 600 ]] || g_fail "the manifest is mode $(stat -c %a "$M"), not 600"
peer_up
g_ping "$peer" 192.0.2.10 3 || g_fail "no tunnel after arm"

# verify RUN: haltfw-final --verify in the box's namespace; output in $OUT.
verify() {
    local rc=0
    OUT=$(in_box "$FINAL_BIN" --verify "$M" 2>&1) || rc=$?
    ((rc == 0)) || g_fail "$1: haltfw-final --verify exited $rc:
$OUT"
    expect_has "$1" "HALTFW: HALTED-OK digest="
    expect_has "$1" " wireguard=$armed_wg"
    no_secret "$1"
}

# hooks_on_wg0 WHAT: the flowtable and the ingress chain are on wg0.
hooks_on_wg0() {
    ip netns exec "$box" nft list flowtable inet fast ft | grep -qE 'devices = \{.*\<wg0\>' ||
        g_fail "$1: the flowtable is not on wg0: $(ip netns exec "$box" nft list flowtable inet fast ft)"
    ip netns exec "$box" nft list chain netdev wgin in | grep -qE 'device "?wg0"?' ||
        g_fail "$1: no ingress chain on wg0: $(ip netns exec "$box" nft list table netdev wgin 2>&1)"
}

# tunnel_back WHAT: the peer reaches the LAN host again. A device made
# anew has none of the old sessions: the peer's packets on its old one go
# unanswered until, 15 s on (keepalive 10 s + rekey 5 s), it starts a new
# handshake by itself. So up to 30 s for the first reply, then 3 in a row.
tunnel_back() {
    local i
    for ((i = 0; i < 30; i++)); do
        ip netns exec "$peer" ping -n -c 1 -W 1 192.0.2.10 >/dev/null 2>&1 && break
    done
    ((i < 30)) || g_fail "$1: the peer does not reach the LAN host within 30 s"
    g_ping "$peer" 192.0.2.10 3 || g_fail "$1: the tunnel came back, then lost pings"
    g_say "$1: the tunnel is back after about $i s"
}

verify "untouched"
expect_line "untouched" "HALTFW: wireguard: wg0 with 2 peers as armed"
hooks_on_wg0 "armed"

# A unit's stop deletes wg0 (wg-quick down, ifdown): made again, with its
# MTU, addresses and the route through it, and the peer's next packets go
# through.
ip -n "$box" link del wg0
verify "deleted"
expect_line "deleted" "HALTFW: wireguard: wg0 with 2 peers as armed; repaired: wg0 recreated"
expect_has "deleted" "repaired: wg0 set up"
expect_has "deleted" "repaired: wg0 203.0.113.129/25 added"
expect_has "deleted" "repaired: wg0 route 198.51.100.128/25 added"
expect_has "deleted" "repaired: wg0 mtu 1380 (was 1420)"
# The deletion took the hooks; the ruleset was read whole and restored.
expect_has "deleted" "restored from the manifest: now "
hooks_on_wg0 "recreated"
[[ $(ip netns exec "$box" wg show wg0 public-key) == "$BOX_PUB" ]] || g_fail "the recreated wg0 has another key"
[[ $(ip netns exec "$box" wg show wg0 listen-port) == 51820 ]] || g_fail "the recreated wg0 has another port"
ip -n "$box" route show 198.51.100.128/25 | grep -q "dev wg0" || g_fail "no route 198.51.100.128/25 through the recreated wg0"
tunnel_back "recreated wg0"
g_say "deleted wg0: recreated with its key, port, peers, address and route; the tunnel works"

# Something else under its name: replaced by the armed device.
ip -n "$box" link del wg0
ip -n "$box" link add wg0 type veth peer name wg0p
verify "a veth named wg0"
expect_line "a veth named wg0" "HALTFW: wireguard: wg0 with 2 peers as armed; repaired: wg0 (a veth device) deleted; repaired: wg0 recreated"
tunnel_back "wg0 in place of a veth"

# A peer added and the port moved behind haltfw's back: set back.
ip netns exec "$box" wg set wg0 listen-port 40000 peer "$(wg genkey | wg pubkey)" allowed-ips 203.0.113.200/32
verify "tampered"
grep -qE '^HALTFW: wireguard: wg0 with 2 peers as armed; repaired: wg0 set back \(listen port 51820 \(was 40000\); remove peer [A-Za-z0-9+/]{43}=\)$' <<<"$OUT" ||
    g_fail "tampered: no 'set back' line in:
$OUT"
[[ $(ip netns exec "$box" wg show wg0 peers | wc -l) == 2 ]] || g_fail "the added peer is still on wg0"
g_ping "$peer" 192.0.2.10 3 || g_fail "no tunnel after wg0 was set back"
g_say "a veth under wg0's name replaced; a foreign peer and a moved port set back"

hfw 0 disarm
