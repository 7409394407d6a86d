#!/bin/bash
# check: an address with a finite lifetime (what a DHCP client or SLAAC
# leaves) is a blocker; a missing device is a blocker; check changes nothing.
. "$(dirname "$0")/lib.sh"
make_links
write_config
run_haltfw 0 --config "$WORK/haltfw.conf" apply
run_haltfw 0 --config "$WORK/haltfw.conf" check
expect_contains "ready" "$OUT" "ready to halt (0 blockers"

ip addr add 198.51.100.77/24 dev wan0 valid_lft 300 preferred_lft 300
before=$(net_snapshot)
digest=$("$HALTFW" digest)
run_haltfw 1 --config "$WORK/haltfw.conf" check
expect_contains "blocker" "$OUT" "BLOCKER: interface 'wan' (wan0): address 198.51.100.77/24 has a finite lifetime (valid "
expect_contains "verdict" "$OUT" "NOT ready to halt (1 blocker"
expect_eq "check changed nothing" "$(net_snapshot)" "$before"
expect_eq "check left the ruleset" "$("$HALTFW" digest)" "$digest"

ip link del lan0
run_haltfw 1 --config "$WORK/haltfw.conf" check
expect_contains "missing device" "$OUT" "BLOCKER: interface 'lan': device 'lan0' does not exist"
echo "ok: $TEST"
