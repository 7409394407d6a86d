#!/bin/bash
# Scenario 2, forwarding: through the halted box (HALTED-OK, judged by
# 'haltfw verify-console'), the kernel alone forwards, filters and NATs:
#   - LAN->WAN ICMP and TCP pass, to the far host 203.0.113.1 and to the WAN
#     host 198.51.100.254; the servers see the box's WAN address as peer;
#   - a capture on the WAN side meanwhile shows no IPv4 or ARP source but
#     the box's WAN address 198.51.100.1 and the WAN host's own addresses,
#     and never a 192.0.2.x;
#   - WAN->LAN new connections (ping, TCP to a listening LAN host) are
#     dropped: the probes leave the WAN host (WAN capture) and none reaches
#     the LAN host (LAN capture).
set -euo pipefail
# shellcheck source=tests/qemu/lib.sh
source "$(dirname "$0")/lib.sh"

hfw_require_root
hfw_require_cmd tcpdump ping
hfw_image

guest=$(mktemp)
cat >"$guest" <<'EOF_GUEST'
echo "forwarding: halting"
haltfw halt || echo "forwarding: haltfw halt failed with $?"
EOF_GUEST
hfw_boot "$guest"
trap 'hfw_bg_cleanup; hfw_cleanup' EXIT
rm -f "$guest"

hfw_wait_log '^forwarding: halting' 300 "the guest script starting the halt"
hfw_expect_halted_ok 240

# ping_counts FILE : "SENT RECEIVED" from ping's summary line.
ping_counts() {
    sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1 \2/p' "$1"
}

# Servers: one on the WAN host's two addresses, one on the LAN host (the
# target of the WAN->LAN attempts: without a listener a refused connection
# would prove nothing about the firewall).
hfw_tcp_listen wan 0.0.0.0 8080 120
hfw_tcp_listen lan 192.0.2.10 8081 120

# LAN -> WAN, captured on the WAN side.
hfw_capture_start lan_to_wan wan 120
hfw_lan ping -n -c 5 -i 0.2 -W 2 203.0.113.1 >"$HFW_OUT/ping-far.txt" 2>&1 || true
read -r sent_far got_far < <(ping_counts "$HFW_OUT/ping-far.txt") || true
hfw_lan ping -n -c 3 -i 0.2 -W 2 198.51.100.254 >"$HFW_OUT/ping-wan.txt" 2>&1 || true
read -r sent_wan got_wan < <(ping_counts "$HFW_OUT/ping-wan.txt") || true
tcp_far=$(hfw_tcp_try lan 203.0.113.1 8080 5) || tcp_far=
tcp_wan=$(hfw_tcp_try lan 198.51.100.254 8080 5) || tcp_wan=
hfw_capture_stop lan_to_wan
hfw_capture_complete lan_to_wan
wan_packets=$HFW_CAPTURED

from_box=$(hfw_capture_count lan_to_wan 'src host 198.51.100.1')
# No LAN source address (IPv4 or ARP's sender address: tcpdump's 'src
# net' covers both), and no source at all but the box's WAN address and the
# WAN host's own.
lan_src=$(hfw_capture_count lan_to_wan 'src net 192.0.2.0/24')
((lan_src == 0)) || hfw_fail "$lan_src packet(s) with a LAN source address on the WAN side:
$(hfw_capture_show lan_to_wan 'src net 192.0.2.0/24' | head -n 10)"
others='(ip or arp) and not src host 198.51.100.1 and not src host 198.51.100.254 and not src host 203.0.113.1'
other_src=$(hfw_capture_count lan_to_wan "$others")
((other_src == 0)) || hfw_fail "$other_src packet(s) on the WAN side with a source other than 198.51.100.1 and the WAN host's own:
$(hfw_capture_show lan_to_wan "$others" | head -n 10)"

[[ ${got_far:-0} == 5 ]] || hfw_fail "LAN->WAN ping: ${got_far:-0} of ${sent_far:-?} answered by 203.0.113.1 (expected 5 of 5):
$(cat "$HFW_OUT/ping-far.txt")"
[[ ${got_wan:-0} == 3 ]] || hfw_fail "LAN->WAN ping: ${got_wan:-0} of ${sent_wan:-?} answered by 198.51.100.254 (expected 3 of 3):
$(cat "$HFW_OUT/ping-wan.txt")"
[[ $tcp_far == "hfw-pong 198.51.100.1" ]] || hfw_fail "LAN->WAN TCP to 203.0.113.1:8080: expected 'hfw-pong 198.51.100.1' (NATed), got '$tcp_far'"
[[ $tcp_wan == "hfw-pong 198.51.100.1" ]] || hfw_fail "LAN->WAN TCP to 198.51.100.254:8080: expected 'hfw-pong 198.51.100.1' (NATed), got '$tcp_wan'"

# The WAN side saw the traffic, under the box's WAN address: every echo
# request once (ping -c sends exactly that many), and the TCP handshakes.
echo_far=$(hfw_capture_count lan_to_wan 'icmp[icmptype] == icmp-echo and src host 198.51.100.1 and dst host 203.0.113.1')
echo_wan=$(hfw_capture_count lan_to_wan 'icmp[icmptype] == icmp-echo and src host 198.51.100.1 and dst host 198.51.100.254')
((echo_far == 5 && echo_wan == 3)) || hfw_fail "the WAN capture shows $echo_far and $echo_wan echo requests from 198.51.100.1 to 203.0.113.1 and 198.51.100.254 (expected 5 and 3)"
syn='tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn and dst port 8080'
syn_far=$(hfw_capture_count lan_to_wan "src host 198.51.100.1 and dst host 203.0.113.1 and $syn")
syn_wan=$(hfw_capture_count lan_to_wan "src host 198.51.100.1 and dst host 198.51.100.254 and $syn")
((syn_far >= 1 && syn_wan >= 1)) || hfw_fail "the WAN capture shows $syn_far and $syn_wan SYNs from 198.51.100.1 to port 8080 of 203.0.113.1 and 198.51.100.254 (expected at least 1 each)"

# WAN -> LAN: new connections from the WAN host to the LAN host (the WAN
# host routes 192.0.2.0/24 via the box), captured on both sides.
hfw_capture_start wan_to_lan_w wan 60
hfw_capture_start wan_to_lan_l lan 60
hfw_wan ping -n -c 3 -i 0.2 -W 1 192.0.2.10 >"$HFW_OUT/ping-wan-to-lan.txt" 2>&1 || true
read -r sent_in got_in < <(ping_counts "$HFW_OUT/ping-wan-to-lan.txt") || true
tcp_in=$(hfw_tcp_try wan 192.0.2.10 8081 3) || tcp_in=
hfw_capture_stop wan_to_lan_w
hfw_capture_stop wan_to_lan_l
hfw_capture_complete wan_to_lan_l

[[ ${sent_in:-0} == 3 && ${got_in:-x} == 0 ]] || hfw_fail "WAN->LAN ping: expected 3 sent and 0 answered, got ${sent_in:-?} sent and ${got_in:-?} answered:
$(cat "$HFW_OUT/ping-wan-to-lan.txt")"
[[ -z $tcp_in ]] || hfw_fail "WAN->LAN TCP to 192.0.2.10:8081 was answered: '$tcp_in'"
probes="ip and src host 198.51.100.254 and dst host 192.0.2.10 and (icmp[icmptype] == icmp-echo or tcp dst port 8081)"
probes_out=$(hfw_capture_count wan_to_lan_w "$probes")
((probes_out >= 4)) || hfw_fail "the WAN capture shows $probes_out WAN->LAN probes leaving the WAN host (expected at least 4: 3 echo requests, 1 SYN), so their absence on the LAN proves nothing"
# Nothing at all from outside the LAN reached the LAN side meanwhile.
outside_in=$(hfw_capture_count wan_to_lan_l 'ip and not src net 192.0.2.0/24')
((outside_in == 0)) || hfw_fail "$outside_in packet(s) from outside the LAN reached the LAN side:
$(hfw_capture_show wan_to_lan_l 'ip and not src net 192.0.2.0/24' | head -n 10)"

hfw_bg_cleanup
hfw_stop
echo "forwarding: LAN->WAN: ping 5/5 to 203.0.113.1, 3/3 to 198.51.100.254; TCP to both NATed to 198.51.100.1"
echo "forwarding: WAN capture: $wan_packets packets, $from_box from 198.51.100.1, 0 from 192.0.2.0/24, 0 from any other source"
echo "forwarding: WAN->LAN: $probes_out probes left the WAN host (ping 0/3 answered, TCP not answered), 0 packets from outside reached the LAN side"
hfw_pass
