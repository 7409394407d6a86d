#!/bin/bash
# A halted VPN gateway: WireGuard with no process running. The appliance
# has the WAN (eth0) and LAN (eth1) of the other scenarios and a WireGuard
# device wg0 (203.0.113.129/25, port 51820) with two peers: 'laptop', the
# road warrior of this test, and 'site', which never connects (an endpoint,
# an IPv6 allowed prefix, a preshared key: more for the final stage to put
# back). The [gateway] profile opens the port on the WAN and forwards
# between the VPN and the LAN. A unit installed before the halt deletes wg0
# when the shutdown transaction stops it (as wg-quick@.service or ifupdown
# do); the final stage recreates it, and its report says so. Then, halted:
#   - the road warrior, wireguard-go in the WAN host's namespace (this
#     host's kernel has no WireGuard) with the box's WAN address as its
#     endpoint and a keepalive, handshakes and reaches the LAN host through
#     the tunnel: ping, and TCP from its tunnel address (nothing NATed),
#     4 MiB arriving whole;
#   - a ping a second, from its first handshake until more than 180 s
#     after it, loses nothing, and a new handshake came on the way
#     (WireGuard rekeys a session after 120 s: the road warrior starts it,
#     having started the session; the halted kernel answers);
#   - it roams to another source port, then to another source address, and
#     the box's packets follow it (the capture sees them go to each new
#     endpoint);
#   - the box answers nothing on the WAN side but the road warrior's
#     handshakes and tunnel: junk datagrams to 51820 and to 1,030 other UDP
#     ports, a replay of the road warrior's handshake initiation, and a
#     well-formed initiation from a key the box does not know all get no
#     packet back, not even an ICMP error (one capture of it all); a TCP SYN
#     scan of all 65,535 ports finds every one filtered (no SYN-ACK, no RST),
#     every probe having reached the VM (the tap dropped none).
# The host-side peers are scripts/lib/wg_peer.sh's (the benchmark's too);
# the test's keys stay in its log directory ($HFW_OUT/wg, and the guest
# script there).
set -euo pipefail
# shellcheck source=tests/qemu/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/lib/wg_peer.sh
source "$HFW_REPO/scripts/lib/wg_peer.sh"

hfw_require_root
hfw_require_cmd socat tcpdump nmap ping python3 wg wireguard-go cmp
hfw_image
# About 5 minutes of VM time (300 s on a quiet host: 45 s to the report,
# 190 s of them the long ping, 67 s the TCP scan); room for a loaded one.
HFW_VM_TIMEOUT=${HALTFW_VM_TIMEOUT:-780}

box=198.51.100.1 lan_host=192.0.2.10 box_tunnel=203.0.113.129 rw_tunnel=203.0.113.130
wan_host=198.51.100.254 roam_addr=198.51.100.77 junk_src=203.0.113.1
rw_port=40001 roam_port=40002 stranger_port=40009

mkdir -p "$HFW_OUT"
hfw_wg_keys box laptop site stranger
hfw_wg_psk laptop
hfw_wg_psk site
box_pub=$(hfw_wg_get box.pub)

# The guest script holds the box's private and preshared keys: it is made
# in the log directory (hfw_boot copies it to guest.sh there), mode 0600.
guest=$HFW_OUT/guest-source.sh
(umask 077 && : >"$guest")
cat >"$guest" <<EOF_GUEST
say() { echo "wireguard: \$*"; }
# key FILE KEY : a key file as haltfw wants it: root's, mode 0600.
key() { install -m 0600 /dev/null "/etc/haltfw/\$1" && printf '%s\n' "\$2" >"/etc/haltfw/\$1"; }
key wg0.key '$(hfw_wg_get box.key)'
key laptop.psk '$(hfw_wg_get laptop.psk)'
key site.psk '$(hfw_wg_get site.psk)'
cat >/etc/haltfw/haltfw.conf <<'EOF_CONF'
$(hfw_wg_box_interfaces)

[peer.site]
interface = vpn
public-key = $(hfw_wg_get site.pub)
allowed-ips = 203.0.113.131/32
allowed-ips = 2001:db8:5::/48
endpoint = 198.51.100.78:51820
preshared-key-file = site.psk

[gateway]
lan = lan
vpn = vpn
wan = wan

[sysctl]
net.ipv4.ip_forward = 1
EOF_CONF
# The saboteur: a unit whose stop deletes wg0, one the guards do not know.
$(hfw_sabotage_unit wg0 wireguard)
haltfw check 2>&1 | sed 's/^/wireguard: check: /'
if haltfw apply >/dev/null 2>&1; then
    haltfw status 2>&1 | sed 's/^/wireguard: status: /'
else
    say "haltfw apply failed"
    haltfw apply 2>&1 | sed 's/^/wireguard: apply: /'
fi
say "halting"
haltfw halt || say "haltfw halt failed with \$?"
EOF_GUEST
hfw_boot "$guest"
rm -f "$guest"
trap 'hfw_bg_cleanup; hfw_cleanup' EXIT
t_boot=$(hfw_now)

hfw_wait_log '^wireguard: (halting|haltfw apply failed)' 300 "the guest script starting the halt"
hfw_log_has '^wireguard: (haltfw apply|haltfw halt) failed' &&
    hfw_fail "in the guest: $(hfw_log_clean | grep -E '^wireguard: (haltfw|apply)')"
hfw_assert_log '^wireguard: saboteur active' "the saboteur unit started"
hfw_assert_log '^wireguard: status: .*wireguard: public key '"${box_pub//+/\\+}"', listen port 51820, 2 peers' \
    "haltfw status: wg0 with the box's public key, port 51820 and 2 peers"
hfw_expect_halted_ok 300
hfw_assert_log '^hfw-sabotage: wg0 deleted at uptime [0-9.]+, status 0' "the saboteur deleting wg0 at its stop"
# The fast path's flowtable names wg0: the deletion took wg0 out of it with
# no new ruleset generation, so the final stage, having made wg0 again,
# reads the ruleset whole and restores the armed one.
hfw_assert_log 'HALTFW: ruleset: digest was [0-9a-f]{64}, restored from the manifest: now [0-9a-f]{64} as armed' \
    "the report: the ruleset read whole and restored after wg0 was made again"
hfw_assert_log 'HALTFW: links: 3 up with 3 addresses' "the report: eth0, eth1 and wg0 up with their addresses"
hfw_assert_log 'HALTFW: wireguard: wg0 with 2 peers as armed' "the report's wireguard line (wg0 with 2 peers as armed)"
hfw_assert_log 'HALTFW: wireguard: wg0 with 2 peers as armed; repaired: wg0 recreated' \
    "the report saying wg0 was recreated ('; repaired: wg0 recreated')"
hfw_expect_inert 30
hfw_say "halted (HALTED-OK $(hfw_since "$t_boot") s after the boot started); wg0 recreated by the final stage"

# Everything on the WAN side from here to the port scan, but the 4 MiB
# transfer (thousands of packets in a second or two, which tcpdump here
# cannot always keep up with): captures 'start' and 'tunnel'.
hfw_capture_start start wan 120

# The road warrior, as wg-quick on a laptop would set it: the box as its
# endpoint, a keepalive, the LAN host and the box's tunnel address routed
# through the tunnel.
rw=$(hfw_wg_name rw)
hfw_wg_road_warrior "$HFW_WAN_NS" "$rw" laptop "$box_pub" laptop "$box:51820" "$rw_port" "$rw_tunnel/32" \
    "$lan_host/32" "$box_tunnel/32"
rw_pid=$HFW_WG_PID
t1=$(hfw_wg_wait_handshake "$HFW_WAN_NS" "$rw" "$lan_host" 30)
hfw_say "first handshake at $t1 ($(($(date +%s) - t1)) s ago)"
hfw_wan ping -n -c 3 -i 0.3 -W 2 "$box_tunnel" >"$HFW_OUT/ping-box-tunnel.txt" 2>&1 ||
    hfw_fail "the box's tunnel address $box_tunnel does not answer through the tunnel: $(tail -n 2 "$HFW_OUT/ping-box-tunnel.txt")"

# TCP through the tunnel: the LAN host sees the tunnel address, and 4 MiB
# arrive whole.
hfw_tcp_listen lan "$lan_host" 8080 300
got=$(hfw_tcp_try wan "$lan_host" 8080) || hfw_fail "no TCP answer from $lan_host:8080 through the tunnel"
[[ $got == "hfw-pong $rw_tunnel" ]] || hfw_fail "through the tunnel the LAN host saw '$got', not the road warrior's tunnel address ($rw_tunnel)"
hfw_capture_stop start
hfw_capture_complete start
# The road warrior's first handshake initiation, to replay later.
replay=$(hfw_capture_show start -c 1 -x "ip dst $box and udp src port $rw_port and udp[8] == 1" |
    awk '/^[[:space:]]*0x[0-9a-f]+:/ { for (i = 2; i <= NF; i++) printf "%s", $i }') || true
replay=${replay:56}
((${#replay} == 296)) || hfw_fail "no handshake initiation of the road warrior in the capture to replay (${#replay} hex digits)"
head -c 4194304 /dev/urandom >"$HFW_OUT/bulk.bin"
hfw_lan timeout 90 socat -u "OPEN:$HFW_OUT/bulk.bin" "TCP-LISTEN:8081,bind=$lan_host,reuseaddr" \
    >"$HFW_OUT/bulk-server.txt" 2>&1 &
HFW_BG_PIDS+=("$!")
for ((i = 0; i < 100; i++)); do
    hfw_lan ss -Hltn "sport = :8081" | grep -q . && break
    sleep 0.1
done
t0=$(hfw_now)
hfw_wan timeout 80 socat -u "TCP:$lan_host:8081,connect-timeout=5" "CREATE:$HFW_OUT/bulk.got" >"$HFW_OUT/bulk-client.txt" 2>&1 ||
    hfw_fail "the 4 MiB TCP transfer through the tunnel failed: $(cat "$HFW_OUT/bulk-client.txt")"
cmp -s "$HFW_OUT/bulk.bin" "$HFW_OUT/bulk.got" ||
    hfw_fail "the 4 MiB through the tunnel did not arrive whole ($(stat -c %s "$HFW_OUT/bulk.got" 2>/dev/null || echo 0) bytes)"
hfw_say "4 MiB from the LAN host through the tunnel in $(hfw_since "$t0") s, whole"
rm -f "$HFW_OUT/bulk.bin" "$HFW_OUT/bulk.got"

# A ping a second until more than 180 s after the first handshake (past
# the 120 s rekey), every one to be answered.
hfw_capture_start tunnel wan 360
now=$(date +%s)
count=$((t1 + 186 - now))
((count >= 150)) || hfw_fail "the tunnel's checks took $((now - t1)) s: too little of the 180 s left for the long ping"
hfw_wan timeout $((count + 30)) ping -n -D -O -i 1 -c "$count" -W 3 "$lan_host" >"$HFW_OUT/ping-long.txt" 2>&1 &
long=$!
HFW_BG_PIDS+=("$long")

# Meanwhile: what the box answers on its WAN side. A stranger: wireguard-go
# with a key the box does not know, its initiations well-formed (their MAC
# is made with the box's public key), retried every 5 s.
sleep 3
stranger=$(hfw_wg_name st)
hfw_wg_start "$HFW_WAN_NS" "$stranger" 120
stranger_pid=$HFW_WG_PID
wg set "$stranger" private-key "$HFW_WG_DIR/stranger.key" listen-port "$stranger_port" \
    peer "$box_pub" endpoint "$box:51820" persistent-keepalive 1 allowed-ips 192.0.2.99/32 ||
    hfw_fail "wg set $stranger failed"
ip -n "$HFW_WAN_NS" link set dev "$stranger" up
# Junk from the far host's address: to 51820 (random bytes under each
# message type, a text line, one byte, a full-size datagram, and a replay
# of the road warrior's first handshake initiation), then a datagram to
# each of 1,030 other ports.
# shellcheck disable=SC2016 # Python
hfw_wan timeout 60 python3 -c '
import os, socket, sys, time
box, src, replay = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
junk = [bytes([t]) + os.urandom(n) for t, n in ((1, 147), (2, 91), (3, 63), (4, 31), (4, 1407))]
junk += [b"hfw-junk\n", os.urandom(1), replay, replay]
n = 0
for j in junk:
    s.sendto(j, (box, 51820)); n += 1; time.sleep(0.05)
for port in list(range(1, 1025)) + [1194, 4500, 51821, 51819, 60000, 65535]:
    s.sendto(b"hfw-junk\n", (box, port)); n += 1; time.sleep(0.004)
print(n)' "$box" "$junk_src" "$replay" >"$HFW_OUT/junk.txt" 2>&1 || hfw_fail "sending the junk failed: $(cat "$HFW_OUT/junk.txt")"
junk_sent=$(cat "$HFW_OUT/junk.txt")
sleep 6
hfw_wg_stop "$stranger_pid" "$stranger"
hfw_say "junk sent: $junk_sent datagrams; the stranger's wireguard-go stopped"

wait "$long" || true
sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$HFW_OUT/ping-long.txt")
received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$HFW_OUT/ping-long.txt")
last=$(sed -n 's/^\[\([0-9]*\)\.[0-9]*\] [0-9]* bytes from .*/\1/p' "$HFW_OUT/ping-long.txt" | tail -n 1)
t2=$(hfw_wg_handshake "$rw")
late=$(grep -c 'no answer yet' "$HFW_OUT/ping-long.txt" || true)
hfw_say "long ping: ${sent:-0} sent, ${received:-0} answered ($late answered after more than 1 s), the last answer $((${last:-0} - t1)) s after the first handshake; latest handshake $((t2 - t1)) s after the first"
[[ ${sent:-0} == "$count" ]] || hfw_fail "the long ping sent ${sent:-0} of $count: $(tail -n 3 "$HFW_OUT/ping-long.txt")"
[[ ${received:-0} == "$sent" ]] ||
    hfw_fail "the long ping through the halted box lost $((sent - ${received:-0})) of $sent (ping -O's lines in ping-long.txt say which):
$(grep 'no answer yet' "$HFW_OUT/ping-long.txt" | head -n 10)"
((${last:-0} > t1 + 180)) || hfw_fail "the last answer came $((${last:-0} - t1)) s after the first handshake, not more than 180 s"
((t2 >= t1 + 100)) || hfw_fail "no new handshake after the first (latest $((t2 - t1)) s after it): the session was not rekeyed"

# Roaming: another source port, then another source address (wireguard-go
# sends from the address it last heard the box at until the endpoint is
# set again).
wg set "$rw" listen-port "$roam_port" || hfw_fail "wg set $rw listen-port $roam_port failed"
hfw_wan ping -n -c 5 -i 0.3 -W 2 "$lan_host" >"$HFW_OUT/ping-roam-port.txt" 2>&1 ||
    hfw_fail "after the road warrior moved to port $roam_port the LAN host did not answer: $(tail -n 2 "$HFW_OUT/ping-roam-port.txt")"
ip -n "$HFW_WAN_NS" addr add "$roam_addr/24" dev "$HFW_WAN_IF"
ip -n "$HFW_WAN_NS" route replace "$box/32" dev "$HFW_WAN_IF" src "$roam_addr"
wg set "$rw" peer "$box_pub" endpoint "$box:51820" || hfw_fail "wg set $rw peer endpoint failed"
hfw_wan ping -n -c 5 -i 0.3 -W 2 "$lan_host" >"$HFW_OUT/ping-roam-addr.txt" 2>&1 ||
    hfw_fail "after the road warrior moved to $roam_addr the LAN host did not answer: $(tail -n 2 "$HFW_OUT/ping-roam-addr.txt")"
got=$(hfw_tcp_try wan "$lan_host" 8080) || hfw_fail "no TCP answer through the tunnel after roaming"
[[ $got == "hfw-pong $rw_tunnel" ]] || hfw_fail "after roaming the LAN host saw '$got', not $rw_tunnel"
hfw_capture_stop tunnel
hfw_capture_complete tunnel

# The captures: who said what on the WAN side.
count_of() { echo $(($(hfw_capture_count start "$1") + $(hfw_capture_count tunnel "$1"))); }
rw_init=$(count_of "ip dst $box and udp dst port 51820 and ip src $wan_host and udp src port $rw_port and udp[8] == 1")
box_resp=$(count_of "ip src $box and udp src port 51820 and ip dst $wan_host and udp dst port $rw_port and udp[8] == 2")
box_init=$(count_of "ip src $box and udp src port 51820 and udp[8] == 1")
stranger_init=$(count_of "ip dst $box and udp src port $stranger_port and udp[8] == 1")
junk_seen=$(count_of "ip src $junk_src and ip dst $box and udp")
to_port=$(count_of "ip src $box and udp src port 51820 and ip dst $wan_host and udp dst port $roam_port")
to_addr=$(count_of "ip src $box and udp src port 51820 and ip dst $roam_addr and udp dst port $roam_port")
tunnel_ok="udp src port 51820 and ((ip dst $wan_host and (udp dst port $rw_port or udp dst port $roam_port)) or (ip dst $roam_addr and udp dst port $roam_port))"
other=$(count_of "ip src $box and not ($tunnel_ok)")
hfw_say "WAN captures: handshake initiations $rw_init from the road warrior, $box_init from the box, $box_resp responses from the box; $stranger_init initiations from the stranger; $junk_seen junk datagrams; after roaming $to_port and $to_addr packets from the box to the new endpoints; $other other packets from the box"
((rw_init >= 2 && box_resp >= 2)) ||
    hfw_fail "expected the first handshake and the rekey: $rw_init initiations from the road warrior, $box_resp responses from the box"
((stranger_init >= 1)) || hfw_fail "the stranger sent no handshake initiation: the no-answer to it proves nothing"
((junk_seen == junk_sent)) || hfw_fail "the capture holds $junk_seen of the $junk_sent junk datagrams"
((to_port >= 5)) || hfw_fail "after the port change the box sent $to_port packets to $wan_host:$roam_port (expected the 5 replies at least)"
((to_addr >= 5)) || hfw_fail "after the address change the box sent $to_addr packets to $roam_addr:$roam_port (expected the 5 replies at least)"
((other == 0)) || hfw_fail "the box sent $other packets on the WAN side that are not the road warrior's tunnel (answers to junk, a replay, a stranger; ICMP errors):
$({ hfw_capture_show start "ip src $box and not ($tunnel_ok)"; hfw_capture_show tunnel "ip src $box and not ($tunnel_ok)"; } | head -n 10)"

# A TCP SYN scan of every port of the box's WAN address: all filtered, no
# packet back, and every probe taken by QEMU from the tap (none dropped for
# a full queue, so no port was left unprobed). The capture takes only what
# the box sends: at the scan's rate, a capture of every probe could fall
# behind on a busy host.
hfw_capture_start scan wan 300 ip src "$box"
read -r -a tap0 < <(hfw_tap_stats wan)
t0=$(hfw_now)
hfw_wan timeout 300 nmap -n -Pn -sS -p- -T4 --max-retries 1 --min-rate 2000 --host-timeout 240s \
    -oG "$HFW_OUT/scan-tcp.g" "$box" >"$HFW_OUT/scan-tcp.txt" 2>&1 || hfw_fail "nmap -sS failed: $(tail -n 5 "$HFW_OUT/scan-tcp.txt")"
read -r -a tap1 < <(hfw_tap_stats wan)
hfw_capture_stop scan
hfw_capture_complete scan
ports=$(grep -F "Host: $box ()" "$HFW_OUT/scan-tcp.g" | grep -F 'Ports:' || true)
[[ $ports == *"	Ports: 	Ignored State: filtered (65535)" ]] ||
    hfw_fail "the TCP scan of $box: expected all 65535 ports filtered, got: ${ports:-no Ports line ($(tail -n 3 "$HFW_OUT/scan-tcp.txt"))}"
from_box=$(hfw_capture_count scan "ip src $box and not ($tunnel_ok)")
probes=$((tap1[0] - tap0[0]))
((from_box == 0)) || hfw_fail "during the TCP scan the box sent $from_box packets: $(hfw_capture_show scan "ip src $box and not ($tunnel_ok)" | head -n 5)"
((tap1[1] == tap0[1])) || hfw_fail "harness: the WAN tap dropped $((tap1[1] - tap0[1])) packets during the scan (its queue full): ports may have gone unprobed"
((probes >= 65535)) || hfw_fail "the capture holds $probes SYN probes, fewer than the 65535 ports"
hfw_say "TCP SYN scan: 65535 ports filtered, $probes packets into the box, nothing from it ($(hfw_since "$t0") s)"

hfw_wg_stop "$rw_pid" "$rw"
hfw_say "VM time: $(hfw_since "$t_boot") s"
hfw_stop
hfw_pass
