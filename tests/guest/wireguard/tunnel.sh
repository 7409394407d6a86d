#!/bin/bash
# haltfw apply makes the box a WireGuard gateway: it creates wg0 with its
# key, port and peer (over netlink: no wg at run time), addresses it and
# brings it up; the road-warrior peer handshakes and reaches the LAN host
# through it. A second apply changes nothing; status shows the peer and no
# secret; a device changed behind haltfw's back is set back; an apply that
# fails part way (its last step) leaves the device as it was.
set -euo pipefail
source "$(dirname "$0")/wg_common.bash"

write_conf
hfw 0 apply
expect_has "apply" "interface 'vpn': create WireGuard device wg0"
expect_has "apply" "interface 'vpn' (wg0): set its WireGuard key, listen port 51820 and 1 peer"

# The device as configured, read with wg.
[[ $(ip netns exec "$box" wg show wg0 public-key) == "$BOX_PUB" ]] || g_fail "wg0's public key is not wg0.key's"
want=$(printf 'device %s 51820 off\npeer %s psk-as-file 198.51.100.2:51820 203.0.113.130/32,2001:db8:77::2/128 25' "$BOX_PUB" "$PEER_PUB")
got=$(wg_config)
[[ $got == "$want" ]] || g_fail "wg0 as set:
$got
expected:
$want"
ip -n "$box" -4 addr show dev wg0 | grep -q "inet 203.0.113.129/25" || g_fail "wg0 has no 203.0.113.129/25"
ip -n "$box" link show wg0 | grep -q "state UNKNOWN\|,UP" || g_fail "wg0 is not up"

# The peer reaches the LAN host through the tunnel; both sides saw a handshake.
peer_up
g_ping "$peer" 192.0.2.10 5 || g_fail "the peer does not reach the LAN host through the tunnel"
hs=$(ip netns exec "$box" wg show wg0 latest-handshakes | awk '{ print $2 }')
[[ -n $hs && $hs != 0 ]] || g_fail "the box shows no handshake"
g_say "tunnel: peer -> box -> LAN host, handshake at $hs"

# A second apply changes nothing.
before=$(wg_config)
hfw 0 apply
expect_line "second apply" "nothing to change: the live state matches $CONF"
[[ $(wg_config) == "$before" ]] || g_fail "the second apply changed wg0"

# status: the peer's state, never a secret.
hfw 0 status
expect_has "status" "  wireguard: public key $BOX_PUB, listen port 51820, 1 peer"
grep -qE '^  peer laptop: endpoint 198\.51\.100\.2:51820, latest handshake [0-9]+ s ago, rx [1-9][0-9]* B, tx [1-9][0-9]* B$' <<<"$OUT" ||
    g_fail "status shows no live peer line: $OUT"
if grep -qF -- "$(cat "$WORK/wg0.key")" <<<"$OUT"; then g_fail "status shows the private key"; fi
if grep -qF -- "$(cat "$WORK/laptop.psk")" <<<"$OUT"; then g_fail "status shows the preshared key"; fi
g_say "status: $(grep '^  peer laptop' <<<"$OUT")"

# Changed behind haltfw's back (another port, the keepalive off): the next
# apply says what differs and sets it back; the tunnel still works.
ip netns exec "$box" wg set wg0 listen-port 40000 peer "$PEER_PUB" persistent-keepalive 0
hfw 1 status
hfw 0 apply
expect_has "apply after tampering" "interface 'vpn' (wg0): set WireGuard, 1 peer (listen port 51820 (was 40000); peer 'laptop': persistent keepalive 25 s (was 0 s))"
[[ $(wg_config) == "$before" ]] || g_fail "apply did not set wg0 back: $(wg_config)"
g_ping "$peer" 192.0.2.10 3 || g_fail "no tunnel after wg0 was set back"

# A failure part way: a changed port and a sysctl the kernel refuses (the
# last step). Everything is rolled back: wg0 exactly as before.
set_line 6 "listen-port = 51821"
sed -i '15a net.ipv4.ip_local_port_range = 60000 50000' "$CONF"  # line 16, in [sysctl]
hfw 1 apply
expect_has "failed apply" "interface 'vpn' (wg0): set WireGuard, 1 peer (listen port 51821 (was 51820))"
expect_has "failed apply" "apply failed; every change was rolled back"
expect_has "failed apply" "$CONF:16: sysctl net.ipv4.ip_local_port_range = "
[[ $(wg_config) == "$before" ]] || g_fail "the failed apply left wg0 changed: $(wg_config)"
g_ping "$peer" 192.0.2.10 3 || g_fail "no tunnel after the rolled-back apply"
g_say "a failed apply left wg0 as it was"
