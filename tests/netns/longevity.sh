#!/bin/bash
# check's longevity findings against the real kernel: an mngtmpaddr address
# under use_tempaddr = 2 (the kernel makes privacy addresses by itself), a
# set the packet path fills with no size (the kernel dumps 65535 for it),
# elements loaded with a timeout, and the conntrack table against the
# established timeout; before apply (trial load) and after (live ruleset);
# then the same box made fine, with its 'fine:' lines.
. "$(dirname "$0")/lib.sh"
make_links
write_config
cat >>"$WORK/rules.nft" <<'NFT'
table inet longevity {
    set seen {
        type ipv4_addr; flags dynamic,timeout; timeout 1h
    }
    set allow {
        type ipv4_addr; flags timeout
        elements = { 203.0.113.5 timeout 5m, 203.0.113.6 timeout 1h, 203.0.113.7 }
    }
    chain forward {
        type filter hook forward priority filter; policy accept;
        iifname "lan0" add @seen { ip saddr }
        ip daddr @allow accept
    }
}
NFT
echo "net.netfilter.nf_conntrack_tcp_timeout_established = 432000" >>"$CONF"
ip link set wan0 up
ip link set wan0p up  # with no carrier the kernel makes no temporary address at the add
sysctl -qw net.ipv6.conf.wan0.use_tempaddr=2 net.ipv6.conf.wan0.temp_prefered_lft=3600 \
    net.ipv6.conf.wan0.temp_valid_lft=7200 net.ipv6.conf.wan0.max_desync_factor=60
ip addr add 2001:db8:1::1/64 dev wan0 mngtmpaddr nodad

lines_with() { printf '%s\n' "$OUT" | grep -F -- "$1" || true; }

TEMP="WARNING: interface 'wan' (wan0): net.ipv6.conf.wan0.use_tempaddr = 2 (as it is now; [sysctl] does not set it) and address 2001:db8:1::1/64 has the flag mngtmpaddr: the kernel itself makes temporary (privacy) addresses from it, with no userspace and no router advertisement, and goes on doing so in the halted box: a new one about every 3600 s (temp_prefered_lft, less up to 60 s of max_desync_factor), each deleted 7200 s after it is made (temp_valid_lft); the box's own IPv6 traffic takes its source address from the newest (forwarded traffic is not touched); net.ipv6.conf.wan0.use_tempaddr = 0 in [sysctl] stops it"
SEEN="WARNING: ruleset: set inet longevity seen is filled by the packet path ('add @seen' in chain inet longevity forward) and holds at most 65535 elements, the size the kernel gives such a set when the ruleset gives none: once it holds that many, a packet that would add a new element then adds none, and the rule it is in stops there, unmatched (the packet goes on to the next rule); elements leave only when their timeout (1h) runs out; give it a 'size' fit for the load"
ALLOW="WARNING: ruleset: set inet longevity allow: 2 of its 3 elements have a timeout (the longest 1h): the kernel deletes each when it runs out, and in the halted box nothing loads it again, so the rules that match the set stop matching it"
# The conntrack line: its figures are this host's nf_conntrack_max.
conntrack_line() {
    local max per
    max=$(cat /proc/sys/net/netfilter/nf_conntrack_max)
    per=$((max * 60 / 432000))
    local s="such connections"
    [ "$per" -eq 1 ] && s="such connection"
    local head="conntrack: the table holds at most $max connections (net.netfilter.nf_conntrack_max, as it is now; [sysctl] does not set it), and a TCP connection that ends unseen (a host gone without FIN or RST) stays in it 432000 s (net.netfilter.nf_conntrack_tcp_timeout_established, as [sysctl] sets it): $per $s a minute would fill it"
    if [ "$per" -ge 10 ]; then
        echo "fine: $head (the floor taken: 10 a minute)"
    else
        echo "WARNING: $head, and in a halted box nothing flushes it; when it is full the packet of every new connection that finds no unassured entry to evict is dropped (the kernel logs 'nf_conntrack: table full, dropping packet'), and established ones go on; lower net.netfilter.nf_conntrack_tcp_timeout_established (3600, say) or raise net.netfilter.nf_conntrack_max in [sysctl]"
    fi
}

for phase in "trial load" "applied"; do
    [ "$phase" = applied ] && run_haltfw 0 --config "$CONF" apply
    run_haltfw 0 --verbose --config "$CONF" check
    expect_eq "$phase: no blockers" "$(lines_with BLOCKER)" ""
    expect_eq "$phase: temporary addresses" "$(lines_with "(wan0): net.ipv6.conf.wan0.use_tempaddr")" "$TEMP"
    expect_eq "$phase: filling set" "$(lines_with "set inet longevity seen")" "$SEEN"
    expect_eq "$phase: expiring elements" "$(lines_with "set inet longevity allow")" "$ALLOW"
    expect_eq "$phase: conntrack" "$(lines_with "conntrack: the table holds")" "$(conntrack_line)"
done
# The kernel made a temporary address by itself; it is no lease blocker.
[ -n "$(ip -6 addr show dev wan0 temporary)" ] || fail "no temporary address on wan0 (kernel: $(uname -r))"

# Made fine: privacy addresses off in [sysctl], a size and timeouts for the
# set, no timeouts on the loaded elements.
echo "net.ipv6.conf.wan0.use_tempaddr = 0" >>"$CONF"
sed -i -e 's/flags dynamic,timeout; timeout 1h$/flags dynamic,timeout; timeout 1h; size 4096/' \
    -e 's/203.0.113.5 timeout 5m, 203.0.113.6 timeout 1h, /203.0.113.5, 203.0.113.6, /' "$WORK/rules.nft"
run_haltfw 0 --verbose --config "$CONF" check
# (within the valid lifetime left, which ticks on: not compared)
expect_contains "fine: temporary addresses" "$(lines_with "use_tempaddr = 0 (")" \
    "fine: interface 'wan' (wan0): net.ipv6.conf.wan0.use_tempaddr = 0 (as [sysctl] sets it): the kernel makes no temporary (privacy) addresses; the 1 temporary address there now goes when its valid lifetime runs out, within "
expect_eq "fine: filling set" "$(lines_with "set inet longevity seen")" \
    "fine: ruleset: set inet longevity seen, filled by the packet path ('add @seen' in chain inet longevity forward), holds at most 4096 elements (its size), each until its timeout (1h) runs out"
expect_eq "fine: no expiring elements" "$(lines_with "set inet longevity allow")" ""

# What the warning says a full set does, on this kernel: the add fails, the
# rule stops there unmatched, the packet goes on to the next rule; an
# element already in the set still matches. Pings on loopback, one each.
for i in 1 2 3; do ip addr add "192.0.2.$i/32" dev lo; done
nft -f - <<'NFT'
table ip full {
    set s { type ipv4_addr; size 2; flags dynamic,timeout; timeout 1h; }
    chain out {
        type filter hook output priority filter; policy accept;
        icmp type echo-request add @s { ip daddr } counter
        icmp type echo-request counter
    }
}
NFT
for i in 1 2 3 1; do ping -c1 -W1 "192.0.2.$i" >/dev/null || fail "ping 192.0.2.$i"; done
counters=$(nft list chain ip full out | sed -n 's/.*counter packets \([0-9]*\) .*/\1/p' | tr '\n' ' ')
expect_eq "full set: the adding rule matched 3 of 4, the next rule saw all 4" "$counters" "3 4 "
echo "ok: $TEST"
