#!/bin/bash
# apply configures links, addresses, routes, sysctls and the ruleset; a
# second apply changes nothing.
. "$(dirname "$0")/lib.sh"
make_links
write_config

run_haltfw 0 --config "$WORK/haltfw.conf" apply
expect_contains "apply output" "$OUT" "interface 'lan' (lan0): add address 2001:db8:2::1/64"
expect_contains "apply output" "$OUT" "applied 29 changes (ruleset generation "

addrs=$(ip -j addr show | python3 -c '
import json, sys
for l in json.load(sys.stdin):
    if l["ifname"] in ("wan0", "lan0"):
        print(l["ifname"], l["mtu"], "UP" in l["flags"],
              sorted(a["local"] + "/" + str(a["prefixlen"]) for a in l["addr_info"] if a.get("scope") == "global"),
              all(a.get("valid_life_time") == 4294967295 for a in l["addr_info"]))')
expect_eq "links and addresses" "$addrs" "wan0 1500 True ['198.51.100.1/24', '2001:db8:1::1/64'] True
lan0 1400 True ['192.0.2.1/24', '2001:db8:2::1/64'] True"

routes=$(ip -j -4 route show table main | python3 -c '
import json, sys
for r in json.load(sys.stdin):
    if r.get("protocol") == "static": print(r["dst"], r.get("gateway"), r["dev"])')
expect_eq "static routes" "$routes" "default 198.51.100.254 wan0
203.0.113.0/24 198.51.100.253 wan0"

routes6=$(ip -j -6 route show table main | python3 -c '
import json, sys
for r in json.load(sys.stdin):
    if r.get("protocol") == "static": print(r["dst"], r.get("gateway"), r["dev"], r.get("metric"))')
expect_eq "static IPv6 routes" "$routes6" "default 2001:db8:1::fffe wan0 1024"

expect_eq "ip_forward" "$(cat /proc/sys/net/ipv4/ip_forward)" 1
expect_eq "default rp_filter" "$(cat /proc/sys/net/ipv4/conf/all/rp_filter)" 1
expect_eq "default accept_redirects" "$(cat /proc/sys/net/ipv6/conf/all/accept_redirects)" 0
# Router advertisements off on each configured link: once halted the kernel
# would otherwise still take addresses and routes from any RA.
expect_eq "wan0 accept_ra" "$(cat /proc/sys/net/ipv6/conf/wan0/accept_ra)" 0
expect_eq "lan0 autoconf" "$(cat /proc/sys/net/ipv6/conf/lan0/autoconf)" 0

chains=$(nft -j list ruleset | python3 -c '
import json, sys
for o in json.load(sys.stdin)["nftables"]:
    c = o.get("chain")
    if c: print(c["family"], c["table"], c["name"], c.get("policy", "-"))
    s = o.get("set")
    if s: print("set", s["name"], s.get("elem"))')
expect_eq "nft chains and sets" "$chains" "set blocked [{'prefix': {'addr': '203.0.113.0', 'len': 28}}]
inet filter input drop
inet filter forward drop
ip nat postrouting accept"

digest=$("$HALTFW" digest)
run_haltfw 0 --config "$WORK/haltfw.conf" apply
expect_eq "second apply" "$OUT" "nothing to change: the live state matches $WORK/haltfw.conf"
expect_eq "digest after the second apply" "$("$HALTFW" digest)" "$digest"

run_haltfw 0 --config "$WORK/haltfw.conf" status
expect_contains "status" "$OUT" "state: matches the config"
expect_contains "status" "$OUT" "ruleset digest: $digest"
expect_contains "status" "$OUT" "ruleset: as applied from this config (generation "

# Someone changes the ruleset behind haltfw's back: status sees it, and the
# next apply puts the configured ruleset back.
nft add rule inet filter forward accept
run_haltfw 1 --config "$WORK/haltfw.conf" status
expect_contains "status after tampering" "$OUT" "differs from the config (1 pending changes)"
expect_contains "status after tampering" "$OUT" "ruleset: changed since the last apply (generation "
run_haltfw 0 --config "$WORK/haltfw.conf" apply
expect_contains "apply after tampering" "$OUT" "load the ruleset (1 rules file) in one transaction"
expect_eq "digest restored" "$("$HALTFW" digest)" "$digest"
echo "ok: $TEST"
