#!/bin/bash
# Scenario 4, transition: traffic runs through the box while it halts.
#   - A stream of pings (-i 0.005, about 200 per second, a fixed count) from
#     the LAN host to the far host 203.0.113.1 starts before the halt and
#     ends a good while after the final stage's HALTED-OK: none is lost.
#   - One TCP connection from the LAN host to the far host, opened before
#     the halt, carries a line before and after: the same connection (same
#     NATed peer, same port) still works.
#   - A capture on the WAN side for the whole run never shows a LAN source
#     address, and shows every echo request of the stream once, NATed to
#     the box's WAN address 198.51.100.1.
# The guest applies the config, says "ready", and starts the halt only once
# it sees the host's stream on its LAN NIC (400 more received packets), so
# the halt always falls inside the stream. Figures (packets sent and
# received, the longest gap between replies and when it was, the capture's
# counts) are printed at the end.
set -euo pipefail
# shellcheck source=tests/qemu/lib.sh
source "$(dirname "$0")/lib.sh"

hfw_require_root
hfw_require_cmd tcpdump ping
hfw_image

# The stream: COUNT pings every 5 ms. Under TCG ping manages 160-200 per
# second, so 6000 last 30-38 s; the halt takes about 5 s after the guest
# sees the stream. Checked below: the stream must outlast HALTED-OK by
# at least $margin s.
count=6000
margin=5
port=7003

guest=$(mktemp)
cat >"$guest" <<'EOF_GUEST'
say() { echo "transition: $*"; }
if ! out=$(haltfw apply 2>&1); then
    say "haltfw apply failed: $out"
    exit 1
fi
rx() { cat /sys/class/net/eth1/statistics/rx_packets; }
start=$(rx)
say "ready (LAN rx_packets $start)"
# Halt only once the host's stream flows: 400 more packets in on the LAN
# NIC (about 2 s of it). At most 120 s.
n=0
for ((i = 0; i < 1200; i++)); do
    n=$(($(rx) - start))
    ((n >= 400)) && break
    sleep 0.1
done
if ((n < 400)); then
    say "no stream from the LAN host within 120 s (LAN rx +$n): not halting"
    exit 1
fi
say "stream flowing (LAN rx +$n); halting at uptime $(cut -d' ' -f1 /proc/uptime)"
haltfw halt || say "haltfw halt failed with $?"
EOF_GUEST
hfw_boot "$guest"
trap 'hfw_bg_cleanup; hfw_cleanup' EXIT
rm -f "$guest"

hfw_wait_log '^transition: (ready|haltfw apply failed)' 300 "the guest script's 'ready'"
hfw_log_has '^transition: haltfw apply failed' && hfw_fail "'haltfw apply' failed in the guest"

# The WAN side, captured from now until the end.
hfw_capture_start run wan 300

# The TCP connection. The server (far host) takes one connection and
# answers every line with the line, the peer it sees and the peer's port;
# the client (LAN host) reads its lines from a FIFO this script keeps open.
# shellcheck disable=SC2016 # $SOCAT_PEER* are for socat's shell
ip netns exec "$HFW_WAN_NS" timeout 300 socat -T 200 "TCP-LISTEN:$port,bind=203.0.113.1,reuseaddr" \
    SYSTEM:'while read -r l; do echo "hfw-echo $l from $SOCAT_PEERADDR:$SOCAT_PEERPORT"; done' \
    >"$HFW_OUT/tcp-server.txt" 2>&1 &
HFW_BG_PIDS+=("$!")
for ((i = 0; i < 100; i++)); do
    hfw_wan ss -Hltn "sport = :$port" | grep -q . && break
    sleep 0.1
done
hfw_wan ss -Hltn "sport = :$port" | grep -q . || hfw_fail "the TCP server on 203.0.113.1:$port did not listen within 10 s"
mkfifo "$HFW_OUT/tcp-client.in"
ip netns exec "$HFW_LAN_NS" timeout 300 socat -T 200 - "TCP:203.0.113.1:$port,connect-timeout=10" \
    <"$HFW_OUT/tcp-client.in" >"$HFW_OUT/tcp-client.out" 2>"$HFW_OUT/tcp-client.err" &
HFW_BG_PIDS+=("$!")
tcp_client=$!
# Read-write, so the open does not wait for the reader.
exec {tcp_fd}<>"$HFW_OUT/tcp-client.in"

# tcp_say WORD : sends WORD over the connection; sets TCP_PEER to the
# "ADDR:PORT" the server saw; fails without an answer within 15 s.
tcp_say() {
    local i line
    echo "$1" >&"$tcp_fd"
    for ((i = 0; i < 150; i++)); do
        line=$(grep -E "^hfw-echo $1 from " "$HFW_OUT/tcp-client.out" 2>/dev/null || true)
        [[ -n $line ]] && { TCP_PEER=${line##* from }; return 0; }
        kill -0 "$tcp_client" 2>/dev/null || break
        sleep 0.1
    done
    hfw_fail "no answer to '$1' over the TCP connection to 203.0.113.1:$port:
$(cat "$HFW_OUT/tcp-client.out" "$HFW_OUT/tcp-client.err" "$HFW_OUT/tcp-server.txt")"
}
tcp_say before
peer_before=$TCP_PEER
[[ $peer_before == 198.51.100.1:* ]] || hfw_fail "the TCP connection is not NATed to 198.51.100.1: the server sees '$peer_before'"

# The stream. -D: each reply with its time, for the gaps.
# (Without the FIFO's fd: only this script may hold the connection's input.)
ip netns exec "$HFW_LAN_NS" timeout 200 ping -D -n -i 0.005 -c "$count" -W 2 203.0.113.1 \
    >"$HFW_OUT/ping.txt" 2>&1 {tcp_fd}>&- &
HFW_BG_PIDS+=("$!")
pinger=$!
hfw_say "stream of $count pings and TCP connection running; waiting for the guest to halt"

hfw_wait_log '^transition: (stream flowing|no stream)' 150 "the guest seeing the stream"
hfw_log_has '^transition: no stream' && hfw_fail "the guest did not see the stream on its LAN NIC"
halting_at=$HFW_SEEN_AT
hfw_expect_halted_ok 240
halted_at=$HFW_SEEN_AT

# The stream ends by itself (fixed count); timeout 200 bounds it.
for ((i = 0; i < 2000; i++)); do
    kill -0 "$pinger" 2>/dev/null || break
    sleep 0.1
done
ping_rc=0
wait "$pinger" || ping_rc=$?

tcp_say after
peer_after=$TCP_PEER
exec {tcp_fd}>&-   # EOF: client and server end
hfw_capture_stop run

# The stream's figures: sent, received, distinct sequence numbers answered,
# first and last reply, the longest gap between two replies (and when it
# began), and the longest from the halt's start to HALTED-OK.
read -r sent received < <(sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1 \2/p' "$HFW_OUT/ping.txt") || true
read -r answered first last gap gap_at halt_gap < <(awk -F'[][]' -v h="$halting_at" -v o="$halted_at" '
    / bytes from .* icmp_seq=/ {
        t = $2; split($3, a, "icmp_seq="); split(a[2], b, " "); seq[b[1]] = 1
        if (n++ == 0) first = t
        else {
            if (t - prev > gap) { gap = t - prev; gap_at = prev }
            if (t > h && prev < o && t - prev > halt_gap) halt_gap = t - prev
        }
        prev = t
    }
    END { printf "%d %.3f %.3f %.3f %.3f %.3f\n", length(seq), first, prev, gap, gap_at, halt_gap }' "$HFW_OUT/ping.txt")
rel() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f", a - b }'; }
figures="stream of $count pings at 5 ms: ${sent:-?} sent, ${received:-?} received, $answered distinct answered, over $(rel "$last" "$first" | tr -d +) s; the guest started the halt at $(rel "$halting_at" "$first") s, HALTED-OK seen at $(rel "$halted_at" "$first") s; longest gap between replies ${gap} s (at $(rel "$gap_at" "$halted_at") s from HALTED-OK), during the halt ${halt_gap} s"

[[ ${sent:-} == "$count" ]] || hfw_fail "ping sent ${sent:-no summary} of $count (status $ping_rc):
$(tail -n 3 "$HFW_OUT/ping.txt")"
[[ ${received:-} == "$count" && $answered == "$count" ]] ||
    hfw_fail "packets lost across the halt: ${received:-?} of $count answered ($answered distinct); $figures"
# The halt fell inside the stream, with room after HALTED-OK.
awk -v f="$first" -v h="$halting_at" -v o="$halted_at" -v l="$last" -v m="$margin" \
    'BEGIN { exit !(f < h && o + m <= l) }' ||
    hfw_fail "the stream did not cover the halt with $margin s to spare (raise count): $figures"

[[ $peer_after == "$peer_before" ]] || hfw_fail "after the halt the TCP connection answers from '$peer_after', before from '$peer_before'"
[[ $(grep -c '^hfw-echo ' "$HFW_OUT/tcp-client.out") == 2 ]] || hfw_fail "the TCP client got other than 2 answers:
$(cat "$HFW_OUT/tcp-client.out")"

# The WAN side, for the whole run.
hfw_capture_complete run
captured=$HFW_CAPTURED
lan_src=$(hfw_capture_count run 'src net 192.0.2.0/24')
((lan_src == 0)) || hfw_fail "$lan_src packet(s) with a LAN source address on the WAN side:
$(hfw_capture_show run 'src net 192.0.2.0/24' | head -n 10)"
others='(ip or arp) and not src host 198.51.100.1 and not src host 198.51.100.254 and not src host 203.0.113.1'
other_src=$(hfw_capture_count run "$others")
((other_src == 0)) || hfw_fail "$other_src packet(s) on the WAN side with a source other than 198.51.100.1 and the WAN host's own:
$(hfw_capture_show run "$others" | head -n 10)"
requests=$(hfw_capture_count run 'icmp[icmptype] == icmp-echo and src host 198.51.100.1 and dst host 203.0.113.1')
((requests == count)) || hfw_fail "the WAN capture shows $requests echo requests from 198.51.100.1 to 203.0.113.1, expected $count (each once, NATed)"
tcp_out=$(hfw_capture_count run "tcp and src host 198.51.100.1 and dst host 203.0.113.1 and dst port $port")
((tcp_out >= 4)) || hfw_fail "the WAN capture shows $tcp_out TCP packets from 198.51.100.1 to port $port, expected at least 4 (handshake, two lines)"

hfw_bg_cleanup
hfw_stop
echo "transition: $figures"
echo "transition: TCP connection ${peer_before} answered before and after the halt"
echo "transition: WAN capture: $captured packets, $requests NATed echo requests, $tcp_out NATed TCP packets, 0 from 192.0.2.0/24, 0 from any other source"
hfw_pass
