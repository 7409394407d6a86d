#!/bin/bash
# The disk image's config, edited as a user would from another computer:
# the host takes /haltfw/haltfw.conf off the HALTFW partition of a copy of
# disk.img with mtools (nothing mounted), adds a port forward, saves it the
# way a Windows editor does (a UTF-8 BOM, CRLF line ends) and puts it back.
# The next boot reads it: the box halts and the new forward works, from the
# WAN host through the halted box to the LAN server.
set -euo pipefail
# shellcheck source=tests/qemu/lib.sh
source "$(dirname "$0")/lib.sh"

hfw_require_root
hfw_require_cmd mcopy sfdisk
export MTOOLS_SKIP_CHECK=1
hfw_disk_copy disk_config
disk=$HFW_DISK_COPY
esp=$HFW_ESP
mcopy -n -i "$esp" ::/haltfw/haltfw.conf "$HFW_OUT/haltfw.conf" || hfw_fail "mcopy could not read /haltfw/haltfw.conf off the HALTFW partition"
grep -q '^forward = tcp 8080 192.0.2.10 80$' "$HFW_OUT/haltfw.conf" || hfw_fail "the example config has no forward line to add one after"
{
    printf '\xef\xbb\xbf'
    sed 's|^forward = tcp 8080 192.0.2.10 80$|&\nforward = tcp 8443 192.0.2.10 443|' "$HFW_OUT/haltfw.conf" | sed 's|$|\r|'
} >"$HFW_OUT/haltfw-windows.conf"
[[ $(grep -c $'\r$' "$HFW_OUT/haltfw-windows.conf") == $(wc -l <"$HFW_OUT/haltfw-windows.conf") ]] ||
    hfw_fail "the edited config does not end every line with CRLF"
mcopy -o -i "$esp" "$HFW_OUT/haltfw-windows.conf" ::/haltfw/haltfw.conf || hfw_fail "mcopy could not write the edited config"

hfw_disk_boot uefi "$disk"
# The new forward: WAN 198.51.100.1:8443 -> LAN 192.0.2.10:443, seen by the
# LAN server as the WAN host.
hfw_tcp_listen lan 192.0.2.10 443 60
out=$(hfw_tcp_try wan 198.51.100.1 8443) || hfw_fail "WAN -> 198.51.100.1:8443 (the forward added on the HALTFW partition) got no answer"
[ "$out" = "hfw-pong 198.51.100.254" ] || hfw_fail "the new forward: the LAN server saw '$out', not the WAN host"
hfw_disk_read_only
hfw_pass
