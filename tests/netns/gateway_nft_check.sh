#!/bin/bash
# Every golden file of the gateway profile (tests/data/gateway/NAME.nft) is
# accepted by the real kernel: in check mode, and committed for real, where
# the kernel then holds the profile's table and chains. show-ruleset prints
# exactly the golden text for NAME.conf, and its whole output is nft input.
. "$(dirname "$0")/lib.sh"
DATA=$(cd "$(dirname "$0")/../data/gateway" && pwd)

chains() {
    nft -j list ruleset | python3 -c '
import json, sys
for o in json.load(sys.stdin)["nftables"]:
    c = o.get("chain")
    if c: print(c["family"], c["table"], c["name"], c.get("hook", "-"), c.get("policy", "-"))'
}

# Flowtables (fastpath = yes) need nf_flow_table: this machine's kernel may
# have none, and then the appliance's kernel checks those golden files
# (tests/guest/gateway/fastpath.sh), not this test.
flowtables=1
printf 'table inet probe {\n\tflowtable f {\n\t\thook ingress priority filter\n\t\tdevices = { "lo" }\n\t}\n}\n' |
    nft -c -f - 2>/dev/null || flowtables=0
n=0
elsewhere=()
for conf in "$DATA"/*.conf; do
    name=$(basename "$conf" .conf)
    golden="$DATA/$name.nft"
    [ -f "$golden" ] || fail "$name: no golden file $golden"
    if [ "$flowtables" = 0 ] && grep -q '^\s*flowtable ' "$golden"; then
        elsewhere+=("$name")
        continue
    fi

    # A config with a WireGuard interface (vpn =) names a key file beside
    # it, which must be root's and mode 0600: the test writes one, beside a
    # copy of the config (the repository cannot hold such a file).
    if grep -q '^wireguard-key' "$conf"; then
        mkdir -p "$WORK/$name"
        cp "$conf" "$WORK/$name/"
        sed -n 's/^wireguard-key = \([^ ]*\).*/\1/p' "$conf" | while read -r key; do
            (umask 077 && echo "YEC4W2pTCnOrrFHsvRDMl9XlsMOaXLYjCWSnp05WLnM=" >"$WORK/$name/$key")
        done
        conf="$WORK/$name/$name.conf"
    fi

    out=$(nft -c -f "$golden" 2>&1) || fail "$name: 'nft -c -f' refused the golden file:
$out"
    out=$(nft -f "$golden" 2>&1) || fail "$name: 'nft -f' refused the golden file:
$out"
    expect_eq "$name: chains in the kernel" "$(chains)" "inet gateway antispoof prerouting accept
inet gateway input input drop
inet gateway input_extra - -
inet gateway forward forward drop
inet gateway forward_extra - -
inet gateway output output accept
inet gateway dstnat prerouting accept
inet gateway srcnat postrouting accept"
    nft flush ruleset

    run_haltfw 0 --config "$conf" show-ruleset
    expect_eq "$name: show-ruleset" "$OUT" "# What 'haltfw apply' loads for $conf, after 'flush ruleset', in one transaction.
$(cat "$golden")
# No [ruleset] files follow."
    out=$(printf '%s\n' "$OUT" | nft -c -f - 2>&1) || fail "$name: show-ruleset's output is not nft input:
$out"
    n=$((n + 1))
done
[ "$n" -ge 6 ] || fail "expected at least 6 golden files in $DATA, found $n"

# Without [gateway], show-ruleset says so and lists the rules files.
printf '[ruleset]\nfile = %s/rules.nft\n' "$WORK" >"$WORK/plain.conf"
: >"$WORK/rules.nft"
run_haltfw 0 --config "$WORK/plain.conf" show-ruleset
expect_eq "show-ruleset without [gateway]" "$OUT" "# What 'haltfw apply' loads for $WORK/plain.conf, after 'flush ruleset', in one transaction.
# No [gateway] or [bridge-filter]: the ruleset is the [ruleset] files alone.
# The [ruleset] files, in this order:
#   $WORK/rules.nft (line 2)"

# A bad [gateway] key: exit 2 with the line, as every verb that reads the config.
printf '[gateway]\nlan = lan\nwan = wan\nicmp = sometimes\n' >"$WORK/bad.conf"
run_haltfw 2 --config "$WORK/bad.conf" show-ruleset
expect_contains "bad key" "$OUT" "$WORK/bad.conf:4: [gateway] icmp 'sometimes': expected yes or no"
expect_contains "bad key" "$OUT" "haltfw: 3 errors in $WORK/bad.conf; nothing changed"
echo "ok: $TEST ($n golden files${elsewhere[*]:+; with a flowtable, checked in the appliance: ${elsewhere[*]}})"
