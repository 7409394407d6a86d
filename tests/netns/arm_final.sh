#!/bin/bash
# arm with the real final stage, haltfw-final: the exitrd holds it with its
# program interpreter and libraries, enough to run it with the exitrd as
# root. Its verification reads nothing while the ruleset generation is
# the one arm read (in this namespace, not another's), repairs a flushed
# ruleset and a downed link from the manifest, and fails closed
# (forwarding off) when the armed ruleset cannot be put back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/arm_env.bash"
REAL=${HALTFW_FINAL_BIN:?HALTFW_FINAL_BIN (the built haltfw-final) must be set}
make_links
write_config

run_haltfw 0 --config "$CONF" arm --final "$REAL"
expect_contains "arm" "$OUT" "bytes) with its loader and "
interp=$(readelf -lW "$REAL" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
[ -n "$interp" ] || fail "expected $REAL to be dynamically linked (see haltfw/CMakeLists.txt)"
[ -x "$HALTFW_EXITRD$interp" ] || fail "the exitrd lacks the interpreter $interp"
for lib in $("$interp" --list "$REAL" | awk '$2 == "=>" && $3 ~ /^\// {print $3}'); do
    cmp -s "$lib" "$HALTFW_EXITRD$lib" || fail "the exitrd lacks $lib (or holds other bytes)"
done
# Run it with the exitrd as its root, as after systemd's pivot: no library
# from outside. Not PID 1, so it refuses, which proves it started.
rc=0
out=$(chroot "$HALTFW_EXITRD" /shutdown 2>&1) || rc=$?
expect_eq "chroot /shutdown exit" "$rc" 2
expect_contains "chroot /shutdown" "$out" "haltfw-final: refusing to run: not PID 1"
# haltfw-inert, found beside the --final given, goes in as /haltfw-inert
# and runs there (static: the libraries are gone when it runs).
inert=$(dirname "$REAL")/haltfw-inert
expect_contains "arm: inert" "$OUT" "exitrd: installed the inert program as $HALTFW_EXITRD/haltfw-inert ($(stat -c %s "$inert") bytes, static)"
cmp -s "$inert" "$HALTFW_EXITRD/haltfw-inert" || fail "the exitrd's /haltfw-inert is not $inert"
rc=0
out=$(chroot "$HALTFW_EXITRD" /haltfw-inert 2>&1) || rc=$?
expect_eq "chroot /haltfw-inert exit" "$rc" 2
expect_contains "chroot /haltfw-inert" "$out" "haltfw-inert: refusing to run: not PID 1"

digest=$("$HALTFW" digest)
vout=$("$REAL" --verify "$M" 2>&1) || fail "verify of the armed state: $vout"
expect_contains "verify" "$vout" "HALTFW: HALTED-OK digest=$digest links=2 addresses=4 restored=0"
# Nothing committed since arm read the ruleset: the generation proves it,
# and nothing is read.
armed_gen=$(generation)
expect_contains "verify, nothing committed since arm" "$vout" \
    "HALTFW: ruleset: digest $digest as armed (generation $armed_gen, the one at which arm read it; nothing committed since, so not read again)"

# The same manifest in another network namespace whose own commits (empty
# tables) brought its generation to the armed one's: the number proves
# nothing there. The ruleset is read, found different and put back.
vout=$(unshare --net bash -c '
    i=0
    while gen=$("$1" --verbose digest 2>&1 | sed -n "s/^read at ruleset generation //p") && [ "$gen" -lt "$3" ]; do
        i=$((i + 1))
        nft add table ip "filler$i" || exit 9
    done
    [ "$gen" = "$3" ] || { echo "generation $gen, not $3"; exit 9; }
    "$2" --verify "$4" 2>&1
    exit 0' - "$HALTFW" "$REAL" "$armed_gen" "$M")
expect_contains "another namespace, same generation" "$vout" "restored from the manifest: now $digest as armed"
case $vout in *"not read again"*) fail "verify took another namespace's generation for arm's: $vout" ;; esac

# Something flushes the ruleset on the way down: put back from the manifest.
nft flush ruleset
vout=$("$REAL" --verify "$M" 2>&1) || fail "verify after a flush: $vout"
expect_contains "restored" "$vout" "HALTFW: ruleset: digest was "
expect_contains "restored" "$vout" "restored from the manifest: now $digest as armed"
expect_contains "restored" "$vout" "HALTFW: HALTED-OK digest=$digest links=2 addresses=4 restored=1"
expect_eq "digest after the restore" "$("$HALTFW" digest)" "$digest"

# A link went down and lost an address: the final stage repairs it.
ip link set lan0 down
ip addr del 192.0.2.1/24 dev lan0
vout=$("$REAL" --verify "$M" 2>&1) || fail "verify after ifdown: $vout"
expect_contains "links repaired" "$vout" "repaired: lan0 set up; repaired: lan0 192.0.2.1/24 added"
expect_eq "lan0 address back" "$(ip -br -4 addr show lan0 | awk '{print $3}')" "192.0.2.1/24"

# The armed ruleset cannot come back: a manifest (sealed with a valid
# checksum) whose rules name a chain that does not exist, so the kernel
# refuses the restore. The final stage must fail closed: forwarding off for
# every family.
write_unrestorable_manifest "$M" "$WORK/bad.manifest"
nft flush ruleset
ip link set lan0 up
expect_eq "forwarding before" "$(cat /proc/sys/net/ipv4/ip_forward)" 1
echo 1 >/proc/sys/net/ipv6/conf/all/forwarding
rc=0
vout=$("$REAL" --verify "$WORK/bad.manifest" 2>&1) || rc=$?
expect_eq "verify exit when the ruleset cannot be restored" "$rc" 1
expect_contains "restore refused" "$vout" "restore failed: restore: rule in filter nowhere: No such file or directory"
expect_contains "fail closed" "$vout" "HALTFW: forwarding: turned OFF for every family (fail closed)"
expect_contains "fail closed" "$vout" "HALTFW: HALTED-FAIL reason=ruleset "
expect_eq "ip_forward after" "$(cat /proc/sys/net/ipv4/ip_forward)" 0
expect_eq "ipv6 forwarding after" "$(cat /proc/sys/net/ipv6/conf/all/forwarding)" 0

run_haltfw 0 --config "$CONF" disarm
echo "ok: $TEST"
