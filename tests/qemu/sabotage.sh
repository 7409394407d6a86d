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
# Measured across the whole transition, from nftables counters on the
# harness's hosts (no capture to fall behind): a 1,000 pps ping from the LAN
# host and a new one-packet flow every 0.2 s (each a new conntrack entry, so
# NAT of new connections is tested too): 0 packets with a LAN source may
# reach the WAN side, and the box loses 0 pings. Every lost ping is placed
# (counters at each tap's host end, the taps' drop counters, ping's socket):
# the box must lose none, the harness none either, each said apart; the
# replies that came after ping stopped waiting are counted, not lost. Then,
# after the report, the usual checks:
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
# Until the halt, the kernel's own account of each IPv4 packet it drops (the
# skb:kfree_skb event: where, and why), printed before the halt.
trc=/sys/kernel/tracing
[ -d $trc/events ] || mount -t tracefs tracefs $trc 2>/dev/null
if [ -w $trc/events/skb/kfree_skb/enable ]; then
    echo 'protocol == 2048' >$trc/events/skb/kfree_skb/filter
    echo 'stacktrace if protocol == 2048' >$trc/events/skb/kfree_skb/trigger
    echo >$trc/trace
    echo 1 >$trc/events/skb/kfree_skb/enable
fi
say "applied; halting once the LAN host's traffic flows"
rx0=$(cat /sys/class/net/eth1/statistics/rx_packets)
rx=$rx0
for i in $(seq 600); do
    rx=$(cat /sys/class/net/eth1/statistics/rx_packets)
    [ $((rx - rx0)) -ge 2000 ] && break
    sleep 0.1
done
if [ -w $trc/events/skb/kfree_skb/enable ]; then
    echo 0 >$trc/events/skb/kfree_skb/enable
    say "drops: $(grep -c 'kfree_skb:' $trc/trace) IPv4 packets dropped by the kernel since the apply"
    grep 'kfree_skb:' $trc/trace | sed 's/^.* \([0-9.]*\): kfree_skb: skbaddr=[0-9a-fx]* /\1 /' |
        awk '{k = $0; sub(/^[^ ]* /, "", k); n[k]++; if (!(k in t)) t[k] = $1} END {for (k in n) print n[k], "from", t[k], k}' |
        sort -rn | head -n 10 | while read -r l; do say "drop: $l"; done
    grep -q 'kfree_skb:' $trc/trace &&
        say "drop: the first one's stack: $(awk '/kfree_skb:/ {n++} n == 1 && /=> / {print $2}' $trc/trace | head -n 14 | tr '\n' ' ')"
    echo '!stacktrace if protocol == 2048' >$trc/events/skb/kfree_skb/trigger
    echo >$trc/trace
    echo 0 >$trc/events/skb/kfree_skb/filter
fi
# Conntrack's statistics up to the halt (the harness asserts that no new
# entry was refused and no packet dropped), ARP's and the NICs'.
say "conntrack: $(tr -s ' ' <"/proc/net/stat/nf_conntrack" | tr '\n' '/')"
say "arp: $(tr -s ' ' <"/proc/net/stat/arp_cache" | tr '\n' '/')"
for i in eth0 eth1; do
    say "$i: rx $(cat /sys/class/net/$i/statistics/rx_packets) dropped $(cat /sys/class/net/$i/statistics/rx_dropped), tx $(cat /sys/class/net/$i/statistics/tx_packets) dropped $(cat /sys/class/net/$i/statistics/tx_dropped)"
done
say "halting ($((rx - rx0)) packets in on the LAN side since the apply)"
haltfw halt || say "haltfw halt failed with $?"
EOF_GUEST

# count NS FAMILY TABLE NAME : packets counted by the named counter NAME of
# the table FAMILY TABLE in namespace NS.
count() {
    ip netns exec "$1" nft list counter "$2" "$3" "$4" | sed -n 's/.*packets \([0-9]*\) bytes.*/\1/p'
}
# ct_stat NAME : the box's conntrack statistic NAME (insert_failed, drop...)
# up to the halt, from the guest script's 'sabotage: conntrack:' line (names
# / values in hex, one CPU).
ct_stat() {
    local v
    v=$(hfw_log_clean | sed -n 's/^sabotage: conntrack: //p' | tail -n 1 |
        awk -F/ -v k="$1" '{n = split($1, h, " "); split($2, v, " "); for (i = 1; i <= n; i++) if (h[i] == k) print v[i]}')
    [[ $v =~ ^[0-9a-f]+$ ]] && echo $((16#$v))
}
seen_lan_src() { count "$HFW_WAN_NS" ip hfw_seen lan_src; }
seen_natted() { count "$HFW_WAN_NS" ip hfw_seen natted; }

# flood_report : for the boot in $HFW_OUT, from the taps' samples: for each
# tap, the most packets that waited in its queue for QEMU and the longest
# time QEMU took none while the host sent (and how long QEMU's threads
# waited for a CPU meanwhile); and for each ping not answered (at most 10),
# when it was sent, the taps around it and the console's lines before and
# after it. Times are the host's, from the flood's first request.
flood_report() {
    awk -v sent="${sent:-0}" '
    function rel(t) { return sprintf("%+.3f s", t - t0) }
    function clean(l) { gsub(/\033\[[0-9;]*[A-Za-z]/, "", l); return substr(l, 1, 110) }
    function ms(a, b) { return sprintf("%d", (b - a) * 1000) }
    function waits(side, i, j) {
        return sprintf("QEMU waited %d ms for a CPU (main thread %d, vCPU %d)", (W[side, j] - W[side, i]) / 1e6, \
            (WM[side, j] - WM[side, i]) / 1e6, (WC[side, j] - WC[side, i]) / 1e6)
    }
    # around(side, t): the tap at time t: the packets waiting, and the time
    # from the last sample at which QEMU took one to the next.
    function around(side, t,    i, j, k, n, m, q) {
        n = ns[side]; i = 1
        while (i < n && T[side, i + 1] <= t) i++
        q = Q[side, i]
        while (i > 1 && X[side, i] == X[side, i - 1]) i--
        for (j = i + 1; j < n && X[side, j] == X[side, i]; j++) ;
        m = 0; for (k = i; k <= j; k++) if (Q[side, k] > m) m = Q[side, k]
        return sprintf("%s tap: about %d waiting, none taken for %s ms from %s while the host sent %d (up to %d waiting), %d dropped, %s", \
            side, q, ms(T[side, i], T[side, j]), rel(T[side, i]), O[side, j] - O[side, i], m, D[side, j] - D[side, i], waits(side, i, j))
    }
    FILENAME ~ /flood.txt$/ {
        if ($0 !~ /^\[/ || !match($0, /icmp_seq=[0-9]+/)) next
        n = substr($0, RSTART + 9, RLENGTH - 9) + 0
        ts = substr($1, 2, length($1) - 2) + 0
        if ($0 ~ / ttl=/ && match($0, /time=[0-9.]+/)) {
            if (!(n in st)) st[n] = ts - substr($0, RSTART + 5, RLENGTH - 5) / 1000
        } else if ($0 ~ /no answer yet/) {
            if (!(n in na)) na[n] = ts - 0.001
        } else if (!(n in er)) er[n] = $0
        next
    }
    FILENAME ~ /tap-(lan|wan).txt$/ {
        side = FILENAME ~ /tap-lan/ ? "LAN" : "WAN"
        if ($1 == "#") {
            for (f = 9; f <= NF; f++) if ($f ~ /\.wait$/) {
                cw[side, f - 1] = 1
                if ($f == "main.wait") cm[side] = f - 1
            }
            next
        }
        k = ++ns[side]
        if (k == 1) { best = -1; for (f = 9; f <= NF; f++) if ((side, f) in cw && $(f - 1) > best) { best = $(f - 1); cc[side] = f } }
        T[side, k] = $1 + 0; X[side, k] = $2 + 0; D[side, k] = $3 + 0; O[side, k] = $5 + 0
        if ($6 > sq[side]) sq[side] = $6
        if ($7 > sd[side]) sd[side] = $7
        w = 0; for (f = 9; f <= NF; f++) if ((side, f) in cw) w += $f
        W[side, k] = w; WM[side, k] = cm[side] ? $(cm[side]) : 0; WC[side, k] = cc[side] ? $(cc[side]) : 0
        # Less the few packets not IP (ARP, IPv6) QEMU took meanwhile.
        Q[side, k] = (O[side, k] - O[side, 1]) - (X[side, k] - X[side, 1]) - (D[side, k] - D[side, 1])
        if (Q[side, k] < 0) Q[side, k] = 0
        next
    }
    FILENAME ~ /serial-stamped.log$/ {
        l = $0; sub(/^[0-9.]+ /, "", l)
        if (l ~ /^[[:space:]]*$/) next
        nc++; ct[nc] = $1 + 0; cl[nc] = l
        if (!th && l ~ /^sabotage: halting \(/) th = ct[nc]
        if (!tf && l ~ /HALTFW: report begin/) tf = ct[nc]
        next
    }
    END {
        t0 = (1 in st) ? st[1] : ((1 in na) ? na[1] : 0)
        tl = (sent in st) ? st[sent] : ((sent in na) ? na[sent] : 0)
        if (!t0) { print "no timed replies in flood.txt"; exit }
        printf "flood from its first request: halt started %s, final stage report %s, last request %s\n", \
            th ? rel(th) : "?", tf ? rel(tf) : "?", tl ? rel(tl) : "?"
        for (s = 1; s <= 2; s++) {
            side = s == 1 ? "LAN" : "WAN"; qm = 0; qi = 1; best = 0; bi = 0; bj = 0; j = 0
            for (i = 2; i <= ns[side]; i++) {
                if (T[side, i] < t0 || (tl && T[side, i] > tl + 1)) continue
                if (Q[side, i] > qm) { qm = Q[side, i]; qi = i }
                # A pause of QEMU (nothing taken from the tap) while the host
                # handed the tap packets.
                if (X[side, i] == X[side, i - 1]) {
                    if (!j) j = i - 1
                    if (O[side, i] > O[side, j] && T[side, i] - T[side, j] > best) { best = T[side, i] - T[side, j]; bi = j; bj = i }
                } else j = 0
            }
            printf "%s tap: at most about %d packets waited for QEMU (%s), %d dropped", side, qm, rel(T[side, qi]), D[side, ns[side]] - D[side, 1]
            if (sq[side]) printf "; ping'"'"'s socket: at most %d bytes queued, %d dropped", sq[side], sd[side]
            if (bi) printf "; longest time QEMU took none while the host sent: %s ms from %s (%d sent), %s", ms(T[side, bi], T[side, bj]), rel(T[side, bi]), O[side, bj] - O[side, bi], waits(side, bi, bj)
            printf "\n"
        }
        m = 0
        for (n = 1; n <= sent; n++) {
            if (n in st) continue
            if (++m > 10) continue
            if (n in na) t = na[n]
            else {
                for (p = n - 1; p > 0 && !(p in st); p--) ;
                for (q = n + 1; q <= sent && !(q in st); q++) ;
                t = (p > 0 && q <= sent) ? st[p] + (st[q] - st[p]) * (n - p) / (q - p) : (p > 0 ? st[p] : st[q])
            }
            for (k = 1; k < nc && ct[k + 1] <= t; k++) ;
            printf "icmp_seq=%d not answered: sent %s%s\n", n, rel(t), (n in er) ? " (" er[n] ")" : ""
            printf "    %s\n    %s\n", around("LAN", t), around("WAN", t)
            printf "    console before: %s %s\n", rel(ct[k]), clean(cl[k])
            if (k < nc) printf "    console after:  %s %s\n", rel(ct[k + 1]), clean(cl[k + 1])
        }
        if (m > 10) printf "... %d not answered in all\n", m
    }' "$HFW_OUT/flood.txt" "$HFW_OUT/tap-lan.txt" "$HFW_OUT/tap-wan.txt" "$HFW_OUT/serial-stamped.log"
}

# run_once N : one boot, halt and set of checks; logs in $HFW_OUT/runN.
run_once() {
    local run=$1
    HFW_OUT=$base_out/run$run
    HFW_SERIAL_LOG="$HFW_OUT/serial.log"
    HFW_RUN_LOG="$HFW_OUT/qemu-run.log"
    hfw_boot "$guest"
    trap 'hfw_bg_cleanup || true; hfw_cleanup' EXIT
    hfw_serial_stamps
    hfw_wait_log '^sabotage: applied' 300 "the guest script installing the saboteurs and applying the config"
    hfw_assert_log '^sabotage: units active active active' "the three sabotage units active"

    # The taps' queues toward the guest: see tap_qlen below.
    qlen[run]="$(hfw_tap_qlen lan "$tap_qlen")/$(hfw_tap_qlen wan "$tap_qlen")"

    # Counters along the flood's path, at each tap's host end (netdev
    # ingress and egress: what the host hands the tap and what the tap hands
    # the host), so that a ping lost is placed: the LAN host's stack, a tap,
    # the box, the WAN host, or a reply that came after ping stopped waiting
    # for it (2 x the longest round trip after the last request). The
    # flood's packets are the only ones of 84 bytes: the other pings send 16
    # bytes of data.
    local lan_if wan_if
    lan_if=$(hfw_tap_if lan)
    wan_if=$(hfw_tap_if wan)
    ip netns exec "$HFW_WAN_NS" nft -f - <<NFT
table ip hfw_seen {
    counter lan_src {}
    counter natted {}
    chain pre {
        type filter hook prerouting priority -300; policy accept;
        ip saddr 192.0.2.0/24 counter name "lan_src"
        ip saddr 198.51.100.1 counter name "natted"
    }
}
table netdev hfw_flood {
    counter req {}
    counter rep {}
    chain in {
        type filter hook ingress device "$wan_if" priority 0; policy accept;
        ip length 84 icmp type echo-request counter name "req"
    }
    chain out {
        type filter hook egress device "$wan_if" priority 0; policy accept;
        ip length 84 icmp type echo-reply counter name "rep"
    }
}
NFT
    ip netns exec "$HFW_LAN_NS" nft -f - <<NFT
table netdev hfw_flood {
    counter req {}
    counter rep {}
    chain out {
        type filter hook egress device "$lan_if" priority 0; policy accept;
        ip length 84 icmp type echo-request counter name "req"
    }
    chain in {
        type filter hook ingress device "$lan_if" priority 0; policy accept;
        ip length 84 icmp type echo-reply counter name "rep"
    }
}
NFT
    # ICMP errors the LAN host receives (none expected; a lost echo's
    # cause, if any), captured with their source.
    ip netns exec "$HFW_LAN_NS" timeout 120 tcpdump -n -U -i "${HFW_LAN_IF:-lan0}" -w "$HFW_OUT/lan-errors.pcap" \
        'icmp and icmp[icmptype] != icmp-echo and icmp[icmptype] != icmp-echoreply' 2>"$HFW_OUT/lan-errors.txt" &
    HFW_BG_PIDS+=("$!")
    # Before the flood starts, the LAN host knows the box's address (a ping
    # that the ARP resolution holds back is no packet lost at the halt), and
    # the box tracks the flood's flow: the warm-up uses the flood's ICMP
    # identifier, so its conntrack entry (NATed, answered) is the one the
    # flood's requests meet. A flow that starts at 1,000 pps loses its
    # first packets on the box when the box (slow under TCG) takes several
    # of them in one receive batch: the batch's pre-routing makes a new
    # conntrack entry for each, the first one confirmed wins, and Linux 6.1
    # drops the others (an ICMP clash is not resolved: conntrack's
    # insert_failed and drop count them). That is loss at the flow's start,
    # before the halt, not across it.
    local warm
    for ((warm = 0; warm < 50; warm++)); do
        ip netns exec "$HFW_LAN_NS" ping -n -e "$flood_id" -s 16 -c 1 -W 0.2 203.0.113.1 >/dev/null 2>&1 && break
    done
    ((warm < 50)) || hfw_fail "the LAN host could not reach 203.0.113.1 through the box after the apply"
    local lan_tap0 wan_tap0
    read -r -a lan_tap0 < <(hfw_tap_stats lan)
    read -r -a wan_tap0 < <(hfw_tap_stats wan)
    hfw_tap_sampler lan 180 "$HFW_OUT/tap-lan.txt"
    hfw_tap_sampler wan 180 "$HFW_OUT/tap-wan.txt"
    # 40 s at 1,000 pps covers the halt (it starts once the box has seen
    # 2,000 packets of it, and is over in about 15 s under TCG). Every
    # answer is written with the host's time (-D), and every request not
    # answered before the next one is sent (-O): a lost one is placed in
    # time, against the console (serial-stamped.log) and the taps.
    ip netns exec "$HFW_LAN_NS" ping -n -e "$flood_id" -D -O -i 0.001 -c 40000 -W 2 203.0.113.1 >"$HFW_OUT/flood.txt" 2>&1 &
    HFW_BG_PIDS+=("$!")
    local flood=$!
    (
        for ((i = 0; i < 300; i++)); do
            ip netns exec "$HFW_LAN_NS" ping -n -s 16 -c 1 -W 0.25 203.0.113.1 >/dev/null 2>&1 || true
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
    # Every request the LAN host sent has reached the WAN host or was
    # dropped, and every reply the WAN host sent the LAN host, once the
    # counters agree (at most 5 s: a packet still missing then is lost).
    local lan_req wan_req wan_rep lan_rep lan_tap1 wan_tap1 settle
    for ((settle = 0; settle < 50; settle++)); do
        lan_req=$(count "$HFW_LAN_NS" netdev hfw_flood req)
        wan_req=$(count "$HFW_WAN_NS" netdev hfw_flood req)
        wan_rep=$(count "$HFW_WAN_NS" netdev hfw_flood rep)
        lan_rep=$(count "$HFW_LAN_NS" netdev hfw_flood rep)
        read -r -a lan_tap1 < <(hfw_tap_stats lan)
        read -r -a wan_tap1 < <(hfw_tap_stats wan)
        ((lan_req - wan_req == lan_tap1[1] - lan_tap0[1] + wan_tap1[3] - wan_tap0[3] &&
            wan_rep - lan_rep == wan_tap1[1] - wan_tap0[1] + lan_tap1[3] - lan_tap0[3])) && break
        sleep 0.1
    done
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

    # The transition: not one packet left un-NATed.
    leaked[run]=$(seen_lan_src)
    natted[run]=$(seen_natted)
    local sent received dups
    sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$HFW_OUT/flood.txt")
    received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$HFW_OUT/flood.txt")
    dups=$(sed -n 's/.* +\([0-9]*\) duplicates.*/\1/p' "$HFW_OUT/flood.txt")
    lost[run]=$((${sent:-0} - ${received:-0}))
    ((leaked[run] == 0)) || hfw_fail "during the transition ${leaked[run]} packets with a LAN source address reached the WAN side"
    ((${sent:-0} >= 30000)) || hfw_fail "the 1,000 pps ping sent only ${sent:-0} packets: $(tail -n 5 "$HFW_OUT/flood.txt")"
    ((natted[run] >= sent)) || hfw_fail "the WAN side saw ${natted[run]} NATed packets, fewer than the ${sent} pings sent"
    wire_errors[run]=$(tcpdump -n -r "$HFW_OUT/lan-errors.pcap" 2>/dev/null | wc -l)

    # Where each lost ping was lost; the terms add up to sent - received.
    # Outside the box: the LAN host's stack (sent by ping, never handed to
    # the tap: a refused sendmsg), the taps (their drop counters: a queue
    # toward the guest full, QEMU having taken nothing for a while, or the
    # host refusing what QEMU wrote), the WAN host (no reply), and replies
    # that came after ping had stopped waiting. In the box: a request the
    # LAN tap took that never came out of the WAN tap, or a reply the WAN
    # tap took that never came out of the LAN tap.
    local lan_host wan_host late lan_drop wan_drop sock_drops
    lan_host=$((sent - lan_req))
    lan_drop=$((lan_tap1[1] - lan_tap0[1] + lan_tap1[3] - lan_tap0[3]))
    wan_drop=$((wan_tap1[1] - wan_tap0[1] + wan_tap1[3] - wan_tap0[3]))
    box_req[run]=$((lan_req - (lan_tap1[1] - lan_tap0[1]) - (wan_tap1[3] - wan_tap0[3]) - wan_req))
    wan_host=$((wan_req - wan_rep))
    box_rep[run]=$((wan_rep - (wan_tap1[1] - wan_tap0[1]) - (lan_tap1[3] - lan_tap0[3]) - lan_rep))
    sock_drops=$(awk '$1 != "#" && $7 > m {m = $7} END {print m + 0}' "$HFW_OUT/tap-lan.txt")
    late=$((lan_rep - received - ${dups:-0} - sock_drops))
    tap_drops[run]=$((lan_drop + wan_drop))
    echo "sabotage: run $run: ping: $sent sent, $received answered, ${lost[run]} lost: ${box_req[run]} requests and ${box_rep[run]} replies in the box; $lan_drop dropped at the LAN tap and $wan_drop at the WAN tap (queues ${qlen[run]}); $lan_host in the LAN host's stack, $sock_drops dropped by ping's socket (receive buffer full), $wan_host unanswered by the WAN host, $late answered after ping stopped waiting${dups:+, $dups duplicates}"
    flood_report | sed "s/^/sabotage: run $run: /"
    ct_failed[run]=$(ct_stat insert_failed)
    ct_drop[run]=$(ct_stat drop)
    [[ -n ${ct_failed[run]} && -n ${ct_drop[run]} ]] || hfw_fail "no conntrack statistics from the guest script ('sabotage: conntrack:')"
    echo "sabotage: run $run: the box's conntrack before the halt: ${ct_failed[run]} new entries refused (insert_failed), ${ct_drop[run]} packets dropped; the kernel's IPv4 drops: $(hfw_log_clean | sed -n 's/^sabotage: drops: \([0-9]*\) .*/\1/p' | tail -n 1)"

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
    ((leaked[run] == $(seen_lan_src))) || hfw_fail "after the report, LAN-source packets reached the WAN side"

    restores[run]=$(echo "$machine" | sed -n 's/.* watch_restored=\([0-9]*\).*/\1/p')
    hfw_bg_cleanup
    hfw_stop
    echo "sabotage: run $run: $sent pings at 1,000 pps, ${lost[run]} lost (${box_req[run]} + ${box_rep[run]} in the box, ${tap_drops[run]} dropped at the host's taps), ${wire_errors[run]} ICMP errors on the wire, ${natted[run]} NATed packets and ${leaked[run]} with a LAN source on the WAN side; the watcher restored the user's table ${restores[run]} times"
    # The box loses nothing: every request QEMU took from the LAN tap
    # reached the WAN host NATed, every reply it took from the WAN tap
    # reached the LAN host.
    ((box_req[run] == 0 && box_rep[run] == 0)) ||
        hfw_fail "the box lost ${box_req[run]} of the requests and ${box_rep[run]} of the replies it took from the taps (flood_report above: when)"
    ((ct_failed[run] == 0 && ct_drop[run] == 0)) ||
        hfw_fail "the box's conntrack refused ${ct_failed[run]} new entries and dropped ${ct_drop[run]} packets before the halt"
    # Nor does the harness (its failures are named as such): with a queue
    # of 1,000 packets a tap drops only when QEMU took nothing from it for
    # a second at 1,000 pps (HALTFW_SABOTAGE_TAP_QLEN makes it longer); the
    # LAN and WAN hosts lose nothing. Only counted: replies dropped by
    # ping's own socket (its receive buffer of about 170 replies full while
    # the host ran something else: at most 51,456 of 131,072 bytes seen),
    # and replies that came after ping stopped waiting; neither is the box's.
    ((tap_drops[run] == 0)) ||
        hfw_fail "harness: the host's taps (queues ${qlen[run]} packets) dropped ${tap_drops[run]} packets: QEMU took nothing from them for that many ms or more (flood_report above)"
    ((lan_host == 0 && wan_host == 0)) ||
        hfw_fail "$lan_host requests never reached the LAN tap (the LAN host refused to send them: errors in flood.txt; its ARP for the box failing would do it), the WAN host left $wan_host unanswered"
}

base_out=$HFW_OUT
declare -a leaked natted lost restores wire_errors box_req box_rep tap_drops ct_failed ct_drop qlen
runs=${HALTFW_SABOTAGE_RUNS:-3}
# The taps' queues toward the guest, in packets; empty (the default): as
# qemu-run makes them, 1,000, which no boot has come near (at most 15
# waiting; QEMU starved of the CPU for 0.25 s at worst, the pinger with it).
tap_qlen=${HALTFW_SABOTAGE_TAP_QLEN:-}
# The flood's ICMP identifier, the warm-up's too; the other pings' are
# random, each a new flow of one packet.
flood_id=18502
for ((r = 1; r <= runs; r++)); do run_once "$r"; done
rm -f "$guest"
HFW_OUT=$base_out
hfw_pass
