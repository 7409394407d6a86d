#!/bin/bash
# The kiosk gateway: the image variant whose boot goes through
# haltfw-arm.service and haltfw-boot-halt.service into the halted firewall
# with no interaction at all (the test hook's script does nothing). Through
# it, scenario 2's traffic: LAN->WAN ICMP and TCP NATed to the WAN address
# (a whole WAN-side capture holds no LAN source), WAN->LAN dropped; plus the
# gateway profile's port forward from the WAN host. Last, Ctrl-Alt-Del on
# the halted box's keyboard reboots it, as its [halt] ctrl-alt-del = reboot
# asks (the kernel hands it to PID 1, by then haltfw-inert, as SIGINT).
set -euo pipefail
# shellcheck source=tests/qemu/lib.sh
source "$(dirname "$0")/lib.sh"

hfw_require_root
hfw_require_cmd socat tcpdump ping
HFW_IMAGE_VARIANT=kiosk
hfw_image

guest=$(mktemp)
echo 'echo "kiosk: the test hook has nothing to do"' >"$guest"
# --no-reboot: the Ctrl-Alt-Del check at the end ends QEMU by a reboot.
hfw_boot "$guest" --no-reboot
rm -f "$guest"
trap 'hfw_bg_cleanup; hfw_cleanup' EXIT

hfw_expect_halted_ok 300
hfw_assert_log 'Arm the halted firewall' "haltfw-arm.service running at boot"
hfw_assert_log 'HALTFW: ruleset: digest [0-9a-f]+ as armed' "the armed ruleset verified"
hfw_expect_inert 30
[[ $(hfw_inert_field ctrl_alt_del) == reboot ]] || hfw_fail "haltfw-inert was not told to reboot on Ctrl-Alt-Del: $HFW_INERT_LINE"

hfw_expect_kiosk_traffic kiosk
# Ctrl-Alt-Del, pressed on the halted kiosk's (PS/2) keyboard.
printf 'sendkey ctrl-alt-delete\n' | timeout 10 socat -t 5 - "UNIX-CONNECT:$HFW_MONITOR" >/dev/null ||
    hfw_fail "could not send Ctrl-Alt-Del through QEMU's monitor"
hfw_wait_vm_exit 60
((HFW_RUN_RC == 0)) || hfw_fail "qemu-run exited $HFW_RUN_RC (expected QEMU's own 0 after the guest's reboot)"
hfw_assert_log 'haltfw-inert: Ctrl-Alt-Del: rebooting' "PID 1 (haltfw-inert) rebooting on Ctrl-Alt-Del"
hfw_pass
