#!/bin/bash
# check finds statements that need a userspace daemon (tproxy, log group;
# queue is covered by the unit tests, as this host's kernel has no nft_queue)
# before the ruleset is applied (a trial load in a scratch namespace, with
# links named like ours so 'iif' resolves), and after.
. "$(dirname "$0")/lib.sh"
make_links
write_config
cat >>"$WORK/rules.nft" <<'NFT'
table ip extra {
    chain pre {
        type filter hook prerouting priority mangle; policy accept;
        iif "lan0" meta l4proto tcp tcp dport 5000 tproxy to 127.0.0.1:5000
        iif "lan0" udp dport 5001 log group 2
    }
}
NFT
digest=$("$HALTFW" digest)
run_haltfw 1 --config "$WORK/haltfw.conf" check
expect_contains "tproxy" "$OUT" "BLOCKER: ruleset: chain ip extra pre uses 'tproxy', which needs a userspace daemon"
expect_contains "log group" "$OUT" "BLOCKER: ruleset: chain ip extra pre uses 'log group 2', which needs a userspace daemon"
expect_eq "the trial load left the live ruleset alone" "$("$HALTFW" digest)" "$digest"
expect_eq "and came back to our namespace" "$(ip -br link show lan0 | awk '{print $1}')" "lan0@lan0p"

run_haltfw 0 --config "$WORK/haltfw.conf" apply
run_haltfw 1 --config "$WORK/haltfw.conf" check
expect_contains "tproxy, applied" "$OUT" "BLOCKER: ruleset: chain ip extra pre uses 'tproxy', which needs a userspace daemon"
expect_contains "verdict" "$OUT" "NOT ready to halt (2 blockers"
echo "ok: $TEST"
