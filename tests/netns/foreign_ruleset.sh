#!/bin/bash
# The state file is not fooled: a foreign 'nft -f' is seen by status and
# apply; a record whose generation matches but whose digest is not the live
# ruleset's (what a reused network namespace inode once allowed) is not
# taken as current; a new network namespace (another cookie) has no record.
. "$(dirname "$0")/lib.sh"
make_links
write_config
run_haltfw 0 --config "$CONF" apply
digest=$("$HALTFW" digest)
cookie=$(python3 -c 'import socket; print(int.from_bytes(socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).getsockopt(socket.SOL_SOCKET, 71, 8), "little"))')
STATE="$HALTFW_STATE_DIR/applied-$cookie"
[ -f "$STATE" ] || fail "no state file $STATE keyed by the namespace cookie; the directory holds: $(ls "$HALTFW_STATE_DIR")"
expect_eq "recorded digest" "$(sed -n 's/^digest=//p' "$STATE")" "$digest"
expect_eq "recorded namespace" "$(sed -n 's/^netns=//p' "$STATE")" "$cookie"
gen=$(sed -n 's/^generation=//p' "$STATE")

# Someone else's 'nft -f' replaces the ruleset.
printf 'flush ruleset\ntable inet foreign {\n    chain forward {\n        type filter hook forward priority filter; policy accept;\n    }\n}\n' >"$WORK/foreign.nft"
nft -f "$WORK/foreign.nft"
run_haltfw 1 --config "$CONF" status
expect_contains "foreign: status" "$OUT" "ruleset: changed since the last apply (generation $gen, now $((gen + 1)))"
run_haltfw 0 --config "$CONF" apply
expect_contains "foreign: apply notice" "$OUT" "ruleset: changed since the last apply (generation $gen, now $((gen + 1))); loading it again"
expect_eq "foreign: digest restored" "$("$HALTFW" digest)" "$digest"

# A foreign ruleset at the very generation the record names: the digest
# tells them apart.
gen=$(sed -n 's/^generation=//p' "$STATE")
nft -f "$WORK/foreign.nft"
foreign=$("$HALTFW" digest)
sed -i "s/^generation=.*/generation=$((gen + 1))/" "$STATE"
run_haltfw 1 --config "$CONF" status
expect_contains "same generation: status" "$OUT" "ruleset: changed since the last apply (generation $((gen + 1)) as then, but digest ${foreign:0:12} where apply left ${digest:0:12})"
run_haltfw 0 --config "$CONF" apply
expect_contains "same generation: apply" "$OUT" "load the ruleset (1 rules file) in one transaction"
expect_eq "same generation: digest restored" "$("$HALTFW" digest)" "$digest"
run_haltfw 0 --config "$CONF" apply
expect_eq "then nothing to change" "$OUT" "nothing to change: the live state matches $CONF"

# A new namespace, the same state directory: never applied there.
out=$(unshare --net "$HALTFW" --config "$CONF" status 2>&1) || true
expect_contains "new namespace" "$out" "ruleset: never applied by haltfw in this network namespace"
echo "ok: $TEST"
