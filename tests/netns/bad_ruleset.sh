#!/bin/bash
# A rules file with a syntax error: exit 2, nft's own file:line:column, and
# the previous ruleset and addresses exactly as they were.
. "$(dirname "$0")/lib.sh"
make_links
write_config
run_haltfw 0 --config "$WORK/haltfw.conf" apply
digest=$("$HALTFW" digest)
before=$(net_snapshot)

# A new address in the config and a broken rule on line 3 of the rules file.
sed -i 's|^address = 192.0.2.1/24|address = 192.0.2.1/24\naddress = 192.0.2.2/24|' "$WORK/haltfw.conf"
sed -i '3s/.*/        type ipv4_addr; flags intervall/' "$WORK/rules.nft"
run_haltfw 2 --config "$WORK/haltfw.conf" apply
expect_contains "error" "$OUT" "$WORK/rules.nft:3:"
expect_contains "error" "$OUT" "Error: syntax error"
expect_contains "error" "$OUT" "haltfw: the ruleset does not load; nothing changed"
case $OUT in *"<cmdline>"*) fail "the error points into haltfw's own program (<cmdline>): $OUT" ;; esac

expect_eq "digest" "$("$HALTFW" digest)" "$digest"
expect_eq "addresses and routes" "$(net_snapshot)" "$before"

run_haltfw 2 --config "$WORK/haltfw.conf" check
expect_eq "digest after check" "$("$HALTFW" digest)" "$digest"
echo "ok: $TEST"
