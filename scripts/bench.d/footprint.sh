#!/bin/bash
# Footprint of the halted firewall, and how it grows with the ruleset, in
# the appliance: one boot per ruleset size. The guest adds to the example
# ruleset a table with an N-element IPv4 interval set (disjoint two-address
# ranges, as bench.d/ruleset.sh) and a forward rule using it, times
# 'haltfw arm', reads what arm installed in the exitrd (/run/initramfs:
# the final stage with its loader and libraries, and the manifest, which
# holds the armed ruleset for the final stage to restore) and the memory
# in use live (MemTotal - MemAvailable), then halts. From the final
# stage's report: its verify time (verify_ms: from its start as PID 1 to
# the end of the checks) and its peak resident set while verifying
# (rss_peak_kib, VmHWM). From the INERT line of haltfw-inert, which PID 1
# becomes after the report: its resident set for ever (rss_kib, Rss of
# /proc/self/smaps_rollup, split into rss_anon_kib and rss_file_kib, the
# pages of its own program),
# what removing the exitrd's files gave back (freed_kib) and the memory in
# use halted after that (mem_used_kib, same formula). Targets: exitrd
# program + libraries <= 4 MiB, RSS <= 2 MiB.
#
#   bench.d/footprint.sh HALTFW RUNS      (scripts/bench footprint)
# RUNS is not used: one boot per size. Environment: HALTFW_BENCH_SIZES
# (default "0 1000 10000 100000 1000000"); sizes of 1,000,000 and more boot
# with 4 GiB of guest RAM (nft alone needs ~750 MB to load such a set), the
# others with the harness's 1 GiB.
set -euo pipefail
# shellcheck source=scripts/lib/bench.sh
source "$(dirname "$0")/../lib/bench.sh"
sizes=${HALTFW_BENCH_SIZES:-0 1000 10000 100000 1000000}
base_out=$HFW_OUT

hfw_require_root
hfw_image
mkdir -p "$base_out"
HFW_VM_TIMEOUT=$((HFW_VM_TIMEOUT > 3600 ? HFW_VM_TIMEOUT : 3600))

# guest_script N : the guest's script for a ruleset with an N-element set.
guest_script() {
    cat <<EOF_GUEST
n=$1
EOF_GUEST
    cat <<'EOF_GUEST'
say() { echo "bench-footprint: $*"; }
up() { cut -d' ' -f1 /proc/uptime; }
mem_used() { awk '/^MemTotal:/ { t = $2 } /^MemAvailable:/ { a = $2 } END { print t - a }' /proc/meminfo; }
if ((n > 0)); then
    t0=$(up)
    awk -v n="$n" 'BEGIN {
        print "table inet bench {\n\tset big {\n\t\ttype ipv4_addr; flags interval\n\t\telements = {"
        for (i = 0; i < n; i++) {
            a = 268435456 + 4 * i; b = a + 1
            printf "\t\t\t%d.%d.%d.%d-%d.%d.%d.%d,\n", int(a / 16777216), int(a / 65536) % 256, int(a / 256) % 256, a % 256,
                int(b / 16777216), int(b / 65536) % 256, int(b / 256) % 256, b % 256
        }
        print "\t\t}\n\t}\n\tchain forward {\n\t\ttype filter hook forward priority filter - 10; policy accept;\n\t\tip saddr @big drop\n\t}\n}"
    }' >/etc/haltfw/bench.nft
    sed -i 's|^file = /etc/haltfw/rules.nft$|&\nfile = /etc/haltfw/bench.nft|' /etc/haltfw/haltfw.conf
    say "generated $n elements in $(awk -v a="$t0" -v b="$(up)" 'BEGIN { printf "%.1f", b - a }') s"
fi
t0=$(up)
if ! out=$(haltfw arm 2>&1); then
    say "haltfw arm failed: $out"
    exit 1
fi
t1=$(up)
say "arm_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
# What arm put in the exitrd, in KiB as du counts tmpfs pages.
manifest_kib=$(du -sk /run/initramfs/haltfw.manifest 2>/dev/null | cut -f1)
total_kib=$(du -sk /run/initramfs | cut -f1)
say "exitrd_kib=$total_kib manifest_kib=${manifest_kib:-0} program_kib=$((total_kib - ${manifest_kib:-0}))"
find /run/initramfs -type f -printf 'bench-footprint: exitrd file %s %p\n'
sleep 5
say "live_mem_used_kib=$(mem_used)"
say "halting"
haltfw halt || say "haltfw halt failed with $?"
EOF_GUEST
}

# guest_value KEY : KEY=VALUE from the guest's "bench-footprint:" lines.
guest_value() {
    local v
    v=$(hfw_log_clean | grep '^bench-footprint: ' | tr ' ' '\n' | sed -n "s/^$1=//p" | tail -n 1)
    [[ -n $v ]] || hfw_fail "the guest printed no $1="
    echo "$v"
}

rows=()
trap 'hfw_bg_cleanup; hfw_cleanup' EXIT
for n in $sizes; do
    HFW_OUT=$base_out/n$n
    HFW_SERIAL_LOG="$HFW_OUT/serial.log"
    HFW_RUN_LOG="$HFW_OUT/qemu-run.log"
    mkdir -p "$HFW_OUT"
    mem=1024
    ((n >= 1000000)) && mem=4096
    guest_script "$n" >"$HFW_OUT/guest-in.sh"
    hfw_say "$n elements: booting ($mem MiB)"
    hfw_boot "$HFW_OUT/guest-in.sh" --memory "$mem"
    trap 'hfw_bg_cleanup; hfw_cleanup' EXIT
    hfw_wait_log '^bench-footprint: (halting|haltfw arm failed)' 3000 "the guest arming and halting"
    hfw_log_has '^bench-footprint: haltfw arm failed' && hfw_fail "'haltfw arm' failed in the guest"
    hfw_expect_halted_ok 1200
    hfw_expect_inert 120
    row="| $n | $mem | $(guest_value arm_s) | $(guest_value exitrd_kib) | $(guest_value program_kib) | $(guest_value manifest_kib)"
    row+=" | $(bench_report_field verify_ms) | $(guest_value live_mem_used_kib) | $(bench_inert_field mem_used_kib) | $(bench_inert_field freed_kib)"
    row+=" | $(bench_inert_field rss_kib) | $(bench_inert_field rss_anon_kib) | $(bench_inert_field rss_file_kib) | $(bench_report_field rss_peak_kib) |"
    rows+=("$row")
    hfw_say "$n elements: $row"
    hfw_stop
done

echo "| set elements | guest MiB | arm s | exitrd KiB | of which program + libs | of which manifest | final stage verify_ms | live mem used KiB | halted mem used KiB | exitrd freed KiB | PID 1 RSS KiB | of which anonymous | of which its program | final stage peak RSS KiB |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "one boot per size; targets: program + libs <= 4096 KiB, PID 1 RSS <= 2048 KiB"
first=${sizes%% *}
echo "exitrd files ($first elements; bytes, path):"
sed -n 's/^bench-footprint: exitrd file \(.*\)\r\{0,1\}$/    \1/p' "$base_out/n$first/serial.log"
echo "logs: $base_out"
