#!/bin/bash
# haltfw-inert, the halted firewall's PID 1 for ever, run as PID 1 of a
# PID namespace of its own, chrooted into a tmpfs laid out like the exitrd
# after the final stage (program, loader, libraries, manifest, watcher
# state, itself): it removes every file of that tmpfs but nothing on
# another mount, prints its INERT line, takes /proc off, ignores SIGTERM,
# SIGINT (--ctrl-alt-del ignore) and the rest, and reaps an orphan. Not
# PID 1, it refuses and removes nothing. With --ctrl-alt-del reboot or
# poweroff, SIGINT ends the namespace as reboot(2) does for a namespace's
# init (it never reboots the host: reboot() outside the initial PID
# namespace only ends that namespace). With --kmsg its lines go to the
# kernel log too (the host's, here), verbatim, through a node it makes in
# its root and unlinks.
. "$(dirname "$0")/lib.sh"
INERT=${HALTFW_INERT_BIN:?HALTFW_INERT_BIN (the built haltfw-inert) must be set}
command -v nsenter >/dev/null || { echo "skipped: $TEST: nsenter is not installed"; exit 77; }

# Static, and no libstdc++ in it (its exception support alone is ~100 KB).
if readelf -lW "$INERT" | grep -q 'program interpreter'; then fail "$INERT is dynamically linked"; fi
if nm "$INERT" 2>/dev/null | grep -q '__gxx_personality_v0'; then fail "$INERT links libstdc++'s exception support"; fi
strip -o "$WORK/inert-stripped" "$INERT"
size=$(stat -c %s "$WORK/inert-stripped")
echo "haltfw-inert: $size bytes stripped"
((size <= 1048576)) || fail "haltfw-inert is $size bytes stripped (expected at most 1 MiB)"

out=$("$INERT" --help) || fail "--help: exit $?"
expect_contains "--help" "$out" "usage: haltfw-inert [--ctrl-alt-del reboot|poweroff|ignore]"
rc=0
out=$("$INERT" --ctrl-alt-del halt 2>&1) || rc=$?
expect_eq "bad value: exit" "$rc" 2
expect_contains "bad value" "$out" "haltfw-inert: 'halt': bad value for --ctrl-alt-del (reboot, poweroff or ignore)"

# ROOT: a tmpfs like the exitrd; KEEP: a mount inside it that must survive.
ROOT=$WORK/root
mkdir "$ROOT"
mount -t tmpfs haltfw-exitrd "$ROOT"
fill_root() {
    cp "$INERT" "$ROOT/haltfw-inert"
    head -c 700000 /dev/urandom >"$ROOT/shutdown"
    mkdir -p "$ROOT/lib/x86_64-linux-gnu" "$ROOT/lib64" "$ROOT/proc" "$ROOT/oldroot" "$ROOT/keep"
    head -c 2000000 /dev/urandom >"$ROOT/lib/x86_64-linux-gnu/libc.so.6"
    head -c 200000 /dev/urandom >"$ROOT/lib64/ld-linux-x86-64.so.2"
    head -c 3000000 /dev/urandom >"$ROOT/haltfw.manifest"
    echo "haltfw-watch pid=2 restored=0 failed=0" >"$ROOT/haltfw.watch"
    mountpoint -q "$ROOT/keep" || mount -t tmpfs keep "$ROOT/keep"
    echo "not the exitrd's" >"$ROOT/keep/file"
}
fill_root
# Everything on the root's tmpfs but the root itself and the KEEP mount point.
entries() { find "$ROOT" -mindepth 1 -xdev | grep -vxF "$ROOT/keep" | sort; }
before=$(entries)
# Counted: all but /proc, a mount point then, removed after it is taken off.
expected_removed=$(grep -cvxF "$ROOT/proc" <<<"$before")
others_kib=$(du -sk --exclude=haltfw-inert -x "$ROOT" | cut -f1)

# Not PID 1: refuses, removes nothing.
rc=0
out=$(chroot "$ROOT" /haltfw-inert --ctrl-alt-del ignore 2>&1) || rc=$?
expect_eq "not PID 1: exit" "$rc" 2
expect_eq "not PID 1: output" "$out" "haltfw-inert: refusing to run: not PID 1 (the final stage execs it in the exitrd)"
expect_eq "not PID 1: the files" "$(entries)" "$before"

# start_inert CAD [ARG...] : runs haltfw-inert as PID 1 of a new PID
# namespace, chrooted into ROOT with its own /proc there, with
# --ctrl-alt-del CAD and ARGs; sets RUNNER (unshare's pid), P (haltfw-inert's
# pid here) and CONSOLE.
start_inert() {
    CONSOLE=$WORK/console-$1
    # shellcheck disable=SC2016 # $1... are the inner shell's
    unshare --pid --fork --mount \
        sh -c 'r=$1; shift; mount -t proc proc "$r/proc" && exec chroot "$r" /haltfw-inert --ctrl-alt-del "$@"' \
        sh "$ROOT" "$@" >"$CONSOLE" 2>&1 &
    RUNNER=$!
    P=
    for ((i = 0; i < 100; i++)); do
        P=$(cat "/proc/$RUNNER/task/$RUNNER/children" 2>/dev/null | tr -d ' ')
        [[ -n $P && $(cat "/proc/$P/comm" 2>/dev/null) == haltfw-inert ]] && break
        sleep 0.05
    done
    [[ $(cat "/proc/$P/comm" 2>/dev/null) == haltfw-inert ]] || fail "haltfw-inert did not start as PID 1: $(cat "$CONSOLE")"
    for ((i = 0; i < 100; i++)); do
        grep -q '^HALTFW: INERT ' "$CONSOLE" && return 0
        sleep 0.05
    done
    fail "no INERT line within 5 s: $(cat "$CONSOLE")"
}
stop_inert() {
    kill -KILL "$P" 2>/dev/null || true  # SIGKILL from an ancestor namespace is the one that ends it
    wait "$RUNNER" 2>/dev/null || true
}
trap 'stop_inert; umount "$ROOT/keep" "$ROOT" 2>/dev/null; rm -rf "$WORK"' EXIT

start_inert ignore
line=$(grep '^HALTFW: INERT ' "$CONSOLE")
echo "$line"
field() { tr ' ' '\n' <<<"$line" | sed -n "s/^$1=//p"; }
expect_eq "console: only the INERT line" "$(wc -l <"$CONSOLE")" 1
# kernel_lines : the kernel log's records at level 6 (info) of facility
# user (what "<6>" written to /dev/kmsg makes), their text alone.
kernel_lines() { dmesg --decode --notime | sed -n 's/^user *:info *: //p'; }
kernel_lines >/dev/null || fail "cannot read the kernel log (dmesg --raw)"
if kernel_lines | grep -qxF "$line"; then fail "without --kmsg, the INERT line is in the kernel log"; fi
# Every file and directory of the root's tmpfs is gone, /proc with them
# (taken off first), and the other mount is untouched.
expect_eq "left in the root" "$(find "$ROOT" -mindepth 1 -xdev | sort)" "$ROOT/keep"
expect_eq "the other mount" "$(cat "$ROOT/keep/file")" "not the exitrd's"
if awk '$5 == "/proc"' "/proc/$P/mountinfo" | grep -q .; then fail "/proc is still mounted for it: $(cat "/proc/$P/mountinfo")"; fi
expect_eq "removed" "$(field removed)" "$expected_removed"
expect_eq "remove_failed" "$(field remove_failed)" 0
expect_eq "ctrl_alt_del" "$(field ctrl_alt_del)" ignore
rss=$(field rss_kib) anon=$(field rss_anon_kib) file=$(field rss_file_kib) vmrss=$(field vm_rss_kib) hwm=$(field vm_hwm_kib)
freed=$(field freed_kib) left=$(field left_kib) used=$(field mem_used_kib)
((rss > 0 && rss <= 2048)) || fail "rss_kib=$rss (expected 1..2048: the target)"
((anon > 0 && file > 0 && anon + file == rss)) || fail "rss_anon_kib=$anon + rss_file_kib=$file != rss_kib=$rss"
((vmrss > 0 && hwm >= vmrss)) || fail "vm_rss_kib=$vmrss, vm_hwm_kib=$hwm (the kernel's counters)"
((used > 0)) || fail "mem_used_kib=$used"
# What the other files took (du counts tmpfs pages); haltfw-inert's own stay
# while it runs (left_kib).
inert_kib=$(( ($(stat -c %s "$INERT") + 1023) / 1024 ))
((freed >= others_kib - 64 && freed <= others_kib + 64)) || fail "freed_kib=$freed, expected about $others_kib"
((left >= inert_kib && left <= inert_kib + 64)) || fail "left_kib=$left, expected about its own $inert_kib"

# Signals: all ignored (SIGINT too, with --ctrl-alt-del ignore). (A
# namespace's init drops default-action signals from an ancestor namespace
# anyway; what this shows is that sigwaitinfo takes them and nothing ends
# or prints. The mask itself cannot be read here: during sigwaitinfo the
# kernel shows the waited-for signals as unblocked in SigBlk.)
for sig in TERM INT HUP USR1 QUIT PIPE; do kill -s "$sig" "$P"; done
sleep 0.5
kill -0 "$P" 2>/dev/null || fail "haltfw-inert ended on a signal: $(cat "$CONSOLE")"
expect_eq "console after the signals" "$(wc -l <"$CONSOLE")" 1

# An orphan in its namespace is reparented to it, and reaped when it ends.
# shellcheck disable=SC2016
nsenter --target "$P" --pid sh -c 'sleep 1 & exit 0'
sleep 0.3
kid=$(tr -d ' ' <"/proc/$P/task/$P/children")
[[ -n $kid && $(cat "/proc/$kid/comm" 2>/dev/null) == sleep ]] || fail "the orphan 'sleep' is not haltfw-inert's child (children: '$kid')"
for ((i = 0; i < 50; i++)); do
    [[ -e /proc/$kid ]] || break
    sleep 0.1
done
[[ ! -e /proc/$kid ]] || fail "the orphan ended but was not reaped: $(cat "/proc/$kid/stat" 2>/dev/null)"
kill -0 "$P" 2>/dev/null || fail "haltfw-inert ended after reaping"
stop_inert

# A tmpfs root without haltfw.manifest is not haltfw's exitrd: nothing is
# removed.
fill_root
rm "$ROOT/haltfw.manifest"
before=$(entries)
start_inert ignore --kmsg
expect_contains "no manifest: console" "$(cat "$CONSOLE")" "haltfw-inert: no /haltfw.manifest in the root (not haltfw's exitrd): nothing removed"
# Not the exitrd: no node made in someone else's root; /dev/kmsg, which this chroot lacks.
expect_contains "no manifest, --kmsg" "$(cat "$CONSOLE")" "haltfw-inert: open /dev/kmsg: No such file or directory; no kernel log, the console alone"
expect_eq "no manifest: the files" "$(entries | grep -vxF "$ROOT/proc")" "$(grep -vxF "$ROOT/proc" <<<"$before")"
stop_inert

# --kmsg: the INERT and ALIVE lines in the kernel log as well, each as
# written to the console; the node it opened it by is gone with the rest.
fill_root
start_inert ignore --heartbeat 1 --kmsg
sleep 2.3
cp "$CONSOLE" "$WORK/kmsg-console"
expect_eq "--kmsg: left in the root" "$(find "$ROOT" -mindepth 1 -xdev | sort)" "$ROOT/keep"
stop_inert
expect_eq "--kmsg: nothing but the INERT and ALIVE lines" "$(grep -v '^HALTFW: \(INERT\|ALIVE\) ' "$WORK/kmsg-console")" ""
logged=$(kernel_lines)
n=0
while IFS= read -r l; do
    grep -qxF "$l" <<<"$logged" || fail "--kmsg: not in the kernel log at level 6: '$l'"
    n=$((n + 1))
done <"$WORK/kmsg-console"
((n >= 2)) || fail "--kmsg: $n lines on the console, expected the INERT line and an ALIVE line at least"
echo "--kmsg: $n lines, each in the kernel log: $(grep -c '^HALTFW: ALIVE ' "$WORK/kmsg-console") ALIVE;" \
    "$(grep -o '^HALTFW: INERT rss_kib=[0-9]* rss_anon_kib=[0-9]*' "$WORK/kmsg-console")"

# --kmsg where the kernel log cannot be opened: said once, the console alone.
fill_root
mount -o remount,nodev "$ROOT"
start_inert ignore --kmsg
sleep 0.3
expect_eq "--kmsg on a nodev root" "$(head -n 1 "$CONSOLE")" \
    "haltfw-inert: open /.kmsg: Permission denied; no kernel log, the console alone"
expect_eq "--kmsg on a nodev root: removed all the same" "$(find "$ROOT" -mindepth 1 -xdev | sort)" "$ROOT/keep"
stop_inert
mount -o remount,dev "$ROOT"

# --heartbeat 1: an ALIVE line a second, on a schedule of its own (signals
# do not hurry it), read with /proc taken off through the files it opened
# before: uptime, load, memory, its own resident set, and the conntrack
# count where this network namespace has conntrack (-1 where not).
fill_root
start_inert ignore --heartbeat 1
for ((i = 0; i < 6; i++)); do kill -s USR1 "$P"; sleep 0.5; done
cp "$CONSOLE" "$WORK/beats"  # as it was before the stop (unshare has its say then)
stop_inert
CONSOLE=$WORK/beats
grep '^HALTFW: ALIVE ' "$CONSOLE" | head -n 3
beats=$(grep -c '^HALTFW: ALIVE ' "$CONSOLE" || true)
((beats >= 2 && beats <= 4)) || fail "$beats ALIVE lines in about 3 s at --heartbeat 1: $(cat "$CONSOLE")"
expect_eq "heartbeat: nothing but the INERT and ALIVE lines" "$(grep -v '^HALTFW: \(INERT\|ALIVE\) ' "$CONSOLE")" ""
ups=$(sed -n 's/^HALTFW: ALIVE up=\([0-9]*\) .*/\1/p' "$CONSOLE")
first=$(head -n 1 <<<"$ups") last=$(tail -n 1 <<<"$ups")
(((last - first) >= beats - 2 && (last - first) <= beats)) ||
    fail "ALIVE uptimes $(tr '\n' ' ' <<<"$ups")for $beats beats a second apart"
alive=$(grep '^HALTFW: ALIVE ' "$CONSOLE" | tail -n 1)
shape='^HALTFW: ALIVE up=[0-9]+ load1=[0-9]+\.[0-9][0-9] mem_avail_kib=[1-9][0-9]* mem_free_kib=[1-9][0-9]*'
shape+=' conntrack=(-1|[0-9]+) rss_kib=[1-9][0-9]*$'
[[ $alive =~ $shape ]] ||
    fail "the ALIVE line: '$alive'"
if [[ -e /proc/sys/net/netfilter/nf_conntrack_count ]]; then want='conntrack=[0-9]+'; else want='conntrack=-1'; fi
[[ $alive =~ \ $want\  ]] || fail "the ALIVE line's conntrack field, expected $want: '$alive'"
beat_rss=$(sed 's/.* rss_kib=//' <<<"$alive")
# Its own resident set after beats, against the first run's INERT line ($rss).
((beat_rss <= rss + 64)) || fail "resident set $beat_rss KiB after the heartbeats, $rss KiB at the INERT line"
echo "heartbeat: $beats beats; $alive"

# Ctrl-Alt-Del configured: SIGINT reboots or powers off, which for a PID
# namespace's init ends the namespace, as if killed by SIGHUP or SIGINT.
for cad in reboot:rebooting:HUP poweroff:"powering off":INT; do
    IFS=: read -r what says sig <<<"$cad"
    fill_root
    start_inert "$what"
    expect_eq "$what: ctrl_alt_del" "$(grep -o 'ctrl_alt_del=[a-z]*' "$CONSOLE")" "ctrl_alt_del=$what"
    kill -TERM "$P"
    sleep 0.3
    kill -0 "$P" 2>/dev/null || fail "$what: haltfw-inert ended on SIGTERM"
    kill -INT "$P"
    rc=0
    timeout 5 tail --pid="$RUNNER" -f /dev/null || fail "$what: the namespace did not end on SIGINT: $(cat "$CONSOLE")"
    wait "$RUNNER" || rc=$?
    expect_eq "$what: unshare's status (the namespace's init ended by SIG$sig)" "$rc" "$((128 + $(kill -l "$sig")))"
    expect_contains "$what: console" "$(cat "$CONSOLE")" "haltfw-inert: Ctrl-Alt-Del: $says"
done
echo "ok: $TEST"
