#!/bin/bash
# The disk image's maintenance entry: on a copy of disk.img whose boot menu
# defaults to it (systemd-boot's loader.conf on the HALTFW partition, edited
# with mtools), the box boots under UEFI without arming or halting, prints
# the network cards, 'haltfw check' and 'haltfw show-ruleset' for the config
# on HALTFW on the console, and stays up at haltfw-maintenance.target.
set -euo pipefail
# shellcheck source=tests/qemu/lib.sh
source "$(dirname "$0")/lib.sh"

hfw_require_root
hfw_require_cmd mcopy sfdisk ping
export MTOOLS_SKIP_CHECK=1
hfw_disk_copy disk_maintenance
disk=$HFW_DISK_COPY
hfw_disk_maintenance_default

HFW_DISK=$disk
HFW_DISK_SUM=$(sha256sum <"$disk")
hfw_boot "" --firmware uefi --disk "$disk"
# journald hands the service's lines to the console after systemd's own, so
# the last of them is awaited, not the target's line.
hfw_wait_log 'haltfw maintenance: done; the box stays up' 360 "the maintenance boot's last line"
hfw_wait_log 'Reached target .*haltfw maintenance' 30 "the maintenance boot's target"
hfw_assert_log 'haltfw-boot-config: copied /haltfw/ from the HALTFW partition' "the config copied from HALTFW"
hfw_assert_log 'haltfw maintenance: haltfw check exited 0' "'haltfw check' passing for the example config"
hfw_assert_log 'haltfw-maintenance\[[0-9]+\]: table inet ' "show-ruleset's nft text"
hfw_assert_log 'haltfw maintenance: haltfw show-ruleset exited 0' "'haltfw show-ruleset' ending well"
hfw_assert_log 'haltfw-maintenance\[[0-9]+\]: eth1 .* 52:54:00:48:46:02' "the LAN card with its MAC address"
sleep 5
for ere in 'Arm the halted firewall' 'haltfw\.target' 'HALTFW: report begin'; do
    if hfw_log_has "$ere"; then
        hfw_fail "the maintenance boot armed or halted (the serial console shows a line matching '$ere')"
    fi
done
hfw_disk_read_only
hfw_pass
