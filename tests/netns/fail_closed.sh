#!/bin/bash
# haltfw-final fails closed where its code cannot return an error
# (final/fail_closed.h): forwarding off for both families, one fixed line
# on stderr, exit 4 for a helper, and PID 1 never ends.
#  - out of memory for real: 'haltfw-final --verify' of a 100,000-element
#    set under address-space limits (prlimit --as) from 3 MiB up in steps
#    of 256 KiB, so that an allocation fails at one point of the check after
#    another, until the check passes. Whatever fails, forwarding ends off:
#    a C library's allocation failing is an error the check reports and
#    fails closed on itself (exit 1), operator new failing is the backstop
#    (exit 4, its exact line); at least one limit must reach the backstop;
#    below the program's own size the loader cannot start it at all (exit
#    127, forwarding untouched). No limit may end in a crash. (On one host:
#    18 limits reached the backstop, 2 the check's own error, and the check
#    passed from 8.25 MiB.) The ruleset's generation is moved first, so
#    that the check dumps the set rather than take arm's proof that it is
#    unchanged.
#  - libstdc++'s own throws (vector::at, vector::reserve) and every form of
#    allocation (new, new[], nothrow, aligned) refused, through the same
#    backstop in haltfw_fail_closed_probe (tests/fail_closed_probe.cc): the
#    real program has no throw a test could reach; and the probe as PID 1
#    of a PID namespace, which must stay alive, waiting, also after
#    abort() and exit(), which library code may call.
# Each case starts with both forwarding switches on in this namespace.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/arm_env.bash"
REAL=${HALTFW_FINAL_BIN:?HALTFW_FINAL_BIN (the built haltfw-final) must be set}
PROBE=${HALTFW_FAIL_CLOSED_PROBE:?HALTFW_FAIL_CLOSED_PROBE (the built haltfw_fail_closed_probe) must be set}
N=100000
OOM_LINE="haltfw-final: out of memory (an allocation failed): forwarding turned OFF, fail closed"
THROW_LINE="haltfw-final: an unexpected C++ exception (std::terminate): forwarding turned OFF, fail closed"

forwarding() {
    echo "$(cat /proc/sys/net/ipv4/ip_forward) $(cat /proc/sys/net/ipv6/conf/all/forwarding)"
}
forwarding_on() {
    sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
    expect_eq "forwarding before $1" "$(forwarding)" "1 1"
}

# helper_case WHAT LINE CMD...: CMD fails closed as a helper.
helper_case() {
    local what=$1 line=$2 rc=0 err
    shift 2
    forwarding_on "$what"
    err=$("$@" 2>&1 >/dev/null) || rc=$?
    expect_eq "$what: exit code" "$rc" 4
    expect_eq "$what: stderr" "$err" "$line"
    expect_eq "$what: forwarding after" "$(forwarding)" "0 0"
    echo "$TEST: $what: exit 4, forwarding off"
}

write_hash_set_rules "$WORK/rules.nft" "$N"
printf '[ruleset]\nfile = %s/rules.nft\n\n[sysctl]\nnet.ipv4.ip_forward = 1\nnet.ipv6.conf.all.forwarding = 1\n' \
    "$WORK" >"$WORK/haltfw.conf"
run_haltfw 0 --config "$WORK/haltfw.conf" apply
run_haltfw 0 --config "$WORK/haltfw.conf" arm --final "$REAL"
nft add table ip bump
nft delete table ip bump

# The sweep: until a limit lets the check pass (64 MiB at the most).
backstops=0 reported=0 passed=0
for ((kib = 3072; kib <= 65536; kib += 256)); do
    sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
    rc=0
    err=$(prlimit --as=$((kib * 1024)) "$REAL" --verify "$M" 2>&1 >"$WORK/verify.out") || rc=$?
    case $rc in
        0)
            expect_contains "--verify at $kib KiB" "$(cat "$WORK/verify.out")" "HALTFW: HALTED-OK "
            passed=$kib
            break
            ;;
        127)
            expect_contains "--verify at $kib KiB (exit 127)" "$err" "error while loading shared libraries"
            expect_eq "--verify at $kib KiB: forwarding untouched by a program that never ran" "$(forwarding)" "1 1"
            ;;
        1)
            expect_contains "--verify at $kib KiB (exit 1)" "$(cat "$WORK/verify.out")" \
                "HALTFW: forwarding: turned OFF for every family (fail closed)"
            expect_eq "--verify at $kib KiB: forwarding after" "$(forwarding)" "0 0"
            reported=$((reported + 1))
            ;;
        4)
            expect_eq "--verify at $kib KiB: stderr" "$err" "$OOM_LINE"
            expect_eq "--verify at $kib KiB: forwarding after" "$(forwarding)" "0 0"
            backstops=$((backstops + 1))
            ;;
        *) fail "--verify at $kib KiB: exit $rc (a crash?): $err" ;;
    esac
done
((passed > 0)) || fail "no limit up to 64 MiB let the check pass"
((backstops > 0)) || fail "no limit made operator new fail: the backstop never fired"
echo "$TEST: --verify under 3 MiB up: $backstops limits failed closed by the backstop (exit 4)," \
    "$reported by the check's own error (exit 1); passed from $passed KiB"
# The same check without the limit passes, forwarding back on: the limit
# alone made the difference.
vout=$("$REAL" --verify "$M" 2>&1) || fail "verify without a limit: $vout"
expect_contains "verify without a limit" "$vout" "HALTFW: HALTED-OK "
expect_eq "forwarding after a verify without a limit" "$(forwarding)" "1 1"

helper_case "probe at" "$THROW_LINE" "$PROBE" at
helper_case "probe length" "$THROW_LINE" "$PROBE" length
for what in new new-array nothrow aligned; do
    helper_case "probe $what" "$OOM_LINE" "$PROBE" "$what"
done

# pid1_case WHAT CAUSE REASON : the probe as PID 1 of a PID namespace,
# failing by WHAT: the line (haltfw-final: CAUSE: ...), the two-line
# report (HALTED-FAIL reason=REASON, for verify-console), forwarding off,
# and still alive afterwards, even after a SIGTERM. --kill-child ends it
# with its parent: unshare ignores SIGTERM while it waits, so SIGKILL.
version=$("$HALTFW" --version | awk '{print $NF}')
pid1_case() {
    local what=$1 cause=$2 reason=$3 parent pid1
    forwarding_on "PID 1, $what"
    : >"$WORK/pid1.err"
    unshare --pid --fork --kill-child "$PROBE" "$what" >"$WORK/pid1.out" 2>"$WORK/pid1.err" &
    parent=$!
    for _ in $(seq 50); do
        [ -s "$WORK/pid1.err" ] && break
        sleep 0.1
    done
    expect_eq "PID 1, $what: stderr" "$(cat "$WORK/pid1.err")" \
        "haltfw-final: $cause: forwarding turned OFF, fail closed"
    expect_eq "PID 1, $what: console report" "$(cat "$WORK/pid1.out")" "HALTFW: report begin (haltfw $version)
HALTFW: $cause: forwarding turned OFF for every family (fail closed)
HALTFW: HALTED-FAIL reason=$reason lines=2"
    expect_eq "PID 1, $what: forwarding after" "$(forwarding)" "0 0"
    pid1=$(pgrep -P "$parent")
    kill -TERM "$pid1"
    sleep 0.3
    [ "$(ps -o stat= -p "$pid1" | cut -c1)" = S ] ||
        fail "PID 1, $what: PID 1 of the PID namespace is not waiting: $(ps -o stat=,wchan= -p "$pid1")"
    kill -KILL "$parent"
    wait "$parent" || true
    echo "$TEST: PID 1, $what: line and report said, forwarding off, still waiting after SIGTERM"
}
pid1_case new "out of memory (an allocation failed)" memory
pid1_case at "an unexpected C++ exception (std::terminate)" exception
pid1_case abort "abort() called (a library's failed assertion, or a corrupted heap)" abort
pid1_case exit "exit() called by library code" exit

run_haltfw 0 --config "$WORK/haltfw.conf" disarm
echo "ok: $TEST"
