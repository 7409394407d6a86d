#!/bin/bash
# Scenario 5, sabotage: a unit the guards do not know flushes the ruleset
# when it is stopped during the shutdown transaction. The ruleset watcher
# ('haltfw arm' started it, 'haltfw halt' set it watching) must put the armed
# ruleset back at once, and the final stage must find it as armed
# (HALTED-OK, watch_restored=1) and say so in its report; had the restore
# failed, it would fail closed (HALTED-FAIL reason=ruleset, forwarding off).
# Either way, once the report is out, no packet with a LAN source address
# reaches the WAN side and WAN->LAN stays blocked.
#
# The saboteur is installed by the guest script at run time, under /run,
# not baked into the image: the image stays the product's. It stands for
# any third-party unit with an 'ExecStop=nft flush ruleset'.
#
# Between the flush and the watcher's restore the box forwards with no
# ruleset at all (ip_forward is still 1): tens of milliseconds under TCG.
# The LAN host starts a one-packet ping flow every 0.2-0.45 s, so at most
# one echo request can fall into that window and leave un-NATed; the
# scenario asserts at most one (without the watcher, 1.5-1.9 s passed until
# the final stage restored the ruleset, and 5-9 leaked) and prints the count
# and how long the watcher took.
set -euo pipefail
# shellcheck source=tests/qemu/lib.sh
source "$(dirname "$0")/lib.sh"

hfw_require_root
hfw_require_cmd tcpdump socat
hfw_image

guest=$(mktemp)
cat >"$guest" <<'EOF_GUEST'
say() { echo "sabotage: $*"; }
# The stop command: flushes, and says so on the console with the ruleset's
# size before and the uptime, so the host can see that the flush ran and
# when. (What the ruleset holds right after is the watcher's business: it
# may already be back.)
mkdir -p /run/hfw-sabotage
cat >/run/hfw-sabotage/stop <<'EOF_STOP'
before=$(/usr/sbin/nft list ruleset | wc -l)
/usr/sbin/nft flush ruleset
rc=$?
echo "hfw-sabotage: ExecStop ran at uptime $(cut -d' ' -f1 /proc/uptime): 'nft flush ruleset' status $rc, ruleset of $before lines" >/dev/console
EOF_STOP
# Default dependencies give it Conflicts= and Before=shutdown.target, as any
# ordinary service has: the shutdown transaction stops it, running ExecStop.
cat >/run/systemd/system/hfw-sabotage.service <<'EOF_UNIT'
[Unit]
Description=haltfw test: a ruleset flusher the guards do not know

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true
ExecStop=/bin/sh /run/hfw-sabotage/stop
EOF_UNIT
systemctl daemon-reload
systemctl start hfw-sabotage.service
say "unit $(systemctl is-active hfw-sabotage.service); $(systemctl show -p Conflicts hfw-sabotage.service)"
# Give the host a moment to start its capture and the LAN traffic that
# measures the unprotected window.
say "halting in 3 s"
sleep 3
say "halting"
haltfw halt || say "haltfw halt failed with $?"
EOF_GUEST
hfw_boot "$guest"
# The EXIT trap hfw_boot set, plus the background helpers ('|| true': under
# set -e a failing command would cut the trap short and leave the VM running).
trap 'hfw_bg_cleanup || true; hfw_cleanup' EXIT
rm -f "$guest"

hfw_wait_log '^sabotage: halting in' 300 "the guest script installing the saboteur"
hfw_assert_log '^sabotage: unit active; Conflicts=.*shutdown\.target' "the sabotage unit active and conflicting with shutdown.target"

# The transition, measured: a capture on the WAN side and, from the LAN
# host, a new ping flow every 0.2-0.45 s (each ping a new ICMP id, so a new
# conntrack entry: a flow NATed before the flush would stay NATed).
hfw_capture_start transition wan 240
(
    for ((i = 0; i < 400; i++)); do
        ip netns exec "$HFW_LAN_NS" ping -n -c 1 -W 0.25 203.0.113.1 >/dev/null 2>&1 || true
        sleep 0.2
        [[ -f $HFW_OUT/transition.stop ]] && break
    done
) &
HFW_BG_PIDS+=("$!")
pinger=$!

hfw_wait_log '^sabotage: halting$' 60 "the guest script starting the halt"
hfw_wait_log 'HALTFW: HALTED-(OK|FAIL)' 240 "the final stage's report"
sleep 1  # the last console bytes, the last packets of the transition
touch "$HFW_OUT/transition.stop"
wait "$pinger" 2>/dev/null || true
hfw_capture_stop transition

# The saboteur really ran and flushed; the watcher was watching (it says so
# itself on the console once 'haltfw halt' has signalled it) and put the
# ruleset back. (The CLI's own "watch: ... guarded" line comes after it has
# started haltfw.target, and the shutdown may stop it before it is out.)
hfw_assert_log "hfw-sabotage: ExecStop ran at uptime [0-9.]+: 'nft flush ruleset' status 0, ruleset of [1-9][0-9]* lines" \
    "the sabotage unit's ExecStop flushing the ruleset"
hfw_assert_log "^haltfw-watch: watching the armed ruleset \\(digest [0-9a-f]{64}\\) until the final stage(; unchanged since the halt's arm \\(generation [0-9]+\\))?$" \
    "the ruleset watcher watching, once 'haltfw halt' signalled it"
hfw_assert_log '^haltfw-watch: the ruleset changed during the shutdown; put the armed one back in [0-9]+ ms' \
    "the watcher putting the armed ruleset back"
watch_ms=$(hfw_log_clean | sed -n 's/^haltfw-watch: the ruleset changed during the shutdown; put the armed one back in \([0-9]*\) ms.*/\1/p' | head -n 1)
hfw_assert_log 'HALTFW: watch: stopped \(pid [0-9]+\); during the shutdown it restored the armed ruleset 1 time$' \
    "the report's watch line: one restore"

armed=$(hfw_log_clean | sed -n 's/^armed: digest \([0-9a-f]\{64\}\) .*/\1/p' | tail -n 1)
[[ -n $armed ]] || hfw_fail "no 'armed: digest ...' line from 'haltfw halt'"
machine=$(hfw_log_clean | grep -E -o 'HALTFW: HALTED-(OK|FAIL).*' | tail -n 1)
verify_rc=0
"$HFW_HALTFW" verify-console "$HFW_SERIAL_LOG" >"$HFW_OUT/verify.txt" 2>&1 || verify_rc=$?
case $machine in
    "HALTFW: HALTED-OK "*)
        outcome=restored
        [[ $machine == *" watch_restored=1"* ]] || hfw_fail "HALTED-OK without watch_restored=1, although the ruleset was flushed: $machine"
        [[ $machine == *" restored=0 "* ]] || hfw_fail "the final stage had to restore the ruleset too (the watcher's restore did not hold): $machine"
        [[ $machine == *" digest=$armed "* ]] || hfw_fail "the machine line's digest is not the armed one ($armed): $machine"
        ((verify_rc == 0)) || hfw_fail "verify-console exited $verify_rc for a HALTED-OK report: $(cat "$HFW_OUT/verify.txt")"
        ;;
    *) hfw_fail "not HALTED-OK with the ruleset guarded by the watcher: '$machine'" ;;
esac
hfw_log_has 'reboot: System halted' && hfw_fail "the kernel halted the CPUs ('System halted')"

# What leaked during the whole transition, flush included: at most the one
# flow that can start inside the watcher's reaction time (see the top).
hfw_capture_complete transition
leaked=$(hfw_capture_count transition ip src net 192.0.2.0/24)
natted=$(hfw_capture_count transition icmp and src host 198.51.100.1 and 'icmp[icmptype] == icmp-echo')
((natted >= 5)) || hfw_fail "the transition capture shows only $natted NATed echo requests: the LAN traffic did not run across the halt"
((leaked <= 1)) || hfw_fail "during the transition $leaked packets with a LAN source address reached the WAN side (at most 1 can start inside the watcher's reaction time):
$(hfw_capture_show transition ip src net 192.0.2.0/24 | head -n 10)"

# After the report: the LAN host tries ICMP and TCP to the far host, the
# WAN hosts try ICMP and TCP to the LAN host; both sides capture.
hfw_tcp_listen wan 203.0.113.1 8080 120
hfw_tcp_listen lan 192.0.2.10 8081 120
hfw_capture_start after_wan wan 120
hfw_capture_start after_lan lan 120
lan_ping=0
hfw_lan ping -n -c 5 -i 0.2 -W 2 203.0.113.1 >"$HFW_OUT/lan-ping.txt" 2>&1 || lan_ping=$?
lan_tcp=$(hfw_tcp_try lan 203.0.113.1 8080 5) || lan_tcp=
wan_ping=0
hfw_wan ping -n -c 3 -i 0.2 -W 1 192.0.2.10 >"$HFW_OUT/wan-ping.txt" 2>&1 || wan_ping=$?
wan_tcp=$(hfw_tcp_try wan 192.0.2.10 8081 3) || wan_tcp=
hfw_capture_stop after_wan
hfw_capture_stop after_lan
# Captures with holes could not show that a packet never passed.
hfw_capture_complete after_wan
hfw_capture_complete after_lan

lan_src=$(hfw_capture_count after_wan ip src net 192.0.2.0/24)
((lan_src == 0)) || hfw_fail "after the report, $lan_src packet(s) with a LAN source address on the WAN side:
$(hfw_capture_show after_wan ip src net 192.0.2.0/24 | head -n 10)"
# The WAN probes went out (so that their absence on the LAN side means
# something), and none of them reached the LAN host. Answers to the LAN
# host's own connections do reach it, as they should: only the probes
# (echo requests, anything to the LAN listener's port) are counted.
wan_probes="ip and src host 198.51.100.254 and dst host 192.0.2.10 and (icmp[icmptype] == icmp-echo or tcp dst port 8081)"
sent=$(hfw_capture_count after_wan "$wan_probes")
((sent >= 4)) || hfw_fail "the WAN capture shows $sent WAN->LAN probe packets, expected at least 4 (3 pings, 1 SYN)"
from_wan=$(hfw_capture_count after_lan "$wan_probes")
((from_wan == 0)) || hfw_fail "after the report, $from_wan WAN->LAN probe packet(s) reached the LAN side:
$(hfw_capture_show after_lan "$wan_probes" | head -n 10)"
((wan_ping != 0)) || hfw_fail "the WAN host pinged the LAN host through the box: $(cat "$HFW_OUT/wan-ping.txt")"
[[ -z $wan_tcp ]] || hfw_fail "the WAN host opened a TCP connection to the LAN host: '$wan_tcp'"
# The restored ruleset forwards and NATs: the capture that saw no LAN
# address did see the traffic, under the box's WAN address.
((lan_ping == 0)) || hfw_fail "with the ruleset restored, LAN->WAN ping fails: $(cat "$HFW_OUT/lan-ping.txt")"
[[ $lan_tcp == "hfw-pong 198.51.100.1" ]] || hfw_fail "with the ruleset restored, LAN->WAN TCP is not NATed to 198.51.100.1: '$lan_tcp'"
seen=$(hfw_capture_count after_wan icmp and src host 198.51.100.1 and 'icmp[icmptype] == icmp-echo')
((seen >= 5)) || hfw_fail "the WAN capture shows $seen NATed echo requests from 198.51.100.1, expected 5"

hfw_bg_cleanup
hfw_stop
received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$HFW_OUT/lan-ping.txt")
echo "sabotage: outcome $outcome; after the report ${received:-0} of 5 LAN pings answered, LAN TCP '${lan_tcp:-no answer}'"
echo "sabotage: the watcher put the flushed ruleset back in $watch_ms ms (its dump, digest and restore); across the transition the WAN side saw $leaked LAN-source packet(s) and $natted NATed echo request(s)"
hfw_pass
