#!/bin/bash
# The command line: bad config lists every error and exits 2 changing
# nothing; bad options get a specific message; --help tells each verb's options.
. "$(dirname "$0")/lib.sh"
make_links
write_config
cat >>"$WORK/haltfw.conf" <<'CONF'
colour = blue
[interface.dmz]
device = wan0
address = 198.51.100.9/24
CONF
n=$(wc -l <"$WORK/haltfw.conf")
digest=$("$HALTFW" digest)
for verb in check apply status; do
    run_haltfw 2 --config "$WORK/haltfw.conf" "$verb"
    expect_contains "$verb: unknown key" "$OUT" "$WORK/haltfw.conf:$((n - 3)): sysctl 'colour': only keys under net.* (and the kernel.* panic settings) can be set"
    expect_contains "$verb: duplicate device" "$OUT" "$WORK/haltfw.conf:$((n - 2)): interface 'dmz': device 'wan0' is already used by interface 'wan'"
    expect_contains "$verb: overlap" "$OUT" "$WORK/haltfw.conf:$n: interface 'dmz': address '198.51.100.9/24' overlaps '198.51.100.1/24' of interface 'wan'"
    expect_contains "$verb: summary" "$OUT" "haltfw: 3 errors in $WORK/haltfw.conf; nothing changed"
done
# status still says whether the box is armed, whatever the config's state.
run_haltfw 2 --config "$WORK/haltfw.conf" status
expect_contains "status with a broken config: armed line" "$OUT" "armed: no (not armed)"
expect_eq "nothing was applied" "$(ip -br addr show dev wan0 | awk '{print $3}')" ""
expect_eq "ruleset untouched" "$("$HALTFW" digest)" "$digest"

run_haltfw 2 --config "$WORK/nonexistent.conf" check
expect_contains "missing config" "$OUT" "$WORK/nonexistent.conf: cannot read: No such file or directory"

run_haltfw 2 apply --bogus
expect_eq "unknown option" "$OUT" "haltfw: apply: unrecognised option '--bogus' (try 'haltfw apply --help')"
run_haltfw 2 frobnicate
expect_eq "unknown verb" "$OUT" "haltfw: unknown verb 'frobnicate' (try 'haltfw --help')"
run_haltfw 2
expect_contains "no verb" "$OUT" "Usage: haltfw [--config FILE]"
run_haltfw 0 --help
expect_contains "help lists verbs" "$OUT" "  apply            bring addresses"
run_haltfw 0 apply --help
expect_contains "apply --help" "$OUT" "--dry-run"
run_haltfw 0 --version
expect_contains "version" "$OUT" "haltfw "

# Output streams and verbosity, on a good config: results and progress on
# stdout, errors on stderr; --quiet drops progress, not results; --verbose
# adds check's pending changes; the two together are a usage error.
write_config
good=$WORK/haltfw.conf
so=$("$HALTFW" --config "$good" --verbose check 2>"$WORK/err") || true
expect_contains "verbose check lists a pending change" "$so" "  interface 'wan' (wan0): add address 198.51.100.1/24"
expect_eq "check writes nothing to stderr" "$(cat "$WORK/err")" ""
so=$("$HALTFW" --config "$good" check 2>/dev/null) || true
case $so in *"  add address"*) fail "check without --verbose lists pending changes: $so" ;; esac
so=$("$HALTFW" --config "$good" --quiet apply 2>"$WORK/err") || fail "quiet apply failed: $(cat "$WORK/err")"
expect_eq "quiet apply prints nothing" "$so$(cat "$WORK/err")" ""
expect_eq "quiet apply applied" "$(ip -br addr show dev wan0 | awk '{print $3}')" "198.51.100.1/24"
so=$("$HALTFW" --config "$good" --quiet status 2>/dev/null) || true
expect_contains "quiet status still prints its result" "$so" "interface wan: wan0"
so=$("$HALTFW" --config "$good" apply 2>/dev/null)
expect_eq "apply again: a notice on stdout" "$so" "nothing to change: the live state matches $good"
se=$("$HALTFW" --config "$WORK/nonexistent.conf" check 2>&1 >/dev/null) || true
expect_contains "errors on stderr" "$se" "haltfw: 1 error in $WORK/nonexistent.conf; nothing changed"
run_haltfw 2 --quiet --verbose check
expect_eq "quiet and verbose" "$OUT" "haltfw: --quiet and --verbose contradict each other (try 'haltfw --help')"
echo "ok: $TEST"
