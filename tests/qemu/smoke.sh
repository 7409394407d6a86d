#!/bin/bash
# Smoke test of the appliance and the harness: the image boots, the test hook
# runs the injected script, both NICs are there in the right order, swap is
# on, and a plain 'systemctl halt' ends in the kernel's "reboot: System
# halted" (the path the halted firewall must NOT take; later scenarios
# replace it with haltfw's halt).
set -euo pipefail
# shellcheck source=tests/qemu/lib.sh
source "$(dirname "$0")/lib.sh"

hfw_require_root
hfw_image

guest=$(mktemp)
cat >"$guest" <<'EOF'
say() { echo "smoke: $*"; }
say "marker uptime=$(cut -d' ' -f1 /proc/uptime)"
ip -br link | sed 's/^/smoke: link /'
ip -br addr | sed 's/^/smoke: addr /'
sed 1d /proc/swaps | sed 's/^/smoke: swap /'
say "halting"
systemctl halt
EOF

hfw_boot "$guest"
rm -f "$guest"

hfw_wait_log '^smoke: marker ' 300 "the guest script's marker"
boot_s=$(awk -v a="$HFW_STARTED" -v b="$HFW_SEEN_AT" 'BEGIN { printf "%.1f", b - a }')
uptime_s=$(hfw_log_clean | sed -n 's/^smoke: marker uptime=//p' | head -n 1)
hfw_assert_log '^haltfw-test-hook: running fw_cfg file' "the test hook starting the script"

hfw_wait_log '^smoke: halting' 60 "the guest script's halting line"
halt_t0=$HFW_SEEN_AT
hfw_assert_log '^smoke: link eth0 +[A-Z]+ +52:54:00:48:46:01 ' "eth0 with the WAN NIC's MAC"
hfw_assert_log '^smoke: link eth1 +[A-Z]+ +52:54:00:48:46:02 ' "eth1 with the LAN NIC's MAC"
hfw_assert_log '^smoke: addr eth0 ' "eth0 in 'ip -br addr'"
hfw_assert_log '^smoke: addr eth1 ' "eth1 in 'ip -br addr'"
hfw_assert_log '^smoke: swap /dev/vdb ' "swap on the second disk (/dev/vdb)"

hfw_wait_log 'reboot: System halted' 120 "the kernel's 'reboot: System halted'"
halt_s=$(awk -v a="$halt_t0" -v b="$HFW_SEEN_AT" 'BEGIN { printf "%.1f", b - a }')
hfw_assert_log 'Deactivated swap .*(haltfw-swap|/dev/vdb)' "swap being deactivated during the halt"

hfw_stop
echo "smoke: boot to marker ${boot_s} s (guest uptime ${uptime_s} s), 'systemctl halt' to 'System halted' ${halt_s} s"
hfw_pass
