#!/bin/bash
# Scenario 6, reboot passthrough: armed ('haltfw arm'), then an ordinary
# 'systemctl reboot'. haltfw changes nothing about a reboot: systemd-shutdown
# still pivots into haltfw's exitrd (it is there, armed), and the final stage,
# seeing the verb 'reboot', takes the remaining mounts off and reboots. The
# ruleset watcher arm started stays on standby throughout (its '@' spares
# it from systemd-shutdown) and goes with the final stage's leftovers. QEMU
# runs with -no-reboot, so the guest's reboot ends QEMU by itself.
#
# A panic would end QEMU too (qemu-run passes panic=-1 with --no-reboot):
# hence the kernel's own "reboot: Restarting system" is required and a
# "Kernel panic" refused.
set -euo pipefail
# shellcheck source=tests/qemu/lib.sh
source "$(dirname "$0")/lib.sh"

hfw_require_root
hfw_image

guest=$(mktemp)
cat >"$guest" <<'EOF_GUEST'
say() { echo "reboot: $*"; }
rc=0
# Disarm on the way: it stops the watcher arm started (chrooted into the
# exitrd, it would keep the tmpfs busy) and takes the exitrd off.
haltfw arm >/dev/null 2>&1 || say "first arm failed with $?"
haltfw disarm >/dev/null 2>&1 || say "disarm failed with $?"
say "after disarm: watcher $(systemctl is-active haltfw-watch.service), exitrd $(findmnt -n -o FSTYPE /run/initramfs || echo none)"
haltfw arm || rc=$?
say "arm exited $rc"
say "status $(haltfw status 2>&1 | grep '^armed:')"
# A watcher left watching (a halt that did not happen) would undo every
# change to the live ruleset: arming again restarts it on standby.
pid=$(sed -n 's/^haltfw-watch pid=\([0-9]*\) .*/\1/p' /run/initramfs/haltfw.watch)
kill -USR1 "$pid"
sleep 1
say "signalled: $(cat /run/initramfs/haltfw.watch)"
say "re-arm: $(haltfw arm 2>&1 | grep '^watch:')"
say "watcher $(systemctl is-active haltfw-watch.service) $(cat /run/initramfs/haltfw.watch)"
say "rebooting"
systemctl reboot
EOF_GUEST
hfw_boot "$guest" --no-reboot
rm -f "$guest"

hfw_wait_log '^reboot: rebooting' 300 "the guest script starting the reboot"
t0=$HFW_SEEN_AT
hfw_log_has '^reboot: .* failed with' && hfw_fail "in the guest: $(hfw_log_clean | grep '^reboot: .* failed with')"
hfw_assert_log '^reboot: after disarm: watcher inactive, exitrd none$' "'haltfw disarm' stopping the watcher and taking the exitrd off"
hfw_assert_log '^reboot: arm exited 0$' "'haltfw arm' succeeding"
hfw_assert_log '^reboot: status armed: yes \(digest [0-9a-f]{64}, manifest /run/initramfs/haltfw.manifest\)' \
    "'haltfw status' saying armed before the reboot"
hfw_assert_log '^reboot: signalled: haltfw-watch pid=[0-9]+ mode=watching restored=0 failed=0 guard=1 proven=[0-9]+ netns=[0-9]+$' "the watcher watching after SIGUSR1, with its owned copy"
hfw_assert_log '^reboot: re-arm: watch: haltfw-watch.service restarted \(it was watching, from a halt that did not happen\), on standby \(pid [0-9]+\)$' \
    "arm restarting a watching watcher on standby"
hfw_assert_log '^reboot: watcher active haltfw-watch pid=[0-9]+ mode=standby restored=0 failed=0 guard=0 proven=0 netns=0$' \
    "the ruleset watcher on standby before the reboot"
old_pid=$(hfw_log_clean | sed -n 's/^reboot: signalled: haltfw-watch pid=\([0-9]*\) .*/\1/p')
new_pid=$(hfw_log_clean | sed -n 's/^reboot: watcher active haltfw-watch pid=\([0-9]*\) .*/\1/p')
[[ -n $old_pid && $old_pid != "$new_pid" ]] || hfw_fail "the watcher was not restarted (pid $old_pid before, $new_pid after)"

# QEMU ends by itself, well within the bound (a halt would leave it running).
hfw_wait_vm_exit 120
reboot_s=$(awk -v a="$t0" -v b="$(hfw_now)" 'BEGIN { printf "%.1f", b - a }')
((HFW_RUN_RC == 0)) || hfw_fail "qemu-run exited $HFW_RUN_RC (expected QEMU's own 0 after the guest's reboot)"
grep -q 'QEMU exited with status 0' "$HFW_RUN_LOG" || hfw_fail "qemu-run did not see QEMU exit by itself with status 0: $(cat "$HFW_RUN_LOG")"

hfw_assert_log 'systemd-shutdown\[1\]: Successfully changed into root pivot' "systemd-shutdown pivoting into the exitrd"
hfw_assert_log 'haltfw-final: reboot \([0-9]+ mounts taken off; killed: [0-9]+ \(shutdown\)\)' \
    "the final stage passing the reboot through, the standby watcher (the exitrd's /shutdown) killed with the leftovers"
hfw_assert_log 'reboot: Restarting system' "the kernel's 'reboot: Restarting system'"
hfw_log_has 'HALTFW:' && hfw_fail "a HALTFW report on a reboot: $(hfw_log_clean | grep 'HALTFW:' | tail -n 3)"
hfw_log_has 'reboot: System halted' && hfw_fail "the kernel halted instead of rebooting"
hfw_log_has 'Kernel panic' && hfw_fail "the kernel panicked (which also ends QEMU with -no-reboot)"

final_line=$(hfw_log_clean | grep -o '^haltfw-final: reboot (.*' | tail -n 1)
echo "reboot: '$final_line'; 'rebooting' to QEMU's exit ${reboot_s} s"
hfw_pass
