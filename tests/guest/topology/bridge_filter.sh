#!/bin/bash
# The [bridge-filter] profile on the appliance's kernel (bridge conntrack,
# nft's bridge meta keys; this machine's kernel has neither): every golden
# file of the profile passes the kernel's check mode (as show-ruleset prints
# it), then the invisible bridge made by the haltfw in the image, filtered by
# the profile alone; check's trial restore puts the table back whole, and
# another bridge of the box is left alone. A DHCP server outside leases an
# address to a client inside through it; the inside reaches the outside; a
# new TCP connection from outside is dropped unless a forward names its host
# and port (IPv4 and IPv6); echo from outside passes with icmp = yes, not
# with icmp = no; VLAN-tagged frames do not cross; the box answers no ARP
# even with arp_ignore back at 0 (the profile's input chain). Control, with
# the profile flushed: the same connection from outside, the tagged ping and
# the ARP probe all succeed.
#
#   lan e0 (+e0.20) ---- eth1 [br0, haltfw] eth0 ---- e0 (+e0.20) wan (udhcpd)
set -euo pipefail
# shellcheck source=tests/guest/lib.sh
source "$(dirname "$0")/../lib.sh"

g_need_haltfw

# ---- the golden files, in the kernel's check mode ----
# show-ruleset prints each golden text for its config, and its whole output
# is nft input.
chk=$(g_ns check)
n=0
for f in data/bridge-filter/*.nft; do
    out=$(ip netns exec "$chk" nft -c -f "$f" 2>&1) || g_fail "nft -c refused $f: $out"
    shown=$("$HALTFW" --config "${f%.nft}.conf" show-ruleset 2>&1) || g_fail "show-ruleset ${f%.nft}.conf: $shown"
    [[ $shown == *"$(cat "$f")"* ]] || g_fail "show-ruleset ${f%.nft}.conf does not print $f"
    out=$(printf '%s\n' "$shown" | ip netns exec "$chk" nft -c -f - 2>&1) || g_fail "show-ruleset's output is no nft input: $out"
    n=$((n + 1))
done
((n >= 3)) || g_fail "expected at least 3 golden files of the bridge-filter profile, found $n"
g_say "the kernel's check mode accepts all $n golden files of the bridge-filter profile, as show-ruleset prints them"

# ---- the bridge ----
box=$(g_ns box)
lan=$(g_ns lan)
wan=$(g_ns wan)
g_veth "$box" up0 "$wan" e0
g_veth "$box" in0 "$lan" e0
for pair in up0:eth0 in0:eth1; do
    ip -n "$box" link set "${pair%:*}" down
    ip -n "$box" link set "${pair%:*}" name "${pair#*:}"
done
ip -n "$box" addr add 192.0.2.1/32 dev lo  # an address of the box's own, to not answer for
ip -n "$wan" addr add 192.0.2.20/24 dev e0
ip -n "$wan" addr add 2001:db8:2::20/64 dev e0 nodad
# A LAN host the forwards name (the DHCP client's address is not known
# before the lease).
ip -n "$lan" addr add 2001:db8:2::50/64 dev e0 nodad
for ns in "$lan" "$wan"; do
    ip -n "$ns" link add link e0 name e0.20 type vlan id 20 || g_fail "cannot make VLAN 20 in $ns"
    ip -n "$ns" link set e0.20 up
done
ip -n "$lan" addr add 203.0.113.10/24 dev e0.20
ip -n "$wan" addr add 203.0.113.20/24 dev e0.20

conf() {
    cat <<CONF
[interface.lan]
device = br0
bridge = eth0 eth1

[bridge-filter]
bridge = lan
inside = eth1
outside = eth0
$1

# So that only the profile stands between an ARP probe and a reply once
# arp_ignore is put back to 0 below.
[sysctl]
net.ipv4.conf.all.rp_filter = 0
net.ipv4.conf.default.rp_filter = 0
CONF
}
apply() {
    out=$(ip netns exec "$box" "$HALTFW" --config "$CONF" apply 2>&1) || g_fail "apply: $out"
}
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; g_cleanup; rm -rf "$WORK"' EXIT
# Listeners: each answers "ok" to every connection, on IPv4 and IPv6.
serve() {
    ip netns exec "$1" timeout 100 socat TCP6-LISTEN:"$2",reuseaddr,fork SYSTEM:'echo ok' 2>/dev/null &
    pids+=($!)
}
# reach NS HOST PORT: a TCP connection from NS gets the listener's "ok".
reach() {
    local got
    got=$(ip netns exec "$1" timeout 8 socat -T 3 -u "TCP:$2:$3,connect-timeout=3" STDOUT 2>/dev/null || true)
    [[ $got == ok ]]
}

# Hostile first: a port on neither side is refused with its line, and
# nothing is made.
printf '%s\n' '[interface.lan]' 'device = br0' 'bridge = eth0 eth1' '[bridge-filter]' 'bridge = lan' \
    'inside = eth1' 'outside = eth2' >"$CONF"
if out=$(ip netns exec "$box" "$HALTFW" --config "$CONF" apply 2>&1); then g_fail "apply took a bad [bridge-filter]: $out"; fi
[[ $out == *"$CONF:7: [bridge-filter] outside 'eth2': not a port of bridge 'br0'"* &&
    $out == *"$CONF:5: [bridge-filter] bridge 'lan': port 'eth0' of bridge 'br0'"* ]] ||
    g_fail "apply of a bad [bridge-filter]: not the errors expected: $out"
if ip -n "$box" link show br0 >/dev/null 2>&1; then g_fail "a refused config made br0"; fi
if ip netns exec "$box" nft list tables | grep -q .; then g_fail "a refused config loaded a ruleset"; fi

conf "" >"$CONF"
apply
[[ $out == *"create bridge br0"* ]] || g_fail "apply did not create br0: $out"
ip netns exec "$box" nft list table bridge bridge_filter >/dev/null || g_fail "no table bridge bridge_filter after apply"
apply
[[ $out == "nothing to change: the live state matches $CONF" ]] || g_fail "second apply: $out"
# check: the final stage could put the table back (a trial restore of the
# kernel's dump in a scratch namespace), and no br_netfilter in the way.
out=$(ip netns exec "$box" "$HALTFW" --verbose --config "$CONF" check 2>&1 || true)
[[ $out == *"fine: ruleset: a trial restore in a scratch network namespace put it back whole"* ]] ||
    g_fail "check: no whole trial restore of the profile's table: $out"
[[ $out == *"fine: bridge-filter: what 'br0' forwards passes the bridge family's hooks only"* ]] ||
    g_fail "check: no word on br_netfilter: $out"
g_say "check: the trial restore put the profile's table back whole"

# Another bridge of the box is not the profile's: what it forwards, and the
# box's own traffic on it, pass.
a=$(g_ns a)
b=$(g_ns b)
g_veth "$box" x0 "$a" e0
g_veth "$box" y0 "$b" e0
ip -n "$box" link add br9 type bridge
ip -n "$box" link set x0 master br9
ip -n "$box" link set y0 master br9
ip -n "$box" link set br9 up
ip -n "$box" addr add 198.51.100.1/24 dev br9
ip -n "$a" addr add 198.51.100.10/24 dev e0
ip -n "$b" addr add 198.51.100.20/24 dev e0
serve "$a" 8082
sleep 0.5
reach "$b" 198.51.100.10 8082 || g_fail "another bridge of the box: a new TCP connection across it was dropped"
g_ping "$box" 198.51.100.10 || g_fail "another bridge of the box: the box's own ping on it got no answer"
g_say "another bridge (br9): forwarded TCP and the box's own ping pass the profile's chains"

# DHCP through the bridge: the server's replies come in by the profile's rule.
printf '%s\n' 'start 192.0.2.100' 'end 192.0.2.110' 'interface e0' 'max_leases 10' \
    "lease_file $WORK/leases" 'option subnet 255.255.255.0' >"$WORK/udhcpd.conf"
touch "$WORK/leases"
ip netns exec "$wan" timeout 120 busybox udhcpd -f "$WORK/udhcpd.conf" >"$WORK/udhcpd.log" 2>&1 &
pids+=($!)
sleep 0.5
lease=$(ip netns exec "$lan" timeout 30 busybox udhcpc -i e0 -n -q -t 5 -T 2 -s /bin/true 2>&1) ||
    g_fail "no DHCP lease through the bridge: $lease"
leased=$(sed -n 's/.*lease of \([0-9.]*\) obtained.*/\1/p' <<<"$lease")
[[ $leased == 192.0.2.1[01][0-9] ]] || g_fail "udhcpc: no lease from the pool: $lease"
ip -n "$lan" addr add "$leased/24" dev e0
ip -n "$lan" addr add 192.0.2.50/24 dev e0

serve "$wan" 8080
serve "$lan" 8081
serve "$lan" 8443
sleep 0.5

reach "$lan" 192.0.2.20 8080 || g_fail "inside -> outside TCP failed"
g_ping "$lan" 192.0.2.20 || g_fail "inside -> outside ping: no answer"
if reach "$wan" 192.0.2.50 8443; then g_fail "outside -> inside TCP (new, no forward) passed the bridge"; fi
if reach "$wan" "$leased" 8081; then g_fail "outside -> inside TCP to the DHCP client passed the bridge"; fi
g_ping "$wan" "$leased" || g_fail "icmp = yes (the default): outside -> inside ping dropped"
g_say "no forward: DHCP lease $leased, inside -> outside TCP and ping pass, outside -> inside TCP dropped, ping passes"

# The forwards open one host's port each, nothing else; icmp = no.
conf "forward = tcp 8443 192.0.2.50
forward = tcp 8443 2001:db8:2::50
icmp = no" >"$CONF"
apply
reach "$wan" 192.0.2.50 8443 || g_fail "forward = tcp 8443 192.0.2.50: the outside cannot reach it"
reach "$wan" "[2001:db8:2::50]" 8443 || g_fail "forward = tcp 8443 2001:db8:2::50: the outside cannot reach it"
if reach "$wan" 192.0.2.50 8081; then g_fail "a port no forward names (8081) passed the bridge"; fi
if reach "$wan" "$leased" 8443; then g_fail "the forward's port on another host passed the bridge"; fi
g_no_reply "$wan" "$leased" "icmp = no: outside -> inside ping passed"
reach "$lan" 192.0.2.20 8080 || g_fail "inside -> outside TCP failed with the forwards"
g_no_reply "$lan" 203.0.113.20 "VLAN-tagged frames crossed the bridge"

# Nothing of the box: no address, and no ARP reply for its own address
# even with arp_ignore at 0 (the input chain drops the request).
addrs=$(ip -n "$box" -br addr show | awk '$1 ~ /^(br0|eth0|eth1)(@|$)/ && NF > 2 { print }')
[[ -z $addrs ]] || g_fail "the box has addresses on the bridge or its ports: $addrs"
ip netns exec "$box" sysctl -qw net.ipv4.conf.br0.arp_ignore=0
arp=$(ip netns exec "$lan" busybox arping -c 2 -w 3 -I e0 192.0.2.1 2>&1 || true)
[[ $arp == *"Received 0 "* ]] || g_fail "the box answered ARP through the profile: $arp"
g_say "forwards: IPv4 and IPv6 hosts reached on their port only; icmp = no holds; tagged frames dropped; no ARP"

# Control: without the profile the same traffic passes, so the drops above
# were the profile's.
ip netns exec "$box" nft flush ruleset
reach "$wan" "$leased" 8081 || g_fail "control: outside -> inside TCP fails even without the profile"
g_ping "$lan" 203.0.113.20 || g_fail "control: the tagged ping fails even without the profile"
arp=$(ip netns exec "$lan" busybox arping -c 2 -w 3 -I e0 192.0.2.1 2>&1 || true)
[[ $arp != *"Received 0 "* ]] || g_fail "control: no ARP reply even without the profile and with arp_ignore 0: $arp"
g_say "control, profile flushed: outside -> inside TCP, the tagged ping and the box's ARP reply all pass"
