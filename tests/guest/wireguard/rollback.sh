#!/bin/bash
# A first apply that fails at its last step (a sysctl the kernel refuses)
# after creating and configuring wg0: the rollback deletes wg0, and the
# box is as it was (no WireGuard device, no address, no ruleset). The
# error names the config line.
set -euo pipefail
source "$(dirname "$0")/wg_common.bash"

write_conf
forwarding=$(ip netns exec "$box" cat /proc/sys/net/ipv4/ip_forward)
sed -i '15a net.ipv4.ip_local_port_range = 60000 50000' "$CONF"  # line 16, in [sysctl]
hfw 1 apply
expect_has "apply" "interface 'vpn': create WireGuard device wg0"
expect_has "apply" "interface 'vpn' (wg0): add address 203.0.113.129/25"
expect_has "apply" "$CONF:16: sysctl net.ipv4.ip_local_port_range = "
expect_has "apply" "apply failed; every change was rolled back"
if ip -n "$box" link show wg0 >/dev/null 2>&1; then g_fail "wg0 is still there after the rollback"; fi
[[ -z $(ip -n "$box" -4 addr show dev wan0) ]] || g_fail "wan0 kept an address"
[[ -z $(ip netns exec "$box" nft list ruleset) ]] || g_fail "the ruleset stayed"
[[ $(ip netns exec "$box" cat /proc/sys/net/ipv4/ip_forward) == "$forwarding" ]] || g_fail "ip_forward was not put back"

# Without the bad line the same config applies, and the tunnel comes up.
sed -i '16d' "$CONF"
hfw 0 apply
peer_up
g_ping "$peer" 192.0.2.10 3 || g_fail "no tunnel after the good apply"
g_say "a failed first apply left no wg0; the good one made the tunnel"
