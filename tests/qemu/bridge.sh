#!/bin/bash
# The invisible bridge, halted: the appliance's two NICs joined by br0 with
# no address, filtered by the [bridge-filter] profile (eth1, the LAN host's
# side, inside; eth0, the WAN host's, outside), armed and halted. After
# HALTED-OK the LAN host gives up its static address and takes one by DHCP
# from a server on the WAN host, through the halted box; it reaches the WAN
# host, unNATed (bridged, not routed); the WAN host cannot start a
# connection to it except on the profile's forward; ARP scans of the
# subnet from both sides and an all-nodes ping find the two hosts and
# nothing of the box. A unit installed before the halt deletes br0 at its
# stop (as ifupdown's bridge hook does at ifdown); the final stage makes it
# again, and captures on both sides from the halt's start through the
# halted part hold no frame from any MAC but the two hosts': the bridge
# made again never had an address to announce. The control: while the box
# was live its NICs were up with IPv6 on for a few seconds, and the
# capture of that part holds frames from the box's own MACs, so the halted
# captures would show them too. These scans prove the bridge's silence
# (no address, IPv6 off); the profile's own input and output chains are
# proven by the guest test topology/bridge_filter.
set -euo pipefail
# shellcheck source=tests/qemu/lib.sh
source "$(dirname "$0")/lib.sh"

hfw_require_root
hfw_require_cmd socat tcpdump nmap ping busybox
hfw_image

# The harness's hosts (scripts/qemu-run): the only MACs the halted box may
# pass, and never its own.
wan_host_mac=02:48:46:00:00:01 lan_host_mac=02:48:46:00:00:02
lease=198.51.100.100
wan_host=198.51.100.254 far=203.0.113.1

guest=$(mktemp)
cat >"$guest" <<EOF_GUEST
say() { echo "bridge: \$*"; }
# The control: the NICs up with IPv6 on for a while, so that the box sends
# frames of its own (duplicate address detection, router solicitations)
# for the live capture to see; down again before arm, which takes a port
# only with no address on it.
ip link set eth0 up
ip link set eth1 up
sleep 6
ip link set eth0 down
ip link set eth1 down
say "the NICs were up, IPv6 on, for 6 s"
cat >/etc/haltfw/haltfw.conf <<'EOF_CONF'
[interface.lan]
device = br0
bridge = eth0 eth1

[bridge-filter]
bridge = lan
inside = eth1
outside = eth0
forward = tcp 8443 $lease
EOF_CONF
# The saboteur: a unit whose stop deletes br0, one the guards do not know.
$(hfw_sabotage_unit br0 bridge)
say "halting"
haltfw halt || say "haltfw halt failed with \$?"
EOF_GUEST
hfw_boot "$guest"
rm -f "$guest"
trap 'hfw_bg_cleanup; hfw_cleanup' EXIT

hfw_capture_start live_lan lan 400
hfw_capture_start live_wan wan 400
hfw_wait_log '^bridge: the NICs were up' 300 "the guest script's control"
hfw_wait_log '^bridge: halting' 60 "the guest script starting the halt"
# From here on the box is armed, its NICs ports of the silent bridge: not
# one frame of its own, through the halt and the bridge's repair.
hfw_capture_start halt_lan lan 300
hfw_capture_start halt_wan wan 300
# Frames of the hosts' own all along (ARP requests for an address nobody
# has), so that the captures are seen to run through the halt.
hfw_lan timeout 300 ping -n -i 0.5 192.0.2.99 >/dev/null 2>&1 &
pingers=("$!")
hfw_wan timeout 300 ping -n -i 0.5 198.51.100.99 >/dev/null 2>&1 &
pingers+=("$!")
HFW_BG_PIDS+=("${pingers[@]}")
hfw_log_has '^bridge: haltfw halt failed' && hfw_fail "$(hfw_log_clean | grep '^bridge: haltfw halt failed')"
hfw_assert_log '^bridge: saboteur active' "the saboteur unit started"
hfw_expect_halted_ok 300
hfw_capture_stop live_lan
hfw_capture_stop live_wan
kill "${pingers[@]}" 2>/dev/null || true
hfw_capture_stop halt_lan
hfw_capture_stop halt_wan
hfw_assert_log '^hfw-sabotage: br0 deleted at uptime [0-9.]+, status 0' "the saboteur deleting br0 at its stop"
hfw_assert_log 'HALTFW: links: 1 up with 0 addresses; br0 bridges eth0 eth1, silent; repaired: br0 recreated; repaired: br0 set up; repaired: br0 port eth0 put back; repaired: br0 port eth1 put back' \
    "the report: br0 made again with its two ports, silent"
hfw_expect_inert 30

# foreign_macs NAME : source MACs in capture NAME other than the two hosts'.
foreign_macs() {
    hfw_capture_show "$1" -e | awk '{ print $2 }' | sort -u |
        grep -vxF -e "$wan_host_mac" -e "$lan_host_mac" || true
}
live=$(foreign_macs live_lan; foreign_macs live_wan)
[[ $live == *52:54:00:48:46:0[12]* ]] ||
    hfw_fail "the control: no frame from the box's own MACs while it was live (seen: ${live:-none}), so the halted captures prove nothing"
for side in lan wan; do
    mac=$lan_host_mac
    [[ $side == wan ]] && mac=$wan_host_mac
    n=$(hfw_capture_show "halt_$side" -e | grep -c "^[^ ]* $mac " || true)
    ((n > 0)) || hfw_fail "the $side side's capture of the halt holds no frame of its host's own: it did not run"
done
halting=$(foreign_macs halt_lan; foreign_macs halt_wan)
[[ -z $halting ]] || hfw_fail "frames from MACs other than the two hosts' during the halt and the bridge's repair:
$halting"

hfw_capture_start halted_lan lan 300
hfw_capture_start halted_wan wan 300

# DHCP through the halted box: a pool of one address on the WAN host.
lan_if=${HFW_LAN_IF:-lan0} wan_if=${HFW_WAN_IF:-wan0}
printf '%s\n' "start $lease" "end $lease" "interface $wan_if" 'max_leases 1' \
    "lease_file $HFW_OUT/udhcpd.leases" 'option subnet 255.255.255.0' "option router $wan_host" \
    >"$HFW_OUT/udhcpd.conf"
: >"$HFW_OUT/udhcpd.leases"
ip netns exec "$HFW_WAN_NS" timeout 200 busybox udhcpd -f "$HFW_OUT/udhcpd.conf" >"$HFW_OUT/udhcpd.txt" 2>&1 &
HFW_BG_PIDS+=("$!")
hfw_lan ip -4 addr flush dev "$lan_if"
sleep 0.5
out=$(hfw_lan timeout 40 busybox udhcpc -i "$lan_if" -n -q -t 6 -T 3 -s /bin/true 2>&1) ||
    hfw_fail "no DHCP lease through the halted bridge:
$out"
[[ $out == *"lease of $lease obtained"* ]] || hfw_fail "udhcpc: not the pool's address: $out"
hfw_lan ip addr add "$lease/24" dev "$lan_if"
hfw_lan ip route add default via "$wan_host" dev "$lan_if"
hfw_say "a lease of $lease through the halted bridge"

# LAN -> WAN: ping and TCP, which the WAN host sees from the LAN host's own
# address (bridged: nothing translated).
hfw_lan ping -c 2 -W 3 "$far" >"$HFW_OUT/ping-lan-wan.txt" 2>&1 ||
    hfw_fail "LAN -> WAN ping through the halted bridge: $(cat "$HFW_OUT/ping-lan-wan.txt")"
hfw_tcp_listen wan "$far" 8080 120
got=$(hfw_tcp_try lan "$far" 8080) || hfw_fail "LAN -> WAN TCP through the halted bridge failed"
[[ $got == "hfw-pong $lease" ]] || hfw_fail "the WAN host saw '$got', not the LAN host's own address (hfw-pong $lease)"

# WAN -> LAN: a new connection is dropped, but the forward passes.
hfw_tcp_listen lan "$lease" 8081 120
hfw_tcp_listen lan "$lease" 8443 120
if hfw_tcp_try wan "$lease" 8081 3 >/dev/null; then hfw_fail "WAN -> LAN TCP to port 8081 passed the halted bridge"; fi
got=$(hfw_tcp_try wan "$lease" 8443) || hfw_fail "WAN -> LAN TCP to the forward (8443) did not pass"
[[ $got == "hfw-pong $wan_host" ]] || hfw_fail "the LAN host saw '$got' on the forward, not the WAN host (hfw-pong $wan_host)"

# Scans: every address of the subnet by ARP, from each side, and who
# answers an all-nodes ping. Only the other host may answer.
for side in lan wan; do
    ns=$(hfw_ns "$side")
    ip netns exec "$ns" timeout 120 nmap -n -sn -PR 198.51.100.0/24 -oG - >"$HFW_OUT/nmap-$side.txt" 2>&1 ||
        hfw_fail "nmap from the $side side failed: $(tail -n 3 "$HFW_OUT/nmap-$side.txt")"
    up=$(awk '/Status: Up/ { print $2 }' "$HFW_OUT/nmap-$side.txt" | sort | tr '\n' ' ')
    [[ $up == "$lease $wan_host " ]] || hfw_fail "the ARP scan from the $side side found '$up' (only $lease and $wan_host may answer)"
    ifname=$lan_if
    [[ $side == wan ]] && ifname=$wan_if
    ip netns exec "$ns" ping -6 -c 2 -W 2 "ff02::1%$ifname" >"$HFW_OUT/ping6-$side.txt" 2>&1 || true
    if grep -qiE 'fe80::5054:ff:fe48:460[12]' "$HFW_OUT/ping6-$side.txt"; then
        hfw_fail "the halted box answered an all-nodes ping on the $side side: $(cat "$HFW_OUT/ping6-$side.txt")"
    fi
done

hfw_capture_stop halted_lan
hfw_capture_stop halted_wan
hfw_capture_complete halted_lan
hfw_capture_complete halted_wan
n=$(hfw_capture_count halted_lan arp)
((n >= 254)) || hfw_fail "the LAN side's capture holds $n ARP packets, fewer than one scan's"
halted=$(foreign_macs halted_lan; foreign_macs halted_wan)
[[ -z $halted ]] || hfw_fail "frames from MACs other than the two hosts' while halted:
$halted"
hfw_say "halted: no frame from the box on either side ($(hfw_capture_count halted_lan) and $(hfw_capture_count halted_wan) packets captured)"
hfw_stop
hfw_pass
