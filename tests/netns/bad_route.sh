#!/bin/bash
# The kernel refuses a route (an IPv6 next hop that is the box's own
# address; IPv4 accepts that, IPv6 does not, as of Linux 6.1-6.18): apply
# reports the config line and the kernel's words, and rolls back the
# addresses, links and MTU it had changed.
. "$(dirname "$0")/lib.sh"
make_links
write_config
sed -i 's|^mtu = 1400|mtu = 1400\nroute = 2001:db8:99::/48 via 2001:db8:2::1|' "$WORK/haltfw.conf"
line=$(grep -n '^route = 2001' "$WORK/haltfw.conf" | cut -d: -f1)
before=$(net_snapshot)
digest=$("$HALTFW" digest)

run_haltfw 1 --config "$WORK/haltfw.conf" apply
expect_contains "error" "$OUT" "$WORK/haltfw.conf:$line: interface 'lan' (lan0): route 2001:db8:99::/48 via 2001:db8:2::1:"
expect_contains "error" "$OUT" "Gateway can not be a local address"
expect_contains "rollback" "$OUT" "rollback: undo 'interface 'wan' (wan0): route default via 198.51.100.254': remove the route"
expect_contains "rollback" "$OUT" "rollback: undo 'interface 'lan' (lan0): add address 192.0.2.1/24': remove address 192.0.2.1/24"
expect_contains "rollback" "$OUT" "rollback: undo 'load the ruleset (1 rules file) in one transaction': reload the previous ruleset"
expect_contains "verdict" "$OUT" "haltfw: apply failed; every change was rolled back"

expect_eq "addresses, links and routes" "$(net_snapshot)" "$before"
expect_eq "lan0 mtu" "$(cat /sys/class/net/lan0/mtu)" 1500
expect_eq "lan0 down again" "$(ip -br link show lan0 | awk '{print $2}')" DOWN
expect_eq "previous ruleset reloaded (the new one went in first)" "$("$HALTFW" digest)" "$digest"
expect_eq "ip_forward untouched" "$(cat /proc/sys/net/ipv4/ip_forward)" 0
echo "ok: $TEST"
