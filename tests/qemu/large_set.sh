#!/bin/bash
# Large sets on the appliance's own kernel: a hash set of 150,000 IPv6
# addresses is loaded and, at once, while the kernel may still be resizing
# its hash table (the moment a listing can return an element twice and
# miss another), dumped by 'haltfw digest --dump'; three rounds, each from
# a fresh table. Every dump must hold every element exactly once and all
# three must give the same digest: haltfw reads a torn listing again, it
# never uses one. (The namespace test 'netns: large sets' proves the same
# on the host's kernel.)
set -euo pipefail
# shellcheck source=tests/qemu/lib.sh
source "$(dirname "$0")/lib.sh"

hfw_require_root
hfw_image

readonly elements=150000
guest=$(mktemp)
cat >"$guest" <<EOF_GUEST
say() { echo "large_set: \$*"; }
{
    printf 'table inet hfw_large {\n\tset s {\n\t\ttype ipv6_addr\n\t}\n}\n'
    awk -v n=$elements 'BEGIN {
        for (i = 0; i < n; i += 5000) {
            printf "add element inet hfw_large s {"
            for (j = i; j < i + 5000 && j < n; j++)
                printf "%s2001:db8::%x:%x", (j > i ? "," : " "), int(j / 65536), j % 65536
            print " }"
        }
    }'
} >/run/hfw-large.nft
for round in 1 2 3; do
    nft delete table inet hfw_large 2>/dev/null
    nft -f /run/hfw-large.nft || say "round \$round: nft -f failed with \$?"
    haltfw digest --dump >/run/hfw-dump.txt 2>&1 || say "round \$round: haltfw digest failed with \$?: \$(tail -n 1 /run/hfw-dump.txt)"
    say "round \$round: \$(grep -c '^element ' /run/hfw-dump.txt) elements, \$(grep '^element ' /run/hfw-dump.txt | sort -u | wc -l) distinct, digest \$(tail -n 1 /run/hfw-dump.txt)"
done
say "done on kernel \$(uname -r)"
EOF_GUEST

hfw_boot "$guest"
rm -f "$guest"
hfw_wait_log '^large_set: done on kernel ' 400 "the three rounds of load and dump"
hfw_log_clean | grep '^large_set: ' | sed 's/^/  /'
hfw_assert_log "^large_set: done on kernel 6\\.1\\." "the appliance's 6.1 kernel"
digests=()
for round in 1 2 3; do
    line=$(hfw_log_clean | grep "^large_set: round $round: " | tail -n 1)
    [[ $line =~ ^large_set:\ round\ $round:\ ([0-9]+)\ elements,\ ([0-9]+)\ distinct,\ digest\ ([0-9a-f]{64})$ ]] ||
        hfw_fail "round $round: no count and digest: '$line'"
    ((BASH_REMATCH[1] == elements && BASH_REMATCH[2] == elements)) ||
        hfw_fail "round $round: the dump held ${BASH_REMATCH[1]} elements (${BASH_REMATCH[2]} distinct), not $elements"
    digests+=("${BASH_REMATCH[3]}")
done
[[ ${digests[0]} == "${digests[1]}" && ${digests[1]} == "${digests[2]}" ]] ||
    hfw_fail "three loads of one set gave different digests: ${digests[*]}"
hfw_pass
