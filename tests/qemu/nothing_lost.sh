#!/bin/bash
# Scenario 7, nothing lost: files written just before the halt are on the
# root disk afterwards, and the filesystem is clean. One file is synced
# before 'haltfw halt', another is not (the shutdown's own sync and the
# final stage's unmount must write it). After HALTED-OK the VM is stopped
# and the kept root overlay is read on the host, nothing mounted: debugfs
# for the files, dumpe2fs for the superblock state, e2fsck -fn for the
# whole filesystem.
set -euo pipefail
# shellcheck source=tests/qemu/lib.sh
source "$(dirname "$0")/lib.sh"

hfw_require_root
hfw_require_cmd debugfs dumpe2fs e2fsck sha256sum
hfw_image

dir=/var/lib/hfw-nothing-lost
guest=$(mktemp)
cat >"$guest" <<EOF_GUEST
say() { echo "nothing_lost: \$*"; }
mkdir -p $dir
head -c 4194304 /dev/urandom >$dir/synced.bin
sync
say "synced $dir/synced.bin sha256 \$(sha256sum <$dir/synced.bin | cut -d' ' -f1)"
head -c 1048576 /dev/urandom >$dir/unsynced.bin
say "unsynced $dir/unsynced.bin sha256 \$(sha256sum <$dir/unsynced.bin | cut -d' ' -f1)"
say "halting"
haltfw halt || say "haltfw halt failed with \$?"
EOF_GUEST
hfw_boot "$guest" --keep-overlay "$HFW_OUT/root.qcow2"
# The raw copy hfw_overlay_raw makes is ~750 MB: never kept (the overlay,
# ~10 MB, is, and makes it again).
trap 'rm -f "$HFW_OUT/root-view.img"; hfw_cleanup' EXIT
rm -f "$guest"

hfw_wait_log '^nothing_lost: halting' 300 "the guest script starting the halt"
hfw_expect_halted_ok 240
# The final stage took the root filesystem off (after systemd-shutdown's
# read-only remount): the kernel says so.
hfw_assert_log 'EXT4-fs \(vda\): unmounting filesystem' "the root filesystem being unmounted"

# 'quit' on QEMU's monitor: the overlay is closed cleanly.
hfw_stop
raw=$(hfw_overlay_raw)
check_file() {
    local name=$1 want got
    want=$(hfw_log_clean | sed -n "s|^nothing_lost: $name $dir/$name.bin sha256 \([0-9a-f]\{64\}\)\$|\1|p" | tail -n 1)
    [[ -n $want ]] || hfw_fail "the guest did not print the sha256 of $name.bin"
    got=$(debugfs -R "cat $dir/$name.bin" "$raw" 2>/dev/null | sha256sum | cut -d' ' -f1)
    [[ $got == "$want" ]] || hfw_fail "$dir/$name.bin on the disk has sha256 $got, the guest wrote $want"
}
check_file synced
check_file unsynced

dumpe2fs -h "$raw" >"$HFW_OUT/dumpe2fs.txt" 2>&1 || hfw_fail "dumpe2fs failed: $(tail -n 5 "$HFW_OUT/dumpe2fs.txt")"
grep -Eq '^Filesystem state: +clean$' "$HFW_OUT/dumpe2fs.txt" ||
    hfw_fail "the superblock does not say clean: $(grep '^Filesystem state' "$HFW_OUT/dumpe2fs.txt")"
grep -q 'needs_recovery' "$HFW_OUT/dumpe2fs.txt" &&
    hfw_fail "the journal needs recovery: the filesystem was not unmounted cleanly"
fsck_rc=0
e2fsck -fn "$raw" >"$HFW_OUT/e2fsck.txt" 2>&1 || fsck_rc=$?
((fsck_rc == 0)) || hfw_fail "e2fsck -fn exited $fsck_rc: $(tail -n 15 "$HFW_OUT/e2fsck.txt")"

summary=$(tail -n 1 "$HFW_OUT/e2fsck.txt")
echo "nothing_lost: both files intact (4 MiB synced, 1 MiB not), superblock clean, e2fsck -fn: $summary"
hfw_pass
