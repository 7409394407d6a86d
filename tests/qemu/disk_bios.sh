#!/bin/bash
# The disk image on legacy BIOS: the same disk.img as disk_uefi, booted by
# SeaBIOS through syslinux's GPT MBR and its boot sector on the HALTFW
# partition, read-only, to HALTED-OK with no interaction; the forward and
# the NAT work through the halted box. The machine has a VGA card, and the
# report is on its screen too (vgacon, the kernel-log copy of each line).
set -euo pipefail
# shellcheck source=tests/qemu/lib.sh
source "$(dirname "$0")/lib.sh"

hfw_disk_boot bios "" --device VGA
hfw_assert_log 'SYSLINUX' "syslinux booting the disk"
hfw_screen_text >"$HFW_OUT/screen.txt"
grep -Eq 'haltfw-final: HALTED-OK' "$HFW_OUT/screen.txt" ||
    hfw_fail "the screen does not show the report's 'haltfw-final: HALTED-OK' (text in $HFW_OUT/screen.txt)"
grep -Eq 'haltfw-final: ruleset: digest [0-9a-f]+' "$HFW_OUT/screen.txt" ||
    hfw_fail "the screen does not show the report's ruleset line (text in $HFW_OUT/screen.txt)"
hfw_expect_kiosk_traffic disk_bios
hfw_disk_read_only
hfw_pass
