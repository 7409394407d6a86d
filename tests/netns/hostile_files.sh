#!/bin/bash
# Config and rules files that are not regular files, or too large, are
# config errors found without reading them: a FIFO does not hang, /dev/zero
# is not read until memory runs out, and an include in a rules file is
# checked the same way. A binary config's messages reach the terminal with
# control bytes escaped and at most 80 bytes of a value.
. "$(dirname "$0")/lib.sh"
make_links
write_config

# expect_quick WANT_RC ARGS...: run_haltfw, which must also end within 10 s.
expect_quick() {
    local start=$SECONDS
    run_haltfw "$@"
    [ $((SECONDS - start)) -le 10 ] || fail "haltfw ${*:2}: took $((SECONDS - start)) s"
}

mkfifo "$WORK/fifo.conf" "$WORK/fifo.nft"
expect_quick 2 --config "$WORK/fifo.conf" check
expect_contains "fifo config" "$OUT" "$WORK/fifo.conf: not a regular file (a FIFO)"
expect_quick 2 --config /dev/zero check
expect_contains "/dev/zero config" "$OUT" "/dev/zero: not a regular file (a character device)"
expect_quick 2 --config "$WORK" check
expect_contains "directory config" "$OUT" "$WORK: not a regular file (a directory)"
truncate -s $(((64 << 20) + 1)) "$WORK/big.conf"
expect_quick 2 --config "$WORK/big.conf" check
expect_contains "big config" "$OUT" "$WORK/big.conf: larger than 64 MiB (67108865 bytes)"

# Rules files, and a file a rules file includes; the key's line is named.
truncate -s $(((64 << 20) + 1)) "$WORK/big.nft"
cp "$CONF" "$WORK/rules.conf"
sed -i "s|^file = .*|file = $WORK/fifo.nft\nfile = /dev/urandom\nfile = $WORK/big.nft|" "$WORK/rules.conf"
expect_quick 2 --config "$WORK/rules.conf" apply
expect_contains "fifo rules" "$OUT" "$WORK/rules.conf:2: [ruleset] file '$WORK/fifo.nft': not a regular file (a FIFO)"
expect_contains "urandom rules" "$OUT" "$WORK/rules.conf:3: [ruleset] file '/dev/urandom': not a regular file (a character device)"
expect_contains "big rules" "$OUT" "$WORK/rules.conf:4: [ruleset] file '$WORK/big.nft': larger than 64 MiB (67108865 bytes)"
printf 'include "%s"\n' "$WORK/fifo.nft" >>"$WORK/rules.nft"
expect_quick 2 --config "$CONF" check
expect_contains "included fifo" "$OUT" "$CONF:2: [ruleset] file '$WORK/rules.nft': '$WORK/rules.nft' includes '$WORK/fifo.nft': not a regular file (a FIFO)"
sed -i '$d' "$WORK/rules.nft"

# An empty rules file is allowed here (the config is still checked whole).
: >"$WORK/empty.nft"
sed "s|^file = .*|file = $WORK/empty.nft|" "$CONF" >"$WORK/empty.conf"
run_haltfw 0 --config "$WORK/empty.conf" show-ruleset

# A binary config: no raw control byte reaches the output; a 10 MB line is
# quoted by its first 80 bytes.
{ printf '[ruleset]\nfile = rules.nft\n\033]0;owned\007\n'; head -c 10000000 /dev/zero | tr '\0' A; printf '\n'; } >"$WORK/binary.conf"
expect_quick 2 --config "$WORK/binary.conf" check
expect_contains "escaped" "$OUT" "$WORK/binary.conf:3: expected 'key = value' or '[section]', got '\\x1b]0;owned\\x07'"
expect_contains "clipped" "$OUT" "$WORK/binary.conf:4: expected 'key = value' or '[section]', got '$(printf 'A%.0s' $(seq 80))'... (10000000 bytes)"
case "$OUT" in *$'\033'* | *$'\007'*) fail "a control byte reached the output" ;; esac
[ "${#OUT}" -lt 10000 ] || fail "the output is ${#OUT} bytes: a value was echoed whole"
echo "ok: $TEST"
