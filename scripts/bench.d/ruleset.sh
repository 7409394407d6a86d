#!/bin/bash
# Ruleset scale: 'haltfw apply' of a ruleset with an N-element IPv4
# interval set and 2,000 rules, against 'nft -f' of the same file, side by
# side in one run (alternating, so drift hits both), plus the digest time,
# for each N of HALTFW_BENCH_SIZES (default 1,000, 10,000, 100,000 and
# 1,000,000; a 0 is skipped: bench.d/footprint.sh uses it for "no set").
# Runs inside a network namespace of its own: unshare --net bench.d/ruleset.sh HALTFW RUNS
set -euo pipefail
HALTFW=${1:?usage: $0 HALTFW [RUNS] [RULES]}
RUNS=${2:-7}
RULES=${3:-2000}
SIZES=${HALTFW_BENCH_SIZES:-1000 10000 100000 1000000}
if [ "$(readlink /proc/self/ns/net)" = "$(readlink /proc/1/ns/net)" ]; then
    echo "ruleset bench: run me under 'unshare --net'" >&2
    exit 2
fi
work=$(mktemp -d /tmp/haltfw-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
export HALTFW_STATE_DIR=$work/state

now() { date +%s.%N; }
stats() { sort -g | awk '{a[NR]=$1} END {m=(NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); printf "%.3f %.3f %.3f\n", m, a[1], a[NR]}'; }

# generate N : writes $work/rules.nft. The set holds disjoint two-address
# ranges; nothing is sent anywhere.
generate() {
    python3 - "$work/rules.nft" "$1" "$RULES" <<'PY'
import ipaddress, sys
path, n, rules = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
base = int(ipaddress.IPv4Address("16.0.0.0"))
with open(path, "w") as f:
    f.write("table inet bench {\n  set big {\n    type ipv4_addr; flags interval\n    elements = {\n")
    for i in range(n):
        a = base + 4 * i
        f.write("      %s-%s,\n" % (ipaddress.IPv4Address(a), ipaddress.IPv4Address(a + 1)))
    f.write("    }\n  }\n  chain filter_fwd {\n    type filter hook forward priority 0; policy drop;\n")
    f.write("    ip saddr @big drop\n")
    for i in range(rules):
        f.write("    ip saddr 192.0.2.%d tcp dport %d counter accept\n" % (i % 254 + 1, 1024 + i))
    f.write("  }\n}\n")
PY
}
printf '[ruleset]\nfile = %s/rules.nft\n' "$work" >"$work/haltfw.conf"

# measure N : RUNS of nft -f, haltfw apply and haltfw digest, alternating;
# prints the table row.
measure() {
    local n=$1 i t0 t1 nm nmin nmax am amin amax dm dmin dmax
    generate "$n"
    : >"$work/nft.t"; : >"$work/apply.t"; : >"$work/digest.t"
    for i in $(seq "$RUNS"); do
        nft flush ruleset
        t0=$(now); nft -f "$work/rules.nft"; t1=$(now)
        echo "$t1 - $t0" | bc >>"$work/nft.t"

        nft flush ruleset; rm -rf "$HALTFW_STATE_DIR"
        t0=$(now); "$HALTFW" --quiet --config "$work/haltfw.conf" apply; t1=$(now)
        echo "$t1 - $t0" | bc >>"$work/apply.t"

        t0=$(now); "$HALTFW" digest >/dev/null; t1=$(now)
        echo "$t1 - $t0" | bc >>"$work/digest.t"
        echo "ruleset bench: $n elements, run $i/$RUNS done" >&2
    done
    nft flush ruleset
    read -r nm nmin nmax < <(stats <"$work/nft.t")
    read -r am amin amax < <(stats <"$work/apply.t")
    read -r dm dmin dmax < <(stats <"$work/digest.t")
    echo "| $n | $nm ($nmin-$nmax) | $am ($amin-$amax) | $(awk -v a="$am" -v b="$nm" 'BEGIN { printf "%.2f", a / b }')x | $dm ($dmin-$dmax) |"
}

rows=()
for n in $SIZES; do
    ((n > 0)) || continue
    rows+=("$(measure "$n")")
done
echo "| set elements ($RULES rules besides) | nft -f s, median (min-max) | haltfw apply s | apply / nft -f | haltfw digest s |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "$RUNS runs each, alternating; targets: apply / nft -f <= 1.2x, digest < 1 s (at 100,000 elements)"
