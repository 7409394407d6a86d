#!/bin/bash
# A ruleset that filters nothing: an empty rules file loads (apply says so),
# but check blocks and arm refuses while the box forwards a family with no
# base chain on its forward hook, naming the family; an ip forward chain
# does not cover IPv6; an inet one covers both; no input chain is a warning.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/arm_env.bash"
make_links
write_config
FWD4="BLOCKER: ruleset: no base chain on the forward hook for IPv4 (a chain of family ip or inet with 'hook forward'), and net.ipv4.ip_forward = 1 (as [sysctl] sets it): the halted box would forward every IPv4 packet unfiltered"
IN4="WARNING: ruleset: no base chain on the input hook for IPv4 (a chain of family ip or inet with 'hook input'): every IPv4 packet to the box itself is accepted"
IN6="WARNING: ruleset: no base chain on the input hook for IPv6 (a chain of family ip6 or inet with 'hook input'): every IPv6 packet to the box itself is accepted"

# lines_with PREFIX: the lines of $OUT that start with PREFIX.
lines_with() {
    grep "^$1" <<<"$OUT" || true
}

# An empty rules file, before anything is applied (check's trial load).
: >"$WORK/rules.nft"
run_haltfw 1 --config "$CONF" check
expect_eq "empty: blockers" "$(lines_with BLOCKER)" "$FWD4"
expect_eq "empty: hook warnings" "$(lines_with 'WARNING: ruleset')" "$IN4
$IN6"
expect_contains "empty: verdict" "$OUT" "NOT ready to halt (1 blocker, 2 warnings)"

# apply loads it (an admin may want an empty ruleset) and says what it means.
run_haltfw 0 --config "$CONF" apply
expect_contains "empty: apply" "$OUT" "haltfw: warning: the ruleset loaded is empty: nothing is filtered ('haltfw check' and 'haltfw arm' refuse it on a box that forwards)"
expect_eq "empty: the kernel's ruleset" "$(nft list ruleset)" ""
run_haltfw 1 --config "$CONF" check
expect_eq "empty, applied: blockers" "$(lines_with BLOCKER)" "$FWD4"

# arm refuses, and arms nothing.
run_haltfw 1 --config "$CONF" arm --final "$FINAL"
expect_contains "empty: arm" "$OUT" "$FWD4"
expect_contains "empty: arm verdict" "$OUT" "haltfw: cannot arm: 1 blocker; nothing armed (apply's changes stay)"
expect_eq "empty: nothing mounted" "$(exitrd_mounts)" 0
[ -e "$HALTFW_EXITRD/haltfw.manifest" ] && fail "empty: arm left a manifest"

# A table with a regular chain only: no base chain either.
printf 'table inet t {\n    chain c {\n        accept\n    }\n}\n' >"$WORK/rules.nft"
run_haltfw 0 --config "$CONF" apply
expect_contains "no base chain: apply" "$OUT" "haltfw: warning: the ruleset loaded has no base chain: nothing is filtered"
run_haltfw 1 --config "$CONF" check
expect_eq "no base chain: blockers" "$(lines_with BLOCKER)" "$FWD4"

# IPv6 forwarding on (as it is now, [sysctl] silent) and an ip forward chain
# only: IPv6 is the family without one.
sysctl -qw net.ipv6.conf.all.forwarding=1
cat >"$WORK/rules.nft" <<'NFT'
table ip filter {
    chain input {
        type filter hook input priority filter; policy accept;
    }
    chain forward {
        type filter hook forward priority filter; policy drop;
    }
}
NFT
run_haltfw 1 --config "$CONF" check
expect_eq "ip only: blockers" "$(lines_with BLOCKER)" "BLOCKER: ruleset: no base chain on the forward hook for IPv6 (a chain of family ip6 or inet with 'hook forward'), and net.ipv6.conf.all.forwarding = 1 (as it is now; [sysctl] does not set it): the halted box would forward every IPv6 packet unfiltered"
expect_eq "ip only: hook warnings" "$(lines_with 'WARNING: ruleset')" "$IN6"
run_haltfw 1 --config "$CONF" arm --final "$FINAL"
expect_contains "ip only: arm verdict" "$OUT" "haltfw: cannot arm: 1 blocker; nothing armed (apply's changes stay)"

# An inet forward chain covers both; with no input chain, warnings only.
cat >"$WORK/rules.nft" <<'NFT'
table inet filter {
    chain forward {
        type filter hook forward priority filter; policy drop;
        ct state established,related accept
    }
}
NFT
run_haltfw 0 --config "$CONF" check
expect_eq "inet forward: blockers" "$(lines_with BLOCKER)" ""
expect_eq "inet forward: hook warnings" "$(lines_with 'WARNING: ruleset')" "$IN4
$IN6"
expect_contains "inet forward: verdict" "$OUT" "ready to halt (0 blockers, 2 warnings)"
[ -z "$(lines_with fine:)" ] || fail "check listed what it found fine without --verbose: $(lines_with fine:)"
# --verbose lists what it checked and found fine as well.
run_haltfw 0 --verbose --config "$CONF" check
expect_eq "inet forward: fine, forward hooks" "$(lines_with 'fine: ruleset: a base chain')" \
    "fine: ruleset: a base chain on the forward hook for IPv4
fine: ruleset: a base chain on the forward hook for IPv6"
expect_contains "inet forward: fine, trial restore" "$OUT" \
    "fine: ruleset: a trial restore in a scratch network namespace put it back whole"
expect_contains "inet forward: fine, memory" "$OUT" "fine: ruleset: halting with it needs about "
run_haltfw 0 --config "$CONF" arm --final "$FINAL"
expect_contains "inet forward: armed" "$OUT" "armed: digest "
run_haltfw 0 disarm

# An input-only ruleset on a box that forwards nothing: no blocker, and no
# input warning either.
sysctl -qw net.ipv6.conf.all.forwarding=0
sed -i 's/^net.ipv4.ip_forward = 1$/net.ipv4.ip_forward = 0/' "$CONF"
cat >"$WORK/rules.nft" <<'NFT'
table inet filter {
    chain input {
        type filter hook input priority filter; policy drop;
        iifname "lo" accept
    }
}
NFT
run_haltfw 0 --config "$CONF" check
expect_eq "input only, not forwarding: blockers" "$(lines_with BLOCKER)" ""
expect_eq "input only, not forwarding: hook warnings" "$(lines_with 'WARNING: ruleset')" ""
expect_contains "input only: verdict" "$OUT" "ready to halt (0 blockers, 1 warning)"
echo "ok: $TEST"
