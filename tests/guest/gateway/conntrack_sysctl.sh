#!/bin/bash
# A conntrack sysctl in [sysctl] on a kernel where nf_conntrack is a module
# not loaded yet (a box at boot, before any ruleset uses conntrack): its
# key does not exist until the module is in. check plans the load and says
# so; apply loads nf_conntrack first, then writes the setting; a key still
# missing once the module is in (a typo) fails apply at its line, and
# nothing but the module stays changed; arm from there records the setting
# in the manifest.
#
# In a network namespace the kernel (6.1, nf_conntrack_standalone.c) makes
# net.netfilter.nf_conntrack_max read-only (0444: only the initial namespace
# sets the global table size), so the test sets a per-namespace key,
# net.netfilter.nf_conntrack_tcp_timeout_established; both have the same
# module and take the same path through haltfw.
set -euo pipefail
# arm mounts the exitrd: in a mount namespace of this test's own.
[[ -n ${G_PRIVATE_MOUNTS:-} ]] || exec env G_PRIVATE_MOUNTS=1 unshare --mount --propagation private bash "$0" "$@"
# shellcheck source=tests/guest/lib.sh
source "$(dirname "$0")/../lib.sh"
g_need_haltfw

# unload MOD : unloads MOD after every module that holds it.
unload() {
    local h
    [[ -d /sys/module/$1 ]] || return 0
    for h in /sys/module/"$1"/holders/*; do
        [[ -e $h ]] && unload "$(basename "$h")"
    done
    modprobe -r "$1" 2>/dev/null || true
}
# no_conntrack WHEN : makes sure nf_conntrack is not loaded, or fails.
no_conntrack() {
    unload nf_conntrack
    [[ ! -d /sys/module/nf_conntrack ]] && return 0
    g_fail "$1: nf_conntrack is still loaded and cannot be unloaded (refcnt $(cat /sys/module/nf_conntrack/refcnt 2>/dev/null || echo '?'), holders: $(find /sys/module/nf_conntrack/holders -mindepth 1 -printf '%f ' 2>/dev/null))"
}
# sysctl_in NS KEY : the key's value in namespace NS; fails if it cannot be read.
sysctl_in() {
    ip netns exec "$1" cat "/proc/sys/${2//.//}"
}

box=$(g_ns box)
lan=$(g_ns lan)
g_arm_in "$box"
g_veth "$box" lan0 "$lan" eth0
ip -n "$box" link set lan0 down
key=net.netfilter.nf_conntrack_tcp_timeout_established
# A ruleset with no conntrack in it: loading it must not load nf_conntrack.
cat >"$WORK/rules.nft" <<'NFT'
table inet filter {
    chain input {
        type filter hook input priority 0; policy accept;
        iifname "lo" accept
    }
}
NFT
conf() {
    cat <<CONF
[ruleset]
file = $WORK/rules.nft

[interface.lan]
device = lan0
address = 192.0.2.1/24

[sysctl]
$1 = 3600
CONF
}

# ---- a typo under conntrack's prefix: apply loads the module, finds no such key, rolls back ----
no_conntrack "before the first apply"
conf "${key}x" >"$CONF"
line=$(grep -n "^${key}x = " "$CONF" | cut -d: -f1)
fwd=$(ip netns exec "$box" cat /proc/sys/net/ipv4/ip_forward)
if out=$(ip netns exec "$box" "$HALTFW" --config "$CONF" apply 2>&1); then g_fail "apply took ${key}x: $out"; fi
want="$CONF:$line: sysctl ${key}x = 3600 (once nf_conntrack is loaded): no such setting in this kernel, even with nf_conntrack loaded"
[[ $out == *"$want"* ]] || g_fail "apply of ${key}x: expected '$want' in: $out"
[[ $out == *"every change was rolled back"* ]] || g_fail "apply of ${key}x: no full rollback: $out"
[[ -z $(ip netns exec "$box" nft list ruleset) ]] || g_fail "a failed apply left a ruleset: $(ip netns exec "$box" nft list ruleset)"
[[ -z $(ip -n "$box" -4 addr show dev lan0) ]] || g_fail "a failed apply left an address on lan0"
ip -n "$box" link show lan0 | grep -q 'state DOWN' || g_fail "a failed apply left lan0 up"
[[ $(ip netns exec "$box" cat /proc/sys/net/ipv4/ip_forward) == "$fwd" ]] || g_fail "a failed apply left ip_forward changed"
[[ -d /sys/module/nf_conntrack ]] || g_fail "apply of ${key}x did not load nf_conntrack"
g_say "a typo under conntrack's prefix: '$want', rolled back"

# ---- the real key: check plans the load, apply makes it ----
no_conntrack "after the failed apply"
conf "$key" >"$CONF"
line=$(grep -n "^$key = " "$CONF" | cut -d: -f1)
if sysctl_in "$box" "$key" >/dev/null 2>&1; then g_fail "$key exists with nf_conntrack unloaded"; fi
out=$(ip netns exec "$box" "$HALTFW" --config "$CONF" check 2>&1) || true
[[ $out != *"no such setting"* ]] || g_fail "check refused $key: $out"
[[ $out == *"  load module nf_conntrack ($key exists only once it is loaded)"* ]] ||
    g_fail "check does not say apply loads nf_conntrack: $out"
[[ ! -d /sys/module/nf_conntrack ]] || g_fail "check loaded nf_conntrack"
out=$(ip netns exec "$box" "$HALTFW" --config "$CONF" apply --dry-run 2>&1) || g_fail "apply --dry-run: $out"
[[ $out == *"would: sysctl $key = 3600 (once nf_conntrack is loaded)"* ]] || g_fail "apply --dry-run: $out"
out=$(ip netns exec "$box" "$HALTFW" --config "$CONF" apply 2>&1) || g_fail "apply of $key (line $line): $out"
[[ -d /sys/module/nf_conntrack ]] || g_fail "apply did not load nf_conntrack"
got=$(sysctl_in "$box" "$key") || g_fail "$key cannot be read in the box after apply"
[[ $got == 3600 ]] || g_fail "$key is $got in the box after apply, not 3600"
init=$(cat "/proc/sys/${key//.//}")
[[ $init != 3600 ]] || g_fail "apply in the box set $key in the initial namespace too"
out=$(ip netns exec "$box" "$HALTFW" --config "$CONF" apply 2>&1) || g_fail "second apply: $out"
[[ $out == "nothing to change: the live state matches $CONF" ]] || g_fail "second apply changed something: $out"
g_say "apply loaded nf_conntrack and set $key = 3600 in the box ($init in the initial namespace); a second apply changed nothing"
mode=$(ip netns exec "$box" stat -c %a /proc/sys/net/netfilter/nf_conntrack_max)
g_say "net.netfilter.nf_conntrack_max in a namespace: mode $mode"

# ---- arm on a kernel without nf_conntrack: apply loads it, the manifest has the setting ----
no_conntrack "before arm"  # the ruleset uses no conntrack: the module goes, and the key with it
hfw 0 arm --final "$FINAL_BIN"
record="sysctl $key $(printf 3600 | od -An -tx1 | tr -d ' \n')"
grep -qx "$record" "$M" || g_fail "the manifest has no '$record' record: $(grep '^sysctl ' "$M" | tr '\n' ';')"
[[ $(sysctl_in "$box" "$key") == 3600 ]] || g_fail "$key is not 3600 in the box after arm"
g_say "arm loaded nf_conntrack through apply; the manifest records $key = 3600"
hfw 0 disarm
