#!/bin/bash
# Signals cannot split an apply: 20 runs of SIGINT, SIGTERM or SIGHUP (some
# sent twice) at random moments of an apply from config A to B (a ruleset of
# $ELEMENTS elements, $ADDRESSES addresses, routes, sysctls) or to C (the
# same ruleset, $C_ADDRESSES more addresses, routes, sysctls). Every run ends
# in A's state or the new one, completely (addresses, routes, sysctls,
# ruleset digest), `status` agrees, and no journal is left. A run that saw
# the signal while changing exits 128+N and says which way it went; one
# that had not begun is ended by the signal, and changed nothing. (Before:
# a Ctrl-C 0.3 s into an apply left the new ruleset with 0 or 15 of its 200
# addresses, and no routes or sysctls.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/big_apply.bash"
RUNS=${RUNS:-20}

# The whole states: A applied from nothing; then B or C applied over it.
# And how long the apply over A takes, from its start and from its first
# change (the journal appears) to its end.
declare -A state took changing
apply_from_nothing a
state[a]=$(whole_state)
for c in b c; do
    apply_from_nothing a
    t0=$(now_ms)
    "$HALTFW" --config "$WORK/$c.conf" apply >"$WORK/out" 2>&1 &
    wait_for_file "$(journal_path)" 5000 || fail "apply $c: no journal while it changed"
    t1=$(now_ms)
    wait $! || fail "apply $c: exit $?: $(cat "$WORK/out")"
    t2=$(now_ms)
    took[$c]=$((t2 - t0)) changing[$c]=$((t2 - t1))
    state[$c]=$(whole_state)
    [ "${state[$c]}" != "${state[a]}" ] || fail "config $c changes nothing over a"
    echo "apply over a: $c takes ${took[$c]} ms, ${changing[$c]} ms of it changing"
done

# wait_for_haltfw PID MAX_MS: returns 0 once job PID runs haltfw (env has
# exec'd it), 1 after MAX_MS. A signal sent to the job before would miss
# haltfw: a forked copy of this shell (bash 5.2 catches INT, TERM and HUP
# in a shell with an EXIT trap) would run lib.sh's trap, rm -rf "$WORK",
# under the test and die; env would drop a SIGINT it has not yet set back
# from ignored.
HALTFW_COMM=${HALTFW##*/}
HALTFW_COMM=${HALTFW_COMM:0:15}
wait_for_haltfw() {
    local end=$((${EPOCHREALTIME/./} / 1000 + $2)) comm
    while read -r comm </proc/"$1"/comm && [ "$comm" != "$HALTFW_COMM" ]; do
        ((${EPOCHREALTIME/./} / 1000 < end)) || return 1
        nap 0.0002
    done
}

signals=(INT TERM HUP)
declare -A seen
for ((run = 1; run <= RUNS; run++)); do
    apply_from_nothing a
    new=$([ $((run % 2)) -eq 1 ] && echo b || echo c)
    sig=${signals[$((run % 3))]}
    # Non-interactive bash starts background jobs with SIGINT ignored
    # (and haltfw keeps an ignored signal ignored): give it the default.
    env --default-signal=INT,TERM,HUP "$HALTFW" --config "$WORK/$new.conf" apply >"$WORK/out" 2>&1 &
    pid=$!
    wait_for_haltfw "$pid" 5000 || fail "run $run: haltfw not started after 5 s: $(cat "$WORK/out")"
    # Half the runs at a random moment of the whole run; half at a random
    # moment after the first change (the journal appears): for C, in the
    # first third of its changes, where rolling back is the shorter way.
    if ((run % 4 < 2)); then
        when="$(rand_ms 0 "${took[$new]}") ms after the start"
    else
        wait_for_file "$(journal_path)" 5000 || true
        span=${changing[$new]}
        [ "$new" = c ] && span=$((span / 3))
        when="$(rand_ms 0 "$span") ms after the first change"
    fi
    nap "$(ms "${when%% *}")"
    kill -s "$sig" "$pid" 2>/dev/null || true
    # A second Ctrl-C does not break the rule.
    if ((run % 3 == 0)); then
        nap 0.002
        kill -s "$sig" "$pid" 2>/dev/null || true
    fi
    rc=0
    wait "$pid" 2>/dev/null || rc=$?  # (not bash's "Hangup" line)
    out=$(cat "$WORK/out")
    what="run $run: SIG$sig $when of a -> $new (exit $rc)"

    now=$(whole_state)
    if [ "$now" = "${state[a]}" ]; then ended=a
    elif [ "$now" = "${state[$new]}" ]; then ended=$new
    else fail "$what: neither a's state nor $new's (against $new's): $(diff <(echo "${state[$new]}") <(echo "$now") | head -20); output:
$out"
    fi
    case $out in
        *"haltfw: interrupted by SIG$sig: "*)
            expect_eq "$what: exit" "$rc" $((128 + $(kill -l "$sig")))
            case $out in
                *"the live state is the config's"*) expect_eq "$what: state" "$ended" "$new"; how=finished ;;
                *"every change was rolled back; the live state is as it was before the apply"*)
                    expect_eq "$what: state" "$ended" a; how="rolled back" ;;
                *) fail "$what: no state said: $out" ;;
            esac ;;
        *"haltfw: interrupted by "*) fail "$what: another signal named: $out" ;;
        *)
            # Not yet changing (ended by the signal), or done before it came.
            how=$([ "$ended" = a ] && echo "ended before changing" || echo "done before the signal")
            [ "$ended" = a ] && [ "$rc" -ne $((128 + $(kill -l "$sig"))) ] && fail "$what: a's state but not ended by the signal"
            ;;
    esac
    run_haltfw 0 --config "$WORK/$ended.conf" status
    expect_contains "$what: status" "$OUT" "state: matches the config"
    [ ! -e "$(journal_path)" ] || fail "$what: a journal is left: $(cat "$(journal_path)")"
    seen[$how]=$((${seen[$how]:-0} + 1))
    echo "$what: $how, $ended's state"
done

summary=""
for k in "${!seen[@]}"; do summary+="${summary:+, }${seen[$k]} $k"; done
# The decisive ones: a signal seen while changing, both ways.
[ -n "${seen[finished]:-}" ] || fail "no run was interrupted while changing and finished ($summary)"
[ -n "${seen[rolled back]:-}" ] || fail "no run was interrupted while changing and rolled back ($summary)"
echo "ok: $TEST ($RUNS runs: $summary)"
