#!/bin/bash
# Change detection covers what the rules file includes: an edit in a file
# included two levels down, or a file added to or edited in an included
# directory, makes status say the inputs changed and apply load the
# ruleset again; nothing else edited leaves "nothing to change" true.
. "$(dirname "$0")/lib.sh"
make_links
write_config
mkdir -p "$WORK/conf.d"
cat >"$WORK/rules.nft" <<NFT
include "$WORK/defs.nft"
table inet filter {
    chain input {
        type filter hook input priority filter; policy drop;
        iifname "lo" accept
    }
    chain forward {
        type filter hook forward priority filter; policy drop;
        ip saddr \$lan accept
    }
}
include "$WORK/conf.d/*.nft"
NFT
echo "include \"$WORK/nested.nft\"" >"$WORK/defs.nft"
echo "define lan = 192.0.2.0/24" >"$WORK/nested.nft"
printf 'table ip extra {\n    set blocked {\n        type ipv4_addr\n        elements = { 203.0.113.1 }\n    }\n}\n' >"$WORK/conf.d/10-blocked.nft"
echo "not included" >"$WORK/conf.d/.hidden.nft"

run_haltfw 0 --config "$CONF" apply
run_haltfw 0 --config "$CONF" apply
expect_eq "second apply" "$OUT" "nothing to change: the live state matches $CONF"
echo "# an unrelated file, not included" >"$WORK/other.nft"
echo "# a dot file is not matched" >>"$WORK/conf.d/.hidden.nft"
run_haltfw 0 --config "$CONF" apply
expect_eq "apply after unrelated edits" "$OUT" "nothing to change: the live state matches $CONF"

# changed_then_loaded WHAT NEEDLE: status sees the inputs changed, apply
# loads the ruleset, and the kernel then holds NEEDLE.
changed_then_loaded() {
    run_haltfw 1 --config "$CONF" status
    expect_contains "$1: status" "$OUT" "ruleset: the rules files or the files they include changed since the last apply"
    run_haltfw 0 --config "$CONF" apply
    expect_contains "$1: apply notice" "$OUT" "ruleset: the rules files or the files they include changed since the last apply; loading it again"
    expect_contains "$1: apply" "$OUT" "load the ruleset (1 rules file) in one transaction"
    expect_contains "$1: kernel" "$(nft list ruleset)" "$2"
    run_haltfw 0 --config "$CONF" status
    expect_contains "$1: status after" "$OUT" "ruleset: as applied from this config (generation "
}

sed -i 's|192.0.2.0/24|192.0.2.0/25|' "$WORK/nested.nft"
changed_then_loaded "nested include" "ip saddr 192.0.2.0/25 accept"

sed -i 's|203.0.113.1|203.0.113.2|' "$WORK/conf.d/10-blocked.nft"
changed_then_loaded "file in the included directory" "elements = { 203.0.113.2 }"

printf 'table ip more {\n}\n' >"$WORK/conf.d/20-more.nft"
changed_then_loaded "file added to the included directory" "table ip more"

rm "$WORK/conf.d/20-more.nft"
run_haltfw 1 --config "$CONF" status
expect_contains "file removed: status" "$OUT" "ruleset: the rules files or the files they include changed since the last apply"
run_haltfw 0 --config "$CONF" apply
case $(nft list ruleset) in *"table ip more"*) fail "a removed file's table is still loaded" ;; esac
echo "ok: $TEST"
