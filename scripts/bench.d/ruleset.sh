#!/bin/bash
# Ruleset scale: 'haltfw apply' of a ruleset with a 100,000-element IPv4
# interval set and 2,000 rules, against 'nft -f' of the same file, side by
# side in one run (alternating, so drift hits both), plus the digest time.
# Runs inside a network namespace of its own: unshare --net bench.d/ruleset.sh HALTFW RUNS
set -euo pipefail
HALTFW=${1:?usage: $0 HALTFW [RUNS] [ELEMENTS] [RULES]}
RUNS=${2:-7}
ELEMENTS=${3:-100000}
RULES=${4:-2000}
if [ "$(readlink /proc/self/ns/net)" = "$(readlink /proc/1/ns/net)" ]; then
    echo "ruleset bench: run me under 'unshare --net'" >&2
    exit 2
fi
work=$(mktemp -d /tmp/haltfw-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
export HALTFW_STATE_DIR=$work/state

# The set holds disjoint two-address ranges; nothing is sent anywhere.
python3 - "$work/rules.nft" "$ELEMENTS" "$RULES" <<'PY'
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
printf '[ruleset]\nfile = %s/rules.nft\n' "$work" >"$work/haltfw.conf"

now() { date +%s.%N; }
stats() { sort -g | awk '{a[NR]=$1} END {m=(NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); printf "%.3f %.3f %.3f\n", m, a[1], a[NR]}'; }

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
    echo "ruleset bench: run $i/$RUNS done" >&2
done
read -r nm nmin nmax < <(stats <"$work/nft.t")
read -r am amin amax < <(stats <"$work/apply.t")
read -r dm dmin dmax < <(stats <"$work/digest.t")
ratio=$(echo "scale=3; $am / $nm" | bc)
echo "| measure | median s | min s | max s |"
echo "|---|---|---|---|"
echo "| nft -f ($ELEMENTS elements, $RULES rules) | $nm | $nmin | $nmax |"
echo "| haltfw apply (same file) | $am | $amin | $amax |"
echo "| haltfw digest | $dm | $dmin | $dmax |"
echo
echo "apply / nft -f (medians): ${ratio}x (target <= 1.2x); digest median ${dm} s (target < 1 s); $RUNS runs each"
