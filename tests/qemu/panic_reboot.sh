#!/bin/bash
# Scenario: living with a halted box. The appliance's config gets
# '[halt] heartbeat = 5s' and 'panic-reboot = 5', and '[sysctl]
# kernel.unknown_nmi_panic = 1'; the first boot's guest script writes it,
# enables haltfw-arm.service and haltfw-boot-halt.service (as the kiosk has
# them) and halts. Then:
#   - the report says what a panic will do ('panic: reboot 5 s after ...'),
#     verify-console accepts it, and after the INERT line PID 1
#     (haltfw-inert) prints an ALIVE line every 5 s: two at least, checked
#     by the guest's uptime in them (whole seconds, so 5 s apart reads 5 or
#     6; 4-7 allowed: a beat late by a second on a loaded TCG host moves
#     one line, not the schedule) and by the host's clock as they arrive
#     (3-8 s: the same, plus the serial line's buffering);
#   - an NMI through QEMU's monitor ('nmi') panics the kernel
#     (unknown_nmi_panic), which reboots 5 s later (the second boot's first
#     line 4.5-40 s after the panic's, by the host's clock); the overlay is the same disk, so the second boot finds the
#     config and the units, arms and halts with no one acting (its guest
#     script does nothing): a second HALTED-OK, verify-console accepts it,
#     ALIVE lines again, and the box answers from the LAN.
# qemu-run puts panic=-1 on the kernel's command line (an immediate reboot);
# arm's kernel.panic = 5 replaces it, and the reboot comes 5 s or more after
# the panic line (host clock).
#
# It can fail: HFW_PANIC_PROVE_FAIL=1 leaves panic-reboot out and sets
# kernel.panic = 0 before arming (the kernel's own default; the command
# line's -1 would hide it), and expects the opposite: check's WARNING, the
# report's 'panic: the box stays down ...', and after the NMI no second
# boot within 60 s and no answer from the box.
set -euo pipefail
# shellcheck source=tests/qemu/lib.sh
source "$(dirname "$0")/lib.sh"

hfw_require_root
hfw_require_cmd socat ping
hfw_image
prove_fail=${HFW_PANIC_PROVE_FAIL:-0}

guest=$(mktemp)
echo "prove_fail=$prove_fail" >"$guest"
cat >>"$guest" <<'EOF_GUEST'
say() { echo "panic_reboot: $*"; }
# Which boot this is, kept on the root disk (the same qcow2 overlay across
# the guest's reboot; the halt takes every mount off cleanly).
count=/var/lib/haltfw-test-boots
boot=$(($(cat "$count" 2>/dev/null || echo 0) + 1))
echo "$boot" >"$count"
sync
if ((boot > 1)); then
    say "boot $boot: nothing to do (haltfw-arm.service and haltfw-boot-halt.service halt the box)"
    exit 0
fi
say "boot 1: kernel.panic $(cat /proc/sys/kernel/panic) from the command line"
# Whether a record of a crash could survive the reboot (docs/design.md).
say "pstore: backend '$(cat /sys/module/pstore/parameters/backend 2>/dev/null)'," \
    "$(find /sys/fs/pstore -mindepth 1 2>/dev/null | wc -l) record(s) in /sys/fs/pstore"
# The test image's config ends in its [sysctl] section.
echo "kernel.unknown_nmi_panic = 1" >>/etc/haltfw/haltfw.conf
printf '[halt]\nheartbeat = 5s\n' >>/etc/haltfw/haltfw.conf
if ((prove_fail)); then
    echo 0 >/proc/sys/kernel/panic
else
    echo "panic-reboot = 5" >>/etc/haltfw/haltfw.conf
fi
haltfw --verbose check 2>&1 | grep -E '^(WARNING|fine): kernel: ' | sed 's/^/panic_reboot: check: /'
systemctl enable --quiet haltfw-arm.service haltfw-boot-halt.service
say "halting"
haltfw halt || say "haltfw halt failed with $?"
EOF_GUEST
hfw_boot "$guest"
rm -f "$guest"
trap 'hfw_bg_cleanup; hfw_cleanup' EXIT
hfw_serial_stamps

# alive_check FROM : the ALIVE lines after line FROM of the stamped log, two
# at least, each 5 s after the one before by the guest's uptime and the
# host's clock.
alive_check() {
    local from=$1 lines n prev_up="" prev_at="" at up rest gap
    lines=$(tail -n +"$from" "$HFW_OUT/serial-stamped.log" | grep -E '^[0-9.]+ .*HALTFW: ALIVE ' || true)
    n=$(grep -c . <<<"$lines" || true)
    ((n >= 2)) || hfw_fail "$n ALIVE line(s) after the INERT line (expected 2 at least):
$(tail -n +"$from" "$HFW_OUT/serial-stamped.log" | tail -n 5)"
    while read -r at rest; do
        up=$(sed -n 's/.*HALTFW: ALIVE up=\([0-9]*\) .*/\1/p' <<<"$rest")
        [[ -n $up ]] || hfw_fail "an ALIVE line without up=: $rest"
        if [[ -n $prev_up ]]; then
            ((up - prev_up >= 4 && up - prev_up <= 7)) ||
                hfw_fail "ALIVE lines $((up - prev_up)) s apart by the guest's uptime ($prev_up, $up)"
            gap=$(awk -v a="$prev_at" -v b="$at" 'BEGIN { printf "%.1f", b - a }')
            awk -v g="$gap" 'BEGIN { exit !(g >= 3 && g <= 8) }' ||
                hfw_fail "ALIVE lines $gap s apart by the host's clock"
        fi
        prev_up=$up prev_at=$at
    done <<<"$lines"
    hfw_say "$n ALIVE lines, the last: $(tail -n 1 <<<"$lines" | sed 's/.*HALTFW: //')"
}
# nmi : an NMI to the guest's CPUs, as a front-panel NMI button would send.
nmi() {
    printf 'nmi\n' | timeout 10 socat -t 5 - "UNIX-CONNECT:$HFW_MONITOR" >/dev/null ||
        hfw_fail "could not send an NMI through QEMU's monitor"
}

hfw_wait_log '^panic_reboot: halting' 300 "the guest script starting the halt"
if hfw_log_has '^panic_reboot: haltfw halt failed'; then
    hfw_fail "in the guest: $(hfw_log_clean | grep '^panic_reboot: haltfw halt failed')"
fi
hfw_expect_halted_ok 240
hfw_expect_inert 30
hfw_assert_log 'HALTFW: sysctls: [0-9]+ as armed$' "the armed sysctls, kernel.* panic settings among them, verified"
t_inert=$(grep -n 'HALTFW: INERT ' "$HFW_OUT/serial-stamped.log" | tail -n 1 | cut -d: -f1)
[[ -n $t_inert ]] || hfw_fail "no INERT line in the stamped serial log"
hfw_wait_count 'HALTFW: ALIVE ' 2 20 "two ALIVE lines after the INERT line"
sleep 1
alive_check "$t_inert"
hfw_lan ping -n -c 2 -W 2 192.0.2.1 >"$HFW_OUT/ping-before.txt" 2>&1 ||
    hfw_fail "the halted box does not answer ping before the NMI"

if [[ $prove_fail == 1 ]]; then
    warning='a kernel panic leaves the halted box down, forwarding nothing, until someone resets it'
    hfw_assert_log "^panic_reboot: check: WARNING: kernel: $warning \\(kernel.panic = 0, now; the config leaves it\\)" \
        "check's warning about kernel.panic = 0"
    hfw_assert_log 'HALTFW: panic: the box stays down after a kernel panic \(kernel.panic = 0: no panic-reboot\)$' \
        "the report saying the box stays down after a panic"
    nmi
    hfw_wait_log 'Kernel panic - not syncing' 30 "the kernel panic the NMI causes"
    panic_at=$HFW_SEEN_AT
    sleep 60
    boots=$(hfw_log_count 'Linux version')
    if hfw_lan ping -n -c 2 -W 2 192.0.2.1 >"$HFW_OUT/ping-after.txt" 2>&1; then
        hfw_fail "the panicked box still answers ping"
    fi
    ((boots == 1)) || hfw_fail "$boots boots: the box rebooted after the panic without panic-reboot"
    hfw_say "no panic-reboot: the box stayed down $(hfw_since "$panic_at") s after the panic (1 boot, no answer)"
    hfw_stop
    hfw_pass
fi

fine='a kernel panic reboots the box 5 s later \(kernel.panic = 5, \[halt\] panic-reboot\)'
hfw_assert_log "^panic_reboot: check: fine: kernel: $fine\$" "check --verbose's fine line about panic-reboot"
hfw_assert_log 'HALTFW: panic: reboot 5 s after a kernel panic \(kernel.panic = 5, kernel.panic_on_oops = 1\)$' \
    "the report's panic line"
nmi
hfw_wait_log 'Kernel panic - not syncing: NMI' 30 "the kernel panic the NMI causes"
panic_at=$HFW_SEEN_AT
# The kernel's "Rebooting in 5 seconds.." is printed in NMI context after
# the panic's last console flush: it stays in the log buffer, and the
# console never shows it. The host's clock shows the wait instead.
hfw_wait_count 'Linux version' 2 60 "second boot after the panic"
second_at=$(grep -E '^[0-9.]+ .*Linux version' "$HFW_OUT/serial-stamped.log" | sed -n '2s/ .*//p')
stamped=$HFW_OUT/serial-stamped.log
panic_line_at=$(grep -E '^[0-9.]+ .*Kernel panic - not syncing' "$stamped" | head -n 1 | sed 's/ .*//')
gap=$(awk -v a="$panic_line_at" -v b="$second_at" 'BEGIN { printf "%.1f", b - a }')
# 5 s, then SeaBIOS and the kernel's first line (3.6 s more in the run
# that set these bounds; an immediate reboot, panic=-1, takes only that).
awk -v g="$gap" 'BEGIN { exit !(g >= 4.5 && g <= 40) }' ||
    hfw_fail "the second boot came $gap s after the panic (kernel.panic = 5)"
hfw_say "the panic rebooted the box: its second boot began $gap s after the panic line"

# The second boot arms and halts by itself.
hfw_wait_count 'HALTFW: HALTED-(OK|FAIL)' 2 300 "second report"
sleep 1
"$HFW_HALTFW" verify-console "$HFW_SERIAL_LOG" >"$HFW_OUT/verify-2.txt" 2>&1 ||
    hfw_fail "verify-console did not accept the second boot's report:
$(cat "$HFW_OUT/verify-2.txt")"
(($(hfw_log_count 'Arm the halted firewall') >= 1)) || hfw_fail "haltfw-arm.service did not run at the second boot"
(($(hfw_log_count 'HALTFW: panic: reboot 5 s after a kernel panic') == 2)) || hfw_fail "the second report has no panic line"
hfw_expect_inert 30
t_inert=$(grep -n 'HALTFW: INERT ' "$HFW_OUT/serial-stamped.log" | tail -n 1 | cut -d: -f1)
hfw_wait_count 'HALTFW: ALIVE ' "$(($(hfw_log_count 'HALTFW: ALIVE ') + 2))" 20 "two ALIVE lines after the second INERT line"
sleep 1
alive_check "$t_inert"
hfw_lan ping -n -c 2 -W 2 192.0.2.1 >"$HFW_OUT/ping-after.txt" 2>&1 ||
    hfw_fail "the box halted again does not answer ping"
# verify-console ends with the last ALIVE line after the INERT line.
"$HFW_HALTFW" verify-console "$HFW_SERIAL_LOG" >"$HFW_OUT/verify-3.txt" 2>&1 ||
    hfw_fail "verify-console did not accept the report with ALIVE lines after it:
$(cat "$HFW_OUT/verify-3.txt")"
grep -qE '^HALTFW: ALIVE up=[0-9]+ .* \(the last of [0-9]+ ALIVE lines\)$' "$HFW_OUT/verify-3.txt" ||
    hfw_fail "verify-console does not show the last ALIVE line: $(cat "$HFW_OUT/verify-3.txt")"
hfw_say "halted again $(hfw_since "$panic_at") s after the panic, with no one acting"
hfw_stop
hfw_pass
