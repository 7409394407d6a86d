#!/bin/bash
# The ruleset watcher (haltfw watch, as haltfw-watch.service runs it from
# 'haltfw arm' on): it becomes the real haltfw-final chrooted into the
# exitrd with argv[0] "@haltfw-watch". On standby it leaves the live
# ruleset alone; once SIGUSR1 ('haltfw halt') sets it watching, it puts the
# armed ruleset back within milliseconds of any nftables transaction that
# changes it: a flush, an added table, a rule deleted. Its state file counts
# the restores, and a transaction that leaves the ruleset as armed restores
# nothing. It reads the manifest when it starts watching, not before, and
# skips its first check while the ruleset generation at which arm read the
# armed ruleset (the manifest says which) is still the kernel's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/arm_env.bash"
REAL=${HALTFW_FINAL_BIN:?HALTFW_FINAL_BIN (the built haltfw-final) must be set}
make_links
write_config
STATE="$HALTFW_EXITRD/haltfw.watch"

# Not armed: nothing to watch, exit 1, nothing started.
run_haltfw 1 watch
expect_contains "unarmed watch" "$OUT" "haltfw: watch: not armed (no '$HALTFW_EXITRD/haltfw.manifest'); nothing to watch"

run_haltfw 0 --config "$CONF" arm --final "$REAL"
armed=$("$HALTFW" digest)
# Once watching, the watcher holds an owned copy of every armed table.
guard=$(nft list tables | wc -l)
# The namespace's cookie, as arm recorded it with the generation it read
# the armed ruleset at.
cookie=$(armed_cookie)
[ -n "$cookie" ] || fail "the manifest records no generation: $(head -n 5 "$HALTFW_EXITRD/haltfw.manifest")"
# watching RESTORED FAILED GUARD : the state line of a watcher that watches
# and last knew the ruleset as armed at the kernel's generation now.
watching() {
    echo "haltfw-watch pid=$watcher mode=watching restored=$1 failed=$2 guard=$3 proven=$(generation) netns=$cookie"
}

# start_watcher OUT : 'haltfw watch' in the background (its output to OUT,
# its pid in $watcher), until its state file says it is subscribed (5 s).
# It starts on standby.
start_watcher() {
    "$HALTFW" watch >"$1" 2>&1 &
    watcher=$!
    # shellcheck disable=SC2064 # expand $watcher now
    trap "kill $watcher 2>/dev/null || true; umount '$HALTFW_EXITRD' 2>/dev/null || true; rm -rf '$WORK'" EXIT
    for _ in $(seq 100); do
        [ -s "$STATE" ] && break
        sleep 0.05
    done
}

# set_watching : SIGUSR1, as 'haltfw halt' sends it, and until the state
# file says it watches (5 s).
set_watching() {
    kill -USR1 "$watcher"
    for _ in $(seq 500); do
        grep -q " mode=watching " "$STATE" && break
        sleep 0.01
    done
}

run_haltfw 0 --config "$CONF" status
expect_contains "status without a watcher" "$OUT" "watch: not running (arm starts it, and a halt if arm could not)"
start_watcher "$WORK/watch.out"
run_haltfw 0 --config "$CONF" status
expect_contains "status on standby" "$OUT" "watch: haltfw-watch.service on standby (pid $watcher)"
expect_eq "state once subscribed" "$(cat "$STATE" 2>/dev/null)" "haltfw-watch pid=$watcher mode=standby restored=0 failed=0 guard=0 proven=0 netns=0"
# The same process: haltfw exec'd the final stage, in the exitrd, as '@'.
cmdline=$(tr '\0' ' ' </proc/$watcher/cmdline)
case $cmdline in
    "@haltfw-watch --watch /haltfw.manifest /haltfw.watch "[0-9]*" "[0-9]*" ") ;;
    *) fail "watcher's command line: '$cmdline'" ;;
esac
# The forwarding switches, opened before the chroot (the exitrd has no /proc).
ipv4_fd=$(echo "$cmdline" | awk '{print $5}')
expect_eq "ip_forward inherited" "$(readlink /proc/$watcher/fd/$ipv4_fd)" "/proc/sys/net/ipv4/ip_forward"
expect_eq "its root is the exitrd" "$(readlink /proc/$watcher/root)" "$(realpath "$HALTFW_EXITRD")"
expect_eq "its program is the exitrd's" "$(readlink /proc/$watcher/exe)" "$(realpath "$HALTFW_EXITRD")/shutdown"

# wait_restores N : until the state file counts N restores (at most 5 s);
# prints the milliseconds it took.
wait_restores() {
    local t0 t1
    t0=$(date +%s%N)
    for _ in $(seq 500); do
        grep -q " restored=$1 " "$STATE" && break
        sleep 0.01
    done
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000))
}

# On standby the box is live: the admin's changes to the ruleset stay.
nft add table ip admin_change
sleep 0.5
nft list table ip admin_change >/dev/null 2>&1 || fail "the watcher on standby undid a change to the live ruleset"
expect_eq "standby after a change" "$(cat "$STATE")" "haltfw-watch pid=$watcher mode=standby restored=0 failed=0 guard=0 proven=0 netns=0"
nft delete table ip admin_change
expect_eq "digest back as armed" "$("$HALTFW" digest)" "$armed"

# A change made while it is on standby and still there when the halt sets
# it watching (a stop job that ran before the watcher took the signal):
# its first check puts the armed ruleset back, with no transaction after.
nft flush ruleset
sleep 0.3
expect_eq "flushed on standby" "$(nft list ruleset | wc -l)" 0
set_watching
wait_restores 1 >/dev/null
expect_eq "state once watching" "$(cat "$STATE")" "$(watching 1 0 "$guard")"
expect_eq "digest after its first check" "$("$HALTFW" digest)" "$armed"
# (exit 1: the admin's change above left the ruleset's generation moved)
run_haltfw 1 --config "$CONF" status
expect_contains "status watching" "$OUT" "watch: haltfw-watch.service watching, a halt under way (pid $watcher)"

nft flush ruleset
ms=$(wait_restores 2)
expect_eq "after a flush" "$(cat "$STATE")" "$(watching 2 0 "$guard")"
expect_eq "digest after a flush" "$("$HALTFW" digest)" "$armed"
echo "watch: a flush undone within ${ms} ms (polled every 10 ms)"

nft add table ip intruder
wait_restores 3 >/dev/null
expect_eq "after an added table" "$(cat "$STATE")" "$(watching 3 0 "$guard")"
expect_eq "digest after an added table" "$("$HALTFW" digest)" "$armed"

handle=$(nft -a list chain inet filter forward | sed -n 's/.*masquerade.*# handle \([0-9]*\)$/\1/p; s/.*oifname "wan0" accept # handle \([0-9]*\)$/\1/p' | head -n 1)
[ -n "$handle" ] || fail "no LAN->WAN accept rule found in the forward chain"
nft delete rule inet filter forward handle "$handle"
wait_restores 4 >/dev/null
expect_eq "after a deleted rule" "$(cat "$STATE")" "$(watching 4 0 "$guard")"
expect_eq "digest after a deleted rule" "$("$HALTFW" digest)" "$armed"

# A transaction that changes nothing the digest covers (a counter reset)
# restores nothing.
nft reset counters >/dev/null
sleep 0.5
expect_eq "after a counter reset" "$(cat "$STATE")" "$(watching 4 0 "$guard")"

kill "$watcher"
wait "$watcher" 2>/dev/null || true
expect_contains "its console lines" "$(cat "$WORK/watch.out")" "haltfw-watch: the ruleset changed during the shutdown; put the armed one back in "

# The manifest says at which ruleset generation its arm read the armed
# ruleset. While the kernel's is still that one when the halt sets the
# watcher watching, the guard's load is conditional on it (nothing may
# commit in between), so the user's ruleset is proven at the guard's own
# generation and the first check is skipped; one that moved (here: a flush
# after the arm) gets the full check, which puts the armed ruleset back.
# (Arm again first: the restores above moved the generation on since.)
run_haltfw 0 --config "$CONF" arm --final "$REAL"
gen=$(generation)
[ -n "$gen" ] || fail "haltfw --verbose digest printed no generation"
expect_eq "the manifest's generation" "$(sed -n 's/^generation [0-9a-f-]* [0-9]* //p' "$HALTFW_EXITRD/haltfw.manifest")" "$gen"
rm -f "$STATE"
start_watcher "$WORK/watch4.out"
set_watching
sleep 0.3
expect_eq "watching, same generation" "$(cat "$STATE")" "$(watching 0 0 "$guard")"
expect_eq "proven at the guard's generation" "$(generation)" "$((gen + 1))"
expect_contains "its console line, same generation" "$(cat "$WORK/watch4.out")" \
    "haltfw-watch: watching the armed ruleset (digest $armed) until the final stage; unchanged since the halt's arm (generation $gen)"
nft flush ruleset  # watching now: the event brings the check
wait_restores 1 >/dev/null
expect_eq "same generation, then a flush" "$(cat "$STATE")" "$(watching 1 0 "$guard")"
kill "$watcher"
wait "$watcher" 2>/dev/null || true
run_haltfw 0 --config "$CONF" arm --final "$REAL"
rm -f "$STATE"
start_watcher "$WORK/watch5.out"
nft flush ruleset
sleep 0.3
set_watching
wait_restores 1 >/dev/null
expect_eq "a generation that moved" "$(cat "$STATE")" "$(watching 1 0 "$guard")"
expect_eq "digest after a generation that moved" "$("$HALTFW" digest)" "$armed"
case $(cat "$WORK/watch5.out") in *"unchanged since the halt's arm"*) fail "the watcher skipped its check for a moved generation" ;; esac
kill "$watcher"
wait "$watcher" 2>/dev/null || true

# A ruleset the kernel refuses to restore: the watcher fails closed at once,
# forwarding off for both families, from inside its chroot. The manifest is
# replaced while the watcher is on standby: it reads the one there when it
# starts watching (as arm may rewrite it any number of times before a halt).
rm -f "$STATE"
echo 1 >/proc/sys/net/ipv6/conf/all/forwarding
expect_eq "forwarding before" "$(cat /proc/sys/net/ipv4/ip_forward)$(cat /proc/sys/net/ipv6/conf/all/forwarding)" "11"
start_watcher "$WORK/watch2.out"
write_unrestorable_manifest "$HALTFW_EXITRD/haltfw.manifest" "$WORK/bad.manifest"
cp "$WORK/bad.manifest" "$HALTFW_EXITRD/haltfw.manifest"
set_watching
nft flush ruleset
for _ in $(seq 500); do
    grep -q " failed=1" "$STATE" && break
    sleep 0.01
done
expect_eq "after an unrestorable flush" "$(cat "$STATE")" \
    "haltfw-watch pid=$watcher mode=watching restored=0 failed=1 guard=0 proven=0 netns=$cookie"
expect_eq "forwarding after" "$(cat /proc/sys/net/ipv4/ip_forward)$(cat /proc/sys/net/ipv6/conf/all/forwarding)" "00"
kill "$watcher"
wait "$watcher" 2>/dev/null || true
expect_contains "its console line" "$(cat "$WORK/watch2.out")" "haltfw-watch: the armed ruleset cannot be put back ("
expect_contains "its console line" "$(cat "$WORK/watch2.out")" "): forwarding turned OFF"
case $(cat "$WORK/watch2.out") in *FAILED*) fail "forwarding not switched off: $(cat "$WORK/watch2.out")" ;; esac
# No manifest when the halt sets it watching (disarmed meanwhile): it says
# so and ends (status 2), so 'haltfw halt' learns at once that nothing
# watches.
rm -f "$STATE"
start_watcher "$WORK/watch3.out"
mv "$HALTFW_EXITRD/haltfw.manifest" "$WORK/moved.manifest"
kill -USR1 "$watcher"
for _ in $(seq 500); do
    kill -0 "$watcher" 2>/dev/null || break
    sleep 0.01
done
kill -0 "$watcher" 2>/dev/null && fail "the watcher without a manifest still runs 5 s after SIGUSR1"
rc=0
wait "$watcher" 2>/dev/null || rc=$?
expect_eq "exit status without a manifest" "$rc" 2
expect_contains "its console line" "$(cat "$WORK/watch3.out")" "; not watching"
expect_eq "state left on standby" "$(cat "$STATE")" "haltfw-watch pid=$watcher mode=standby restored=0 failed=0 guard=0 proven=0 netns=0"
# disarm with a watcher running (here without systemd: HALTFW_SYSROOT):
# it is killed before the exitrd comes off, never left on a detached copy.
mv "$WORK/moved.manifest" "$HALTFW_EXITRD/haltfw.manifest"
rm -f "$STATE"
start_watcher "$WORK/watch4.out"
run_haltfw 0 disarm
expect_contains "disarm kills it" "$OUT" "watch: killed the ruleset watcher (pid $watcher)"
# (a zombie until this shell reaps it: no command line left)
[ -n "$(tr -d '\0' <"/proc/$watcher/cmdline" 2>/dev/null)" ] && fail "the watcher still runs after disarm"
expect_eq "exitrd after disarm" "$(exitrd_mounts)" 0
echo "ok: $TEST"
