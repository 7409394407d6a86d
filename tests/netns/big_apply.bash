# Sourced by the lock and signal namespace tests after lib.sh (not a test
# itself: the test glob takes *.sh); makes the links (make_links) and writes
# into $WORK configs large enough that an apply takes a few hundred
# milliseconds, so that a second haltfw or a signal lands in the middle of
# one:
#   A  rules a.nft (a set of $ELEMENTS IPv6 addresses), lan0 with
#      $ADDRESSES IPv6 addresses in 2001:db8:a::/64, a default route and a
#      static one, forwarding on for both families
#   B  rules b.nft (another set of $ELEMENTS), $ADDRESSES addresses in
#      2001:db8:b::/64, another static route, IPv6 forwarding off
#   C  A's rules file (so that after A the ruleset is in place and the plan
#      is addresses, routes and sysctls only), A's addresses and
#      $C_ADDRESSES more in 2001:db8:c::/64, $C_ROUTES more routes, two
#      more sysctls (not IPv4 forwarding off: writing ip_forward resets
#      conf.all.accept_redirects)
ELEMENTS=${ELEMENTS:-20000}
ADDRESSES=${ADDRESSES:-50}
C_ADDRESSES=${C_ADDRESSES:-200}
C_ROUTES=${C_ROUTES:-20}

# write_rules FILE PREFIX: a filter table whose set holds $ELEMENTS
# addresses PREFIX::N (N in hex).
write_rules() {
    {
        echo "table inet filter {"
        echo "    set big {"
        echo "        type ipv6_addr"
        printf '        elements = { '
        seq 1 "$ELEMENTS" | awk -v p="$2" '{ printf "%s%s::%x", (NR > 1 ? ", " : ""), p, $1 } END { print " }" }'
        echo "    }"
        echo "    chain forward {"
        echo "        type filter hook forward priority filter; policy drop;"
        echo "        ip6 daddr @big drop"
        echo "        ct state established,related accept"
        echo "    }"
        echo "}"
    } >"$1"
}

# addresses PREFIX FIRST COUNT: "address = PREFIX::N/64" lines.
addresses() {
    local i
    for ((i = $2; i < $2 + $3; i++)); do printf 'address = %s::%x/64\n' "$1" "$i"; done
}

# big_config RULES WAN_ROUTES LAN_ADDRESSES SYSCTLS: what A, B and C share:
# the rules file $WORK/RULES; wan0 with 198.51.100.1/24, a default route
# and the WAN_ROUTES lines; lan0 with 192.0.2.1/24 and the LAN_ADDRESSES
# lines; IPv4 forwarding on and the SYSCTLS lines.
big_config() {
    cat <<CONF
[ruleset]
file = $WORK/$1

[interface.wan]
device = wan0
address = 198.51.100.1/24
gateway = 198.51.100.254
$2

[interface.lan]
device = lan0
address = 192.0.2.1/24
$3

[sysctl]
net.ipv4.ip_forward = 1
$4
CONF
}

# c_routes: C's $C_ROUTES more static routes, one "route =" line each.
c_routes() {
    local i
    for ((i = 1; i <= C_ROUTES; i++)); do echo "route = 203.0.113.$((128 + i))/32 via 198.51.100.252"; done
}

write_big_configs() {
    write_rules "$WORK/a.nft" 2001:db8:1000:a
    write_rules "$WORK/b.nft" 2001:db8:1000:b
    big_config a.nft "route = 203.0.113.0/24 via 198.51.100.253" "$(addresses 2001:db8:a 1 "$ADDRESSES")" \
        "net.ipv6.conf.all.forwarding = 1" >"$WORK/a.conf"
    big_config b.nft "route = 203.0.113.0/25 via 198.51.100.252" "$(addresses 2001:db8:b 1 "$ADDRESSES")" \
        "net.ipv6.conf.all.forwarding = 0" >"$WORK/b.conf"
    big_config a.nft "$(echo "route = 203.0.113.0/24 via 198.51.100.253"; c_routes)" \
        "$(addresses 2001:db8:a 1 "$ADDRESSES"; addresses 2001:db8:c 1 "$C_ADDRESSES")" \
        $'net.ipv6.conf.all.forwarding = 1\nnet.ipv4.conf.all.arp_ignore = 1\nnet.ipv4.conf.all.arp_announce = 2' \
        >"$WORK/c.conf"
}

# reset_net: no addresses, static routes, ruleset or apply record; C's
# extra sysctls at the kernel's defaults (A and B set the others).
reset_net() {
    sysctl -qw net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.all.arp_announce=0
    ip addr flush dev wan0
    ip addr flush dev lan0
    ip route flush proto static 2>/dev/null || true
    ip -6 route flush proto static 2>/dev/null || true
    nft flush ruleset
    rm -f "$HALTFW_STATE_DIR"/applied-*
}

# apply_from_nothing NAME: config NAME (a, b or c) applied after reset_net.
apply_from_nothing() {
    reset_net
    run_haltfw 0 --config "$WORK/$1.conf" apply
}

# whole_state: addresses, routes, the configured sysctls and the ruleset
# digest, as one comparable text.
whole_state() {
    net_snapshot
    sysctl -n net.ipv4.ip_forward net.ipv6.conf.all.forwarding net.ipv4.conf.all.arp_ignore net.ipv4.conf.all.arp_announce
    "$HALTFW" digest
}

# journal_path: this namespace's change journal, STATE_DIR/journal-COOKIE
# (SO_NETNS_COOKIE is 71).
JOURNAL=$HALTFW_STATE_DIR/journal-$(python3 -c '
import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
print(int.from_bytes(s.getsockopt(socket.SOL_SOCKET, 71, 8), "little"))')
journal_path() { echo "$JOURNAL"; }

# A FIFO nobody writes: `read -t` on it sleeps without starting a process.
mkfifo "$WORK/nap"
exec {NAP}<>"$WORK/nap"
nap() { read -r -t "$1" -u "$NAP" || true; }

# wait_for_file PATH MAX_MS: returns 0 once PATH exists (looked for every
# 0.2 ms), 1 after MAX_MS.
wait_for_file() {
    local end=$((${EPOCHREALTIME/./} / 1000 + $2))
    while [ ! -e "$1" ]; do
        ((${EPOCHREALTIME/./} / 1000 < end)) || return 1
        nap 0.0002
    done
}

# rand_ms LOW HIGH: a random integer in [LOW, HIGH].
rand_ms() { echo $(($1 + RANDOM % ($2 - $1 + 1))); }

# ms N: N milliseconds as seconds for sleep.
ms() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

# now_ms: the time in milliseconds (bash's own clock: no process started).
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

make_links
write_big_configs
