#!/bin/bash
# 802.1Q: VLAN 20 on both ends of a veth link carries tagged traffic between
# two namespaces; the untagged link under it carries none of it.
set -euo pipefail
# shellcheck source=tests/guest/lib.sh
source "$(dirname "$0")/../lib.sh"

a=$(g_ns a)
b=$(g_ns b)
g_veth "$a" e0 "$b" e0
ip -n "$a" link add link e0 name e0.20 type vlan id 20 || g_fail "ip link add type vlan (8021q) failed"
ip -n "$b" link add link e0 name e0.20 type vlan id 20
ip -n "$a" link set e0.20 up
ip -n "$b" link set e0.20 up
ip -n "$a" addr add 192.0.2.1/24 dev e0.20
ip -n "$b" addr add 192.0.2.2/24 dev e0.20
ip -n "$a" -d link show e0.20 | grep -q 'vlan protocol 802.1Q id 20' || g_fail "e0.20 is not VLAN 20: $(ip -n "$a" -d link show e0.20)"
g_ping "$a" 192.0.2.2 || g_fail "no answer over VLAN 20"
# The same addresses on the untagged links instead: no answer, since the
# other end has them only on its VLAN device.
ip -n "$a" addr add 198.51.100.1/24 dev e0
if g_ping "$a" 198.51.100.2 1 >/dev/null; then
    g_fail "198.51.100.2 answered on the untagged link, where nobody has it"
fi
g_say "VLAN 20 carries traffic; the untagged link does not reach the VLAN's addresses"
