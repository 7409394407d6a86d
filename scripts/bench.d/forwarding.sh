#!/bin/bash
# Forwarding through the box, live (armed, userspace running) against
# halted, in one VM: iperf3 TCP with 1 and 4 streams and UDP datagrams per
# second (64-byte payloads, sent as fast as the LAN host can) from the LAN
# host to the far host 203.0.113.1 (NATed), and ping round-trip times
# through the box (LAN host -> 203.0.113.1, the box idle otherwise).
#
# The guest arms and waits (a 2 h bound); the host lets it settle, takes RUNS rounds of
# samples (each round: TCP x1, TCP x4, UDP, then 100 pings), signals the
# guest to halt, waits for HALTED-OK, settles again and takes the same
# rounds. The first round of each phase is a warm-up and not counted.
#
#   bench.d/forwarding.sh HALTFW RUNS     (scripts/bench forwarding)
# Environment: HALTFW_BENCH_SECONDS (one iperf3 sample, default 5),
# HALTFW_BENCH_SETTLE (seconds before each phase, default 20).
set -euo pipefail
BENCH_RUNS=${2:-${HALTFW_BENCH_RUNS:-7}}
# shellcheck source=scripts/lib/bench.sh
source "$(dirname "$0")/../lib/bench.sh"
seconds=${HALTFW_BENCH_SECONDS:-5}
settle=${HALTFW_BENCH_SETTLE:-20}
pings=100
far=203.0.113.1

hfw_require_root
hfw_require_cmd iperf3 ping python3
hfw_image

guest=$(mktemp)
bench_guest_arm_signal_halt bench-forwarding 7200 >"$guest"
HFW_VM_TIMEOUT=$((HFW_VM_TIMEOUT > 7200 ? HFW_VM_TIMEOUT : 7200))
hfw_boot "$guest"
trap 'hfw_bg_cleanup; hfw_cleanup' EXIT
rm -f "$guest"

bench_wait_armed bench-forwarding

# The far host's iperf3 server, for the whole run (it serves one test at a
# time; the tests here run one after the other).
ip netns exec "$HFW_WAN_NS" timeout "$HFW_VM_TIMEOUT" iperf3 -s -B "$far" >"$HFW_OUT/iperf3-server.txt" 2>&1 &
HFW_BG_PIDS+=("$!")
bench_wait_listen wan tcp 5201

# sample PHASE ROUND KIND : one iperf3 run from the LAN host; appends its
# figure to $HFW_OUT/PHASE-KIND.txt (unless a warm-up round, 0).
sample() {
    local phase=$1 round=$2 kind=$3 json args=() figure
    json="$HFW_OUT/$phase-$kind-$round.json"
    case $kind in
        tcp1) args=(-O 1) ;;
        tcp4) args=(-O 1 -P 4) ;;
        udp) args=(-u -b 0 -l 64) ;;
    esac
    # -O 1: the first second (slow start) is left out of TCP figures.
    hfw_lan timeout $((seconds + 30)) iperf3 -c "$far" -t "$seconds" -J "${args[@]}" >"$json" 2>&1 ||
        hfw_fail "iperf3 $kind ($phase, round $round) failed: $(head -c 300 "$json")"
    figure=$(python3 "$HFW_BENCH_PY" iperf "${kind%[14]}" "$json") || hfw_fail "no figure in $json"
    ((round == 0)) || echo "$figure" >>"$HFW_OUT/$phase-$kind.txt"
}

# latency PHASE ROUND : $pings pings through the box, every 20 ms; appends
# each round-trip time (ms) to $HFW_OUT/PHASE-rtt.txt.
latency() {
    local phase=$1 round=$2 out n
    out="$HFW_OUT/$phase-ping-$round.txt"
    hfw_lan timeout 60 ping -n -c "$pings" -i 0.02 -W 2 "$far" >"$out" 2>&1 ||
        hfw_fail "ping through the box ($phase, round $round) failed: $(tail -n 2 "$out")"
    n=$(grep -c 'time=' "$out")
    ((n > 0)) || hfw_fail "no ping reply in $out"
    ((round == 0)) || sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' "$out" >>"$HFW_OUT/$phase-rtt.txt"
}

phase() {
    local name=$1 r
    hfw_say "$name: settling for $settle s"
    sleep "$settle"
    for ((r = 0; r <= BENCH_RUNS; r++)); do
        hfw_say "$name: round $r of $BENCH_RUNS (0 = warm-up)"
        sample "$name" "$r" tcp1
        sample "$name" "$r" tcp4
        sample "$name" "$r" udp
        latency "$name" "$r"
        hfw_vm_running || hfw_fail "the VM stopped during the $name phase"
    done
}

phase live
hfw_log_has '^bench-forwarding: halting' && hfw_fail "the guest halted before the live phase ended"
bench_signal_guest
hfw_expect_halted_ok 300
phase halted

# The table: one row per measure, live and halted, and halted/live of the
# medians (for RTT lower is better: the ratio is still halted/live).
row() {
    local what=$1 file=$2 unit=$3 lm lmin lmax hm hmin hmax ratio
    read -r lm lmin lmax < <(bench_stats <"$HFW_OUT/live-$file.txt")
    read -r hm hmin hmax < <(bench_stats <"$HFW_OUT/halted-$file.txt")
    ratio=$(awk -v a="$hm" -v b="$lm" 'BEGIN { printf "%.2f", a / b }')
    echo "| $what ($unit) | $lm | $lmin | $lmax | $hm | $hmin | $hmax | ${ratio}x |"
}
rtt_pct() {
    python3 "$HFW_BENCH_PY" pct "$2" <"$HFW_OUT/$1-rtt.txt"
}
echo "| measure | live median | live min | live max | halted median | halted min | halted max | halted/live |"
echo "|---|---|---|---|---|---|---|---|"
row "TCP, 1 stream" tcp1 "Mbit/s"
row "TCP, 4 streams" tcp4 "Mbit/s"
row "UDP, 64-byte payloads" udp "datagrams/s received"
row "ping RTT" rtt "ms"
lp99=$(rtt_pct live 99)
hp99=$(rtt_pct halted 99)
echo "| ping RTT p99 (ms) | $lp99 | | | $hp99 | | | $(awk -v a="$hp99" -v b="$lp99" 'BEGIN { printf "%.2f", a / b }')x |"
echo
echo "$BENCH_RUNS rounds per phase after a warm-up round, $seconds s per iperf3 sample, $pings pings per round (RTT over all $((BENCH_RUNS * pings)) pings); target halted/live >= 1.0 for throughput"
echo "report: $(hfw_log_clean | grep -o 'HALTFW: HALTED-OK.*' | tail -n 1)"
hfw_bg_cleanup
hfw_stop
echo "logs: $HFW_OUT"
