# Shared by the wireguard guest tests (sourced; not a test itself): three
# namespaces, the box (configured by the haltfw installed in the image),
# a road-warrior peer on its WAN side (set up with wg), and a host on its
# LAN side; keys made with wg; the config and rules in $WORK.
#
#   peer e0 198.51.100.2 ---- wan0 198.51.100.1  box  lan0 192.0.2.1 ---- e0 192.0.2.10 lan
#   peer wg0 203.0.113.130    wg0 203.0.113.129/25 (haltfw)
# shellcheck shell=bash
# shellcheck source=tests/guest/lib.sh
source "$(dirname "$0")/../lib.sh"

g_need_haltfw
command -v wg >/dev/null || { echo "wg (wireguard-tools) is not installed in this image"; exit 77; }

box=$(g_ns box)
peer=$(g_ns peer)
lan=$(g_ns lan)
g_veth "$box" wan0 "$peer" e0
g_veth "$box" lan0 "$lan" e0
ip -n "$peer" addr add 198.51.100.2/24 dev e0
ip -n "$lan" addr add 192.0.2.10/24 dev e0
ip -n "$lan" route add default via 192.0.2.1

# Keys as an operator makes them on another machine; files root's alone.
(umask 077 && wg genkey >"$WORK/wg0.key" && wg genpsk >"$WORK/laptop.psk")
BOX_PUB=$(wg pubkey <"$WORK/wg0.key")
PEER_KEY=$(wg genkey)
PEER_PUB=$(wg pubkey <<<"$PEER_KEY")

printf '%s\n' 'table inet filter {' \
    '    chain input {' \
    '        type filter hook input priority filter; policy accept;' \
    '    }' \
    '    chain forward {' \
    '        type filter hook forward priority filter; policy drop;' \
    '        ct state established,related accept' \
    '        iifname "wg0" oifname "lan0" accept' \
    '    }' \
    '}' >"$WORK/rules.nft"

# write_conf: the box's config. Its lines, which the messages name:
#  5 wireguard-key, 6 listen-port, 17 peer interface, 18 public-key,
#  19 allowed-ips, 20 endpoint, 21 persistent-keepalive,
#  22 preshared-key-file.
write_conf() {
    printf '%s\n' '[ruleset]' 'file = rules.nft' \
        '[interface.vpn]' 'device = wg0' 'wireguard-key = wg0.key' 'listen-port = 51820' 'address = 203.0.113.129/25' \
        '[interface.wan]' 'device = wan0' 'address = 198.51.100.1/24' \
        '[interface.lan]' 'device = lan0' 'address = 192.0.2.1/24' \
        '[sysctl]' 'net.ipv4.ip_forward = 1' \
        '[peer.laptop]' 'interface = vpn' "public-key = $PEER_PUB" 'allowed-ips = 203.0.113.130/32, 2001:db8:77::2/128' \
        'endpoint = 198.51.100.2:51820' 'persistent-keepalive = 25' 'preshared-key-file = laptop.psk' >"$CONF"
}

# set_line N TEXT: replaces line N of the config.
set_line() {
    sed -i "$1s|.*|$2|" "$CONF"
}

# hfw WANT_RC ARGS...: haltfw in the box's namespace; output in $OUT.
hfw() {
    local want=$1 rc=0
    shift
    OUT=$(ip netns exec "$box" "$HALTFW" --config "$CONF" "$@" 2>&1) || rc=$?
    [[ $rc == "$want" ]] || g_fail "haltfw $*: exit $rc, expected $want; output:
$OUT"
}

# expect_line WHAT LINE: $OUT holds LINE as a whole line.
expect_line() {
    grep -qxF -- "$2" <<<"$OUT" || g_fail "$1: expected the line
  $2
in:
$OUT"
}

# expect_has WHAT TEXT: $OUT contains TEXT.
expect_has() {
    grep -qF -- "$2" <<<"$OUT" || g_fail "$1: expected '$2' in:
$OUT"
}

# The peer's side, with wg: its tunnel reaches the box's LAN.
peer_up() {
    ip -n "$peer" link add wg0 type wireguard || g_fail "cannot add the peer's wg0"
    ip netns exec "$peer" wg set wg0 private-key <(echo "$PEER_KEY") listen-port 51820 \
        peer "$BOX_PUB" preshared-key "$WORK/laptop.psk" allowed-ips 203.0.113.128/25,192.0.2.0/24 \
        endpoint 198.51.100.1:51820
    ip -n "$peer" addr add 203.0.113.130/25 dev wg0
    ip -n "$peer" link set wg0 up
    ip -n "$peer" route add 192.0.2.0/24 dev wg0
}

# What the box's wg0 is set to, without its secrets' values or counters:
# public key, port, fwmark, and per peer its public key, whether its
# preshared key is laptop.psk's, endpoint, allowed IPs, keepalive.
wg_config() {
    local psk
    psk=$(cat "$WORK/laptop.psk")
    ip netns exec "$box" wg show wg0 dump | awk -v psk="$psk" -F'\t' '
        NR == 1 { print "device", $2, $3, $4; next }
        { print "peer", $1, ($2 == psk ? "psk-as-file" : ($2 == "(none)" ? "no-psk" : "other-psk")), $3, $4, $8 }'
}
