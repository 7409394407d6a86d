#!/bin/bash
# Forwarding through the halted box, by configuration, one boot each (a
# halted box cannot change), in this order:
#
#   fastpath    the router, eth0 = WAN 198.51.100.1/24, eth1 = LAN
#               192.0.2.1/24, with the [gateway] profile (masquerade, ICMP,
#               fastpath = yes: a flowtable); this boot also takes the
#               live phase first (armed, userspace running), then halts
#   nofastpath  the same with fastpath = no
#   noruleset   the same box with no forwarding ruleset: only what arm
#               needs (one table with an empty forward base chain, policy
#               accept: no conntrack, no NAT) and ip_forward = 1; the
#               VM's own limit
#   bridge      the invisible bridge of docs/bridge.md (br0 over eth0 and
#               eth1, no address) with its bridge-family ruleset (conntrack:
#               ct state established,related accept, ...); the harness wired
#               for it (qemu-run --bridged: both hosts on 192.0.2.0/24)
#
# Each: iperf3 TCP with 1 and 4 streams and UDP datagrams per second
# (64-byte payloads, sent as fast as the LAN host can) from the LAN host to
# the far host 203.0.113.1 (behind the WAN host in both wirings), then ping
# round-trip times through the box, RUNS rounds after a warm-up round, the
# box settled first. Beside each iperf3 sample, where the CPU time went:
# QEMU's vCPU thread (the guest's one CPU: under TCG it sleeps when the
# guest idles), QEMU's main thread (the taps and virtio queues) and the
# host's idle CPU. The figures go side by side with the targets: fastpath
# >= 0.90x of noruleset, fastpath >= 1.2x of nofastpath for 64-byte UDP;
# bridge against router reported; halted against live for the fastpath
# config.
#
# A boot that fails leaves its column out ("failed"), the others are still
# printed, and the benchmark then exits 1.
#
#   bench.d/forwarding.sh HALTFW RUNS     (scripts/bench forwarding)
# Environment: HALTFW_BENCH_SECONDS (one iperf3 sample, default 5),
# HALTFW_BENCH_SETTLE (seconds before each phase, default 20),
# HALTFW_BENCH_FIGURES (a directory of figures an earlier run kept, its
# logs' figures/: print its tables again and boot nothing).
set -euo pipefail
BENCH_RUNS=${2:-${HALTFW_BENCH_RUNS:-7}}
# shellcheck source=scripts/lib/bench.sh
source "$(dirname "$0")/../lib/bench.sh"
seconds=${HALTFW_BENCH_SECONDS:-5}
settle=${HALTFW_BENCH_SETTLE:-20}
pings=100
far=203.0.113.1
configs=(fastpath nofastpath noruleset bridge)

# guest_config NAME : guest code writing /etc/haltfw/haltfw.conf (and its
# rules file) for configuration NAME, over the test image's own config.
guest_config() {
    local router='[interface.wan]
device = eth0
address = 198.51.100.1/24
gateway = 198.51.100.254

[interface.lan]
device = eth1
address = 192.0.2.1/24'
    case $1 in
        fastpath | nofastpath)
            local fast=yes
            [[ $1 == nofastpath ]] && fast=no
            printf "cat >/etc/haltfw/haltfw.conf <<'EOF_CONF'\n%s\n\n[gateway]\nlan = lan\nwan = wan\nfastpath = %s\nEOF_CONF\n" "$router" "$fast"
            ;;
        noruleset)
            # arm refuses a box that forwards IPv4 with no base chain on
            # the forward hook: the least it takes is an empty one.
            printf "cat >/etc/haltfw/haltfw.conf <<'EOF_CONF'\n[ruleset]\nfile = open.nft\n\n%s\n\n[sysctl]\nnet.ipv4.ip_forward = 1\nEOF_CONF\n" "$router"
            cat <<'EOF_GUEST'
cat >/etc/haltfw/open.nft <<'EOF_NFT'
table inet open {
	chain forward {
		type filter hook forward priority filter; policy accept;
	}
}
EOF_NFT
EOF_GUEST
            ;;
        bridge)
            # docs/bridge.md's config and ruleset.
            cat <<'EOF_GUEST'
cat >/etc/haltfw/haltfw.conf <<'EOF_CONF'
[ruleset]
file = bridge.nft

[interface.lan]
device = br0
bridge = eth0 eth1
EOF_CONF
cat >/etc/haltfw/bridge.nft <<'EOF_NFT'
table bridge filter {
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		ct state invalid drop
		ether type arp accept
		icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert, nd-router-solicit } accept
		udp sport 67 udp dport 68 accept
		iifname "eth1" accept
	}
}
EOF_NFT
EOF_GUEST
            ;;
    esac
}

# mark : "WALL_NS VCPU_RUN VCPU_WAIT MAIN_RUN HOST_IDLE HOST_TOTAL
# TAP_PACKETS TAP_BYTES TAP_DROPPED": the time; how long QEMU's vCPU thread
# ran and waited for a host CPU, and how long its main thread ran
# (schedstat, ns); the host's idle and total CPU time over all cores
# (/proc/stat, ticks); the packets and bytes the LAN host's tap handed to
# QEMU, and those it dropped, its queue full (its tx counters).
mark() {
    local vrun vwait main user nice system idle iowait irq softirq steal tap
    read -r vrun vwait _ <"/proc/$HFW_QEMU_PID/task/$vcpu_tid/schedstat"
    read -r main _ <"/proc/$HFW_QEMU_PID/task/$HFW_QEMU_PID/schedstat"
    read -r _ user nice system idle iowait irq softirq steal _ </proc/stat
    tap=$(ip netns exec "$HFW_LAN_NS" cat "/sys/class/net/$HFW_LAN_IF/statistics/"{tx_packets,tx_bytes,tx_dropped})
    echo "${EPOCHREALTIME/./}000 $vrun $vwait $main $((idle + iowait))" \
        "$((user + nice + system + idle + iowait + irq + softirq + steal))" "${tap//$'\n'/ }"
}

# shares BEFORE AFTER : between two marks, "VCPU_RUN% VCPU_WAIT% MAIN_RUN%
# HOST_IDLE% BYTES_PER_PACKET TAP_DROPPED%": the threads' shares of the
# wall time, the host's idle share of all its cores, the mean size of the
# packets QEMU took from the LAN host's tap (GSO segments count as one),
# and the share of the tap's packets dropped.
shares() {
    local a b
    read -r -a a <<<"$1"
    read -r -a b <<<"$2"
    awk -v w=$((b[0] - a[0])) -v r=$((b[1] - a[1])) -v q=$((b[2] - a[2])) -v m=$((b[3] - a[3])) \
        -v i=$((b[4] - a[4])) -v t=$((b[5] - a[5])) -v p=$((b[6] - a[6])) -v y=$((b[7] - a[7])) -v d=$((b[8] - a[8])) \
        'BEGIN { printf "%.0f %.0f %.0f %.0f %.0f %.1f\n", 100 * r / w, 100 * q / w, 100 * m / w,
            (t > 0 ? 100 * i / t : 0), (p > 0 ? y / p : 0), (p + d > 0 ? 100 * d / (p + d) : 0) }'
}

# sample PHASE ROUND KIND : one iperf3 run from the LAN host; appends its
# figure to $res/PHASE-KIND.txt, its shares to PHASE-KIND-cpu.txt and,
# for UDP, the share of the datagrams sent that never arrived (the load
# offered beyond what passed) to PHASE-udp-lost.txt (unless a warm-up
# round, 0).
sample() {
    local phase=$1 round=$2 kind=$3 json args=() figure before after
    json="$HFW_OUT/$phase-$kind-$round.json"
    case $kind in
        tcp1) args=(-O 1) ;;
        tcp4) args=(-O 1 -P 4) ;;
        udp) args=(-u -b 0 -l 64) ;;
    esac
    before=$(mark)
    # -O 1: the first second (slow start) is left out of TCP figures.
    hfw_lan timeout $((seconds + 30)) iperf3 -c "$far" -t "$seconds" -J "${args[@]}" >"$json" 2>&1 ||
        hfw_fail "iperf3 $kind ($phase, round $round) failed: $(head -c 300 "$json")"
    after=$(mark)
    figure=$(python3 "$HFW_BENCH_PY" iperf "${kind%[14]}" "$json") || hfw_fail "no figure in $json"
    ((round == 0)) && return 0
    echo "$figure" >>"$res/$phase-$kind.txt"
    shares "$before" "$after" >>"$res/$phase-$kind-cpu.txt"
    [[ $kind == udp ]] || return 0
    python3 -c 'import json, sys
s = json.load(open(sys.argv[1]))["end"]["sum"]
print("%.1f" % (100 * s["lost_packets"] / s["packets"]))' "$json" >>"$res/$phase-udp-lost.txt" ||
        hfw_fail "no UDP loss in $json"
}

# latency PHASE ROUND : $pings pings through the box, every 20 ms; appends
# each round-trip time (ms) to $res/PHASE-rtt.txt.
latency() {
    local phase=$1 round=$2 out n
    out="$HFW_OUT/$phase-ping-$round.txt"
    hfw_lan timeout 60 ping -n -c "$pings" -i 0.02 -W 2 "$far" >"$out" 2>&1 ||
        hfw_fail "ping through the box ($phase, round $round) failed: $(tail -n 2 "$out")"
    n=$(grep -c 'time=' "$out")
    ((n > 0)) || hfw_fail "no ping reply in $out"
    ((round == 0)) || sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' "$out" >>"$res/$phase-rtt.txt"
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

# boot NAME : boots the box as configuration NAME, arms it (the fastpath
# boot: then its live phase, and the signal to halt), halts it, measures
# it halted, stops the VM. Run in a subshell of its own (a failure ends
# that boot, not the run).
boot() {
    local name=$1 wait=0 opts=() guest
    bench_boot_dir "$name"
    [[ $name == fastpath ]] && wait=1800
    [[ $name == bridge ]] && opts=(--bridged)
    guest="$HFW_OUT/guest-in.sh"
    { guest_config "$name"; bench_guest_arm_signal_halt bench-forwarding "$wait"; } >"$guest"
    HFW_VM_TIMEOUT=2400
    hfw_boot "$guest" "${opts[@]}"
    trap 'hfw_bg_cleanup; hfw_cleanup' EXIT
    bench_vcpu_tid
    bench_wait_armed bench-forwarding
    # The far host's iperf3 server (one test at a time; they run in turn).
    ip netns exec "$HFW_WAN_NS" timeout "$HFW_VM_TIMEOUT" iperf3 -s -B "$far" >"$HFW_OUT/iperf3-server.txt" 2>&1 &
    HFW_BG_PIDS+=("$!")
    bench_wait_listen wan tcp 5201
    if ((wait > 0)); then
        phase live
        hfw_log_has '^bench-forwarding: halting' && hfw_fail "the guest halted before the live phase ended"
        bench_signal_guest
    fi
    hfw_expect_halted_ok 300
    hfw_log_clean | grep -o 'HALTFW: HALTED-OK.*' | tail -n 1 >"$res/$name-report.txt"
    phase "$name"
    hfw_bg_cleanup
    hfw_stop
}

# cell PHASE FILE : "median (min-max)" of $res/PHASE-FILE.txt, or
# "failed" where that boot failed.
cell() {
    local m lo hi
    [[ -s $res/$1-$2.txt ]] || { echo failed; return 0; }
    read -r m lo hi < <(bench_stats <"$res/$1-$2.txt")
    echo "$m ($lo-$hi)"
}

# ratio A B FILE : median of A / median of B, "1.23x", or "-".
ratio() {
    [[ -s $res/$1-$3.txt && -s $res/$2-$3.txt ]] || { echo -; return 0; }
    local a b
    read -r a _ < <(bench_stats <"$res/$1-$3.txt")
    read -r b _ < <(bench_stats <"$res/$2-$3.txt")
    awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2fx", a / b }'
}

# verdict A B FILE MIN : the ratio and whether it reaches MIN.
verdict() {
    local r
    r=$(ratio "$1" "$2" "$3")
    [[ $r == - ]] && { echo "not measured"; return 0; }
    awk -v r="${r%x}" -v min="$4" -v s="$r" 'BEGIN { print s (r >= min ? " met" : " NOT met") }'
}

# share_cell PHASE KIND COLUMN... : the medians of those columns of the
# shares over the counted samples, joined by '/'.
share_cell() {
    local f=$res/$1-$2-cpu.txt c out=()
    [[ -s $f ]] || { echo -; return 0; }
    shift 2
    for c in "$@"; do
        out+=("$(awk -v c="$c" '{ print $c }' "$f" | bench_stats | awk '{ print $1 }')")
    done
    local IFS=/
    echo "${out[*]}"
}

# per_vcpu : for every phase and iperf3 kind measured, each sample's figure
# per second QEMU's vCPU thread ran (figure / its run share), to
# $res/PHASE-KIND-pervcpu.txt: the guest's own cost per packet, whatever
# share of the host's CPUs it got.
per_vcpu() {
    local p k
    for p in live "${configs[@]}"; do
        for k in tcp1 tcp4 udp; do
            [[ -s $res/$p-$k.txt && -s $res/$p-$k-cpu.txt ]] || continue
            paste -d ' ' "$res/$p-$k.txt" "$res/$p-$k-cpu.txt" |
                awk '$2 > 0 { printf "%.6g\n", $1 * 100 / $2 }' >"$res/$p-$k-pervcpu.txt"
        done
    done
}

summary() {
    local phases=(live "${configs[@]}") p kind
    per_vcpu
    local rounds
    rounds=$(cat "$res"/fastpath-tcp1.txt "$res"/nofastpath-tcp1.txt "$res"/noruleset-tcp1.txt "$res"/bridge-tcp1.txt 2>/dev/null | wc -l)
    echo "### Figures (median (min-max); $rounds counted rounds of the four halted boots in all)"
    echo
    echo "| measure | live, fastpath | fastpath | no fastpath | no ruleset | bridge |"
    echo "|---|---|---|---|---|---|"
    for kind in "tcp1:TCP, 1 stream (Mbit/s)" "tcp4:TCP, 4 streams (Mbit/s)" \
        "udp:UDP, 64-byte payloads (datagrams/s received)" "rtt:ping RTT (ms)" \
        "tcp1-pervcpu:TCP, 1 stream, per second the vCPU ran (Mbit)" "tcp4-pervcpu:TCP, 4 streams, per second the vCPU ran (Mbit)" \
        "udp-pervcpu:UDP, 64-byte, per second the vCPU ran (datagrams)"; do
        printf '| %s |' "${kind#*:}"
        for p in "${phases[@]}"; do printf ' %s |' "$(cell "$p" "${kind%%:*}")"; done
        echo
    done
    printf '| ping RTT p99 (ms) |'
    for p in "${phases[@]}"; do
        if [[ -s $res/$p-rtt.txt ]]; then printf ' %s |' "$(python3 "$HFW_BENCH_PY" pct 99 <"$res/$p-rtt.txt")"; else printf ' failed |'; fi
    done
    echo
    echo
    echo "### Ratios of the medians (all halted but the live column)"
    echo
    echo "| measure | fastpath / no ruleset (target >= 0.90x) | fastpath / no fastpath (target >= 1.2x for UDP) | bridge / fastpath | bridge / no fastpath | halted / live, fastpath |"
    echo "|---|---|---|---|---|---|"
    for kind in "tcp1:TCP, 1 stream" "tcp4:TCP, 4 streams" "udp:UDP, 64-byte" "rtt:ping RTT (lower is faster)" \
        "tcp1-pervcpu:TCP, 1 stream, per vCPU second" "tcp4-pervcpu:TCP, 4 streams, per vCPU second" "udp-pervcpu:UDP, 64-byte, per vCPU second"; do
        local k=${kind%%:*}
        echo "| ${kind#*:} | $(ratio fastpath noruleset "$k") | $(ratio fastpath nofastpath "$k") | $(ratio bridge fastpath "$k") | $(ratio bridge nofastpath "$k") | $(ratio fastpath live "$k") |"
    done
    echo
    echo "### Where the CPU went during each iperf3 sample (medians, % of the time: QEMU's vCPU thread running / it waiting for a host CPU / QEMU's main thread running / the host's $(nproc) cores idle)"
    echo
    echo "| phase | TCP, 1 stream | TCP, 4 streams | UDP, 64-byte |"
    echo "|---|---|---|---|"
    for p in "${phases[@]}"; do
        echo "| $p | $(share_cell "$p" tcp1 1 2 3 4) | $(share_cell "$p" tcp4 1 2 3 4) | $(share_cell "$p" udp 1 2 3 4) |"
    done
    echo
    echo "### The packets (medians): their mean size from the LAN host's tap into QEMU (bytes; a GSO segment counts as one), and UDP's losses"
    echo
    echo "| phase | TCP, 1 stream | TCP, 4 streams | UDP, 64-byte | UDP: dropped at the LAN tap, its queue full (%) | UDP: sent, never arrived (%) |"
    echo "|---|---|---|---|---|---|"
    for p in "${phases[@]}"; do
        echo "| $p | $(share_cell "$p" tcp1 5) | $(share_cell "$p" tcp4 5) | $(share_cell "$p" udp 5) | $(share_cell "$p" udp 6) | $(cell "$p" udp-lost) |"
    done
    echo
    echo "target fastpath >= 0.90x of no ruleset: TCP x1 $(verdict fastpath noruleset tcp1 0.90); TCP x4 $(verdict fastpath noruleset tcp4 0.90); UDP $(verdict fastpath noruleset udp 0.90)"
    echo "target fastpath >= 1.2x of no fastpath, 64-byte UDP: $(verdict fastpath nofastpath udp 1.2)"
    echo "the same per second the vCPU ran: fastpath / no ruleset: TCP x1 $(verdict fastpath noruleset tcp1-pervcpu 0.90); TCP x4 $(verdict fastpath noruleset tcp4-pervcpu 0.90); UDP $(verdict fastpath noruleset udp-pervcpu 0.90); fastpath / no fastpath, UDP: $(verdict fastpath nofastpath udp-pervcpu 1.2)"
    echo
    for p in "${configs[@]}"; do
        [[ -s $res/$p-report.txt ]] && echo "report ($p): $(cat "$res/$p-report.txt")"
    done
    return 0
}

if [[ -n ${HALTFW_BENCH_FIGURES:-} ]]; then
    res=$HALTFW_BENCH_FIGURES
    [[ -d $res ]] || { echo "forwarding: HALTFW_BENCH_FIGURES '$res': no such directory" >&2; exit 2; }
    summary
    exit 0
fi
hfw_require_root
hfw_require_cmd iperf3 ping python3 socat
hfw_image
# The figures of every boot, in the run's own log directory.
res=$HFW_OUT/figures
mkdir -p "$res"

failed=()
boot_pid=
# A boot still running when the run ends (a signal) is ended with it.
trap '[[ -z $boot_pid ]] || hfw_end_pid "$boot_pid"' EXIT
for name in "${configs[@]}"; do
    hfw_say "configuration $name: booting"
    # A subshell in the background, waited for: 'set -e' holds inside it
    # (it would not in 'boot ... || ...'), and its exit ends only this boot.
    boot "$name" &
    boot_pid=$!
    if ! wait "$boot_pid"; then
        failed+=("$name")
        hfw_say "configuration $name: FAILED (its logs: $HFW_OUT/$name)"
    fi
    boot_pid=
done
summary
echo "$BENCH_RUNS rounds per phase after a warm-up round, $seconds s per iperf3 sample, $pings pings per round; one boot per configuration, in the order ${configs[*]}"
echo "logs: $HFW_OUT"
if ((${#failed[@]} > 0)); then
    echo "FAILED: ${failed[*]} (no figures for them)" >&2
    exit 1
fi
