# Helper of the guest tests (tests/guest/GROUP/*.sh), sourced by each: they
# run inside the appliance VM, as root, on its Debian 6.1 kernel, which has
# what this machine's kernel lacks (8021q, WireGuard, nf_conntrack_bridge,
# flowtables, netconsole). Each test makes its own network namespaces
# (named g-<test>-<name>), sends traffic only between them, on
# documentation addresses, and removes them on exit. Exit status: 0 pass,
# 1 fail, 77 cannot run.
# shellcheck shell=bash

G_TEST=$(basename "$0" .sh)

# g_say MSG / g_fail MSG : a line of the test's own; a failure, and exit 1.
g_say() {
    echo "$*"
}
g_fail() {
    echo "FAIL: $*"
    exit 1
}

# The namespaces are found by their prefix: g_ns runs in a command
# substitution, a subshell, which could not add to a list of this shell's.
g_cleanup() {
    local ns
    for ns in $(ip netns list | awk -v p="g-$G_TEST-" 'index($1, p) == 1 { print $1 }'); do
        ip netns del "$ns" 2>/dev/null || true
    done
}
trap g_cleanup EXIT

# g_ns NAME : makes network namespace g-TEST-NAME with lo up; prints its name.
g_ns() {
    local ns="g-$G_TEST-$1"
    ip netns add "$ns" || g_fail "cannot make namespace $ns"
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

# g_no_reply NS ADDR WHAT [COUNT] : the negative of g_ping: COUNT (default 2)
# pings from NS, each waited for at most 1 s; the test fails (naming WHAT)
# if even one is answered, and also if ping prints no count of replies (it
# could not send: a check that cannot see a reply proves nothing).
g_no_reply() {
    local out got
    out=$(ip netns exec "$1" ping -n -c "${4:-2}" -i 0.3 -W 1 "$2" 2>&1) || true
    got=$(sed -n 's/.* \([0-9][0-9]*\) received.*/\1/p' <<<"$out")
    [[ $got =~ ^[0-9]+$ ]] || g_fail "$3: ping $2 from $1 sent nothing: $out"
    ((got == 0)) || g_fail "$3: $got of ${4:-2} pings to $2 answered"
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

# g_arm_in NS : for a test that arms the haltfw in the image inside
# namespace NS and runs the real final stage's checks on the manifest
# (haltfw-final --verify). After g_need_haltfw, in a mount namespace of the
# test's own (arm mounts the exitrd; the test re-executes itself under
# `unshare --mount` first). Points arm's exitrd and unit tree into $WORK;
# sets FINAL_BIN and M (the manifest). Defines in_box CMD... (CMD in NS's
# network namespace but this mount namespace: `ip netns exec` makes a mount
# namespace of its own, which would take arm's exitrd away with it) and
# hfw RC ARGS... (haltfw --config $CONF ARGS there, which must exit RC; its
# output in $OUT).
g_arm_in() {
    G_ARM_NS=$1
    FINAL_BIN=/usr/lib/haltfw/haltfw-final
    [[ -x $FINAL_BIN ]] || g_fail "no $FINAL_BIN in the image"
    export HALTFW_EXITRD="$WORK/exitrd" HALTFW_SYSROOT="$WORK/root"
    M="$HALTFW_EXITRD/haltfw.manifest"
    mkdir -p "$HALTFW_SYSROOT/run/systemd/system" "$HALTFW_SYSROOT/lib/systemd/system"
    trap 'umount "$HALTFW_EXITRD" 2>/dev/null || true; g_cleanup; rm -rf "$WORK"' EXIT
    in_box() {
        nsenter --net="/run/netns/$G_ARM_NS" "$@"
    }
    hfw() {
        local want=$1 rc=0
        shift
        OUT=$(in_box "$HALTFW" --config "$CONF" "$@" 2>&1) || rc=$?
        [[ $rc == "$want" ]] || g_fail "haltfw $*: exit $rc, expected $want; output:
$OUT"
    }
}
