#!/bin/bash
# Scenario 1, halted: the appliance boots, 'haltfw halt' arms and halts it,
# and the serial console carries a complete HALTED-OK report (checked by
# 'haltfw verify-console', as an operator would) showing PID 1 alone, no
# mount but the exitrd, swap off; the box then still answers from the LAN
# through the kernel alone, and PID 1, now haltfw-inert, prints its INERT
# line after the report: within the 2 MiB target, the exitrd's files freed.
# The ruleset watcher loads its guard on the condition of the generation
# the manifest records (the halt's arm's), skips its first dump, and the
# final stage, finding the kernel still at the generation of the guard's
# load, reads no ruleset either. Alt-SysRq-H on the box's (PS/2) keyboard, through QEMU's
# monitor, prints the kernel's sysrq help while the box is live (Debian's
# kernel.sysrq is 438) and nothing once it is halted (the final stage wrote
# kernel.sysrq=0, on a thread of its own).
set -euo pipefail
# shellcheck source=tests/qemu/lib.sh
source "$(dirname "$0")/lib.sh"

hfw_require_root
hfw_image

guest=$(mktemp)
cat >"$guest" <<'EOF_GUEST'
echo "halted: swap before: $(sed 1d /proc/swaps | wc -l) device(s)"
echo "halted: kernel.sysrq $(cat /proc/sys/kernel/sysrq); press Alt-SysRq-H"
for ((i = 0; i < 300; i++)); do
    dmesg | grep -q 'sysrq: HELP' && break
    sleep 0.1
done
dmesg | grep -q 'sysrq: HELP' && echo "halted: sysrq help seen live" || echo "halted: no sysrq help live"
echo "halted: halting"
haltfw halt || echo "halted: haltfw halt failed with $?"
EOF_GUEST
hfw_boot "$guest"
rm -f "$guest"

# sysrq_h : Alt-SysRq-H on the box's keyboard.
sysrq_h() {
    printf 'sendkey alt-sysrq-h\n' | timeout 10 socat -t 5 - "UNIX-CONNECT:$HFW_MONITOR" >/dev/null ||
        hfw_fail "could not send Alt-SysRq-H through QEMU's monitor"
}
hfw_wait_log '^halted: kernel.sysrq [0-9]+; press' 300 "the guest script asking for Alt-SysRq-H"
hfw_assert_log '^halted: kernel.sysrq [1-9][0-9]*; press' "sysrq on while the box is live"
sysrq_h
hfw_wait_log '^halted: (no )?sysrq help' 60 "the guest script's sysrq check"
hfw_assert_log '^halted: sysrq help seen live' "Alt-SysRq-H printing the sysrq help while the box is live"
hfw_wait_log '^halted: halting' 300 "the guest script starting the halt"
hfw_assert_log '^halted: swap before: 1 device' "swap on before the halt (so swap-off is exercised)"
hfw_wait_log 'HALTFW: HALTED-(OK|FAIL)' 240 "the final stage's report"
sleep 1  # let the last console bytes reach the log

"$HFW_HALTFW" verify-console "$HFW_SERIAL_LOG" >"$HFW_OUT/verify.txt" 2>&1 || hfw_fail "verify-console did not accept the report:
$(cat "$HFW_OUT/verify.txt")"
hfw_assert_log 'HALTFW: processes: none but PID 1 ' "the report: no userspace process but PID 1"
hfw_assert_log 'HALTFW: mounts: [0-9]+ taken off; none left but the exitrd' "the report: no mount but the exitrd"
hfw_assert_log 'HALTFW: swap: off' "the report: swap off"
hfw_assert_log 'HALTFW: HALTED-OK .*processes=1 mounts_left=0 swap=0 ' "the machine line"
# Nothing changed the ruleset between the halt's arm and the watcher's
# guard: the kernel took the guard's load on the condition of arm's
# generation, and the watcher skipped its first dump. Nothing committed
# after the guard's load either, so the final stage read no ruleset.
hfw_assert_log "^haltfw-watch: watching the armed ruleset \\(digest [0-9a-f]{64}\\) until the final stage; unchanged since the halt's arm \\(generation [0-9]+\\); guarded by an owned copy \\(1 table\\) that no unit can change$" \
    "the watcher taking the halt's generation as the armed ruleset's"
hfw_assert_log "HALTFW: ruleset: digest [0-9a-f]{64} as armed \\(generation [0-9]+, the one at which the watcher last proved it; nothing committed since, so not read again\\)" \
    "the final stage taking the watcher's proof"
hfw_log_has 'reboot: System halted' && hfw_fail "the kernel halted the CPUs ('System halted'): the final stage did not take over"
# PID 1 is haltfw-inert now: it removed the exitrd's files (the final stage,
# its loader and libraries, the manifest: about 2.8 MiB) and measured itself.
hfw_expect_inert 30
rss=$(hfw_inert_field rss_kib) freed=$(hfw_inert_field freed_kib)
hfw_assert_log 'HALTFW: lockdown: .*sysrq 0,' "the report: sysrq 0"
# The same key press as on the live box, which printed the help there (so
# the key does reach the kernel); halted, nothing may answer it.
helps=$(hfw_log_clean | grep -c 'sysrq: HELP' || true)
((helps >= 1)) || hfw_fail "no sysrq help line on the console from the live box"
sysrq_h
sleep 5
helps_after=$(hfw_log_clean | grep -c 'sysrq: HELP' || true)
((helps_after == helps)) || hfw_fail "Alt-SysRq-H printed the sysrq help on the halted box: sysrq is still on"
hfw_say "inert PID 1: $HFW_INERT_LINE"
((rss > 0 && rss <= 2048)) || hfw_fail "PID 1's resident set: rss_kib=$rss (target <= 2048)"
((freed >= 2048)) || hfw_fail "the exitrd gave back only freed_kib=$freed (the final stage and its libraries are 2.8 MiB)"
[[ $(hfw_inert_field remove_failed) == 0 ]] || hfw_fail "haltfw-inert could not remove every file: $HFW_INERT_LINE"
hfw_assert_log 'HALTFW: HALTED-OK .* rss_peak_kib=[0-9]+ ' "the final stage's peak on the machine line"

# The kernel alone answers: the box's LAN address, from the LAN host.
hfw_lan ping -c 3 -W 2 192.0.2.1 >"$HFW_OUT/ping.txt" 2>&1 || hfw_fail "the halted box does not answer ping from the LAN:
$(cat "$HFW_OUT/ping.txt")"
hfw_stop
hfw_pass
