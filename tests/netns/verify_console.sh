#!/bin/bash
# verify-console --config: the digest a config arms, computed in a scratch
# network namespace, is the one apply leaves in the kernel (what arm
# records); the caller's namespace is not touched; a report of another
# ruleset is not accepted.
. "$(dirname "$0")/lib.sh"
GATEWAY=$(cd "$(dirname "$0")/../data/gateway" && pwd)

# report LOG DIGEST: a complete, clean HALTED-OK report of DIGEST.
report() {
    cat >"$1" <<LOG
[   43.356789] systemd-shutdown[1]: Returning to initrd...
HALTFW: report begin (haltfw 0.1.0)
HALTFW: processes: none but PID 1 (31 kernel threads)
HALTFW: ruleset: digest $2 as armed (12 objects)
HALTFW: links: 2 up with 4 addresses
HALTFW: HALTED-OK digest=$2 links=2 lines=4
LOG
}

make_links
write_config
run_haltfw 0 --config "$WORK/haltfw.conf" apply
armed=$("$HALTFW" digest)
nft flush ruleset
# The links as a list to compare, without NO-CARRIER: a veth whose peer
# is down gains it some moments after it is set up, whatever runs.
links() { ip -o link show | sed 's/^[0-9]*: //; s/ state .*//; s/NO-CARRIER,//'; }
before=$(links)
empty=$("$HALTFW" digest)

report "$WORK/ok.log" "$armed"
run_haltfw 0 verify-console --config "$WORK/haltfw.conf" "$WORK/ok.log"
expect_contains "--config" "$OUT" "verify-console: '$WORK/haltfw.conf' arms the ruleset digest $armed (loaded in a scratch network namespace)"
expect_eq "--config: verdict" "$(tail -n 1 <<<"$OUT")" "verify-console: a complete HALTED-OK report (digest $armed, the armed one)"
# Before the verb, short form: the same global option.
run_haltfw 0 -c "$WORK/haltfw.conf" verify-console "$WORK/ok.log"
expect_eq "-c before the verb" "$(tail -n 1 <<<"$OUT")" "verify-console: a complete HALTED-OK report (digest $armed, the armed one)"

# Nothing here changed: no scratch link, no ruleset (and no commit).
expect_eq "links after verify-console" "$(links)" "$before"
expect_eq "ruleset after verify-console" "$(nft list ruleset)" ""
expect_eq "digest after verify-console" "$("$HALTFW" digest)" "$empty"

# Another ruleset in the config: the report is not of it.
sed -i 's/chain forward {/chain forward {\n        ip saddr 203.0.113.7 drop/' "$WORK/rules.nft"
run_haltfw 1 verify-console --config "$WORK/haltfw.conf" "$WORK/ok.log"
other=$(sed -n "s/^verify-console: '.*' arms the ruleset digest \([0-9a-f]*\) .*/\1/p" <<<"$OUT")
[ -n "$other" ] && [ "$other" != "$armed" ] || fail "an edited ruleset arms the same digest '$other':
$OUT"
expect_eq "another ruleset: verdict" "$(tail -n 1 <<<"$OUT")" \
    "verify-console: HALTED-OK not accepted: the report's digest '$armed' is not the armed digest '$other'"

# A ruleset that does not load, a broken config: exit 2, nothing judged.
echo 'table inet filter { chain c { type filter hook forward priority 0; policy bogus; }' >"$WORK/rules.nft"
run_haltfw 2 verify-console --config "$WORK/haltfw.conf" "$WORK/ok.log"
expect_contains "a ruleset that does not load" "$OUT" "haltfw: verify-console: the ruleset of '$WORK/haltfw.conf' does not load"
expect_contains "nft's own message" "$OUT" "$WORK/rules.nft:1:"
echo 'bogus' >"$WORK/bad.conf"
run_haltfw 2 verify-console --config "$WORK/bad.conf" "$WORK/ok.log"
expect_contains "a broken config" "$OUT" "in $WORK/bad.conf; nothing changed"

# The gateway profile, whose devices do not exist here: the scratch
# namespace has stand-ins for them, and the digest is the one apply leaves
# where they do exist.
ip link add eth0 type veth peer name eth0p
ip link add eth1 type veth peer name eth1p
run_haltfw 0 --config "$GATEWAY/minimal.conf" apply
gw=$("$HALTFW" digest)
nft flush ruleset
ip link del eth0
ip link del eth1
report "$WORK/gw.log" "$gw"
run_haltfw 0 verify-console --config "$GATEWAY/minimal.conf" "$WORK/gw.log"
expect_eq "gateway: verdict" "$(tail -n 1 <<<"$OUT")" "verify-console: a complete HALTED-OK report (digest $gw, the armed one)"
expect_eq "gateway: ruleset after verify-console" "$(nft list ruleset)" ""
echo "ok: $TEST"
