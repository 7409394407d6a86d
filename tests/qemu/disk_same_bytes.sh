#!/bin/bash
# The disk image is reproducible: image/build --variant kiosk --disk run a
# second time from the same inputs, into a scratch cache that shares only
# the base tarball (mmdebstrap's output, reproducible on its own as
# docs/image.md says), makes a disk.img byte-identical to the cached one.
# No VM; in the qemu label because it needs the image build (and the deb
# fixture).
set -euo pipefail
# shellcheck source=tests/qemu/lib.sh
source "$(dirname "$0")/lib.sh"

hfw_require_root
HFW_IMAGE_VARIANT=kiosk
HFW_IMAGE_DISK=1
hfw_image
[[ -n ${HALTFW_DEB:-} ]] || hfw_skip "needs HALTFW_DEB (the package the image holds) to build it again"
cache=${HALTFW_CACHE:-/var/cache/haltfw}
mkdir -p "$HFW_OUT/cache/base"
base_key=$(sed -n 's/^base=//p' "$HFW_IMAGE/manifest")
[[ -n $base_key && -f $cache/base/$base_key.tar ]] || hfw_fail "the image's manifest names no base tarball in $cache/base ('$base_key')"
ln "$cache/base/$base_key.tar" "$HFW_OUT/cache/base/" 2>/dev/null || cp "$cache/base/$base_key.tar" "$HFW_OUT/cache/base/"
again=$("$HFW_REPO/image/build" --quiet --variant kiosk --disk --deb "$HALTFW_DEB" --cache "$HFW_OUT/cache") ||
    hfw_fail "the second image/build failed"
[[ $(basename "$again") == $(basename "$HFW_IMAGE") ]] || hfw_fail "the second build has another key ($again, first $HFW_IMAGE)"
if ! cmp "$HFW_IMAGE/disk.img" "$again/disk.img" >"$HFW_OUT/cmp.txt" 2>&1; then
    hfw_fail "the two builds of disk.img differ: $(cat "$HFW_OUT/cmp.txt")"
fi
hfw_say "disk.img built twice: $(sha256sum <"$again/disk.img" | cut -c1-16) both times, $(stat -c %s "$again/disk.img") bytes"
rm -rf "$HFW_OUT/cache"
hfw_pass
