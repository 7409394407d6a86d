#!/bin/bash
# One haltfw at a time: 20 runs of two applies of different configs started
# 50-100 ms apart, in random order. Half the runs with --no-wait: the second
# fails at once, naming the first, and changes nothing. Half without: the
# second says it waits, then applies. Every run ends with the live state
# one config's, whole: its addresses, its ruleset (digest), status exit 0
# for it and 1 for the other. (Without a lock, one rolled back to
# its snapshot over the other's work and the ruleset ended empty.)
. "$(dirname "$0")/lib.sh"
ELEMENTS=${ELEMENTS:-30000}
. "$(dirname "$0")/big_apply.bash"
RUNS=${RUNS:-20}

# The digest each config leaves, applied alone from nothing.
declare -A digest
for c in a b; do
    apply_from_nothing "$c"
    digest[$c]=$("$HALTFW" digest)
done
[ "${digest[a]}" != "${digest[b]}" ] || fail "configs a and b load the same ruleset"

# has_address ADDR: whether lan0 holds it.
has_address() { [[ $(ip -6 addr show dev lan0) == *"inet6 $1/64 "* ]]; }

waited=0 refused=0 overlapped=0
for ((run = 1; run <= RUNS; run++)); do
    reset_net
    if ((RANDOM % 2)); then first=a second=b; else first=b second=a; fi
    nowait=$((run % 2))
    opt=()
    ((nowait)) && opt=(--no-wait)
    offset=$(rand_ms 50 100)
    "$HALTFW" --config "$WORK/$first.conf" apply "${opt[@]}" >"$WORK/first.out" 2>&1 &
    pid1=$!
    nap "$(ms "$offset")"
    "$HALTFW" --config "$WORK/$second.conf" apply "${opt[@]}" >"$WORK/second.out" 2>&1 &
    pid2=$!
    rc1=0 rc2=0
    wait "$pid1" || rc1=$?
    wait "$pid2" || rc2=$?
    out1=$(cat "$WORK/first.out") out2=$(cat "$WORK/second.out")
    what="run $run ($first then $second after $offset ms${opt:+, --no-wait})"

    [ "$rc1" -eq 0 ] || fail "$what: the first apply exited $rc1:
$out1"
    winner=$second
    if ((nowait)) && ((rc2 != 0)); then
        # Refused: exit 1, the holder named, nothing of its config applied.
        expect_eq "$what: refused apply's exit" "$rc2" 1
        expect_eq "$what: refused apply's output" "$out2" "haltfw: another haltfw (pid $pid1, 'apply') is running; nothing changed"
        has_address "2001:db8:$second::1" && fail "$what: the refused apply changed lan0"
        winner=$first
        refused=$((refused + 1)) overlapped=$((overlapped + 1))
    else
        expect_eq "$what: second apply's exit" "$rc2" 0
        case $out2 in
            *"waiting up to 30 s for another haltfw (pid $pid1, 'apply') to finish"*)
                waited=$((waited + 1)) overlapped=$((overlapped + 1)) ;;
        esac
    fi
    loser=$([ "$winner" = a ] && echo b || echo a)

    expect_eq "$what: digest" "$("$HALTFW" digest)" "${digest[$winner]}"
    run_haltfw 0 --config "$WORK/$winner.conf" status
    expect_contains "$what: status of $winner" "$OUT" "state: matches the config"
    run_haltfw 1 --config "$WORK/$loser.conf" status
    for ((i = 1; i <= ADDRESSES; i += 7)); do
        has_address "$(printf '2001:db8:%s::%x' "$winner" "$i")" || fail "$what: lan0 lacks an address of $winner"
    done
    echo "$what: $winner's state, whole"
done

# A read-only verb while an apply holds the lock says so, and still answers.
reset_net
"$HALTFW" --config "$WORK/b.conf" apply >"$WORK/bg.out" 2>&1 &
pid=$!
wait_for_file "$(journal_path)" 5000 || fail "the background apply never began to change"
rc=0
out=$("$HALTFW" digest 2>&1) || rc=$?
wait "$pid"
expect_eq "digest during an apply: exit" "$rc" 0
expect_contains "digest during an apply" "$out" "haltfw: warning: another haltfw (pid $pid, 'apply') is changing the state: what follows may show it halfway"

# Which runs overlapped is up to the scheduler; most must have.
((overlapped >= RUNS / 2)) || fail "only $overlapped of $RUNS runs overlapped: the configs apply too fast to test the lock"
echo "ok: $TEST ($RUNS runs: $refused refused with --no-wait, $waited waited, $overlapped overlapped)"
