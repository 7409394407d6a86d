#!/bin/bash
# What a SIGKILL leaves: 10 runs of an apply from config A to B or C (see
# big_apply.bash) killed at a random moment, most of them while changing.
# Where the kill caught it changing, its journal is left: the next status,
# digest and apply name the interrupted apply, and that apply converges
# (status exit 0, the state B's or C's whole, the journal gone). Where it
# did not, the state is A's or the new one, whole, and nothing is said.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/big_apply.bash"
RUNS=${RUNS:-10}

declare -A state
for c in b c; do
    apply_from_nothing a
    state[a]=$(whole_state)
    run_haltfw 0 --config "$WORK/$c.conf" apply
    state[$c]=$(whole_state)
done

caught=0
for ((run = 1; run <= RUNS; run++)); do
    apply_from_nothing a
    new=$([ $((run % 2)) -eq 1 ] && echo b || echo c)
    "$HALTFW" --config "$WORK/$new.conf" apply >"$WORK/out" 2>&1 &
    pid=$!
    # Three runs in four after the first change, within the first 40 ms
    # (C's changes take about that long, B's longer); the rest from the
    # start, within 300 ms.
    if ((run % 4)); then
        wait_for_file "$(journal_path)" 5000 || true
        when="$(rand_ms 0 40) ms after the first change"
    else
        when="$(rand_ms 0 300) ms after the start"
    fi
    nap "$(ms "${when%% *}")"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    what="run $run: SIGKILL $when of a -> $new"

    notice="haltfw: warning: an apply (pid $pid) was interrupted at "
    if [ -e "$(journal_path)" ]; then
        caught=$((caught + 1))
        rc=0
        OUT=$("$HALTFW" --config "$WORK/$new.conf" status 2>&1) || rc=$?
        expect_contains "$what: status" "$OUT" "$notice"
        expect_contains "$what: status" "$OUT" "; run 'haltfw apply' to converge"
        # Halfway, unless the kill came between the last change and the
        # journal's removal.
        [ "$rc" -eq 1 ] || [ "$(whole_state)" = "${state[$new]}" ] || fail "$what: status exit $rc on a split state"
        run_haltfw 0 digest
        expect_contains "$what: digest" "$OUT" "$notice"
        run_haltfw 0 --config "$WORK/$new.conf" apply
        expect_contains "$what: the next apply" "$OUT" "$notice"
        [ ! -e "$(journal_path)" ] || fail "$what: the converging apply left a journal"
        how="caught changing, converged"
    else
        now=$(whole_state)
        [ "$now" = "${state[a]}" ] || [ "$now" = "${state[$new]}" ] || fail "$what: no journal, yet neither a's state nor $new's"
        run_haltfw 0 --config "$WORK/$new.conf" apply
        how="not changing"
    fi
    case $OUT in *"was interrupted"*) [ "$how" = "not changing" ] && fail "$what: an interruption named without a journal: $OUT" ;; esac
    expect_eq "$what: state after the next apply" "$(whole_state)" "${state[$new]}"
    run_haltfw 0 --config "$WORK/$new.conf" status
    case $OUT in *"was interrupted"*) fail "$what: status still names the interrupted apply: $OUT" ;; esac
    echo "$what: $how"
done
((caught >= RUNS / 2)) || fail "only $caught of $RUNS kills caught the apply changing"
echo "ok: $TEST ($RUNS runs, $caught caught changing)"
