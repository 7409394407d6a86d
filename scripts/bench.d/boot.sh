#!/bin/bash
# Boot: power-on to HALTED-OK for the disk image (image/build --variant kiosk
# --disk) under UEFI (q35, OVMF, TCG), against power-on to the end of a
# plain boot of the same image: its maintenance entry, which brings systemd
# up to haltfw-maintenance.target (no arm, no halt; it runs haltfw check
# and show-ruleset on the way) and stays there. Both go through the same
# boot menu (3 s). RUNS boots of each, alternating. Also printed, for both:
# when systemd reached basic.target (a bare boot: where a getty would
# start), and for the halted boot when arm finished.
#
# Power-on is when QEMU's guest CPU starts (qemu-run's HFW_STARTED, taken
# on the host as it resumes the paused machine); the end is when the line
# reached the serial log, stamped on the host (scripts/lib/bench_tool.py
# stamp, ~10 ms). The maintenance boot is a copy of disk.img whose systemd-boot
# default entry is the maintenance one (mtools, nothing mounted).
#
#   bench.d/boot.sh HALTFW RUNS     (scripts/bench boot)
set -euo pipefail
BENCH_RUNS=${2:-${HALTFW_BENCH_RUNS:-7}}
# shellcheck source=scripts/lib/bench.sh
source "$(dirname "$0")/../lib/bench.sh"
base_out=$HFW_OUT

hfw_require_root
hfw_require_cmd mcopy sfdisk
# scripts/bench exports the test image as HALTFW_IMAGE; this one is the
# kiosk disk image of the same package (HALTFW_DEB).
HALTFW_IMAGE=
mkdir -p "$base_out"
hfw_disk_copy maintenance
maintenance_disk=$HFW_DISK_COPY
hfw_disk_maintenance_default

# one_boot KIND ROUND : boots KIND (halted or maintenance) once and appends
# power-on to the end line, in seconds, to $base_out/KIND.host.
one_boot() {
    local kind=$1 round=$2 disk end_ere t1 tb
    HFW_OUT=$base_out/$kind-$round
    HFW_SERIAL_LOG="$HFW_OUT/serial.log"
    HFW_RUN_LOG="$HFW_OUT/qemu-run.log"
    mkdir -p "$HFW_OUT"
    if [[ $kind == halted ]]; then
        disk=$HFW_IMAGE/disk.img
        end_ere='HALTFW: HALTED-(OK|FAIL)'
    else
        disk=$maintenance_disk
        end_ere='Reached target .*haltfw maintenance'
    fi
    hfw_boot "" --firmware uefi --disk "$disk"
    trap 'hfw_bg_cleanup; hfw_cleanup' EXIT
    bench_stamp_start
    hfw_wait_log "$end_ere" 360 "the end of the $kind boot"
    hfw_log_has 'HALTFW: HALTED-FAIL' && hfw_fail "the final stage reported HALTED-FAIL"
    sleep 1  # the stamper's last lines
    t1=$(bench_stamp_of "$end_ere")
    tb=$(bench_stamp_of 'Reached target .*Basic System')
    if [[ $kind == halted ]]; then
        awk -v a="$HFW_STARTED" -v b="$(bench_stamp_of 'Finished .*Arm the halted firewall')" \
            'BEGIN { printf "%.3f\n", b - a }' >>"$base_out/armed.host"
    fi
    hfw_bg_cleanup
    hfw_stop
    awk -v a="$HFW_STARTED" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }' >>"$base_out/$kind.host"
    awk -v a="$HFW_STARTED" -v b="$tb" 'BEGIN { printf "%.3f\n", b - a }' >>"$base_out/$kind.basic"
    hfw_say "round $round, $kind: $(tail -n 1 "$base_out/$kind.host") s (basic.target at $(tail -n 1 "$base_out/$kind.basic") s)"
}

trap 'hfw_bg_cleanup; hfw_cleanup' EXIT
for ((r = 1; r <= BENCH_RUNS; r++)); do
    if ((r % 2)); then
        one_boot halted "$r"
        one_boot maintenance "$r"
    else
        one_boot maintenance "$r"
        one_boot halted "$r"
    fi
done

read -r mm mmin mmax < <(bench_stats <"$base_out/maintenance.host")
read -r hm hmin hmax < <(bench_stats <"$base_out/halted.host")
read -r bm bmin bmax < <(cat "$base_out/maintenance.basic" "$base_out/halted.basic" | bench_stats)
read -r am amin amax < <(bench_stats <"$base_out/armed.host")
echo "disk.img: $(($(stat -c %s "$HFW_IMAGE/disk.img") / 1048576)) MiB ($HFW_IMAGE)"
echo
echo "| boot (UEFI, TCG, power-on to) | median s | min s | max s |"
echo "|---|---|---|---|"
echo "| basic.target reached (both entries) | $bm | $bmin | $bmax |"
echo "| maintenance entry: haltfw-maintenance.target reached (haltfw check done) | $mm | $mmin | $mmax |"
echo "| default entry: haltfw-arm.service finished | $am | $amin | $amax |"
echo "| default entry: HALTFW: HALTED-OK | $hm | $hmin | $hmax |"
echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "halted / maintenance boot (medians): $(ratio "$hm" "$mm")x (target <= 1.2x); halted / basic.target: $(ratio "$hm" "$bm")x; $BENCH_RUNS boots each"
echo "logs: $base_out"
