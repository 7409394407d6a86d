#!/bin/bash
# Scenario: the disk image (image/build --variant kiosk --disk) on UEFI
# keeps a record of a crash across the reboot, and the next halt's report
# says so, once. QEMU q35 with OVMF and a writable copy of OVMF's variable
# store (qemu-run's per-run copy of OVMF_VARS_4M.fd): efi-pstore writes the
# panic's end of the kernel log into EFI variables, which the reset leaves
# in the flash.
#   1. The HALTFW partition of a copy of disk.img gets 'panic-reboot = 5'
#      and '[sysctl] kernel.unknown_nmi_panic = 1'. First boot: HALTED-OK,
#      and 'pstore: no crash record from before this boot (backend efi)'.
#   2. An NMI through QEMU's monitor panics the kernel; efi-pstore leaves
#      dump-type0-* variables in the VARS file (counted from the host);
#      panic-reboot reboots, slowly: the next kernel's first line came
#      92-93 s after the panic line (OVMF at work on its variable store
#      under TCG), against about 50 s after an ordinary reboot; the wait is
#      300 s. Second boot: systemd-pstore archives the record
#      (to /var/lib/systemd/pstore, a tmpfs on this disk) and deletes the
#      variables; arm reads the archive; the report says 'pstore: a crash
#      record from before this boot (efi, Panic#1 at <the panic's UTC
#      time>, ...): Kernel panic - not syncing: NMI: Not continuing; archived
#      by systemd-pstore in /var/lib/systemd/pstore/<id>'. verify-console
#      accepts it.
#   3. Ctrl-Alt-Del (the config's 'ctrl-alt-del = reboot') reboots the
#      halted box cleanly. Third boot: systemd-pstore finds nothing (it
#      deleted the variables), and the report says 'no crash record' again:
#      one crash, reported once.
set -euo pipefail
# shellcheck source=tests/qemu/lib.sh
source "$(dirname "$0")/lib.sh"

hfw_require_root
hfw_require_cmd mcopy sfdisk socat
export MTOOLS_SKIP_CHECK=1
# Three UEFI boots under TCG (about 50 s each) and the waits between them.
HFW_VM_TIMEOUT=${HALTFW_VM_TIMEOUT:-800}

hfw_disk_copy disk_pstore
mcopy -n -i "$HFW_ESP" ::/haltfw/haltfw.conf "$HFW_OUT/haltfw.conf" ||
    hfw_fail "mcopy could not read /haltfw/haltfw.conf off the HALTFW partition"
# The example config ends in its [halt] section.
[[ $(grep -E '^\[' "$HFW_OUT/haltfw.conf" | tail -n 1) == '[halt]' ]] ||
    hfw_fail "the example config does not end in its [halt] section"
printf 'panic-reboot = 5\n\n[sysctl]\nkernel.unknown_nmi_panic = 1\n' >>"$HFW_OUT/haltfw.conf"
mcopy -o -i "$HFW_ESP" "$HFW_OUT/haltfw.conf" ::/haltfw/haltfw.conf || hfw_fail "mcopy could not write the edited config"

# report_line N : the Nth report's 'pstore:' line, without the prefix (the
# lines written to the console, not the kernel's stamped copies).
report_line() {
    hfw_log_clean | grep -avE '^\[ *[0-9]+\.[0-9]+\] ' | grep -aE '^HALTFW: pstore: ' | sed -n "$1s/^HALTFW: pstore: //p" || true
}
# verify N : verify-console accepts the log as it is, the Nth report its last.
verify() {
    sleep 1  # the last console bytes
    "$HFW_HALTFW" verify-console "$HFW_SERIAL_LOG" >"$HFW_OUT/verify-$1.txt" 2>&1 ||
        hfw_fail "verify-console did not accept report $1:
$(cat "$HFW_OUT/verify-$1.txt")"
}
monitor() {
    printf '%s\n' "$1" | timeout 10 socat -t 5 - "UNIX-CONNECT:$HFW_MONITOR" >/dev/null ||
        hfw_fail "could not send '$1' through QEMU's monitor"
}
# dump_vars : how many EFI variables named dump-type0-* (efi-pstore's, in
# UTF-16) the VARS file QEMU runs with holds. Deleted ones count too: the
# store only marks a variable deleted until it is reclaimed.
vars_file() {
    local vars
    vars=$(tr '\0' '\n' <"/proc/$HFW_QEMU_PID/cmdline" | sed -n 's/^if=pflash,.*unit=1,file=//p')
    [[ -f $vars ]] || hfw_fail "no VARS file on QEMU's command line"
    echo "$vars"
}
dump_vars() {
    local vars
    vars=$(vars_file)
    { LC_ALL=C grep -aoP 'd\x00u\x00m\x00p\x00-\x00t\x00y\x00p\x00e\x000\x00-\x00' "$vars" || true; } | wc -l
}

# 1. The first boot: a backend, no record.
hfw_disk_boot uefi "$HFW_DISK_COPY"
trap 'hfw_bg_cleanup; hfw_cleanup' EXIT
hfw_serial_stamps
hfw_assert_log 'pstore: Registered efi as persistent store backend' "efi-pstore registering (the kernel's line)"
hfw_assert_log 'HALTFW: panic: reboot 5 s after a kernel panic \(kernel.panic = 5, kernel.panic_on_oops = 1\)$' \
    "the report's panic line"
line=$(report_line 1)
[[ $line == 'no crash record from before this boot (backend efi)' ]] ||
    hfw_fail "the first report's pstore line is '$line', not 'no crash record from before this boot (backend efi)'"
before=$(dump_vars)
hfw_say "boot 1: pstore: $line; $before dump-type0 variable(s) in the VARS file"

# 2. The crash, and the boot after it.
monitor nmi
hfw_wait_log 'Kernel panic - not syncing: NMI: Not continuing' 30 "the kernel panic the NMI causes"
panic_epoch=$(date -u +%s)
# The VARS file as the reset leaves it, kept with the logs.
sleep 8
cp "$(vars_file)" "$HFW_OUT/ovmf_vars-after-panic.fd"
hfw_wait_count 'Linux version' 2 300 "second boot after the panic"
after=$(dump_vars)
stamped=$HFW_OUT/serial-stamped.log
gap=$(awk '/Kernel panic - not syncing/ && !p { p = $1 } /Linux version/ { n++; if (n == 2) { printf "%.1f", $1 - p; exit } }' "$stamped")
hfw_say "the second boot's first kernel line came ${gap:-?} s after the panic line (host clock)"
((after > before)) || hfw_fail "the panic left no dump-type0 variable in the VARS file ($before before, $after after)"
hfw_say "the panic left $((after - before)) dump-type0 variable(s) in the VARS file"
hfw_wait_count 'HALTFW: HALTED-(OK|FAIL)' 2 300 "second report"
verify 2
# systemd shortens the unit's name on the console ("systemd-pstore.se…").
hfw_assert_log 'Finished systemd-pstore\.se' "systemd-pstore archiving the record at the second boot"
line=$(report_line 2)
# systemd-pstore files each EFI part under the second it was written in:
# the parts of one panic may span two seconds, and so two directories.
re='^a crash record from before this boot \(efi, Panic#1 at ([0-9-]+ [0-9:]+) UTC(, [0-9]+ parts)?\): Kernel panic - not syncing: NMI: Not continuing; archived by systemd-pstore in (/var/lib/systemd/pstore/[0-9]+|[0-9]+ directories of /var/lib/systemd/pstore)$'
[[ $line =~ $re ]] || hfw_fail "the second report's pstore line is not the crash's:
$line"
# The record's time is the guest's clock at the panic (the host's: QEMU's
# RTC runs on UTC), so within a minute of when the host saw the panic line.
rec_epoch=$(date -u -d "${BASH_REMATCH[1]}" +%s)
((rec_epoch >= panic_epoch - 60 && rec_epoch <= panic_epoch + 60)) ||
    hfw_fail "the record's time ${BASH_REMATCH[1]} UTC is not the panic's ($(date -u -d "@$panic_epoch" '+%F %T') UTC)"
hfw_say "boot 2: pstore: $line"

# 3. An ordinary reboot: the record is not reported again.
hfw_expect_inert 30
monitor 'sendkey ctrl-alt-delete'
hfw_wait_count 'Linux version' 3 300 "third boot after Ctrl-Alt-Del"
hfw_wait_count 'HALTFW: HALTED-(OK|FAIL)' 3 300 "third report"
verify 3
line=$(report_line 3)
[[ $line == 'no crash record from before this boot (backend efi)' ]] ||
    hfw_fail "the third report's pstore line is '$line': the crash reported again"
# The kernel's own line, not the report's and arm's quotes of it.
panics=$(hfw_log_clean | grep -acE '^\[ *[0-9]+\.[0-9]+\] Kernel panic - not syncing' || true)
((panics == 1)) || hfw_fail "$panics kernel panics in the log (expected the one the NMI caused)"
hfw_say "boot 3: pstore: $line"
hfw_stop
hfw_pass
