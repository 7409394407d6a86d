# Helper of the guest tests (tests/guest/GROUP/*.sh), sourced by each: they
# run inside the appliance VM, as root, on its Debian 6.1 kernel, which has
# what this machine's kernel lacks (8021q, WireGuard, nf_conntrack_bridge,
# flowtables, netconsole). Each test makes its own network namespaces
# (named g-<test>-<name>), sends traffic only between them, on
# documentation addresses, and removes them on exit. Exit status: 0 pass,
# 1 fail, 77 cannot run.
# shellcheck shell=bash

G_TEST=$(basename "$0" .sh)
G_NS=()

# g_say MSG / g_fail MSG : a line of the test's own; a failure, and exit 1.
g_say() {
    echo "$*"
}
g_fail() {
    echo "FAIL: $*"
    exit 1
}

g_cleanup() {
    local ns
    for ns in "${G_NS[@]}"; do
        ip netns del "$ns" 2>/dev/null || true
    done
}
trap g_cleanup EXIT

# g_ns NAME : makes network namespace g-TEST-NAME with lo up; prints its name.
g_ns() {
    local ns="g-$G_TEST-$1"
    ip netns add "$ns" || g_fail "cannot make namespace $ns"
    G_NS+=("$ns")
    ip -n "$ns" link set lo up
    echo "$ns"
}

# g_veth NS_A IF_A NS_B IF_B : a veth pair between two namespaces, both up.
g_veth() {
    ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" || g_fail "cannot make veth $2/$4"
    ip -n "$1" link set "$2" up
    ip -n "$3" link set "$4" up
}

# g_ping NS ADDR [COUNT] : COUNT (default 3) pings from NS, each waited for
# at most 2 s; succeeds when all are answered.
g_ping() {
    local out
    out=$(ip netns exec "$1" ping -n -c "${3:-3}" -i 0.3 -W 2 "$2" 2>&1) || { echo "$out" | tail -n 3; return 1; }
    grep -q " ${3:-3} received" <<<"$out"
}

# g_need_haltfw : for a test of the haltfw installed in the image: exits 77
# if there is none; sets HALTFW, WORK (a scratch directory removed on
# exit), HALTFW_STATE_DIR inside it, and CONF (a config path in it).
g_need_haltfw() {
    HALTFW=$(command -v haltfw || true)
    [[ -n $HALTFW ]] || { echo "haltfw is not installed in this image"; exit 77; }
    WORK=$(mktemp -d "/tmp/g-$G_TEST-XXXXXX")
    export HALTFW_STATE_DIR="$WORK/state"
    trap 'g_cleanup; rm -rf "$WORK"' EXIT
    CONF="$WORK/haltfw.conf"
}
