#!/bin/bash
# A broken config on the disk image's HALTFW partition: the box does not
# halt into a firewall without rules. The host breaks one line of
# /haltfw/haltfw.conf on a copy of disk.img (a LAN address with prefix
# length 33); at boot arm refuses it, the console names the file as the box
# reads it (/HALTFW/haltfw/haltfw.conf) and the line, on the serial port
# and on the screen (a VGA card, text mode), and nothing halts.
set -euo pipefail
# shellcheck source=tests/qemu/lib.sh
source "$(dirname "$0")/lib.sh"

hfw_require_root
hfw_require_cmd mcopy sfdisk socat ping
export MTOOLS_SKIP_CHECK=1
hfw_disk_copy disk_bad_config
disk=$HFW_DISK_COPY
esp=$HFW_ESP
mcopy -n -i "$esp" ::/haltfw/haltfw.conf "$HFW_OUT/haltfw.conf" || hfw_fail "mcopy could not read /haltfw/haltfw.conf off the HALTFW partition"
line=$(grep -n '^address = 192.0.2.1/24$' "$HFW_OUT/haltfw.conf" | cut -d: -f1)
[[ -n $line ]] || hfw_fail "the example config has no LAN address line to break"
sed -i "${line}s|/24|/33|" "$HFW_OUT/haltfw.conf"
mcopy -o -i "$esp" "$HFW_OUT/haltfw.conf" ::/haltfw/haltfw.conf || hfw_fail "mcopy could not write the broken config"

HFW_DISK=$disk
HFW_DISK_SUM=$(sha256sum <"$disk")
hfw_boot "" --firmware bios --disk "$disk" --device VGA
hfw_wait_log "/HALTFW/haltfw/haltfw.conf:$line: interface 'lan': address '192\.0\.2\.1/33': prefix length out of range" 300 \
    "arm's error naming the HALTFW partition's file and line $line"
hfw_wait_log '[0-9]+ errors? in /HALTFW/haltfw/haltfw.conf; nothing changed' 30 "arm's summary"
# The boot goes on without the halt (haltfw-boot-halt.service requires the
# failed arm): the rest of the boot comes, the halt never does.
hfw_wait_log 'Reached target .*Multi-User System' 120 "the end of the boot (multi-user.target)"
sleep 10
for ere in 'Starting .*Halt into the halted firewall' 'haltfw\.target' 'HALTFW: report begin' 'Returning to initrd'; do
    if hfw_log_has "$ere"; then
        hfw_fail "the box with a broken config went on to halt (the serial console shows a line matching '$ere')"
    fi
done
# A PC with a screen and no serial port shows the same error.
hfw_screen_text >"$HFW_OUT/screen.txt"
grep -q "/HALTFW/haltfw/haltfw.conf:$line: interface 'lan'" "$HFW_OUT/screen.txt" ||
    hfw_fail "the screen does not show arm's error with the file and line (text in $HFW_OUT/screen.txt)"
hfw_disk_read_only
hfw_pass
