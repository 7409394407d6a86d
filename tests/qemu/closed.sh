#!/bin/bash
# Scenario 3, closed: the halted box (HALTED-OK, judged by 'haltfw
# verify-console') offers nothing. A TCP and a UDP port scan (nmap) of its
# addresses from the LAN host and from the WAN host finds no open port:
#   from the LAN: 192.0.2.1, 198.51.100.1 and its IPv6 link-local address on
#   the LAN link; from the WAN: 198.51.100.1, 192.0.2.1 (the WAN host routes
#   the LAN prefix via the box) and its link-local address on the WAN link.
#
# What is asserted, and why. The example ruleset's input chain has policy
# drop and accepts only ICMP, loopback and replies. So no probe is answered:
#   - TCP: every port 'filtered' (no SYN-ACK, and no RST either). 'open'
#     would be a listening service; 'closed' would be the kernel answering
#     with RST, i.e. the probe got past the input chain: also a failure.
#   - UDP: every port 'open|filtered'. With nothing coming back (no datagram,
#     no ICMP port unreachable) nmap cannot tell a silent listener from a
#     dropped probe and says open|filtered; that is what a drop looks like.
#     'open' needs a UDP reply, so something answered; 'closed' needs an ICMP
#     port unreachable, so the probe reached the UDP stack: both fail.
# A positive control shows the same nmap settings do report 'open': from
# the LAN, the scan includes the far host 203.0.113.1 (through the box),
# where a TCP listener (8080) and a UDP responder (53) run.
#
# The halt is started by hand here ('haltfw arm', then systemctl start
# haltfw.target), the other way haltfw(8) documents: the ruleset watcher
# arm started stays on standby, and the report says the final stage alone
# guarded the ruleset.
set -euo pipefail
# shellcheck source=tests/qemu/lib.sh
source "$(dirname "$0")/lib.sh"

hfw_require_root
hfw_require_cmd nmap ping
hfw_image

guest=$(mktemp)
cat >"$guest" <<'EOF_GUEST'
haltfw arm || echo "closed: haltfw arm failed with $?"
echo "closed: halting"
systemctl start haltfw.target --job-mode=replace-irreversibly || echo "closed: systemctl start haltfw.target failed with $?"
EOF_GUEST
hfw_boot "$guest"
trap 'hfw_bg_cleanup; hfw_cleanup' EXIT
rm -f "$guest"

hfw_wait_log '^closed: halting' 300 "the guest script starting the halt"
hfw_expect_halted_ok 240
hfw_log_has '^closed: .* failed with' && hfw_fail "in the guest: $(hfw_log_clean | grep '^closed: .* failed with')"
hfw_assert_log "^HALTFW: watch: stopped \(pid [0-9]+\) on standby: nothing set it watching \(only 'haltfw halt' does" \
    "the report's watch line: the watcher on standby to the end"

# The ports scanned: the well-known range and a few high ports often served
# (NFS, MySQL, mDNS, VNC, HTTP alternates, WireGuard), TCP and UDP alike.
ports=1-1024,2049,3306,5353,5900,8080,8443,51820,65535
nports=$((1024 + 8))

# The positive control's servers on the far host.
hfw_tcp_listen wan 203.0.113.1 8080 300
# shellcheck disable=SC2016 # no expansion wanted: a fixed answer
ip netns exec "$HFW_WAN_NS" timeout 300 socat -T 5 UDP4-RECVFROM:53,bind=203.0.113.1,fork \
    SYSTEM:'echo hfw-pong' >"$HFW_OUT/udp-53.txt" 2>&1 &
HFW_BG_PIDS+=("$!")

# link_local SIDE : the box's IPv6 link-local address on SIDE's link: the
# one answer to an all-nodes ping that is not the host's own address.
link_local() {
    local ifname own
    if [[ $1 == lan ]]; then ifname=$HFW_LAN_IF; else ifname=$HFW_WAN_IF; fi
    own=$(ip -n "$(hfw_ns "$1")" -6 -br addr show dev "$ifname" scope link | awk '{ sub("/.*", "", $3); print $3 }')
    ip netns exec "$(hfw_ns "$1")" ping -6 -n -c 2 -i 0.5 -w 4 "ff02::1%$ifname" 2>/dev/null |
        sed -n 's/^[0-9]* bytes from \(fe80::[0-9a-f:]*\)%.*/\1/p' | grep -v -x -F "$own" | sort -u
}

# scan SIDE KIND TARGET... : nmap from SIDE's host (KIND tcp or udp, -6 for
# IPv6 targets); grepable output in $HFW_OUT/scan-SIDE-KIND[-6].g. Bounded:
# one retry, a host timeout, and timeout(1) around it all.
scan() {
    local side=$1 kind=$2 six=() type=-sS tag
    shift 2
    [[ $1 == *:* ]] && six=(-6)
    [[ $kind == udp ]] && type=-sU
    tag="$side-$kind${six[*]}"
    # --min-rate: nothing answers, so without it nmap paces itself down to
    # ~25 probes/s and a scan takes a minute; 200/s is light for the box.
    ip netns exec "$(hfw_ns "$side")" timeout 300 nmap "${six[@]}" -n "$type" -p "$ports" \
        -T4 --max-retries 1 --min-rate 200 --host-timeout 150s -oG "$HFW_OUT/scan-$tag.g" "$@" \
        >"$HFW_OUT/scan-$tag.txt" 2>&1 || hfw_fail "nmap $type from the $side host failed:
$(cat "$HFW_OUT/scan-$tag.txt")"
    hfw_say "scanned $kind from the $side: $* ($(sed -n 's/.* scanned in \([0-9.]*\) seconds/\1 s/p' "$HFW_OUT/scan-$tag.g"))"
    SCAN_FILE="$HFW_OUT/scan-$tag.g"
}

# ports_line ADDR : the scan's 'Ports:' line for ADDR.
ports_line() {
    grep -F "Host: $1 ()" "$SCAN_FILE" | grep -F 'Ports:' || true
}

# expect_all ADDR STATE : every scanned port of ADDR in STATE, none listed
# apart (nmap folds the most common state into 'Ignored State').
expect_all() {
    local line
    grep -q -F "Host: $1 ()	Status: Up" "$SCAN_FILE" || hfw_fail "$SCAN_FILE: host $1 not up (the scan reached nothing):
$(cat "$SCAN_FILE")"
    line=$(ports_line "$1")
    [[ $line == *"	Ports: 	Ignored State: $2 ($nports)" ]] ||
        hfw_fail "$SCAN_FILE: $1: expected all $nports ports '$2', got: ${line:-no Ports line}"
}

# expect_open ADDR PORT/PROTO : the control: nmap reports PORT open.
expect_open() {
    local re="[[:space:]]${2%/*}/open/${2#*/}/"
    [[ $(ports_line "$1") =~ $re ]] ||
        hfw_fail "$SCAN_FILE: the control $1 $2 is not reported open (the scan settings would miss an open port): $(ports_line "$1")"
}

ll_lan=$(link_local lan)
ll_wan=$(link_local wan)
[[ $ll_lan == fe80::* && $ll_lan != *$'\n'* ]] || hfw_fail "the box's link-local address on the LAN link: expected one answer to ff02::1, got '${ll_lan}'"
[[ $ll_wan == fe80::* && $ll_wan != *$'\n'* ]] || hfw_fail "the box's link-local address on the WAN link: expected one answer to ff02::1, got '${ll_wan}'"

# From the LAN.
scan lan tcp 192.0.2.1 198.51.100.1 203.0.113.1
expect_all 192.0.2.1 filtered
expect_all 198.51.100.1 filtered
expect_open 203.0.113.1 8080/tcp
scan lan udp 192.0.2.1 198.51.100.1 203.0.113.1
expect_all 192.0.2.1 'open|filtered'
expect_all 198.51.100.1 'open|filtered'
expect_open 203.0.113.1 53/udp
scan lan tcp "$ll_lan%$HFW_LAN_IF"
expect_all "$ll_lan" filtered
scan lan udp "$ll_lan%$HFW_LAN_IF"
expect_all "$ll_lan" 'open|filtered'

# From the WAN.
scan wan tcp 198.51.100.1 192.0.2.1
expect_all 198.51.100.1 filtered
expect_all 192.0.2.1 filtered
scan wan udp 198.51.100.1 192.0.2.1
expect_all 198.51.100.1 'open|filtered'
expect_all 192.0.2.1 'open|filtered'
scan wan tcp "$ll_wan%$HFW_WAN_IF"
expect_all "$ll_wan" filtered
scan wan udp "$ll_wan%$HFW_WAN_IF"
expect_all "$ll_wan" 'open|filtered'

hfw_bg_cleanup
hfw_stop
echo "closed: $nports TCP and $nports UDP ports of 192.0.2.1, 198.51.100.1, $ll_lan (LAN link) from the LAN and of 198.51.100.1, 192.0.2.1, $ll_wan (WAN link) from the WAN: TCP all filtered, UDP all open|filtered (no answer); control 203.0.113.1: 8080/tcp and 53/udp open"
hfw_pass
