#!/bin/bash
# The invisible bridge of docs/bridge.md, made by the haltfw installed in
# the image, on the appliance's kernel (bridge conntrack): its config and
# ruleset as the guide gives them. A DHCP server on the WAN side leases an
# address to a LAN client through the bridge; LAN -> WAN ping and TCP pass;
# WAN -> LAN new connections are dropped; the box answers no ARP, even for
# an address of its own, and sends no frame at all (counted on both hosts)
# to pings, TCP and neighbour solicitations for any address it could have.
# The control: with arp_ignore 0 its ARP reply is counted.
#
#   lan e0 ---- eth1 [br0, haltfw] eth0 ---- e0 wan (udhcpd)
set -euo pipefail
# shellcheck source=tests/guest/lib.sh
source "$(dirname "$0")/../lib.sh"

g_need_haltfw

box=$(g_ns box)
lan=$(g_ns lan)
wan=$(g_ns wan)
# The guide's port names are the guest's own (eth0, eth1): made under
# other names, renamed inside the box.
g_veth "$box" up0 "$wan" e0
g_veth "$box" in0 "$lan" e0
for pair in up0:eth0 in0:eth1; do
    ip -n "$box" link set "${pair%:*}" down
    ip -n "$box" link set "${pair%:*}" name "${pair#*:}"
done
ip -n "$box" addr add 192.0.2.1/32 dev lo  # an address of the box's own, to not answer for
ip -n "$wan" addr add 192.0.2.20/24 dev e0

# docs/bridge.md, word for word.
printf '%s\n' '[ruleset]' 'file = bridge.nft' '' '[interface.lan]' 'device = br0' 'bridge = eth0 eth1' >"$CONF"
cat >"$WORK/bridge.nft" <<'NFT'
table bridge filter {
    chain forward {
        type filter hook forward priority filter; policy drop;
        ct state established,related accept
        ct state invalid drop
        ether type arp accept
        # Neighbour discovery and DHCP in both directions.
        icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert, nd-router-solicit } accept
        udp sport 67 udp dport 68 accept
        iifname "eth1" accept
    }
}
NFT
out=$(ip netns exec "$box" "$HALTFW" --config "$CONF" apply 2>&1) || g_fail "apply: $out"
[[ $out == *"create bridge br0"* ]] || g_fail "apply did not create br0: $out"
out=$(ip netns exec "$box" "$HALTFW" --config "$CONF" apply 2>&1) || g_fail "second apply: $out"
[[ $out == "nothing to change: the live state matches $CONF" ]] || g_fail "second apply: $out"

# DHCP through the bridge.
printf '%s\n' 'start 192.0.2.100' 'end 192.0.2.110' 'interface e0' 'max_leases 10' \
    "lease_file $WORK/leases" 'option subnet 255.255.255.0' >"$WORK/udhcpd.conf"
touch "$WORK/leases"
ip netns exec "$wan" timeout 120 busybox udhcpd -f "$WORK/udhcpd.conf" >"$WORK/udhcpd.log" 2>&1 &
dhcpd=$!
trap 'kill "$dhcpd" 2>/dev/null; g_cleanup; rm -rf "$WORK"' EXIT
sleep 0.5
lease=$(ip netns exec "$lan" timeout 30 busybox udhcpc -i e0 -n -q -t 5 -T 2 -s /bin/true 2>&1) ||
    g_fail "no DHCP lease through the bridge: $lease"
leased=$(sed -n 's/.*lease of \([0-9.]*\) obtained.*/\1/p' <<<"$lease")
[[ $leased == 192.0.2.1[01][0-9] ]] || g_fail "udhcpc: no lease from the pool: $lease"
ip -n "$lan" addr add "$leased/24" dev e0

g_ping "$lan" 192.0.2.20 || g_fail "LAN -> WAN ping through the bridge: no answer"
g_no_reply "$wan" "$leased" "WAN -> LAN ping (new) passed the bridge"
ip netns exec "$wan" timeout 20 busybox nc -l -p 8080 </dev/null >/dev/null 2>&1 &
ip netns exec "$lan" timeout 20 busybox nc -l -p 8081 </dev/null >/dev/null 2>&1 &
sleep 0.5
ip netns exec "$lan" timeout 5 busybox nc -w 2 192.0.2.20 8080 </dev/null || g_fail "LAN -> WAN TCP failed"
if ip netns exec "$wan" timeout 5 busybox nc -w 2 "$leased" 8081 </dev/null 2>/dev/null; then
    g_fail "WAN -> LAN TCP (new) passed the bridge"
fi
arp=$(ip netns exec "$lan" busybox arping -c 2 -w 3 -I e0 192.0.2.1 2>&1 || true)
[[ $arp == *"Received 0 "* ]] || g_fail "the box answered ARP for its own address: $arp"
addrs=$(ip -n "$box" -br addr show | awk '$1 != "lo" && NF > 2 { print }')
[[ -z $addrs ]] || g_fail "the box has addresses on the bridge or its ports: $addrs"
g_say "bridge: a DHCP lease through it ($leased), LAN->WAN passes, WAN->LAN new dropped, no ARP from the box"

# Nothing else of the box either, seen on the wire: each host counts, at
# its ingress hook, every frame whose source is a MAC of the box (br0,
# eth0, eth1), while both probe whatever address the box could have: the
# IPv4 broadcast, IPv6 all-nodes, the box's address with a static
# neighbour entry to br0's MAC (ping and TCP, IPv4 and IPv6), and the
# link-local address each of the box's MACs would give (ping and TCP: a
# neighbour solicitation, which must get no advertisement). The hosts may
# answer; the box may not. A listener on every address of the box, so
# that its silence is not a closed port's.
macs=$(ip -n "$box" -br link show | awk '$1 ~ /^(br0|eth0|eth1)(@|$)/ { print $3 }' | sort -u)
(($(wc -l <<<"$macs") >= 2)) || g_fail "cannot read the box's MACs: $macs"
# ll_of MAC : the EUI-64 link-local address MAC would give.
ll_of() {
    local b
    IFS=: read -ra b <<<"$1"
    printf 'fe80::%x:%x:%x:%x\n' $(((0x${b[0]} ^ 2) << 8 | 0x${b[1]})) $((0x${b[2]} << 8 | 0xff)) \
        $((0xfe00 | 0x${b[3]})) $((0x${b[4]} << 8 | 0x${b[5]}))
}
br_mac=$(ip -n "$box" -br link show br0 | awk '{ print $3 }')
ip netns exec "$box" timeout 60 socat TCP6-LISTEN:22,reuseaddr,fork SYSTEM:'echo box' </dev/null >/dev/null 2>&1 &
listener=$!
trap 'kill "$dhcpd" "$listener" 2>/dev/null; g_cleanup; rm -rf "$WORK"' EXIT
for _ in $(seq 20); do
    [[ $(ip netns exec "$box" socat -u TCP:127.0.0.1:22 STDOUT 2>/dev/null) == box ]] && break
    sleep 0.1
done
[[ $(ip netns exec "$box" socat -u TCP:127.0.0.1:22 STDOUT 2>/dev/null) == box ]] || g_fail "the box's own listener does not answer from inside"
ip -n "$lan" addr add 2001:db8:2::10/64 dev e0 nodad
ip -n "$wan" addr add 2001:db8:2::20/64 dev e0 nodad
for ns in "$lan" "$wan"; do
    ip netns exec "$ns" nft -f - <<NFT || g_fail "cannot load the frame counter in $ns"
table netdev watch {
    set box { type ether_addr; elements = { $(paste -sd, <<<"$macs") } }
    counter frames {}
    chain in {
        type filter hook ingress device "e0" priority 0; policy accept;
        ether saddr @box ether type arp counter
        ether saddr @box ether type ip counter
        ether saddr @box ether type ip6 counter
        ether saddr @box counter name frames
    }
}
NFT
    ip -n "$ns" neigh replace 192.0.2.1 lladdr "$br_mac" dev e0 nud permanent
    ip -n "$ns" -6 neigh replace 2001:db8:2::1 lladdr "$br_mac" dev e0 nud permanent
done
# box_frames NS : how many frames from the box's MACs NS has seen.
box_frames() {
    ip netns exec "$1" nft list counter netdev watch frames | sed -n 's/.*packets \([0-9]*\).*/\1/p'
}
probes=()
for ns in "$lan" "$wan"; do
    ip netns exec "$ns" ping -n -b -c 2 -i 0.3 -W 1 192.0.2.255 >/dev/null 2>&1 &
    probes+=($!)
    ip netns exec "$ns" ping -n -c 2 -i 0.3 -W 1 ff02::1%e0 >/dev/null 2>&1 &
    probes+=($!)
    for a in 192.0.2.1 2001:db8:2::1 $(for m in $macs; do ll_of "$m"; done | sed 's/$/%e0/'); do
        ip netns exec "$ns" ping -n -c 2 -i 0.3 -W 1 "$a" >/dev/null 2>&1 &
        probes+=($!)
        [[ $a == *:* ]] && t="[$a]" || t=$a
        ip netns exec "$ns" timeout 3 socat -u "TCP:$t:22,connect-timeout=1" STDOUT >"$WORK/tcp-$ns-$a" 2>/dev/null &
        probes+=($!)
    done
done
wait "${probes[@]}" || true
for ns in "$lan" "$wan"; do
    seen=$(box_frames "$ns")
    [[ $seen == 0 ]] || g_fail "$ns saw ${seen:-?} frames from the box's MACs ($(paste -sd' ' <<<"$macs")): $(ip netns exec "$ns" nft list chain netdev watch in)"
    for m in $macs; do
        n=$(ip -n "$ns" -6 neigh show "$(ll_of "$m")" dev e0)
        [[ $n != *lladdr* ]] || g_fail "the box answered a neighbour solicitation for $(ll_of "$m") in $ns: $n"
    done
done
answered=$(cat "$WORK"/tcp-*)
[[ -z $answered ]] || g_fail "the box's TCP listener answered: $answered"
g_say "no frame from the box's MACs on either side: broadcast and all-nodes pings, ping and TCP to its address and to the link-local addresses its MACs would give, neighbour solicitations unanswered"

# Control: with arp_ignore at 0 and rp_filter off the box answers the same
# ARP probe as before, and the LAN host's counter sees it, so the count
# above could see the box.
for k in net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.br0.rp_filter=0 net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.br0.arp_ignore=0; do
    ip netns exec "$box" sysctl -qw "$k"
done
arp=$(ip netns exec "$lan" busybox arping -c 2 -w 3 -I e0 192.0.2.1 2>&1 || true)
seen=$(box_frames "$lan")
[[ $arp != *"Received 0 "* && $seen -ge 1 ]] ||
    g_fail "control: with arp_ignore 0 the box's ARP reply was not seen (arping: $arp; frames counted: $seen)"
g_say "control, arp_ignore 0: the box's ARP reply is answered and counted ($seen frames)"
