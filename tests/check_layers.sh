#!/bin/bash
# scripts/check-layers: the tree as it is passes; an include that goes up a
# layer, or names no layer, fails with the file, line and why.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/check-layers" "$root"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$root/haltfw" "$tmp/"
final_lines=$(wc -l <"$tmp/haltfw/final/haltfw_final.cc")
echo '#include "core/config.h"' >>"$tmp/haltfw/final/haltfw_final.cc"
echo '#include "nft_dump.h"' >>"$tmp/haltfw/nft/nft_digest.cc"
echo '#include "halt/report.h"' >>"$tmp/haltfw/inert/haltfw_inert.cc"
digest_lines=$(wc -l <"$tmp/haltfw/nft/nft_digest.cc")
inert_lines=$(wc -l <"$tmp/haltfw/inert/haltfw_inert.cc")
if out=$("$root/scripts/check-layers" "$tmp"); then
    echo "FAIL: check-layers passed a tree whose PID 1 includes core/"
    exit 1
fi
expect="haltfw/final/haltfw_final.cc:$((final_lines + 1)): final/ may not include core/ (\"core/config.h\")
haltfw/inert/haltfw_inert.cc:$inert_lines: haltfw-inert may use only halt/inert_args.h and halt/proc_status.h
haltfw/nft/nft_digest.cc:$digest_lines: include \"nft_dump.h\" names no layer (write \"LAYER/nft_dump.h\")"
if [[ $(sort <<<"$out") != "$(sort <<<"$expect")" ]]; then
    printf 'FAIL: check-layers said:\n%s\nexpected:\n%s\n' "$out" "$expect"
    exit 1
fi
echo "PASS: check-layers refuses includes that go up or name no layer"
