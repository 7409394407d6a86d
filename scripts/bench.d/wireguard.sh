#!/bin/bash
# WireGuard through the box, live and halted, in one boot: the router of the
# forwarding benchmark (eth0 = WAN 198.51.100.1/24, eth1 = LAN 192.0.2.1/24,
# the [gateway] profile) with a WireGuard device wg0 (203.0.113.129/25,
# port 51820) whose one peer is a road warrior in the WAN host's namespace
# (wireguard-go: this host's kernel has no WireGuard; scripts/lib/wg_peer.sh,
# as the QEMU scenario wireguard sets it). Armed; measured live; halted;
# measured again. Each phase, RUNS rounds after a warm-up round:
#
#   tunnel-up    iperf3 TCP, 1 stream, road warrior -> LAN host through the
#                tunnel (the box decrypts)
#   tunnel-down  the same, LAN host -> road warrior (-R: the box encrypts)
#   plain        iperf3 TCP, 1 stream, LAN host -> far host 203.0.113.1,
#                forwarded and NATed, no tunnel (the forwarding benchmark's
#                measure, on this VM)
#   ping RTT     through the tunnel (road warrior -> LAN host) and plain
#                (LAN host -> far host), $pings pings every 20 ms each
#
# The road warrior's wireguard-go runs on the host's CPUs beside QEMU: under
# TCG the box's one vCPU is the narrow part, but a host this small (2 cores)
# shares them; the CPU columns say how much QEMU's vCPU thread ran.
#
#   bench.d/wireguard.sh HALTFW RUNS     (scripts/bench wireguard)
# Environment: HALTFW_BENCH_SECONDS (one iperf3 sample, default 5),
# HALTFW_BENCH_SETTLE (seconds before each phase, default 20).
set -euo pipefail
BENCH_RUNS=${2:-${HALTFW_BENCH_RUNS:-7}}
# shellcheck source=scripts/lib/bench.sh
source "$(dirname "$0")/../lib/bench.sh"
# shellcheck source=scripts/lib/wg_peer.sh
source "$HFW_REPO/scripts/lib/wg_peer.sh"
seconds=${HALTFW_BENCH_SECONDS:-5}
settle=${HALTFW_BENCH_SETTLE:-20}
pings=100
box=198.51.100.1 lan_host=192.0.2.10 far=203.0.113.1 box_tunnel=203.0.113.129 rw_tunnel=203.0.113.130

hfw_require_root
hfw_require_cmd iperf3 ping python3 socat wg wireguard-go
hfw_image
res=$HFW_OUT/figures
mkdir -p "$res"
hfw_wg_keys box laptop
hfw_wg_psk laptop
box_pub=$(hfw_wg_get box.pub)

# The guest script (it holds the box's keys: made in the log directory).
guest=$HFW_OUT/guest-in.sh
(umask 077 && : >"$guest")
{
    cat <<EOF_GUEST
install -m 0600 /dev/null /etc/haltfw/wg0.key
printf '%s\n' '$(hfw_wg_get box.key)' >/etc/haltfw/wg0.key
install -m 0600 /dev/null /etc/haltfw/laptop.psk
printf '%s\n' '$(hfw_wg_get laptop.psk)' >/etc/haltfw/laptop.psk
cat >/etc/haltfw/haltfw.conf <<'EOF_CONF'
$(hfw_wg_box_interfaces)

[gateway]
lan = lan
vpn = vpn
wan = wan

[sysctl]
net.ipv4.ip_forward = 1
EOF_CONF
EOF_GUEST
    bench_guest_arm_signal_halt bench-wireguard 1800
} >"$guest"

# mark : "WALL_NS VCPU_RUN" (QEMU's vCPU thread, schedstat ns).
mark() {
    local vrun
    read -r vrun _ <"/proc/$HFW_QEMU_PID/task/$vcpu_tid/schedstat"
    echo "${EPOCHREALTIME/./}000 $vrun"
}

# sample PHASE ROUND KIND : one iperf3 run; its figure (Mbit/s) to
# $res/PHASE-KIND.txt, the vCPU's share of the wall time to
# PHASE-KIND-cpu.txt (unless the warm-up round, 0).
sample() {
    local phase=$1 round=$2 kind=$3 json ns target args=(-O 1) figure before after a b
    json="$HFW_OUT/$phase-$kind-$round.json"
    case $kind in
        tunnel-up) ns=$HFW_WAN_NS target=$lan_host ;;
        tunnel-down) ns=$HFW_WAN_NS target=$lan_host args+=(-R) ;;
        plain) ns=$HFW_LAN_NS target=$far ;;
    esac
    before=$(mark)
    ip netns exec "$ns" timeout $((seconds + 30)) iperf3 -c "$target" -t "$seconds" -J "${args[@]}" >"$json" 2>&1 ||
        hfw_fail "iperf3 $kind ($phase, round $round) failed: $(head -c 300 "$json")"
    after=$(mark)
    figure=$(python3 "$HFW_BENCH_PY" iperf tcp "$json") || hfw_fail "no figure in $json"
    ((round == 0)) && return 0
    echo "$figure" >>"$res/$phase-$kind.txt"
    read -r -a a <<<"$before"
    read -r -a b <<<"$after"
    awk -v w=$((b[0] - a[0])) -v r=$((b[1] - a[1])) 'BEGIN { printf "%.0f\n", 100 * r / w }' >>"$res/$phase-$kind-cpu.txt"
}

# latency PHASE ROUND KIND : $pings pings every 20 ms, through the tunnel
# or plain; each RTT (ms) to $res/PHASE-KIND-rtt.txt.
latency() {
    local phase=$1 round=$2 kind=$3 out ns target
    out="$HFW_OUT/$phase-$kind-ping-$round.txt"
    if [[ $kind == tunnel ]]; then ns=$HFW_WAN_NS target=$lan_host; else ns=$HFW_LAN_NS target=$far; fi
    ip netns exec "$ns" timeout 60 ping -n -c "$pings" -i 0.02 -W 2 "$target" >"$out" 2>&1 ||
        hfw_fail "ping $kind ($phase, round $round) failed: $(tail -n 2 "$out")"
    ((round == 0)) || sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' "$out" >>"$res/$phase-$kind-rtt.txt"
}

phase() {
    local name=$1 r
    hfw_say "$name: settling for $settle s"
    sleep "$settle"
    for ((r = 0; r <= BENCH_RUNS; r++)); do
        hfw_say "$name: round $r of $BENCH_RUNS (0 = warm-up)"
        sample "$name" "$r" tunnel-up
        sample "$name" "$r" tunnel-down
        sample "$name" "$r" plain
        latency "$name" "$r" tunnel
        latency "$name" "$r" plain
        hfw_vm_running || hfw_fail "the VM stopped during the $name phase"
    done
}

HFW_VM_TIMEOUT=2400
hfw_boot "$guest"
trap 'hfw_bg_cleanup; hfw_cleanup' EXIT
bench_vcpu_tid
bench_wait_armed bench-wireguard

# The servers: the LAN host's (through the tunnel) and the far host's
# (plain), one test at a time each.
ip netns exec "$HFW_LAN_NS" timeout "$HFW_VM_TIMEOUT" iperf3 -s -B "$lan_host" >"$HFW_OUT/iperf3-lan.txt" 2>&1 &
HFW_BG_PIDS+=("$!")
ip netns exec "$HFW_WAN_NS" timeout "$HFW_VM_TIMEOUT" iperf3 -s -B "$far" >"$HFW_OUT/iperf3-far.txt" 2>&1 &
HFW_BG_PIDS+=("$!")
bench_wait_listen lan tcp 5201
bench_wait_listen wan tcp 5201
rw=$(hfw_wg_name rw)
HFW_WG_SECONDS=$HFW_VM_TIMEOUT
hfw_wg_road_warrior "$HFW_WAN_NS" "$rw" laptop "$box_pub" laptop "$box:51820" 40001 "$rw_tunnel/32" \
    "$lan_host/32" "$box_tunnel/32"
hfw_wg_wait_handshake "$HFW_WAN_NS" "$rw" "$lan_host" 30 >/dev/null

phase live
hfw_log_has '^bench-wireguard: halting' && hfw_fail "the guest halted before the live phase ended"
bench_signal_guest
hfw_expect_halted_ok 300
hfw_assert_log 'HALTFW: wireguard: wg0 with 1 peer as armed' "the report's wireguard line"
report=$(hfw_log_clean | grep -o 'HALTFW: HALTED-OK.*' | tail -n 1)
hfw_wg_wait_handshake "$HFW_WAN_NS" "$rw" "$lan_host" 30 >/dev/null
phase halted
hfw_bg_cleanup
hfw_stop

# cell PHASE FILE : "median (min-max)" of $res/PHASE-FILE.txt.
cell() {
    local m lo hi
    read -r m lo hi < <(bench_stats <"$res/$1-$2.txt")
    echo "$m ($lo-$hi)"
}
# ratio A B : median of $res/A.txt / median of $res/B.txt, "1.23x".
ratio() {
    local a b
    read -r a _ < <(bench_stats <"$res/$1.txt")
    read -r b _ < <(bench_stats <"$res/$2.txt")
    awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2fx", a / b }'
}

echo "### Figures (median (min-max))"
echo
echo "| measure | live | halted | halted / live |"
echo "|---|---|---|---|"
for kind in "tunnel-up:TCP, 1 stream, through the tunnel, road warrior -> LAN (Mbit/s)" \
    "tunnel-down:TCP, 1 stream, through the tunnel, LAN -> road warrior (Mbit/s)" \
    "plain:TCP, 1 stream, plain forwarding, LAN -> far host, NATed (Mbit/s)" \
    "tunnel-rtt:ping RTT through the tunnel (ms)" "plain-rtt:ping RTT plain (ms)" \
    "tunnel-up-cpu:QEMU's vCPU thread running, tunnel up (% of wall time)" \
    "tunnel-down-cpu:QEMU's vCPU thread running, tunnel down (% of wall time)" \
    "plain-cpu:QEMU's vCPU thread running, plain (% of wall time)"; do
    k=${kind%%:*}
    echo "| ${kind#*:} | $(cell live "$k") | $(cell halted "$k") | $(ratio "halted-$k" "live-$k") |"
done
echo
echo "The halted box's tunnel against its plain forwarding (medians): up $(ratio halted-tunnel-up halted-plain), down $(ratio halted-tunnel-down halted-plain) of the plain TCP figure; RTT $(ratio halted-tunnel-rtt halted-plain-rtt) of the plain RTT"
echo "report: $report"
echo "$BENCH_RUNS rounds per phase after a warm-up round, $seconds s per iperf3 sample, $pings pings per round and kind; one boot"
echo "logs: $HFW_OUT"
