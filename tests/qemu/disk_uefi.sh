#!/bin/bash
# The disk image (image/build --variant kiosk --disk) on UEFI: QEMU q35 with
# OVMF boots disk.img, attached read-only, from its own boot loader
# (systemd-boot, the firmware's removable-media path) with no -kernel and no
# interaction: the default entry copies the config from the HALTFW
# partition into RAM, arms and halts. Then verify-console accepts the serial
# log, the root was the read-only squashfs, nothing was written to the disk,
# and scenario 2's traffic goes through the halted box.
set -euo pipefail
# shellcheck source=tests/qemu/lib.sh
source "$(dirname "$0")/lib.sh"

hfw_disk_boot uefi
hfw_expect_kiosk_traffic disk_uefi
hfw_disk_read_only
hfw_pass
