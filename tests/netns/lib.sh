# Shared helper for the namespace tests. Each test script runs as
#   unshare --net --mount tests/netns/NAME.sh /path/to/haltfw
# so every link, address, route, sysctl and nft table it makes lives in a
# network namespace of its own and vanishes with it.
set -euo pipefail

HALTFW=${1:?usage: $0 /path/to/haltfw}
TEST=$(basename "$0" .sh)

# Refuse to run in the host's namespace: these tests flush rulesets.
if [ "$(readlink /proc/self/ns/net)" = "$(readlink /proc/1/ns/net)" ]; then
    echo "$TEST: refusing to run outside a private network namespace (run under 'unshare --net --mount')" >&2
    exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "skipped: $TEST needs root"
    exit 77
fi

WORK=$(mktemp -d "/tmp/haltfw-$TEST-XXXXXX")
export HALTFW_STATE_DIR="$WORK/state"
CONF="$WORK/haltfw.conf"  # the config write_config writes
trap 'rm -rf "$WORK"' EXIT
ip link set lo up
# /sys/class/net shows the namespace that mounted sysfs: mount our own (the
# mount namespace from unshare --mount is private, so the host keeps its).
mount -t sysfs sysfs /sys

fail() {
    echo "FAIL: $TEST: $*" >&2
    exit 1
}

# expect_eq WHAT ACTUAL EXPECTED
expect_eq() {
    [ "$2" = "$3" ] || fail "$1: expected '$3', got '$2'"
}

# expect_contains WHAT TEXT NEEDLE
expect_contains() {
    case "$2" in
        *"$3"*) ;;
        *) fail "$1: expected it to contain '$3'; it was:
$2" ;;
    esac
}

# run_haltfw EXPECTED_RC ARGS...: runs haltfw, keeps its output in $OUT
# (stdout and stderr together) and checks the exit code.
run_haltfw() {
    local want=$1 rc=0
    shift
    OUT=$("$HALTFW" "$@" 2>&1) || rc=$?
    [ "$rc" -eq "$want" ] || fail "haltfw $*: exit $rc, expected $want; output:
$OUT"
}

# Two veth pairs, wan0/lan0 on our side; their peers stay down.
make_links() {
    ip link add wan0 type veth peer name wan0p
    ip link add lan0 type veth peer name lan0p
}

# A ruleset and config ($CONF) in $WORK: a small NAT gateway.
write_config() {
    cat >"$WORK/rules.nft" <<'NFT'
table inet filter {
    set blocked {
        type ipv4_addr; flags interval
        elements = { 203.0.113.0/28 }
    }
    chain input {
        type filter hook input priority filter; policy drop;
        ct state established,related accept
        iifname "lo" accept
        meta l4proto icmp counter accept
    }
    chain forward {
        type filter hook forward priority filter; policy drop;
        ip daddr @blocked drop
        ct state established,related accept
        iifname "lan0" oifname "wan0" accept
    }
}
table ip nat {
    chain postrouting {
        type nat hook postrouting priority srcnat;
        oifname "wan0" masquerade
    }
}
NFT
    cat >"$CONF" <<CONF
[ruleset]
file = $WORK/rules.nft

[interface.wan]
device = wan0
address = 198.51.100.1/24
address = 2001:db8:1::1/64
gateway = 198.51.100.254
gateway6 = 2001:db8:1::fffe
route = 203.0.113.0/24 via 198.51.100.253

[interface.lan]
device = lan0
address = 192.0.2.1/24
address = 2001:db8:2::1/64
mtu = 1400

[sysctl]
net.ipv4.ip_forward = 1
CONF
}

# make_lan_wan: this namespace as the router between two others, named by
# the test in $LAN and $WAN, on veth pairs lan0 -- eth0 and wan0 -- eth0,
# with lo and eth0 up on the far sides. in_lan and in_wan run a command
# there; del_lan_wan, for the test's EXIT trap, removes them.
make_lan_wan() {
    local ns
    ip netns add "$LAN"
    ip netns add "$WAN"
    ip link add lan0 type veth peer name eth0 netns "$LAN"
    ip link add wan0 type veth peer name eth0 netns "$WAN"
    for ns in "$LAN" "$WAN"; do
        ip netns exec "$ns" ip link set lo up
        ip netns exec "$ns" ip link set eth0 up
    done
}
in_lan() { ip netns exec "$LAN" "$@"; }
in_wan() { ip netns exec "$WAN" "$@"; }
del_lan_wan() {
    ip netns del "$LAN" 2>/dev/null || true
    ip netns del "$WAN" 2>/dev/null || true
}

# The addresses and routes of our links, as one comparable text.
net_snapshot() {
    ip -j addr show | python3 -c '
import json, sys
for l in json.load(sys.stdin):
    for a in l.get("addr_info", []):
        print(l["ifname"], l.get("mtu"), "UP" if "UP" in l["flags"] else "DOWN", a["local"] + "/" + str(a["prefixlen"]))'
    # "linkdown" comes and goes with carrier detection, not with haltfw.
    ip -4 route show table main | sed 's/ linkdown//'
    ip -6 route show table main | sed 's/ linkdown//' | grep -v '^fe80' || true
}
