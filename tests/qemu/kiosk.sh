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

# LAN -> far host, ICMP and TCP: NATed to the WAN address, and the WAN
# side (captured whole) sees no LAN source address.
hfw_capture_start kiosk_wan wan 120
hfw_lan ping -n -c 5 -i 0.2 -W 2 203.0.113.1 >"$HFW_OUT/ping-far.txt" 2>&1 || true
got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$HFW_OUT/ping-far.txt")
[ "${got:-0}" = 5 ] || hfw_fail "LAN -> 203.0.113.1 ping through the halted kiosk: ${got:-0} of 5 answered"
hfw_tcp_listen wan 203.0.113.1 8081 60
out=$(hfw_tcp_try lan 203.0.113.1 8081) || hfw_fail "LAN -> 203.0.113.1:8081 got no answer through the halted kiosk"
[ "$out" = "hfw-pong 198.51.100.1" ] || hfw_fail "LAN -> WAN: the far host saw '$out', not the WAN address (NAT)"
hfw_capture_stop kiosk_wan
hfw_capture_complete kiosk_wan
from_box=$(hfw_capture_count kiosk_wan 'src host 198.51.100.1')
lan_src=$(hfw_capture_count kiosk_wan 'src net 192.0.2.0/24')
((from_box >= 5)) || hfw_fail "the WAN capture holds only $from_box packets from 198.51.100.1 (expected the 5 NATed echo requests at least)"
((lan_src == 0)) || hfw_fail "the WAN capture holds $lan_src packets with a LAN source address:
$(hfw_capture_show kiosk_wan 'src net 192.0.2.0/24' | head -n 10)"

# The port forward: WAN 198.51.100.1:8080 -> LAN 192.0.2.10:80, and the LAN
# server sees the WAN host itself (DNAT, no SNAT).
hfw_tcp_listen lan 192.0.2.10 80 60
out=$(hfw_tcp_try wan 198.51.100.1 8080) || hfw_fail "WAN -> 198.51.100.1:8080 (the forward) got no answer"
[ "$out" = "hfw-pong 198.51.100.254" ] || hfw_fail "the forward: the LAN server saw '$out', not the WAN host"

# WAN -> LAN directly: dropped.
if out=$(hfw_tcp_try wan 192.0.2.10 80 3); then
    hfw_fail "WAN -> 192.0.2.10:80 directly was answered ('$out'): the halted kiosk forwards new WAN connections"
fi
# Ctrl-Alt-Del, pressed on the halted kiosk's (PS/2) keyboard.
printf 'sendkey ctrl-alt-delete\n' | timeout 10 socat -t 5 - "UNIX-CONNECT:$HFW_MONITOR" >/dev/null ||
    hfw_fail "could not send Ctrl-Alt-Del through QEMU's monitor"
hfw_wait_vm_exit 60
((HFW_RUN_RC == 0)) || hfw_fail "qemu-run exited $HFW_RUN_RC (expected QEMU's own 0 after the guest's reboot)"
hfw_assert_log 'haltfw-inert: Ctrl-Alt-Del: rebooting' "PID 1 (haltfw-inert) rebooting on Ctrl-Alt-Del"
hfw_pass
