#!/bin/bash
# The invisible bridge of docs/bridge.md, made by the haltfw installed in
# the image, on the appliance's kernel (bridge conntrack): its config and
# ruleset as the guide gives them. A DHCP server on the WAN side leases an
# address to a LAN client through the bridge; LAN -> WAN ping and TCP pass;
# WAN -> LAN new connections are dropped; the box answers no ARP, even for
# an address of its own.
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
if g_ping "$wan" "$leased" 2 >/dev/null; then g_fail "WAN -> LAN ping (new) passed the bridge"; fi
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
