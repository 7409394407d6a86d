#!/bin/bash
# Scenario 5, sabotage: units the guards do not know undo the firewall when
# the shutdown transaction stops them. One flushes the whole ruleset, one
# deletes the appliance's table, one weakens it (an accept-all rule ahead
# of the forward chain, its policy turned to accept, and an accept in the
# NAT chain ahead of the masquerade). From `haltfw halt` on, the ruleset
# watcher holds an owned copy of the armed ruleset (NFT_TABLE_F_OWNER:
# a flush skips it, no other socket may change it), so whatever the units
# do, every packet still meets the armed ruleset; the watcher also puts the
# user's table back, and the final stage finds it as armed (HALTED-OK,
# restored=0) before it lets the copy go.
#
# Measured across the whole transition, from the WAN side's own nftables
# counters (no capture to fall behind): a 1,000 pps ping from the LAN host
# and a new one-packet flow every 0.2 s (each a new conntrack entry, so NAT
# of new connections is tested too): 0 packets with a LAN source may reach
# the WAN side; the pings lost are counted. Then, after the report, the
# usual checks:
# LAN->WAN NATed, WAN->LAN dropped. HALTFW_SABOTAGE_RUNS boots (default 3).
#
# The saboteurs are installed by the guest script at run time, under /run,
# not baked into the image: the image stays the product's.
set -euo pipefail
# shellcheck source=tests/qemu/lib.sh
source "$(dirname "$0")/lib.sh"

hfw_require_root
hfw_require_cmd tcpdump socat nft
hfw_image

guest=$(mktemp)
cat >"$guest" <<'EOF_GUEST'
say() { echo "sabotage: $*"; }
mkdir -p /run/hfw-sabotage
# saboteur NAME COMMANDS [UNIT-LINE] : a unit whose ExecStop runs COMMANDS
# and says on the console when, with what status. Default dependencies give it
# Conflicts= and Before=shutdown.target, as any ordinary service has.
saboteur() {
    cat >"/run/hfw-sabotage/$1" <<EOF_STOP
$2
rc=\$?
echo "hfw-sabotage: $1 ran at uptime \$(cut -d' ' -f1 /proc/uptime), status \$rc" >/dev/console
EOF_STOP
    cat >"/run/systemd/system/hfw-sabotage-$1.service" <<EOF_UNIT
[Unit]
Description=haltfw test: $1 the ruleset at stop
${3:-}

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true
ExecStop=/bin/sh /run/hfw-sabotage/$1
EOF_UNIT
}
# Stopped in this order (a unit ordered After= another stops before it),
# so that each finds something to undo: weaken, delete, flush.
saboteur flush '/usr/sbin/nft flush ruleset'
saboteur delete '/usr/sbin/nft delete table inet haltfw' 'After=hfw-sabotage-flush.service'
saboteur weaken '/usr/sbin/nft insert rule inet haltfw forward accept && /usr/sbin/nft chain inet haltfw forward "{ policy accept; }" && /usr/sbin/nft insert rule inet haltfw postrouting oifname "eth0" accept' 'After=hfw-sabotage-delete.service'
systemctl daemon-reload
systemctl start hfw-sabotage-flush.service hfw-sabotage-delete.service hfw-sabotage-weaken.service
say "units $(systemctl is-active hfw-sabotage-flush.service hfw-sabotage-delete.service hfw-sabotage-weaken.service | tr '\n' ' ')"
# The firewall first (the image boots with the LAN side unconfigured), so
# that the LAN host's traffic flows before the halt and every packet of it
# counts; the halt starts once the box has forwarded a couple of seconds of
# it (bounded: 60 s).
haltfw apply >/dev/null || say "haltfw apply failed with $?"
say "applied; halting once the LAN host's traffic flows"
rx0=$(cat /sys/class/net/eth1/statistics/rx_packets)
rx=$rx0
for i in $(seq 600); do
    rx=$(cat /sys/class/net/eth1/statistics/rx_packets)
    [ $((rx - rx0)) -ge 2000 ] && break
    sleep 0.1
done
say "halting ($((rx - rx0)) packets in on the LAN side since the apply)"
haltfw halt || say "haltfw halt failed with $?"
EOF_GUEST

# seen N : packets the WAN host has seen from the LAN prefix (N=1), or
# from the box's WAN address, NATed (N=2).
seen() {
    ip netns exec "$HFW_WAN_NS" nft list chain ip hfw_seen pre | grep -o 'counter packets [0-9]*' | sed -n "${1}p" | awk '{print $3}'
}

# run_once N : one boot, halt and set of checks; logs in $HFW_OUT/runN.
run_once() {
    local run=$1
    HFW_OUT=$base_out/run$run
    HFW_SERIAL_LOG="$HFW_OUT/serial.log"
    HFW_RUN_LOG="$HFW_OUT/qemu-run.log"
    hfw_boot "$guest"
    trap 'hfw_bg_cleanup || true; hfw_cleanup' EXIT
    hfw_wait_log '^sabotage: applied' 300 "the guest script installing the saboteurs and applying the config"
    hfw_assert_log '^sabotage: units active active active' "the three sabotage units active"

    ip netns exec "$HFW_WAN_NS" nft -f - <<'NFT'
table ip hfw_seen {
    chain pre {
        type filter hook prerouting priority -300; policy accept;
        ip saddr 192.0.2.0/24 counter
        ip saddr 198.51.100.1 counter
    }
}
NFT
    # ICMP errors the LAN host receives (none expected; a lost echo's
    # cause, if any), captured with their source.
    ip netns exec "$HFW_LAN_NS" timeout 120 tcpdump -n -U -i "${HFW_LAN_IF:-lan0}" -w "$HFW_OUT/lan-errors.pcap" \
        'icmp and icmp[icmptype] != icmp-echo and icmp[icmptype] != icmp-echoreply' 2>"$HFW_OUT/lan-errors.txt" &
    HFW_BG_PIDS+=("$!")
    # The LAN host knows the box's address before the flood starts: a ping
    # that the ARP resolution holds back is no packet lost at the halt.
    local warm
    for ((warm = 0; warm < 50; warm++)); do
        ip netns exec "$HFW_LAN_NS" ping -n -c 1 -W 0.2 203.0.113.1 >/dev/null 2>&1 && break
    done
    ((warm < 50)) || hfw_fail "the LAN host could not reach 203.0.113.1 through the box after the apply"
    # 40 s at 1,000 pps covers the halt (it starts once the box has seen
    # 2,000 packets of it, and is over in about 15 s under TCG).
    ip netns exec "$HFW_LAN_NS" ping -n -q -i 0.001 -c 40000 -W 2 203.0.113.1 >"$HFW_OUT/flood.txt" 2>&1 &
    HFW_BG_PIDS+=("$!")
    local flood=$!
    (
        for ((i = 0; i < 300; i++)); do
            ip netns exec "$HFW_LAN_NS" ping -n -c 1 -W 0.25 203.0.113.1 >/dev/null 2>&1 || true
            sleep 0.2
            [[ -f $HFW_OUT/flows.stop ]] && break
        done
    ) &
    HFW_BG_PIDS+=("$!")
    local flows=$!

    hfw_wait_log '^sabotage: halting \(' 90 "the guest script starting the halt"
    hfw_wait_log 'HALTFW: HALTED-(OK|FAIL)' 240 "the final stage's report"
    wait "$flood" || true
    touch "$HFW_OUT/flows.stop"
    wait "$flows" 2>/dev/null || true

    local u
    for u in flush delete weaken; do
        hfw_assert_log "hfw-sabotage: $u ran at uptime [0-9.]+, status [0-9]+" "the $u unit's ExecStop"
    done
    hfw_assert_log "^haltfw-watch: watching the armed ruleset \\(digest [0-9a-f]{64}\\) until the final stage(; unchanged since the halt's arm \\(generation [0-9]+\\))?; guarded by an owned copy \\(1 table\\) that no unit can change$" \
        "the ruleset watcher watching, with its owned copy"
    hfw_assert_log 'HALTFW: watch: stopped \(pid [0-9]+\) after the check; during the shutdown it restored the armed ruleset [0-9]+ times?; its owned copy of the armed ruleset \(1 table\) held until the final stage.s check$' \
        "the report's watch line: restores, and the copy held to the end"

    local armed machine verify_rc=0
    armed=$(hfw_log_clean | sed -n 's/^armed: digest \([0-9a-f]\{64\}\) .*/\1/p' | tail -n 1)
    [[ -n $armed ]] || hfw_fail "no 'armed: digest ...' line from 'haltfw halt'"
    machine=$(hfw_log_clean | grep -E -o 'HALTFW: HALTED-(OK|FAIL).*' | tail -n 1)
    [[ $machine == "HALTFW: HALTED-OK "* ]] || hfw_fail "not HALTED-OK with the ruleset guarded: '$machine'"
    [[ $machine =~ \ watch_restored=[1-9] ]] || hfw_fail "HALTED-OK without a watcher restore, although the units undid the ruleset: $machine"
    [[ $machine == *" restored=0 "* ]] || hfw_fail "the final stage had to restore the ruleset itself: $machine"
    [[ $machine == *" digest=$armed "* ]] || hfw_fail "the machine line's digest is not the armed one ($armed): $machine"
    "$HFW_HALTFW" verify-console --digest "$armed" "$HFW_SERIAL_LOG" >"$HFW_OUT/verify.txt" 2>&1 || verify_rc=$?
    ((verify_rc == 0)) || hfw_fail "verify-console --digest exited $verify_rc: $(cat "$HFW_OUT/verify.txt")"
    hfw_log_has 'reboot: System halted' && hfw_fail "the kernel halted the CPUs ('System halted')"

    # The transition: not one packet left un-NATed; the loss counted.
    leaked[run]=$(seen 1)
    natted[run]=$(seen 2)
    local sent received
    sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$HFW_OUT/flood.txt")
    received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$HFW_OUT/flood.txt")
    lost[run]=$((${sent:-0} - ${received:-0}))
    ((leaked[run] == 0)) || hfw_fail "during the transition ${leaked[run]} packets with a LAN source address reached the WAN side"
    ((${sent:-0} >= 30000)) || hfw_fail "the 1,000 pps ping sent only ${sent:-0} packets: $(cat "$HFW_OUT/flood.txt")"
    ((natted[run] >= sent)) || hfw_fail "the WAN side saw ${natted[run]} NATed packets, fewer than the ${sent} pings sent"
    wire_errors[run]=$(tcpdump -n -r "$HFW_OUT/lan-errors.pcap" 2>/dev/null | wc -l)
    # Loss is measured, not asserted: this scenario proves what the units
    # cannot do to the ruleset (0 LAN-source packets above). Its target is
    # 0 lost and most boots meet it, but under TCG on a busy 2-core host one
    # boot in five or so has lost a few pings (3 of 40,000) with no ICMP
    # error and no packet leaked: docs/benchmarks.md keeps it as not met.

    # After the report: LAN->WAN NATed, WAN->LAN nothing.
    hfw_tcp_listen wan 203.0.113.1 8080 60
    hfw_tcp_listen lan 192.0.2.10 8081 60
    local lan_tcp wan_tcp wan_ping=0
    lan_tcp=$(hfw_tcp_try lan 203.0.113.1 8080 5) || lan_tcp=
    [[ $lan_tcp == "hfw-pong 198.51.100.1" ]] || hfw_fail "after the report, LAN->WAN TCP is not NATed to 198.51.100.1: '$lan_tcp'"
    hfw_wan ping -n -c 3 -i 0.2 -W 1 192.0.2.10 >"$HFW_OUT/wan-ping.txt" 2>&1 || wan_ping=$?
    ((wan_ping != 0)) || hfw_fail "the WAN host pinged the LAN host through the box: $(cat "$HFW_OUT/wan-ping.txt")"
    wan_tcp=$(hfw_tcp_try wan 192.0.2.10 8081 3) || wan_tcp=
    [[ -z $wan_tcp ]] || hfw_fail "the WAN host opened a TCP connection to the LAN host: '$wan_tcp'"
    ((leaked[run] == $(seen 1))) || hfw_fail "after the report, LAN-source packets reached the WAN side"

    restores[run]=$(echo "$machine" | sed -n 's/.* watch_restored=\([0-9]*\).*/\1/p')
    hfw_bg_cleanup
    hfw_stop
    echo "sabotage: run $run: $sent pings at 1,000 pps, ${lost[run]} lost, ${wire_errors[run]} ICMP errors on the wire, ${natted[run]} NATed packets and ${leaked[run]} with a LAN source on the WAN side; the watcher restored the user's table ${restores[run]} times"
}

base_out=$HFW_OUT
declare -a leaked natted lost restores wire_errors
runs=${HALTFW_SABOTAGE_RUNS:-3}
for ((r = 1; r <= runs; r++)); do run_once "$r"; done
rm -f "$guest"
HFW_OUT=$base_out
hfw_pass
