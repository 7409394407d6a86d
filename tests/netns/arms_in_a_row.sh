#!/bin/bash
# Twenty arms in a row of large sets: for a 200,000- and a 400,000-element
# IPv4 hash set and interval set, each round flushes the ruleset (so that
# arm's apply loads the set again: a fresh load is when a hash set's dump
# tears, NOTES.md), arms, and checks that
#   - the manifest holds every element of the set once (N records, all
#     distinct; an interval set's N ranges are N starts and N + 1 ends, the
#     first end closing the gap below the first range),
#   - 'haltfw-final --verify' of the unchanged ruleset says it is as armed,
#   - after 'nft flush ruleset' 'haltfw-final --verify' restores it as
#     armed, and 'nft list set' then lists N elements, all distinct.
# A round prints its timings. The kernel's dump of a freshly loaded hash
# set can repeat and skip elements while the table resizes, with no sign
# of it in the dump (NLM_F_DUMP_INTR unset, generation unchanged): haltfw
# reads a torn listing again (nft/nft_dump.cc). 'nft' does not, so a torn
# 'nft list set' is read again too, and said.
#
# Environment:
#   HALTFW_ARM_ROUNDS   rounds per set (default 20)
#   HALTFW_ARM_SETS     the sets, "KIND:N[:ROUNDS]" each, KIND hash or
#                       interval (default "hash:200000 hash:400000
#                       interval:200000 interval:400000": 48 minutes on a
#                       busy 2-core host)
#   HALTFW_ARM_SETS_CI  the sets when HALTFW_ARM_SETS is not set: what
#                       ctest passes (tests/CMakeLists.txt), fewer rounds
#                       of the slow sets to fit CI
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/arm_env.bash"
REAL=${HALTFW_FINAL_BIN:?HALTFW_FINAL_BIN (the built haltfw-final) must be set}
ROUNDS=${HALTFW_ARM_ROUNDS:-20}
SETS=${HALTFW_ARM_SETS:-${HALTFW_ARM_SETS_CI:-hash:200000 hash:400000 interval:200000 interval:400000}}
TABLE=arms
SET=s
# The manifest's element records: "object 6 FAMILY TABLE SET PAYLOAD", the
# names in lowercase hex (halt/manifest.h).
ELEMENT_HEAD="object 6 [0-9]+ $(printf %s "$TABLE" | od -An -tx1 | tr -d ' \n') $(printf %s "$SET" | od -An -tx1 | tr -d ' \n') "

# write_set KIND N: $WORK/rules.nft, table inet arms with set s of N IPv4
# addresses from 16.0.0.0 (a hash set: consecutive; an interval set: every
# other one, so that no two ranges touch and merge), and $CONF.
write_set() {
    hfw_set_rules "$WORK/rules.nft" "$1" "$2" "$TABLE" "$SET"
    printf '[ruleset]\nfile = %s/rules.nft\n\n[sysctl]\nnet.ipv4.ip_forward = 1\n' "$WORK" >"$CONF"
}

# secs FROM_MS: the seconds since FROM_MS, "1.234".
secs() {
    local d=$(($(now_ms) - $1))
    printf '%d.%03d' $((d / 1000)) $((d % 1000))
}
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

# manifest_elements: "RECORDS DISTINCT" of set s in the manifest.
manifest_elements() {
    grep -E "^$ELEMENT_HEAD" "$M" | awk '{ print $6 }' | sort | uniq -c | awk '{ n += $1; d++ } END { print n + 0, d + 0 }'
}

# listed_elements: "ADDRESSES DISTINCT" in 'nft list set'.
listed_elements() {
    nft list set inet "$TABLE" "$SET" | grep -oE '[0-9]+(\.[0-9]+){3}' | sort | uniq -c |
        awk '{ n += $1; d++ } END { print n + 0, d + 0 }'
}

# ruleset_line OUTPUT: the verify's "HALTFW: ruleset: ..." line.
ruleset_line() { grep -m1 '^HALTFW: ruleset: ' <<<"$1" || true; }

# round KIND N I ROUNDS WHERE: one round, its progress line on stdout.
round() {
    local kind=$1 n=$2 i=$3 rounds=$4 where=$5 t0 t ta tv tr tl records want rc vout line
    local manifest_state nft_reads=1 counts
    t0=$(now_ms)
    nft flush ruleset

    t=$(now_ms)
    rc=0
    OUT=$("$HALTFW" --config "$CONF" arm --final "$FINAL" 2>&1) || rc=$?
    ta=$(secs "$t")
    [ "$rc" -eq 0 ] || fail "$where: haltfw arm: exit $rc; output:
$OUT"
    expect_contains "$where: arm" "$OUT" "armed: digest "
    manifest_state=$(grep -oE 'manifest: (wrote|[^ ]+ unchanged)' <<<"$OUT" | awk '{ print ($2 == "wrote") ? "written" : "unchanged" }')

    want=$n
    [ "$kind" = interval ] && want=$((2 * n + 1))
    records=$(manifest_elements)
    [ "$records" = "$want $want" ] ||
        fail "$where: the manifest's set '$SET' holds $(cut -d' ' -f1 <<<"$records") element records, $(cut -d' ' -f2 <<<"$records") distinct; expected $want, all distinct"

    t=$(now_ms)
    rc=0
    vout=$("$REAL" --verify "$M" 2>&1) || rc=$?
    tv=$(secs "$t")
    [ "$rc" -eq 0 ] || fail "$where: haltfw-final --verify of the unchanged ruleset: exit $rc; output:
$vout"
    line=$(ruleset_line "$vout")
    # The wording of an unchanged ruleset may vary (a verify may trust an
    # unchanged generation id); "as armed" and no restore is what counts.
    case "$line" in
        *restored*) fail "$where: haltfw-final --verify restored the unchanged ruleset: $line" ;;
        *" as armed"*) ;;
        *) fail "$where: haltfw-final --verify of the unchanged ruleset did not say 'as armed'; output:
$vout" ;;
    esac

    nft flush ruleset
    t=$(now_ms)
    rc=0
    vout=$("$REAL" --verify "$M" 2>&1) || rc=$?
    tr=$(secs "$t")
    [ "$rc" -eq 0 ] || fail "$where: haltfw-final --verify after 'nft flush ruleset': exit $rc; output:
$vout"
    line=$(ruleset_line "$vout")
    case "$line" in
        *restored*" as armed"*) ;;
        *) fail "$where: haltfw-final --verify after 'nft flush ruleset' did not say 'restored ... as armed'; output:
$vout" ;;
    esac

    t=$(now_ms)
    counts=$(listed_elements)
    while [ "$counts" != "$n $n" ] && [ "$nft_reads" -lt 3 ]; do
        echo "$TEST: $where: 'nft list set' listed $(cut -d' ' -f1 <<<"$counts") elements, $(cut -d' ' -f2 <<<"$counts") distinct; listing again" >&2
        nft_reads=$((nft_reads + 1))
        counts=$(listed_elements)
    done
    tl=$(secs "$t")
    [ "$counts" = "$n $n" ] ||
        fail "$where: after the restore 'nft list set' listed $(cut -d' ' -f1 <<<"$counts") elements, $(cut -d' ' -f2 <<<"$counts") distinct, in each of $nft_reads listings; expected $n, all distinct"

    echo "$TEST: $kind $n: round $i/$rounds ok: arm $ta s (manifest $manifest_state, $want element records), verify $tv s, flush+restore $tr s, nft list $tl s$([ "$nft_reads" -gt 1 ] && echo " ($nft_reads listings)"), round $(secs "$t0") s"
}

total0=$(now_ms)
summary=()
for spec in $SETS; do
    IFS=: read -r kind n rounds <<<"$spec"
    rounds=${rounds:-$ROUNDS}
    case "$kind" in hash | interval) ;; *) fail "HALTFW_ARM_SETS: '$spec': the kind is hash or interval" ;; esac
    write_set "$kind" "$n"
    t=$(now_ms)
    for ((i = 1; i <= rounds; i++)); do
        round "$kind" "$n" "$i" "$rounds" "$kind set of $n elements, round $i of $rounds"
    done
    summary+=("$kind $n: $rounds rounds in $(secs "$t") s")
done
run_haltfw 0 --config "$CONF" disarm
printf '%s\n' "${summary[@]/#/$TEST: }"
echo "$TEST: all in $(secs "$total0") s"
echo "ok: $TEST"
