#!/bin/bash
# The transition: 1,000 UDP datagrams per second for 60 s from the LAN host
# to the far host 203.0.113.1 (NATed) while the box halts, and one TCP
# connection carrying a line every 0.5 s over the same time. Figures:
# datagrams lost (target 0), duplicated, reordered; the longest gap between
# two received datagrams and where it fell against the halt; whether the
# TCP connection survived (every line answered, the same NAT mapping
# throughout). Plot: datagrams received per 100 ms, with the moment the
# guest started the halt and the moment HALTED-OK reached the console
# (host-side times from the serial log) marked, to
# docs/bench-transition.png (or $HALTFW_BENCH_PLOT).
#
# RUNS is ignored: one halt per boot, and one boot (the figures of several
# runs are collected by running it again).
#   bench.d/transition.sh HALTFW RUNS     (scripts/bench transition)
set -euo pipefail
# shellcheck source=scripts/lib/bench.sh
source "$(dirname "$0")/../lib/bench.sh"
rate=1000
seconds=60
lead=15          # seconds of stream before the host signals the halt
udp_port=7010
tcp_port=7011
far=203.0.113.1
plot=${HALTFW_BENCH_PLOT:-$HFW_REPO/docs/bench-transition.png}

hfw_require_root
hfw_require_cmd python3 ping
hfw_image
mkdir -p "$HFW_OUT"
bench_need_pkg gnuplot-nox

guest=$(mktemp)
bench_guest_arm_signal_halt bench-transition 600 >"$guest"
hfw_boot "$guest"
trap 'hfw_bg_cleanup; hfw_cleanup' EXIT
rm -f "$guest"
bench_stamp_start

bench_wait_armed bench-transition
hfw_say "armed; settling for 10 s"
sleep 10

# Receivers on the far host: the datagrams (a while longer than the
# stream, for the last in flight) and the TCP echo.
ip netns exec "$HFW_WAN_NS" timeout $((seconds + 60)) python3 "$HFW_BENCH_PY" recv "$far" "$udp_port" $((seconds + 30)) "$HFW_OUT/recv.txt" \
    >"$HFW_OUT/recv.log" 2>&1 &
HFW_BG_PIDS+=("$!")
receiver=$!
ip netns exec "$HFW_WAN_NS" timeout $((seconds + 60)) python3 "$HFW_BENCH_PY" tcp-server "$far" "$tcp_port" $((seconds + 30)) \
    >"$HFW_OUT/tcp-server.log" 2>&1 &
HFW_BG_PIDS+=("$!")
bench_wait_listen wan tcp "$tcp_port"
bench_wait_listen wan udp "$udp_port"

# The loads, from the LAN host.
ip netns exec "$HFW_LAN_NS" timeout $((seconds + 30)) python3 "$HFW_BENCH_PY" tcp-client "$far" "$tcp_port" "$seconds" "$HFW_OUT/tcp-client.txt" \
    >"$HFW_OUT/tcp-client.log" 2>&1 &
HFW_BG_PIDS+=("$!")
tcp_client=$!
ip netns exec "$HFW_LAN_NS" timeout $((seconds + 30)) python3 "$HFW_BENCH_PY" send "$far" "$udp_port" "$rate" "$seconds" \
    >"$HFW_OUT/send.log" 2>&1 &
HFW_BG_PIDS+=("$!")
sender=$!
hfw_say "stream of $rate datagrams/s for $seconds s and a TCP connection running; halting after $lead s"
sleep "$lead"
bench_signal_guest
hfw_expect_halted_ok 240
hfw_say "HALTED-OK; waiting for the stream to end"

wait "$sender" || hfw_fail "the sender failed: $(cat "$HFW_OUT/send.log")"
wait "$tcp_client" || hfw_fail "the TCP client failed: $(cat "$HFW_OUT/tcp-client.log")"
wait "$receiver" || true  # it ends on its own time limit
sent=$(sed -n 's/^sent \([0-9]*\) of .*/\1/p' "$HFW_OUT/send.log")
[[ -n $sent ]] || hfw_fail "the sender reported nothing: $(cat "$HFW_OUT/send.log")"

halt_start=$(bench_stamp_of '^bench-transition: halting')
halt_ok=$(bench_stamp_of 'HALTFW: HALTED-OK')
figures=$(python3 "$HFW_BENCH_PY" stream-figures "$HFW_OUT/recv.txt" "$sent" "$halt_start" "$halt_ok" 0.1) ||
    hfw_fail "no figures from the receiver's log"
# shellcheck disable=SC2086 # word pairs: "key value ..."
set -- $figures
declare -A f
while (($# >= 2)); do f[$1]=$2; shift 2; done
awk -v o="${f[halt_ok_rel]}" -v l="${f[last_rel]}" 'BEGIN { exit !(o + 5 <= l) }' ||
    hfw_fail "the stream did not outlast HALTED-OK by 5 s: $figures"
read -r _ _ lines _ answered _ peer _ same < "$HFW_OUT/tcp-client.log" || hfw_fail "the TCP client reported nothing"

# The plot: received per 100 ms; the halt's start and HALTED-OK as lines.
gnuplot <<EOF_PLOT || hfw_fail "gnuplot failed"
set terminal pngcairo size 800,360 font ",10"
set output "$plot"
set title "Datagrams received per 100 ms at $rate/s across the halt (QEMU TCG)"
set xlabel "seconds from the first datagram"
set ylabel "received per 100 ms"
set yrange [0:*]
set key bottom right
set arrow from ${f[halt_start_rel]}, graph 0 to ${f[halt_start_rel]}, graph 1 nohead lc rgb "orange" dt 2
set arrow from ${f[halt_ok_rel]}, graph 0 to ${f[halt_ok_rel]}, graph 1 nohead lc rgb "red" dt 2
set label "haltfw halt" at ${f[halt_start_rel]}, graph 0.95 offset -10,0 tc rgb "orange"
set label "HALTED-OK" at ${f[halt_ok_rel]}, graph 0.95 offset 0.5,0 tc rgb "red"
plot "$HFW_OUT/recv.txt.bins" using 1:2 with steps lc rgb "#1f5fa8" title "received"
EOF_PLOT

hfw_bg_cleanup
hfw_stop
echo "| measure | value |"
echo "|---|---|"
echo "| datagrams sent ($rate/s, $seconds s) | $sent |"
echo "| received (distinct) | ${f[distinct]} |"
echo "| lost (target 0) | ${f[lost]} |"
echo "| duplicated / reordered | ${f[duplicates]} / ${f[reordered]} |"
echo "| longest gap between received datagrams | ${f[gap_ms]} ms, starting $(printf '%+.2f' "${f[gap_at_rel_halt_ok]}") s from HALTED-OK |"
echo "| halt: guest started it / HALTED-OK on the console | $(printf '%.2f' "${f[halt_start_rel]}") s / $(printf '%.2f' "${f[halt_ok_rel]}") s into the stream |"
echo "| TCP connection (a line every 0.5 s) | $answered of $lines lines answered, peer $peer, same connection throughout: $([[ $same == 1 && $answered == "$lines" ]] && echo yes || echo NO) |"
echo
echo "plot: $plot"
echo "logs: $HFW_OUT"
