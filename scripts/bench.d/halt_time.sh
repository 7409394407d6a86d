#!/bin/bash
# Time to halt: 'haltfw halt' on an armed box until the final stage's
# HALTFW: HALTED-OK, against 'systemctl halt' on the same image, not armed,
# until the kernel's "reboot: System halted". Both boxes have the config
# applied ('haltfw apply') and have settled for 15 s after the boot.
# One boot per halt; RUNS boots of each kind, alternating.
#
# Two clocks, both printed:
#   host:  from the serial-log line the guest prints just before it runs
#          the command to the end line, as stamped on the host when each
#          reached the serial log (scripts/lib/bench_tool.py stamp, ~10 ms);
#   guest: from /proc/uptime read just before the command to the kernel
#          timestamp of the end line ("[ 23.44] reboot: System halted",
#          "[ 23.44] haltfw-final: HALTED-OK", the kernel-log copy).
#
#   bench.d/halt_time.sh HALTFW RUNS     (scripts/bench halt_time)
set -euo pipefail
BENCH_RUNS=${2:-${HALTFW_BENCH_RUNS:-7}}
# shellcheck source=scripts/lib/bench.sh
source "$(dirname "$0")/../lib/bench.sh"
base_out=$HFW_OUT

hfw_require_root
hfw_image
mkdir -p "$base_out"

# one_halt KIND ROUND : boots, halts with KIND (haltfw or systemctl),
# appends the host and guest durations (s) to $base_out/KIND.{host,guest}.
one_halt() {
    local kind=$1 round=$2 guest cmd end_ere end_kmsg issue_ere t0 t1 up0 k1
    HFW_OUT=$base_out/$kind-$round
    HFW_SERIAL_LOG="$HFW_OUT/serial.log"
    HFW_RUN_LOG="$HFW_OUT/qemu-run.log"
    mkdir -p "$HFW_OUT"
    if [[ $kind == haltfw ]]; then
        cmd="haltfw halt"
        end_ere='HALTFW: HALTED-OK'
        end_kmsg='haltfw-final: HALTED-OK'
    else
        cmd="systemctl halt"
        end_ere='reboot: System halted'
        end_kmsg='reboot: System halted'
    fi
    guest=$(mktemp)
    cat >"$guest" <<EOF_GUEST
say() { echo "bench-halt: \$*"; }
if ! out=\$(haltfw apply 2>&1); then say "haltfw apply failed: \$out"; exit 1; fi
if [[ $kind == haltfw ]] && ! out=\$(haltfw arm 2>&1); then say "haltfw arm failed: \$out"; exit 1; fi
sleep 15
say "issuing '$cmd' at uptime \$(cut -d' ' -f1 /proc/uptime)"
$cmd || say "'$cmd' failed with \$?"
EOF_GUEST
    hfw_boot "$guest"
    trap 'hfw_bg_cleanup; hfw_cleanup' EXIT
    rm -f "$guest"
    bench_stamp_start
    issue_ere="^bench-halt: issuing '$cmd'"
    hfw_wait_log "$issue_ere|^bench-halt: .* failed" 300 "the guest issuing '$cmd'"
    hfw_log_has '^bench-halt: .* failed' && hfw_fail "in the guest: $(hfw_log_clean | grep '^bench-halt: .* failed')"
    hfw_wait_log "$end_ere|HALTFW: HALTED-FAIL" 240 "'$end_ere'"
    hfw_log_has 'HALTFW: HALTED-FAIL' && hfw_fail "the final stage reported HALTED-FAIL"
    sleep 1  # the stamper's last lines
    t0=$(bench_stamp_of "$issue_ere")
    t1=$(bench_stamp_of "$end_ere")
    up0=$(hfw_log_clean | sed -n "s/^bench-halt: issuing '$cmd' at uptime \([0-9.]*\)$/\1/p" | head -n 1)
    k1=$(hfw_log_clean | sed -n "s/^\[ *\([0-9.]*\)\] $end_kmsg.*/\1/p" | head -n 1)
    [[ -n $up0 && -n $k1 ]] || hfw_fail "no guest-side times (uptime '$up0', kernel timestamp '$k1')"
    hfw_bg_cleanup
    hfw_stop
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }' >>"$base_out/$kind.host"
    awk -v a="$up0" -v b="$k1" 'BEGIN { printf "%.3f\n", b - a }' >>"$base_out/$kind.guest"
    hfw_say "round $round, $kind: host $(tail -n 1 "$base_out/$kind.host") s, guest $(tail -n 1 "$base_out/$kind.guest") s"
}

trap 'hfw_bg_cleanup; hfw_cleanup' EXIT
for ((r = 1; r <= BENCH_RUNS; r++)); do
    # Alternating which goes first, so drift over the run hits both.
    if ((r % 2)); then
        one_halt haltfw "$r"
        one_halt systemctl "$r"
    else
        one_halt systemctl "$r"
        one_halt haltfw "$r"
    fi
done

echo "| halt | clock | median s | min s | max s |"
echo "|---|---|---|---|---|"
for clock in host guest; do
    read -r sm smin smax < <(bench_stats <"$base_out/systemctl.$clock")
    read -r hm hmin hmax < <(bench_stats <"$base_out/haltfw.$clock")
    echo "| systemctl halt -> reboot: System halted | $clock | $sm | $smin | $smax |"
    echo "| haltfw halt (armed) -> HALTED-OK | $clock | $hm | $hmin | $hmax |"
    ratios+=("$clock $(awk -v a="$hm" -v b="$sm" 'BEGIN { printf "%.2f", a / b }')x")
done
echo
echo "haltfw / systemctl (medians): ${ratios[*]} (target <= 1.1x); $BENCH_RUNS boots each"
echo "logs: $base_out"
