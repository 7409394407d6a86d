#!/bin/bash
# Scenario 8, bad config: a box whose haltfw config is broken does not halt
# into a firewall without rules. The guest script breaks the config in two
# ways, one after the other, and runs 'haltfw halt' each time:
#   1. haltfw.conf: an address with prefix length 33 (a config error);
#   2. rules.nft: a misspelt statement (an nft syntax error).
# Each time arm must refuse with exit 2 and the file:line of the error on
# the console, start no shutdown, and change nothing. Then, under systemd,
# haltfw-arm.service refuses the broken config too, and the journal holds
# its errors at priority err (and a 'haltfw check' unit's lines at theirs).
# Afterwards the box is
# still up (the guest script prints a marker some seconds later, proving
# userspace still runs) and was never armed.
#
# What "reachable" can mean here: nothing of the config was applied (that
# is the point), and the image configures no network of its own, so the box
# has no address on eth0/eth1 and the LAN host cannot ping 192.0.2.1. The
# box is reachable on its console, and the scenario asserts that; from the
# network side it asserts what is true: no address, an empty ruleset,
# forwarding off, and nothing from the LAN host gets through to the WAN.
set -euo pipefail
# shellcheck source=tests/qemu/lib.sh
source "$(dirname "$0")/lib.sh"

hfw_require_root
hfw_require_cmd tcpdump socat
hfw_image

guest=$(mktemp)
cat >"$guest" <<'EOF_GUEST'
say() { echo "bad_config: $*"; }
conf=/etc/haltfw/haltfw.conf
rules=/etc/haltfw/rules.nft
cp "$conf" /run/haltfw.conf.good
cp "$rules" /run/rules.nft.good

# 1. A config error.
sed -i 's|^address = 198.51.100.1/24$|address = 198.51.100.1/33|' "$conf"
say "broke $conf at line $(grep -n '^address = 198.51.100.1/33$' "$conf" | cut -d: -f1)"
rc=0
haltfw halt || rc=$?
say "halt with the broken config exited $rc at uptime $(cut -d' ' -f1 /proc/uptime)"
cp /run/haltfw.conf.good "$conf"

# 2. An nft syntax error ('accept' misspelt on the loopback rule).
line=$(grep -n 'iif "lo" accept' "$rules" | head -n 1 | cut -d: -f1)
sed -i "${line}s/accept/acept/" "$rules"
say "broke $rules at line $line"
rc=0
haltfw halt || rc=$?
say "halt with the broken ruleset exited $rc at uptime $(cut -d' ' -f1 /proc/uptime)"

cp /run/rules.nft.good "$rules"

# 3. Under systemd: haltfw-arm.service with the broken config, and a
# 'haltfw check' as a transient unit with the good one. Both write to the
# journal stream; what journald stored, priority by priority.
sed -i 's|^address = 198.51.100.1/24$|address = 198.51.100.1/33|' "$conf"
rc=0
systemctl start haltfw-arm.service || rc=$?
say "haltfw-arm.service with the broken config: start exited $rc, unit $(systemctl is-failed haltfw-arm.service)"
cp /run/haltfw.conf.good "$conf"
# A unit file, not systemd-run: the image has no D-Bus, which systemd-run
# needs (systemctl talks to systemd's private socket).
printf '[Service]\nType=oneshot\nExecStart=haltfw check\n' >/run/systemd/system/hfw-journal-check.service
systemctl daemon-reload
systemctl start hfw-journal-check.service || true
journalctl --sync
# _SYSTEMD_UNIT: what the unit's processes logged, not systemd's own
# messages about the unit.
for unit in haltfw-arm hfw-journal-check; do
    for p in 3 4 5 6 7; do
        journalctl -b -q "_SYSTEMD_UNIT=$unit.service" -p "$p..$p" -o cat | sed "s/^/bad_config: journal $unit $p: /"
    done
    say "journal $unit: $(journalctl -b -q "_SYSTEMD_UNIT=$unit.service" -o cat | grep -c '^haltfw: ') lines with a 'haltfw: ' prefix"
done

# Some seconds later, still here: what a halt would have ended. (status
# needs a loadable config to say anything, hence the files put back.)
sleep 5
haltfw status 2>&1 | sed 's/^/bad_config: status: /'
# The test hook's own start job is the one job left (it ends with this
# script): no halt, no shutdown job queued.
say "state: exitrd $(findmnt -n -o FSTYPE /run/initramfs || echo none), guards $(find /run/systemd/system -name 50-haltfw.conf | wc -l), jobs: $(systemctl list-jobs --no-legend | awk '{print $2}' | paste -sd ' ')"
say "state: ruleset $(nft list ruleset | wc -l) lines, ip_forward $(sysctl -n net.ipv4.ip_forward)"
say "state: addresses on eth0/eth1: $(ip -br addr show dev eth0 | awk '{print $3}')/$(ip -br addr show dev eth1 | awk '{print $3}')"
say "still up at uptime $(cut -d' ' -f1 /proc/uptime): system $(systemctl is-system-running)"
EOF_GUEST
hfw_boot "$guest"
# The EXIT trap hfw_boot set, plus the background helpers ('|| true': under
# set -e a failing command would cut the trap short and leave the VM running).
trap 'hfw_bg_cleanup || true; hfw_cleanup' EXIT
rm -f "$guest"

hfw_wait_log '^bad_config: still up at uptime' 300 "the guest script's marker after both failed halts"

# 1. The config error: exit 2, the file:line, the summary.
conf_line=$(hfw_log_clean | sed -n 's|^bad_config: broke /etc/haltfw/haltfw.conf at line \([0-9][0-9]*\)$|\1|p')
[[ -n $conf_line ]] || hfw_fail "the guest did not break haltfw.conf (no address line found)"
# Every error of the file at once: the address, and the gateway that the
# broken address no longer covers.
hfw_assert_log "^/etc/haltfw/haltfw.conf:$conf_line: interface 'wan': address '198\.51\.100\.1/33': prefix length out of range$" \
    "the config error with its file:line"
hfw_assert_log "^/etc/haltfw/haltfw.conf:$((conf_line + 1)): interface 'wan': gateway '198\.51\.100\.254' is outside every prefix configured on 'wan'$" \
    "the gateway error that follows from it"
hfw_assert_log '^haltfw: 2 errors in /etc/haltfw/haltfw.conf; nothing changed$' "the config errors' summary"
hfw_assert_log '^haltfw: not halting: the box is not armed$' "'haltfw halt' saying it does not halt"
hfw_assert_log '^bad_config: halt with the broken config exited 2 ' "'haltfw halt' exiting 2 for the bad config"

# 2. The ruleset error: exit 2, nft's file:line:column, the summary.
rules_line=$(hfw_log_clean | sed -n 's|^bad_config: broke /etc/haltfw/rules.nft at line \([0-9][0-9]*\)$|\1|p')
[[ -n $rules_line ]] || hfw_fail "the guest did not break rules.nft"
hfw_assert_log "^/etc/haltfw/rules.nft:$rules_line:[0-9]+-[0-9]+: Error: syntax error" "nft's syntax error with the rules file's line"
hfw_assert_log '^haltfw: the ruleset does not load; nothing changed$' "the ruleset error's summary"
hfw_assert_log '^bad_config: halt with the broken ruleset exited 2 ' "'haltfw halt' exiting 2 for the bad ruleset"

# 3. The journal: each message with its priority, none with the "haltfw: "
# prefix a terminal gets (journald knows who spoke), and the console copy
# of haltfw-arm.service (StandardOutput=journal+console) as journald
# forwards it.
hfw_assert_log '^bad_config: haltfw-arm.service with the broken config: start exited 1, unit failed$' \
    "haltfw-arm.service failing with the broken config"
hfw_assert_log "^bad_config: journal haltfw-arm 3: /etc/haltfw/haltfw.conf:$conf_line: interface 'wan': address '198\.51\.100\.1/33': prefix length out of range$" \
    "the config error in the journal at priority err"
hfw_assert_log '^bad_config: journal haltfw-arm 3: 2 errors in /etc/haltfw/haltfw.conf; nothing changed$' "the summary at priority err"
hfw_assert_log '^bad_config: journal haltfw-arm 3: not armed: apply did not succeed$' "arm's refusal at priority err"
hfw_assert_log 'haltfw\[[0-9]+\]: 2 errors in /etc/haltfw/haltfw\.conf; nothing changed$' "the summary forwarded to the console"
hfw_assert_log '^bad_config: journal hfw-journal-check 6: config: /etc/haltfw/haltfw\.conf: ok \(2 interfaces, ' \
    "check's config line in the journal at priority info"
hfw_assert_log '^bad_config: journal hfw-journal-check 6: ruleset: accepted by the kernel in check mode$' "check's ruleset line at priority info"
hfw_assert_log '^bad_config: journal hfw-journal-check (5: ready to halt|3: NOT ready to halt) \(' "check's verdict at notice (ready) or err (not ready)"
for unit in haltfw-arm hfw-journal-check; do
    hfw_assert_log "^bad_config: journal $unit: 0 lines with a 'haltfw: ' prefix$" "no 'haltfw: ' prefix in the journal ($unit)"
done
hfw_log_has '^bad_config: journal haltfw-arm [4-7]: ' && hfw_fail "a refused arm logged below priority err: $(hfw_log_clean | grep -E '^bad_config: journal haltfw-arm [4-7]: ' | head -n 3)"

# No halt of any kind began.
hfw_log_has 'HALTFW:' && hfw_fail "a HALTFW report, although arm failed"
hfw_log_has 'reboot: System halted' && hfw_fail "the kernel halted ('System halted')"
hfw_log_has 'haltfw-final|systemd-shutdown|shutdown\.target' && hfw_fail "a shutdown began: $(hfw_log_clean | grep -E 'haltfw-final|systemd-shutdown|shutdown\.target' | tail -n 3)"
hfw_log_has '^(armed|halting): ' && hfw_fail "haltfw armed or started the halt: $(hfw_log_clean | grep -E '^(armed|halting): ' | tail -n 3)"

# Still up, never armed, nothing applied.
hfw_assert_log '^bad_config: status: armed: no \(not armed\)$' "'haltfw status': not armed"
hfw_assert_log '^bad_config: status: ruleset: never applied by haltfw' "'haltfw status': the ruleset never applied"
hfw_assert_log '^bad_config: state: exitrd none, guards 0, jobs: haltfw-test-hook.service$' "no exitrd, no guard, no job but the test hook's"
hfw_assert_log '^bad_config: state: ruleset 0 lines, ip_forward 0$' "an empty ruleset and forwarding off"
hfw_assert_log '^bad_config: state: addresses on eth0/eth1: /$' "no address applied"
failed_at=$(hfw_log_clean | sed -n 's/^bad_config: halt with the broken ruleset exited 2 at uptime \([0-9.]*\)$/\1/p')
up_at=$(hfw_log_clean | sed -n 's/^bad_config: still up at uptime \([0-9.]*\): .*/\1/p')
later=$(awk -v a="$failed_at" -v b="$up_at" 'BEGIN { printf "%.1f", b - a }')
awk -v d="$later" 'BEGIN { exit !(d >= 5) }' || hfw_fail "the marker came only $later s after the failed halt (expected >= 5)"
hfw_assert_log '^haltfw-test-hook: script exited with status 0$' "the guest script finishing"

# From the network: the LAN host gets nothing through, and no LAN address
# shows on the WAN side. The LAN host cannot reach 192.0.2.1 either: the
# address was never applied (see the top of this file).
hfw_capture_start wan wan 60
lan_ping=0
hfw_lan ping -n -c 3 -i 0.2 -W 1 203.0.113.1 >"$HFW_OUT/lan-ping.txt" 2>&1 || lan_ping=$?
gw_ping=0
hfw_lan ping -n -c 2 -i 0.2 -W 1 192.0.2.1 >"$HFW_OUT/gw-ping.txt" 2>&1 || gw_ping=$?
hfw_capture_stop wan
hfw_capture_complete wan
((lan_ping != 0)) || hfw_fail "the unconfigured box forwards LAN->WAN: $(cat "$HFW_OUT/lan-ping.txt")"
((gw_ping != 0)) || hfw_fail "the box answers on 192.0.2.1, although no config was applied"
leaked=$(hfw_capture_count wan ip src net 192.0.2.0/24)
((leaked == 0)) || hfw_fail "$leaked packet(s) with a LAN source on the WAN side"
hfw_vm_running || hfw_fail "the VM ended"

hfw_bg_cleanup
hfw_stop
echo "bad_config: both halts refused (exit 2); still up $later s after the second"
hfw_pass
