#!/bin/bash
# Soak: one halted box under a steady load for a bounded time, watched
# through its heartbeat. The guest's config gets '[halt] heartbeat = 10s'
# and a conntrack table sized for the load (net.netfilter.nf_conntrack_max
# = 65536 in [sysctl]; nf_conntrack loaded first, as a box that sets it
# has it from modules-load.d); the guest arms and halts at once. After HALTED-OK,
# the INERT line and a first ALIVE line, the LAN host opens 200 new TCP
# connections a second to the far host 203.0.113.1 (NATed; each: a 64-byte
# request, a 512-byte reply, the client's close) and sends 300 numbered
# UDP datagrams a second to it, for SECONDS. The ALIVE lines (mem_avail_kib,
# conntrack, rss_kib, up, ...), stamped with the host's clock as they
# reach the serial log, go with the load's counts to soak.csv in the logs;
# the figures against their targets are printed; the plot (memory
# available and conntrack entries over time) goes to docs/bench-soak.png
# (or $HALTFW_BENCH_PLOT).
#
# Targets: memory flat (no growth beyond the conntrack table's steady
# state: the least-squares slope of MemAvailable from 240 s into the load
# to its end within +-1 MiB/h, provably; scripts/lib/soak_tool.py says how
# and why), 0 datagrams lost, 0 connections failed.
#
#   bench.d/soak.sh HALTFW RUNS [SECONDS]   (scripts/bench soak [SECONDS])
# SECONDS: how long the load runs, default 3600; 120 to 86400 (the report
# needs 8 ALIVE lines of load at least). RUNS is ignored: one boot. Not run
# by 'scripts/bench' without names.
set -euo pipefail
# shellcheck source=scripts/lib/bench.sh
source "$(dirname "$0")/../lib/bench.sh"
seconds=${3:-3600}
conn_rate=200
udp_rate=300
conn_port=7020
udp_port=7021
heartbeat=10
conntrack_max=65536
far=203.0.113.1
plot=${HALTFW_BENCH_PLOT:-$HFW_REPO/docs/bench-soak.png}
SOAK_PY="$HFW_REPO/scripts/lib/soak_tool.py"

if ! [[ $seconds =~ ^[1-9][0-9]{0,4}$ ]] || ((seconds < 120 || seconds > 86400)); then
    echo "soak: SECONDS '$seconds': expected a whole number from 120 to 86400" >&2
    exit 2
fi
hfw_require_root
hfw_require_cmd python3 ping
hfw_image
mkdir -p "$HFW_OUT"
HFW_VM_TIMEOUT=$((seconds + 1200))

guest=$(mktemp)
cat >"$guest" <<EOF_GUEST
say() { echo "bench-soak: \$*"; }
# net.netfilter's sysctls exist once nf_conntrack is loaded; apply would
# load it itself, but the recorded runs loaded it here, and the figures
# stay comparable so.
modprobe nf_conntrack
# The test image's config ends in its [sysctl] section.
printf 'net.netfilter.nf_conntrack_max = $conntrack_max\n[halt]\nheartbeat = ${heartbeat}s\n' >>/etc/haltfw/haltfw.conf
if ! out=\$(haltfw arm 2>&1); then
    say "haltfw arm failed: \$out"
    exit 1
fi
n=/proc/sys/net/netfilter
say "armed: nf_conntrack_max=\$(cat \$n/nf_conntrack_max) nf_conntrack_buckets=\$(cat \$n/nf_conntrack_buckets)" \
    "tcp_timeout_time_wait=\$(cat \$n/nf_conntrack_tcp_timeout_time_wait) udp_timeout_stream=\$(cat \$n/nf_conntrack_udp_timeout_stream)" \
    "mem_total_kib=\$(awk '/^MemTotal:/ { print \$2 }' /proc/meminfo)"
say "halting"
haltfw halt || say "haltfw halt failed with \$?"
EOF_GUEST
hfw_boot "$guest"
trap 'hfw_bg_cleanup; hfw_cleanup' EXIT
rm -f "$guest"
bench_stamp_start

hfw_wait_log '^bench-soak: (halting|haltfw arm failed)' 600 "the guest arming"
hfw_log_has '^bench-soak: haltfw arm failed' && hfw_fail "'haltfw arm' failed in the guest"
hfw_expect_halted_ok 300
hfw_expect_inert 60
hfw_wait_log 'HALTFW: ALIVE ' $((heartbeat * 3)) "a first ALIVE line"
hfw_say "halted, heartbeat on: $(hfw_log_clean | grep -o 'HALTFW: ALIVE .*' | tail -n 1)"

# The far host: the connections' server and the datagrams' receiver (it
# ends by itself 20 s after the stream, so that its log is whole).
ip netns exec "$HFW_WAN_NS" timeout $((seconds + 120)) python3 "$SOAK_PY" conn-server "$far" "$conn_port" $((seconds + 60)) \
    >"$HFW_OUT/conn-server.log" 2>&1 &
HFW_BG_PIDS+=("$!")
bench_wait_listen wan tcp "$conn_port"
ip netns exec "$HFW_WAN_NS" timeout $((seconds + 120)) python3 "$HFW_BENCH_PY" recv "$far" "$udp_port" $((seconds + 20)) "$HFW_OUT/udp-recv.txt" \
    >"$HFW_OUT/udp-recv.log" 2>&1 &
HFW_BG_PIDS+=("$!")
receiver=$!
bench_wait_listen wan udp "$udp_port"
# The LAN host's ports: 1024-65535, so that fewer new connections take the
# tuple of one still in the box's table (a SYN reopens an entry in
# TIME_WAIT, 120 s, so the steady state is below 200 a second times
# 120 s). connect() takes even ports, in random steps, and a port again
# once its own TIME_WAIT (60 s) is over: with the default 32768-60999 the
# table held 14,116 entries, one an even port; with this range about 21,000.
hfw_lan sysctl -q -w net.ipv4.ip_local_port_range="1024 65535"
# Both hosts learn the box's address before the load.
hfw_lan ping -n -c 3 -i 0.2 -W 2 "$far" >"$HFW_OUT/ping-far.txt" 2>&1 ||
    hfw_fail "LAN -> $far through the halted box: no answer ($(tail -n 2 "$HFW_OUT/ping-far.txt"))"

load_start=$EPOCHREALTIME
ip netns exec "$HFW_LAN_NS" timeout $((seconds + 60)) python3 "$SOAK_PY" conn-client "$far" "$conn_port" "$conn_rate" "$seconds" \
    "$HFW_OUT/conn-client.txt" >"$HFW_OUT/conn-client.log" 2>&1 &
HFW_BG_PIDS+=("$!")
client=$!
ip netns exec "$HFW_LAN_NS" timeout $((seconds + 60)) python3 "$HFW_BENCH_PY" send "$far" "$udp_port" "$udp_rate" "$seconds" \
    >"$HFW_OUT/udp-send.log" 2>&1 &
HFW_BG_PIDS+=("$!")
sender=$!
hfw_say "load: $conn_rate TCP connections/s and $udp_rate UDP datagrams/s for $seconds s"
for ((t = 60; t < seconds; t += 60)); do
    sleep 60
    hfw_vm_running || hfw_fail "the VM stopped during the load"
    hfw_say "$t s: connections (time started ok failed in-flight) $(tail -n 1 "$HFW_OUT/conn-client.txt" 2>/dev/null);" \
        "$(hfw_log_clean | grep -o 'HALTFW: ALIVE .*' | tail -n 1 | sed 's/HALTFW: //')"
done
wait "$sender" || hfw_fail "the UDP sender failed: $(cat "$HFW_OUT/udp-send.log")"
wait "$client" || hfw_fail "the connection client failed: $(cat "$HFW_OUT/conn-client.log")"
load_end=$EPOCHREALTIME
wait "$receiver" || hfw_fail "the UDP receiver failed: $(cat "$HFW_OUT/udp-recv.log")"
hfw_vm_running || hfw_fail "the VM stopped during the load"
# Kept, to draw the report again from the logs: soak_tool.py report with
# these two times and the files below.
echo "$load_start $load_end" >"$HFW_OUT/load-times.txt"

python3 "$SOAK_PY" report "$HFW_OUT/serial.stamped" "$load_start" "$load_end" "$HFW_OUT/conn-client.txt" \
    "$HFW_OUT/conn-client.log" "$HFW_OUT/udp-send.log" "$HFW_OUT/udp-recv.txt" "$HFW_OUT/soak.csv" "$plot" \
    >"$HFW_OUT/report.md" || hfw_fail "no figures from the soak's logs"
full=$(hfw_log_clean | grep -c '\] nf_conntrack: table full' || true)
hfw_bg_cleanup
hfw_stop
cat "$HFW_OUT/report.md"
echo "guest: $(hfw_log_clean | sed -n 's/^bench-soak: armed: //p' | tail -n 1); 'nf_conntrack: table full' lines: $full"
echo "report: $(hfw_log_clean | grep -o 'HALTFW: HALTED-OK.*' | tail -n 1)"
echo "time series: $HFW_OUT/soak.csv"
echo "plot: $plot"
echo "logs: $HFW_OUT"
