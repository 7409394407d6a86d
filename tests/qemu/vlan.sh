#!/bin/bash
# A guest VLAN, halted: the appliance's LAN NIC (eth1) carries the office
# LAN untagged (192.0.2.0/25) and a guest zone tagged with VLAN 20
# (192.0.2.128/25, the device guest20 made by 'vlan = eth1 20'); the
# [gateway] profile lists both zones and isolates the guest one. Armed and
# halted. Then, with the box halted: the guest host (behind an access port
# of VLAN 20 on the LAN wire) reaches the far host NATed, and neither the
# office host nor any address of the box; the office host reaches the far
# host and the box, and not the guest host. This host's kernel has no
# 8021q, so the access port is vlan_access_port.py, in the LAN host's
# namespace, on the same tap.
set -euo pipefail
# shellcheck source=tests/qemu/lib.sh
source "$(dirname "$0")/lib.sh"

hfw_require_root
hfw_require_cmd socat ping python3
hfw_image

far=203.0.113.1 wan_box=198.51.100.1
office_host=192.0.2.10 office_box=192.0.2.1
guest_host=192.0.2.130 guest_box=192.0.2.129

guest=$(mktemp)
cat >"$guest" <<'EOF_GUEST'
say() { echo "vlan: $*"; }
cat >/etc/haltfw/haltfw.conf <<'EOF_CONF'
[interface.wan]
device = eth0
address = 198.51.100.1/24
gateway = 198.51.100.254

[interface.office]
device = eth1
address = 192.0.2.1/25

[interface.guest]
device = guest20
vlan = eth1 20
address = 192.0.2.129/25

[gateway]
lan = office guest
isolate = guest
wan = wan

[sysctl]
net.ipv4.ip_forward = 1
EOF_CONF
say "halting"
haltfw halt || say "haltfw halt failed with $?"
EOF_GUEST
hfw_boot "$guest"
rm -f "$guest"

guest_ns="hfw-guest-$$"
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    hfw_bg_cleanup
    ip netns del "$guest_ns" 2>/dev/null || true
    hfw_cleanup
}
trap cleanup EXIT

hfw_wait_log '^vlan: halting' 300 "the guest script starting the halt"
hfw_log_has '^vlan: haltfw halt failed' && hfw_fail "$(hfw_log_clean | grep '^vlan: haltfw halt failed')"
hfw_expect_halted_ok 300
hfw_assert_log 'HALTFW: links: 3 up with 3 addresses' "the report: eth0, eth1 and guest20 up with their addresses"
hfw_expect_inert 30

# The office host moves into the office /25; the guest host gets a
# namespace of its own behind the access port.
lan_if=${HFW_LAN_IF:-lan0}
hfw_lan ip -4 addr flush dev "$lan_if"
hfw_lan ip addr add "$office_host/25" dev "$lan_if"
hfw_lan ip route add default via "$office_box" dev "$lan_if"
ip netns add "$guest_ns"
ip -n "$HFW_LAN_NS" link add gx type veth peer name g0 netns "$guest_ns"
ip netns exec "$HFW_LAN_NS" sysctl -qw net.ipv6.conf.gx.disable_ipv6=1
ip -n "$HFW_LAN_NS" link set gx up
ip -n "$guest_ns" link set lo up
ip -n "$guest_ns" link set g0 up
ip -n "$guest_ns" addr add "$guest_host/25" dev g0
ip -n "$guest_ns" route add default via "$guest_box" dev g0
ip netns exec "$HFW_LAN_NS" timeout 200 python3 "$HFW_REPO/tests/qemu/vlan_access_port.py" "$lan_if" gx 20 180 \
    >"$HFW_OUT/access-port.txt" 2>&1 &
HFW_BG_PIDS+=("$!")
for ((i = 0; i < 50; i++)); do
    grep -q ready "$HFW_OUT/access-port.txt" && break
    sleep 0.1
done
grep -q ready "$HFW_OUT/access-port.txt" || hfw_fail "the access port did not start: $(cat "$HFW_OUT/access-port.txt")"

# reach FROM_NS ADDR : one ping answered within 2 tries.
reach() { ip netns exec "$1" ping -c 2 -W 2 "$2" >/dev/null 2>&1; }
tcp_from_guest() {
    ip netns exec "$guest_ns" timeout 7 socat -T 5 - "TCP:$1:$2,connect-timeout=5" </dev/null 2>/dev/null || true
}

# The guest zone reaches the WAN, NATed to the box's WAN address.
reach "$guest_ns" "$far" || hfw_fail "the guest host cannot ping the far host through the halted box"
hfw_tcp_listen wan "$far" 8080 120
got=$(tcp_from_guest "$far" 8080)
[[ $got == "hfw-pong $wan_box" ]] || hfw_fail "guest -> WAN TCP: the far host saw '$got', not 'hfw-pong $wan_box'"
# ... and nothing else: not the office host, not the box on any address.
hfw_tcp_listen lan "$office_host" 8081 120
got=$(tcp_from_guest "$office_host" 8081)
[[ -z $got ]] || hfw_fail "the guest host reached the office host's TCP server: '$got'"
for a in "$office_host" "$guest_box" "$office_box" "$wan_box"; do
    if reach "$guest_ns" "$a"; then hfw_fail "the guest host's ping of $a was answered"; fi
done
# The office zone reaches the WAN and the box, not the guest zone.
reach "$HFW_LAN_NS" "$far" || hfw_fail "the office host cannot ping the far host"
got=$(hfw_tcp_try lan "$far" 8080) || hfw_fail "office -> WAN TCP failed"
[[ $got == "hfw-pong $wan_box" ]] || hfw_fail "office -> WAN TCP: the far host saw '$got'"
reach "$HFW_LAN_NS" "$office_box" || hfw_fail "the office host's ping of the box was not answered (the profile answers ping)"
ip netns exec "$guest_ns" timeout 60 socat -T 5 TCP-LISTEN:8082,bind="$guest_host",reuseaddr SYSTEM:'echo hfw-pong' \
    >/dev/null 2>&1 &
HFW_BG_PIDS+=("$!")
sleep 0.5
if reach "$HFW_LAN_NS" "$guest_host"; then hfw_fail "the office host's ping of the guest host was answered"; fi
if hfw_tcp_try lan "$guest_host" 8082 3 >/dev/null; then hfw_fail "the office host reached the guest host's TCP server"; fi

hfw_say "the guest zone isolated while halted"
hfw_stop
hfw_pass
