#!/bin/bash
# The final stage's verification of a large set, against its targets: peak
# resident set (VmHWM) <= 64 MiB and wall time < 5 s for
# 'haltfw-final --verify' of a ruleset with a 1,000,000-element IPv4 hash
# set: with the live ruleset unchanged since arm (its generation is the
# one the manifest records, so nothing is read: the target's case), as
# armed but read whole (a commit came since: the generation moved), and
# after 'nft flush ruleset' (which it restores from the manifest; the
# restore's peak counts). Each size: the set loaded by 'haltfw apply',
# armed by 'haltfw arm' (a stand-in sysroot and exitrd under a temporary
# directory, as the arm namespace tests do: no systemd is contacted), then
# RUNS verifies of the unchanged ruleset, one commit that changes nothing
# (a table added and deleted), and per run one verify that reads it whole
# and one after a flush (whose restore moves the generation again, so the
# next run reads it whole too). The "kernel" column is
# the verify's system time: listing a hash set costs the kernel time that
# grows with the square of its size (each 32 KiB round of the dump walks
# the table from its start: 10 s of system time for one listing of
# 1,000,000 elements on a 2-core 6.18 host), and a hash set is listed
# twice (a listing torn by a resize must never count: nft_dump.cc); right
# after a restore the table is still resizing, and the first listing is
# usually torn, so three.
#
#   unshare --net bench.d/final_verify.sh HALTFW [RUNS]   (scripts/bench final_verify)
# Environment: HALTFW_BENCH_VERIFY_SIZES (default 1000000). At 1,000,000
# apply and arm take minutes, and each run about a minute.
set -euo pipefail
HALTFW=${1:?usage: $0 HALTFW [RUNS]}
RUNS=${2:-7}
SIZES=${HALTFW_BENCH_VERIFY_SIZES:-1000000}
FINAL=$(dirname "$HALTFW")/haltfw-final
if [ "$(readlink /proc/self/ns/net)" = "$(readlink /proc/1/ns/net)" ]; then
    echo "final_verify bench: run me under 'unshare --net'" >&2
    exit 2
fi
[ -x "$FINAL" ] || { echo "final_verify bench: no $FINAL (build the haltfw-final target)" >&2; exit 2; }
# arm mounts the exitrd's tmpfs: in a mount namespace of our own.
if [ -z "${HALTFW_BENCH_MOUNT_NS:-}" ]; then
    HALTFW_BENCH_MOUNT_NS=1 exec unshare --mount "$0" "$@"
fi

work=$(mktemp -d /tmp/haltfw-bench-verify-XXXXXX)
export HALTFW_STATE_DIR=$work/state HALTFW_EXITRD=$work/exitrd HALTFW_SYSROOT=$work/root
trap 'umount "$HALTFW_EXITRD" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$HALTFW_SYSROOT/run/systemd/system" "$HALTFW_SYSROOT/lib/systemd/system" "$HALTFW_SYSROOT/etc/default"
for u in nftables.service networking.service ifup@.service netfilter-persistent.service; do
    echo "[Service]" >"$HALTFW_SYSROOT/lib/systemd/system/$u"
done
echo "FLUSH_ON_STOP=0" >"$HALTFW_SYSROOT/etc/default/netfilter-persistent"
ip link set lo up
mount -t sysfs sysfs /sys
M=$HALTFW_EXITRD/haltfw.manifest

# shellcheck source=scripts/lib/set_rules.sh
. "$(dirname "$0")/../lib/set_rules.sh"
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
stats() { sort -g | awk '{a[NR]=$1} END {m=(NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); printf "%s %s %s\n", m, a[1], a[NR]}'; }

# generate N : $work/rules.nft, an N-element IPv4 hash set (consecutive
# addresses from 16.0.0.0) that the forward chain drops, and the config.
generate() {
    hfw_set_rules "$work/rules.nft" hash "$1" bench big
    printf '[ruleset]\nfile = %s/rules.nft\n\n[sysctl]\nnet.ipv4.ip_forward = 1\n' "$work" >"$work/haltfw.conf"
}

# verify LABEL : one 'haltfw-final --verify', its report checked; appends
# "wall_s peak_kib sys_s" to $work/LABEL.t. The peak is the verify's own
# VmHWM, from its report (rss_peak_kib): ru_maxrss, measured from outside,
# counts the forking parent's pages too (python's 10 MB here), so it
# serves only a final stage whose report has no such field (older ones).
verify() {
    local rc wall sys maxrss peak
    read -r rc wall sys maxrss < <(python3 - "$work/verify.out" "$FINAL" --verify "$M" <<'PY'
import resource, subprocess, sys, time
with open(sys.argv[1], "w") as out:
    t0 = time.monotonic()
    rc = subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.STDOUT).returncode
    wall = time.monotonic() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(rc, "%.2f" % wall, "%.2f" % ru.ru_stime, ru.ru_maxrss)
PY
    )
    if [ "$rc" -ne 0 ] || ! grep -q "HALTFW: HALTED-OK digest=$armed " "$work/verify.out"; then
        echo "final_verify bench: verify ($1) failed:" >&2
        cat "$work/verify.out" >&2
        exit 1
    fi
    peak=$(sed -n 's/^HALTFW: HALTED-OK .* rss_peak_kib=\([0-9]*\) .*/\1/p' "$work/verify.out")
    echo "$wall ${peak:-$maxrss} $sys" >>"$work/$1.t"
}

rows=()
for n in $SIZES; do
    generate "$n"
    nft flush ruleset
    rm -rf "$HALTFW_STATE_DIR"
    t0=$(date +%s.%N)
    "$HALTFW" --quiet --config "$work/haltfw.conf" apply
    t1=$(date +%s.%N)
    "$HALTFW" --config "$work/haltfw.conf" arm --final "$FINAL" >"$work/arm.out" 2>&1 ||
        { echo "final_verify bench: arm failed:" >&2; cat "$work/arm.out" >&2; exit 1; }
    t2=$(date +%s.%N)
    armed=$(sed -n 's/^armed: digest \([0-9a-f]*\).*/\1/p' "$work/arm.out")
    echo "final_verify bench: $n elements: apply $(echo "$t1 - $t0" | bc) s, arm $(echo "$t2 - $t1" | bc) s, manifest $(($(stat -c %s "$M") / 1024)) KiB" >&2
    : >"$work/unchanged.t"
    : >"$work/reread.t"
    : >"$work/flushed.t"
    for i in $(seq "$RUNS"); do
        verify unchanged
        grep -q "nothing committed since, so not read again" "$work/verify.out" ||
            { echo "final_verify bench: the unchanged ruleset was read again:" >&2; cat "$work/verify.out" >&2; exit 1; }
    done
    nft add table ip touch
    nft delete table ip touch
    for i in $(seq "$RUNS"); do
        verify reread
        ! grep -q "not read again" "$work/verify.out" ||
            { echo "final_verify bench: a moved generation was not read:" >&2; cat "$work/verify.out" >&2; exit 1; }
        nft flush ruleset
        verify flushed
        [ "$("$HALTFW" digest)" = "$armed" ] || { echo "final_verify bench: the restored ruleset's digest is not the armed one" >&2; exit 1; }
        echo "final_verify bench: $n elements, run $i/$RUNS done" >&2
    done
    for label in unchanged reread flushed; do
        read -r wm wmin wmax < <(cut -d' ' -f1 "$work/$label.t" | stats)
        read -r pm pmin pmax < <(cut -d' ' -f2 "$work/$label.t" | stats)
        read -r sm smin smax < <(cut -d' ' -f3 "$work/$label.t" | stats)
        met_mem=$(awk -v k="$pmax" 'BEGIN { print (k <= 64 * 1024) ? "met" : "NOT met" }')
        met_time=$(awk -v s="$wmax" 'BEGIN { print (s < 5) ? "met" : "NOT met" }')
        case $label in
            unchanged) what="unchanged since arm (not read)" ;;
            reread) what="as armed, read whole (a commit since)" ;;
            *) what="after a flush (restored)" ;;
        esac
        rows+=("| $n | $what | $(mib "$pm") ($(mib "$pmin")-$(mib "$pmax")) | 64 | $met_mem | $wm ($wmin-$wmax) | 5 | $met_time | $sm ($smin-$smax) |")
    done
    nft flush ruleset
    "$HALTFW" --config "$work/haltfw.conf" disarm >/dev/null 2>&1 || true
done
echo "| set elements | ruleset | peak RSS MiB, median (min-max) | target MiB | | wall s, median (min-max) | target s | | of it kernel (system) s |"
echo "|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "$RUNS runs each; peak RSS is the verify's VmHWM (rss_peak_kib on its report); a target is met when every run meets it"
