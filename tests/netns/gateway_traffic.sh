#!/bin/bash
# The gateway profile against real traffic. This test's own namespace is the
# router, running only what 'haltfw apply' loads from [gateway] (no halt);
# a LAN namespace and a WAN namespace sit on either side of it, on veth pairs:
#
#   LAN ns  192.0.2.10, .20 (a second client address), 2001:db8:2::10
#     | eth0 -- lan0: 192.0.2.1/24, 2001:db8:2::1/64
#   router (here)
#     | wan0 -- eth0: 198.51.100.1/24, 2001:db8:1::1/64
#   WAN ns  198.51.100.254, 2001:db8:1::fffe (the upstream router), and the
#           far host 203.0.113.1, 2001:db8:3::1 on its loopback
#
# Servers (python3) answer each connection or datagram with the peer address
# they saw and log it, so every check reads what the far side saw.
# Checked: LAN->WAN NATed to the WAN address (IPv6 routed as it is); the port
# forwards from the WAN and, by the WAN address, from the LAN (hairpin); a
# rules file extending the profile in the same transaction; WAN->LAN and
# connections to the box dropped; NetBIOS blocked while tcp 80 passes; ping to
# the box rate-limited; IPv6 neighbour discovery through the input policy;
# spoofed sources from both sides dropped. Two controls at the end show the
# checks would see a failure: without the anti-spoofing rules the spoofed
# packets arrive, and without the ND rule the box's IPv6 address is unreachable.
. "$(dirname "$0")/lib.sh"

LAN=hfw-gw-lan-$$
WAN=hfw-gw-wan-$$
SERVER_PIDS=()
cleanup() {
    for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    del_lan_wan
    rm -rf "$WORK"
}
trap cleanup EXIT

# ---- the network ----
make_lan_wan
in_lan ip addr add 192.0.2.10/24 dev eth0
in_lan ip addr add 192.0.2.20/24 dev eth0
in_lan ip addr add 2001:db8:2::10/64 dev eth0 nodad
in_lan ip route add default via 192.0.2.1
in_lan ip -6 route add default via 2001:db8:2::1
in_wan ip addr add 198.51.100.254/24 dev eth0
in_wan ip addr add 2001:db8:1::fffe/64 dev eth0 nodad
in_wan ip addr add 203.0.113.1/32 dev lo
in_wan ip addr add 2001:db8:3::1/128 dev lo
# The far side takes any source (rp_filter is inherited from the host), so
# that the controls below see a spoofed packet that got through.
in_wan sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0
# The upstream router knows the LAN prefixes (so that "WAN->LAN dropped" is
# the firewall's doing, not a missing route) and the IPv6 LAN is routed.
in_wan ip route add 192.0.2.0/24 via 198.51.100.1
in_wan ip -6 route add 2001:db8:2::/64 via 2001:db8:1::1

# ---- the router: [gateway] plus a rules file that extends it ----
cat >"$WORK/extra.nft" <<'NFT'
# Loaded after the profile, in the same transaction: the LAN host's tcp 81,
# opened from the WAN over IPv6.
add rule inet gateway forward_extra iifname "wan0" oifname "lan0" ip6 daddr 2001:db8:2::10 tcp dport 81 accept
NFT
cat >"$WORK/haltfw.conf" <<CONF
[ruleset]
file = $WORK/extra.nft

[interface.wan]
device = wan0
address = 198.51.100.1/24
address = 2001:db8:1::1/64
gateway = 198.51.100.254
gateway6 = 2001:db8:1::fffe

[interface.lan]
device = lan0
address = 192.0.2.1/24
address = 2001:db8:2::1/64

[sysctl]
# rp_filter off, so that dropping spoofed sources is the profile's doing alone.
net.ipv4.conf.all.rp_filter = 0
net.ipv4.conf.default.rp_filter = 0
net.ipv4.conf.wan0.rp_filter = 0
net.ipv4.conf.lan0.rp_filter = 0

[gateway]
# The kernel here may have no flowtables (the appliance's has: tests/guest/gateway).
fastpath = no
lan = lan
wan = wan
masquerade = yes
forward = tcp 8080 192.0.2.10 80
forward = udp 9000-9001 192.0.2.10
forward = udp 9000 2001:db8:2::10
icmp = yes
block = netbios
CONF

run_haltfw 0 --config "$WORK/haltfw.conf" apply
expect_contains "apply" "$OUT" "load the ruleset (the gateway profile and 1 rules file) in one transaction"
expect_eq "ip_forward, from [gateway]" "$(cat /proc/sys/net/ipv4/ip_forward)" 1
expect_eq "IPv6 forwarding, from [gateway]" "$(cat /proc/sys/net/ipv6/conf/all/forwarding)" 1
expect_eq "rp_filter on wan0" "$(cat /proc/sys/net/ipv4/conf/wan0/rp_filter)" 0
run_haltfw 0 --config "$WORK/haltfw.conf" apply
expect_eq "second apply" "$OUT" "nothing to change: the live state matches $WORK/haltfw.conf"
run_haltfw 0 --config "$WORK/haltfw.conf" show-ruleset
expect_contains "show-ruleset" "$OUT" "# Then the [ruleset] files, in this order:
#   $WORK/extra.nft (line 2)"
expect_contains "the rules file's rule is live" "$(nft list chain inet gateway forward_extra)" "tcp dport 81 accept"

# Duplicate address detection: the router's IPv6 addresses must be usable.
for _ in $(seq 50); do
    [ -z "$(ip -6 addr show tentative)" ] && break
    sleep 0.2
done
[ -z "$(ip -6 addr show tentative)" ] || fail "IPv6 addresses still tentative after 10 s: $(ip -6 addr show tentative)"

# ---- servers and client ----
cat >"$WORK/server.py" <<'PY'
# server.py LOG SECONDS PROTO/ADDR/PORT...: answers each TCP connection and
# UDP datagram with the peer address it saw, logs "PROTO PORT PEER", and exits
# after SECONDS.
import selectors, socket, sys, time
log = open(sys.argv[1], "a", buffering=1)
deadline = time.monotonic() + float(sys.argv[2])
sel = selectors.DefaultSelector()
for spec in sys.argv[3:]:
    proto, addr, port = spec.split("/")
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET,
                      socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))
    if proto == "tcp":
        s.listen(16)
    sel.register(s, selectors.EVENT_READ, (proto, port))
open(sys.argv[1] + ".ready", "w").close()
while (left := deadline - time.monotonic()) > 0:
    for key, _ in sel.select(timeout=min(left, 1.0)):
        proto, port = key.data
        if proto == "tcp":
            conn, peer = key.fileobj.accept()
        else:
            data, peer = key.fileobj.recvfrom(2048)
        log.write(f"{proto} {port} {peer[0]}\n")
        try:
            if proto == "tcp":
                conn.settimeout(1)
                conn.sendall((peer[0] + "\n").encode())
                conn.close()
            else:
                key.fileobj.sendto((peer[0] + "\n").encode(), peer)
        except OSError:
            pass
PY
cat >"$WORK/client.py" <<'PY'
# client.py PROTO DST PORT [SRC] [--send-only]: prints what the server
# answered (the address it saw), or why there was no answer. 1.5 s at most.
import socket, sys
proto, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
src = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] != "--send-only" else None
s = socket.socket(socket.AF_INET6 if ":" in dst else socket.AF_INET,
                  socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
s.settimeout(1.5)
try:
    if src:
        s.bind((src, 0))
    if proto == "tcp":
        s.connect((dst, port))
    else:
        s.sendto(b"hello\n", (dst, port))
        if "--send-only" in sys.argv:
            sys.exit(0)
    print(s.recv(256).decode().strip())
except socket.timeout:
    print("timed out")
    sys.exit(1)
except OSError as e:
    print(e.strerror)
    sys.exit(1)
PY

# start_servers NS NAME SPEC...: servers in NS, logging to $WORK/NAME.log.
start_servers() {
    local ns=$1 name=$2
    shift 2
    ip netns exec "$ns" timeout 100 python3 "$WORK/server.py" "$WORK/$name.log" 90 "$@" &
    SERVER_PIDS+=($!)
    for _ in $(seq 50); do
        [ -e "$WORK/$name.log.ready" ] && return
        sleep 0.1
    done
    fail "the $name servers did not start"
}
start_servers "$LAN" lan tcp/192.0.2.10/80 tcp/2001:db8:2::10/81 tcp/2001:db8:2::10/82 \
    udp/192.0.2.10/9000 udp/192.0.2.10/9001 udp/2001:db8:2::10/9000
start_servers "$WAN" wan tcp/203.0.113.1/80 tcp/203.0.113.1/445 udp/203.0.113.1/137 udp/203.0.113.1/7 \
    tcp/2001:db8:3::1/80

# client NS ARGS...: client.py in NS; its answer in $GOT.
client() {
    local ns=$1
    shift
    GOT=$(ip netns exec "$ns" timeout 5 python3 "$WORK/client.py" "$@" 2>&1) || true
}
# expect_client WHAT NS EXPECTED ARGS...
expect_client() {
    local what=$1 ns=$2 want=$3
    shift 3
    client "$ns" "$@"
    expect_eq "$what" "$GOT" "$want"
}

# ---- ping to the box, rate-limited (first: the limit's bucket is full) ----
# 40 echo requests at 50 per second from one ping process: a single
# conntrack entry, so only the rule ahead of the conntrack rule limits them.
ping_out=$(in_lan timeout 10 ping -n -q -c 40 -i 0.02 -W 1 192.0.2.1 2>&1 || true)
answered=$(printf '%s\n' "$ping_out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
[ -n "$answered" ] || fail "ping: no summary: $ping_out"
echo "ping to the box: 40 sent at 50/s, $answered answered (limit 5/second, burst 10)"
[ "$answered" -ge 8 ] && [ "$answered" -le 25 ] || fail "ping: $answered of 40 answered; expected 8 to 25 (the limit: burst 10 then 5/s)"
sleep 2.5  # the bucket refills
ping_out=$(in_lan timeout 10 ping -n -q -c 3 -i 0.3 -W 1 192.0.2.1 2>&1 || true)
expect_contains "a slow ping to the box" "$ping_out" "3 packets transmitted, 3 received"

# ---- IPv6 neighbour discovery through the input policy ----
ip -6 neigh flush dev lan0
in_lan ip -6 neigh flush dev eth0
ping_out=$(in_lan timeout 10 ping -n -q -6 -c 3 -i 0.3 -W 2 2001:db8:2::1 2>&1 || true)
expect_contains "IPv6 ping to the box's LAN address" "$ping_out" "3 packets transmitted, 3 received"
expect_contains "the box resolved the LAN host" "$(ip -6 neigh show dev lan0 2001:db8:2::10)" "lladdr"
expect_contains "the LAN host resolved the box" "$(in_lan ip -6 neigh show dev eth0 2001:db8:2::1)" "lladdr"

# ---- LAN -> WAN ----
expect_client "LAN->WAN tcp 80: the far host sees the WAN address (NAT)" "$LAN" 198.51.100.1 tcp 203.0.113.1 80
expect_client "LAN->WAN IPv6: routed, not translated" "$LAN" 2001:db8:2::10 tcp 2001:db8:3::1 80
expect_client "LAN->WAN tcp 445 (netbios) is blocked" "$LAN" "timed out" tcp 203.0.113.1 445
client "$LAN" udp 203.0.113.1 137 --send-only
client "$LAN" udp 203.0.113.1 7 --send-only
sleep 0.5
expect_contains "LAN->WAN udp 7 arrives" "$(cat "$WORK/wan.log")" "udp 7 198.51.100.1"
if grep -q "^tcp 445 \|^udp 137 " "$WORK/wan.log"; then fail "netbios reached the WAN: $(cat "$WORK/wan.log")"; fi

# ---- port forwards ----
expect_client "forward tcp 8080 from the WAN: the LAN host sees the WAN host" "$WAN" 198.51.100.254 tcp 198.51.100.1 8080
expect_client "forward tcp 8080 from the LAN by the WAN address (hairpin): the LAN host sees the box" \
    "$LAN" 192.0.2.1 tcp 198.51.100.1 8080 192.0.2.20
expect_client "forward udp 9000-9001 from the WAN" "$WAN" 198.51.100.254 udp 198.51.100.1 9001
expect_client "forward udp 9000 to the IPv6 LAN host, untranslated" "$WAN" 2001:db8:1::fffe udp 2001:db8:2::10 9000
expect_client "the rules file's IPv6 tcp 81" "$WAN" 2001:db8:1::fffe tcp 2001:db8:2::10 81
expect_client "IPv6 tcp 82 (not opened)" "$WAN" "timed out" tcp 2001:db8:2::10 82

# ---- what the policy drops ----
expect_client "WAN->LAN tcp 80, not forwarded" "$WAN" "timed out" tcp 192.0.2.10 80
expect_client "LAN->box tcp 22: dropped, not refused" "$LAN" "timed out" tcp 192.0.2.1 22
expect_client "WAN->box tcp 8081: dropped" "$WAN" "timed out" tcp 198.51.100.1 8081

# ---- spoofed sources ----
# From the WAN with LAN sources, to the forwards (which would let them in):
# 192.0.2.99 to the udp forward, 2001:db8:2::99 to the IPv6 one.
in_wan ip addr add 192.0.2.99/32 dev eth0
in_wan ip addr add 2001:db8:2::99/128 dev eth0 nodad
# From the LAN with a source outside the LAN's prefixes, to the far host.
in_lan ip addr add 203.0.113.50/32 dev eth0
spoof() {
    client "$WAN" udp 198.51.100.1 9000 192.0.2.99 --send-only
    client "$WAN" udp 2001:db8:2::10 9000 2001:db8:2::99 --send-only
    client "$LAN" udp 203.0.113.1 7 203.0.113.50 --send-only
    sleep 0.5
}
# count LOG PATTERN: lines of $WORK/LOG.log matching PATTERN.
count() { grep -c "$2" "$WORK/$1.log" || true; }
udp9000_v4=$(count lan '^udp 9000 [0-9.]*$')
udp9000_v6=$(count lan '^udp 9000 .*:')
udp7=$(count wan '^udp 7 ')
spoof
expect_eq "spoofed IPv4 LAN source from the WAN: nothing reached the LAN" "$(count lan '^udp 9000 [0-9.]*$')" "$udp9000_v4"
expect_eq "spoofed IPv6 LAN source from the WAN: nothing reached the LAN" "$(count lan '^udp 9000 .*:')" "$udp9000_v6"
expect_eq "spoofed source from the LAN: nothing reached the WAN" "$(count wan '^udp 7 ')" "$udp7"

# ---- controls: the checks above would have seen a failure ----
# Without the anti-spoofing rules the same packets arrive.
nft flush chain inet gateway antispoof
# (The IPv4 one arrives from the box's LAN address: a DNATed connection from
# a LAN source is what the hairpin rule masquerades.)
spoof
expect_eq "control: spoofed IPv4 from the WAN, without anti-spoofing" "$(count lan '^udp 9000 [0-9.]*$')" "$((udp9000_v4 + 1))"
expect_eq "control: spoofed IPv6 from the WAN, without anti-spoofing" "$(count lan '^udp 9000 2001:db8:2::99$')" 1
expect_eq "control: spoofed source from the LAN, without anti-spoofing" "$(count wan '^udp 7 203.0.113.50$')" 1
# Without the neighbour discovery rule the box's IPv6 address is unreachable
# (solicitations are not tracked: nothing else in input accepts them).
handle=$(nft -a list chain inet gateway input | sed -n 's/.*nd-neighbor-solicit.* # handle \([0-9]*\)$/\1/p')
[ -n "$handle" ] || fail "control: no ND rule in $(nft -a list chain inet gateway input)"
nft delete rule inet gateway input handle "$handle"
ip -6 neigh flush dev lan0
in_lan ip -6 neigh flush dev eth0
ping_out=$(in_lan timeout 10 ping -n -q -6 -c 2 -i 0.3 -W 2 2001:db8:2::1 2>&1 || true)
expect_contains "control: IPv6 ping to the box without the ND rule" "$ping_out" "2 packets transmitted, 0 received"

# apply puts the whole profile back.
run_haltfw 0 --config "$WORK/haltfw.conf" apply
expect_contains "apply after the controls" "$OUT" "load the ruleset (the gateway profile and 1 rules file) in one transaction"
ip -6 neigh flush dev lan0
in_lan ip -6 neigh flush dev eth0
ping_out=$(in_lan timeout 10 ping -n -q -6 -c 2 -i 0.3 -W 2 2001:db8:2::1 2>&1 || true)
expect_contains "IPv6 ping to the box after apply" "$ping_out" "2 packets transmitted, 2 received"
echo "ok: $TEST"
