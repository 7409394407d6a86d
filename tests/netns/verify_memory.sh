#!/bin/bash
# The final stage verifies a large set in bounded memory: 'haltfw-final
# --verify' of a ruleset with a 300,000-element IPv4 hash set, armed by
# 'haltfw arm', peaks (VmHWM) under 4 MiB + 48 bytes an element (18.1 MiB)
# with the ruleset unchanged since arm (nothing read: the generation is
# arm's), as armed but read whole (a commit came in between), and after a
# flush, where the restore's peak counts too; and the ruleset it restores
# has the armed digest.
#
# The bound is the final stage's share of HaltMemoryKib (core/readiness.cc),
# which arm's memory check relies on: per element the final stage holds one
# listing (payload + 6 bytes) and two listings' fingerprints (16), or the
# armed ruleset read back from the manifest (payload + 6) and its restore
# batch (payload + 4), taken as 2 x payload + 24: 48 bytes for an IPv4
# element's 12. Measured (scripts/bench final_verify): 35 MiB at 1,000,000
# elements, 9.5 MiB at 200,000, 13 MiB here; about 3 MiB of it the program.
# When each element was an NftObject it was 0.58 KiB an element: this set
# took 160 MiB.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/arm_env.bash"
REAL=${HALTFW_FINAL_BIN:?HALTFW_FINAL_BIN (the built haltfw-final) must be set}
N=300000
BOUND_KIB=$((4096 + N * 48 / 1024))
M="$HALTFW_EXITRD/haltfw.manifest"

write_hash_set_rules "$WORK/rules.nft" "$N"
printf '[ruleset]\nfile = %s/rules.nft\n\n[sysctl]\nnet.ipv4.ip_forward = 1\n' "$WORK" >"$WORK/haltfw.conf"
run_haltfw 0 --config "$WORK/haltfw.conf" apply
run_haltfw 0 --config "$WORK/haltfw.conf" arm --final "$REAL"
digest=$("$HALTFW" digest)
expect_contains "arm" "$OUT" "armed: digest $digest"

# verify WHAT RESTORED : one 'haltfw-final --verify' (its report in $vout),
# its report and its
# peak resident set (its own VmHWM, on the report's machine line: a
# measure from outside, ru_maxrss, would count the forking parent's pages
# too) checked.
verify() {
    local peak
    vout=$("$REAL" --verify "$M" 2>&1) || fail "verify $1: $vout"
    expect_contains "verify $1" "$vout" "HALTFW: HALTED-OK digest=$digest links=0 addresses=0 restored=$2 rss_peak_kib="
    peak=$(sed -n 's/^HALTFW: HALTED-OK .* rss_peak_kib=\([0-9]*\) .*/\1/p' <<<"$vout")
    [ -n "$peak" ] || fail "verify $1: no rss_peak_kib on the report's machine line: $vout"
    [ "$peak" -le "$BOUND_KIB" ] || fail "verify $1: peak resident set $peak KiB, over the bound of $BOUND_KIB KiB"
    echo "$TEST: verify $1: peak resident set $peak KiB (bound $BOUND_KIB KiB)"
}

verify "unchanged since arm" 0
expect_contains "unchanged since arm" "$vout" "; nothing committed since, so not read again)"
# A commit that leaves the same ruleset: the generation moved, so the
# ruleset is read whole, and found as armed.
nft add table ip touch
nft delete table ip touch
verify "as armed, read again" 0
expect_contains "as armed, read again" "$vout" "HALTFW: ruleset: digest $digest as armed ("
case $vout in *"not read again"*) fail "verify read nothing after a commit: $vout" ;; esac
nft flush ruleset
verify "after a flush" 1
expect_eq "digest after the restore" "$("$HALTFW" digest)" "$digest"
run_haltfw 0 --config "$WORK/haltfw.conf" disarm
echo "ok: $TEST"
