#!/bin/bash
# 802.1Q: VLAN 20 on both ends of a veth link carries tagged traffic between
# two namespaces; with VLAN 30 on one end instead, nothing gets through.
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
# The tag is what joins them: with b's 192.0.2.2 on VLAN 30 instead, a's
# frames tagged 20 reach nothing (a has no address on the untagged link,
# so nothing goes untagged either).
ip -n "$b" link del e0.20
ip -n "$b" link add link e0 name e0.30 type vlan id 30
ip -n "$b" link set e0.30 up
ip -n "$b" addr add 192.0.2.2/24 dev e0.30
ip -n "$a" neigh flush dev e0.20
g_no_reply "$a" 192.0.2.2 "192.0.2.2 on b's VLAN 30 answered a's VLAN 20"
g_say "VLAN 20 carries traffic, and a VLAN 30 on the other end gets none of it"
