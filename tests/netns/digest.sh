#!/bin/bash
# The digest against the real kernel: reloading the same ruleset (new
# handles), traffic through counters, and a hash set's element order leave it
# alone; a policy change, a rule change or a set element changes it.
. "$(dirname "$0")/lib.sh"

cat >"$WORK/a.nft" <<'NFT'
flush ruleset
table inet t {
    counter seen { }
    set hosts { type ipv4_addr; elements = { 192.0.2.10, 192.0.2.11, 192.0.2.12, 192.0.2.13 } }
    set nets { type ipv4_addr; flags interval; elements = { 203.0.113.0/28, 198.51.100.0/25 } }
    chain out {
        type filter hook output priority 0; policy accept;
        ip daddr 127.0.0.1 counter name "seen"
        ip daddr 127.0.0.1 counter accept
        ip daddr @hosts drop
    }
}
NFT
nft -f "$WORK/a.nft"
d1=$("$HALTFW" digest)

# Traffic on loopback moves the counters.
ping -c 3 -i 0.2 -W 1 127.0.0.1 >/dev/null
packets=$(nft -j list counter inet t seen | python3 -c 'import json,sys; print([o["counter"]["packets"] for o in json.load(sys.stdin)["nftables"] if "counter" in o][0])')
[ "$packets" -ge 3 ] || fail "the counter did not count ($packets)"
expect_eq "digest after traffic" "$("$HALTFW" digest)" "$d1"

# The same ruleset, loaded again: new handles. Then with the set elements
# written in another order.
nft -f "$WORK/a.nft"
expect_eq "digest after a reload" "$("$HALTFW" digest)" "$d1"
sed 's/192.0.2.10, 192.0.2.11, 192.0.2.12, 192.0.2.13/192.0.2.13, 192.0.2.11, 192.0.2.10, 192.0.2.12/' "$WORK/a.nft" >"$WORK/b.nft"
nft -f "$WORK/b.nft"
expect_eq "digest with elements in another order" "$("$HALTFW" digest)" "$d1"

nft -f "$WORK/a.nft"
nft add chain inet t out '{ policy drop; }'
d2=$("$HALTFW" digest)
[ "$d2" != "$d1" ] || fail "a policy change did not change the digest"

nft -f "$WORK/a.nft"
nft add element inet t hosts '{ 192.0.2.14 }'
[ "$("$HALTFW" digest)" != "$d1" ] || fail "a new set element did not change the digest"

nft -f "$WORK/a.nft"
nft delete element inet t nets '{ 198.51.100.0/25 }'
[ "$("$HALTFW" digest)" != "$d1" ] || fail "a removed interval did not change the digest"

sed 's/ip daddr @hosts drop/ip daddr @hosts reject/' "$WORK/a.nft" >"$WORK/c.nft"
nft -f "$WORK/c.nft"
[ "$("$HALTFW" digest)" != "$d1" ] || fail "a changed verdict did not change the digest"

nft -f "$WORK/a.nft"
expect_eq "back to the first ruleset" "$("$HALTFW" digest)" "$d1"
dump=$("$HALTFW" digest --dump)
expect_contains "digest --dump" "$dump" "chain inet t out:"
expect_contains "digest --dump" "$dump" "set inet t hosts:"
expect_eq "digest --dump ends with the digest" "$(tail -n 1 <<<"$dump")" "$d1"

# Saved on Windows: the config and the rules file with CRLF line ends and a
# byte order mark. apply loads the same ruleset (nft alone refuses the file);
# an error in it names the file and the line an editor shows.
{ printf '\xef\xbb\xbf'; sed 's/$/\r/' "$WORK/a.nft"; } >"$WORK/win.nft"
printf '\xef\xbb\xbf[ruleset]\r\nfile = win.nft\r\n' >"$WORK/win.conf"
nft flush ruleset
if nft -c -f "$WORK/win.nft" 2>/dev/null; then echo "note: this nft reads CRLF and a byte order mark itself"; fi
run_haltfw 0 --config "$WORK/win.conf" apply
expect_eq "digest of the ruleset from a CRLF file" "$("$HALTFW" digest)" "$d1"
sed -i 's/counter accept\r$/counter acept\r/' "$WORK/win.nft"
run_haltfw 2 --config "$WORK/win.conf" check
expect_contains "error in a CRLF file" "$OUT" "$WORK/win.nft:9:41-41: Error: syntax error, unexpected newline"
case "$OUT" in *"/proc/"*) fail "the error names the copy, not the file: $OUT" ;; esac
echo "ok: $TEST"
