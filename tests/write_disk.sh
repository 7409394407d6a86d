#!/bin/bash
# scripts/write-disk against loop devices, in a mount namespace of its own
# (its mounts touch nothing else). Hostile first, each refused with its
# message and every loop device's bytes unchanged: a partition and a disk
# with a partition mounted (where the kernel makes partitions of a loop
# device), a mounted disk, the disk under the running system, a file and
# /dev/null as the device, an image larger than the disk, an empty image, a
# directory as the image, no terminal and no --yes, a "y" at the question.
# Then --yes writes the image, reads it back from the disk and says so.
# Skipped (77) where no loop device can be made.
set -euo pipefail
if [ -z "${HALTFW_WRITE_DISK_NS:-}" ]; then
    HALTFW_WRITE_DISK_NS=1 exec unshare --mount --propagation private "$0" "$@"
fi
WRITE=$(dirname "$0")/../scripts/write-disk
work=$(mktemp -d /tmp/haltfw-write-disk-XXXXXX)
loops=()
cleanup() {
    umount "$work/mnt" 2>/dev/null || true
    for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
fail() {
    echo "FAIL: write_disk: $*" >&2
    exit 1
}
# new_loop VAR SIZE_MIB [FILE] : VAR names a new loop device over FILE (a
# new file of zeros if not given), with partition scanning.
# (Its VAR: disk, pdisk, small.)
disk='' pdisk='' small=''
new_loop() {
    local -n var=$1
    local file=${3:-$work/disk${#loops[@]}}
    [ -e "$file" ] || truncate -s "$2M" "$file"
    var=$(losetup -f --show -P "$file") || exit 77
    loops+=("$var")
}
sum() { sha256sum "$1" | cut -d' ' -f1; }

# refused WHAT EXPECTED ARGS... : write-disk with ARGS exits 1, says
# EXPECTED, and leaves every loop device as it was.
refused() {
    local what=$1 want=$2 out rc=0 before=() i
    shift 2
    for l in "${loops[@]}"; do before+=("$(sum "$l")"); done
    out=$("$WRITE" "$@" 2>&1 </dev/null) || rc=$?
    [ "$rc" -eq 1 ] || fail "$what: exit $rc, expected 1: $out"
    [[ $out == *"$want"* ]] || fail "$what: expected '$want' in: $out"
    [[ $out == *"; nothing written"* ]] || fail "$what: no 'nothing written' in: $out"
    for i in "${!loops[@]}"; do
        [ "$(sum "${loops[i]}")" = "${before[i]}" ] || fail "$what: ${loops[i]} changed"
    done
    echo "write_disk: $what: refused"
}

head -c $((3 * 1024 * 1024 + 123)) /dev/urandom >"$work/image"
new_loop disk 8

# A partition of a partitioned disk (one MBR partition, sectors 2048 to
# 10239, written by hand: no partitioning tool needed), where the kernel
# makes partitions of a loop device (not every kernel has the partition
# table code: then that case is said not tried).
truncate -s 8M "$work/pdisk"
python3 - "$work/pdisk" <<'PY'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(446)
    f.write(struct.pack("<B3sB3sII", 0, b"\0\0\0", 0x83, b"\0\0\0", 2048, 8192))
    f.seek(510)
    f.write(b"\x55\xaa")
PY
new_loop pdisk 8 "$work/pdisk"
sleep 0.2
if [ -b "${pdisk}p1" ]; then
    refused "a partition" "'${pdisk}p1' is a part, not a whole disk" --yes "$work/image" "${pdisk}p1"
    mkfs.ext4 -q "${pdisk}p1"
    mkdir -p "$work/mnt"
    mount -o ro "${pdisk}p1" "$work/mnt"
    refused "a disk with a mounted partition" "${pdisk}p1 is mounted on $work/mnt" --yes "$work/image" "$pdisk"
    umount "$work/mnt"
else
    echo "write_disk: a partition, a disk with a mounted partition: NOT TRIED: this kernel made no partition of" \
        "$pdisk (no partition table support)"
fi
# A mounted disk.
mkfs.ext4 -q -F "$disk"
mkdir -p "$work/mnt"
mount -o ro "$disk" "$work/mnt"  # read-only: nothing but write-disk may change a disk here
refused "a mounted disk" "$disk is mounted on $work/mnt" --yes "$work/image" "$disk"
umount "$work/mnt"
# The disk under /.
root_src=$(findmnt -no SOURCE /)
if [ -b "$root_src" ]; then
    root_disk=$(lsblk -snpo NAME "$root_src" | tail -n 1)
    refused "the running system's disk" "holds the running system (/ is on $root_src)" --yes "$work/image" "$root_disk"
fi
# Not a disk at all; an image that does not fit; no image worth writing.
refused "a file" "is not a block device" --yes "$work/image" "$work/disk0"
refused "/dev/null" "'/dev/null' is not a block device" --yes "$work/image" /dev/null
new_loop small 2
refused "an image larger than the disk" "does not fit on $small" --yes "$work/image" "$small"
: >"$work/empty"
refused "an empty image" "'$work/empty' is empty" --yes "$work/empty" "$disk"
refused "a directory as the image" "'$work' is not a regular file" --yes "$work" "$disk"
# No terminal to ask on, and no --yes.
refused "no --yes without a terminal" "no terminal to ask on: give --yes" "$work/image" "$disk"

# On a terminal: asked, and anything but "yes" writes nothing. (script(1)
# gives it a terminal, whose input is the answer.)
unasked=$(sum "$disk")
out=$(printf 'y\n' | script -qec "$WRITE $work/image $disk" /dev/null 2>&1) && fail "'y' was taken for yes: $out"
[[ $out == *"type 'yes' to write $work/image to $disk"* ]] || fail "no question asked: $out"
[[ $out == *"not confirmed; nothing written"* ]] || fail "'y' not refused: $out"
[ "$(sum "$disk")" = "$unasked" ] || fail "'y': $disk changed"
echo "write_disk: a 'y' at the question: refused"

# Written, flushed, read back.
out=$("$WRITE" --yes "$work/image" "$disk" 2>&1) || fail "the write failed: $out"
[[ $out == *"write-disk: $disk: "*" MiB (8388608 bytes)"* ]] || fail "no model and size line: $out"
[[ $out == *"write-disk: $disk holds $work/image (3145851 bytes), read back and compared"* ]] ||
    fail "no final line: $out"
cmp -n 3145851 "$work/image" "$disk" || fail "the disk does not hold the image"
# Usage.
rc=0
"$WRITE" "$work/image" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "one argument: exit $rc, expected 2"
echo "ok: write_disk"
