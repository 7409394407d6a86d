#!/bin/bash
# verify-console on sample serial logs: exit 0 only for a complete
# HALTED-OK report that proves its halt (a digest, the armed one with
# --digest; a body that reports no failure), 1 for HALTED-FAIL, a truncated
# report or one that proves nothing, 2 for none or a bad command line, 3
# for a log that cannot be read. No root, no namespace (--config:
# tests/netns/verify_console.sh).
#   tests/verify_console.sh /path/to/haltfw tests/data
set -euo pipefail
HALTFW=${1:?usage: $0 HALTFW DATA_DIR}
DATA=${2:?usage: $0 HALTFW DATA_DIR}
DIGEST=e15c3fb957cb389075e862bdf02030b4874556a42bc8a5d0c07fa817a94c1a8d
FORGED=5e1f0b0c4c6f2a8d9b3e7a1c2d4f6e8a0b1c3d5e7f9a2b4c6d8e0f1a3b5c7d9e

fail() {
    echo "FAIL: verify-console: $*" >&2
    exit 1
}

# check LOG EXPECTED_RC LAST_LINE [OPTION...]: runs verify-console, checks
# the exit code and the verdict (the last line of its output).
check() {
    local rc=0 out
    out=$("$HALTFW" verify-console "${@:4}" "$DATA/$1" 2>&1) || rc=$?
    [ "$rc" -eq "$2" ] || fail "$1: exit $rc, expected $2; output:
$out"
    [ "$(tail -n 1 <<<"$out")" = "$3" ] || fail "$1: expected the verdict '$3'; output:
$out"
    OUT=$out
}

check console-ok.log 0 "verify-console: a complete HALTED-OK report (digest $DIGEST)"
# The report's lines are printed as found, the kernel message between them
# left out, CRs stripped.
[ "$(head -n 1 <<<"$OUT")" = "HALTFW: report begin (haltfw 0.1.0)" ] || fail "console-ok.log: first line: $OUT"
[ "$(wc -l <<<"$OUT")" -eq 12 ] || fail "console-ok.log: expected 9 report lines, haltfw-inert's line, the note and the verdict: $OUT"
[ "$(sed -n 11p <<<"$OUT")" = "verify-console: no armed digest to hold the report's to (give --digest HEX or --config FILE)" ] ||
    fail "console-ok.log: no note that the digest was not checked: $OUT"
[ "$(sed -n 10p <<<"$OUT")" = "HALTFW: INERT rss_kib=704 rss_anon_kib=52 rss_file_kib=652 vm_rss_kib=704 vm_hwm_kib=716 mem_used_kib=108420 removed=9 remove_failed=0 freed_kib=2796 left_kib=668 ctrl_alt_del=ignore" ] ||
    fail "console-ok.log: the INERT line is not printed after the report: $OUT"
grep -q $'\r' <<<"$OUT" && fail "console-ok.log: CR left in the output"

# With a 'panic:' line in the report and haltfw-inert's ALIVE lines after it
# ([halt] panic-reboot and heartbeat): the same verdict; the last ALIVE line
# is printed after the INERT line, with their count.
check console-alive.log 0 "verify-console: a complete HALTED-OK report (digest $DIGEST)"
alive="HALTFW: ALIVE up=164 load1=0.00 mem_avail_kib=871500 mem_free_kib=850100 conntrack=1 rss_kib=708"
[ "$(sed -n 12p <<<"$OUT")" = "$alive (the last of 2 ALIVE lines)" ] ||
    fail "console-alive.log: the last ALIVE line is not printed after the INERT line: $OUT"

check console-fail.log 1 "verify-console: HALTED-FAIL (reason ruleset)"
check console-truncated.log 1 "verify-console: a truncated report: it counts lines=8 but 7 lines arrived before its last"
check console-cut.log 1 "verify-console: a truncated report: it has no HALTED-OK or HALTED-FAIL line"
check console-retry.log 0 "verify-console: a complete HALTED-OK report (digest $DIGEST)"
check console-none.log 2 "verify-console: no haltfw report in '$DATA/console-none.log'"

# Bound to the armed digest.
check console-ok.log 0 "verify-console: a complete HALTED-OK report (digest $DIGEST, the armed one)" --digest "$DIGEST"
[ "$(wc -l <<<"$OUT")" -eq 11 ] || fail "console-ok.log --digest: a note although the digest was checked: $OUT"
check console-ok.log 0 "verify-console: a complete HALTED-OK report (digest $DIGEST, the armed one)" --digest="$DIGEST"
check console-ok.log 1 "verify-console: HALTED-OK not accepted: the report's digest '$DIGEST' is not the armed digest '$FORGED'" --digest "$FORGED"
check console-retry.log 0 "verify-console: a complete HALTED-OK report (digest $DIGEST, the armed one)" --digest "$DIGEST"
check console-fail.log 1 "verify-console: HALTED-FAIL (reason ruleset)" --digest "$DIGEST"
check console-truncated.log 1 "verify-console: a truncated report: it counts lines=8 but 7 lines arrived before its last" --digest "$DIGEST"
check console-none.log 2 "verify-console: no haltfw report in '$DATA/console-none.log'" --digest "$DIGEST"
# A well-formed OK of another ruleset: only the armed digest tells it.
check console-forged.log 0 "verify-console: a complete HALTED-OK report (digest $FORGED)"
check console-forged.log 1 "verify-console: HALTED-OK not accepted: the report's digest '$FORGED' is not the armed digest '$DIGEST'" --digest "$DIGEST"

# Reports that prove nothing, with or without --digest.
for opt in "" "--digest=$DIGEST"; do
    check console-nodigest.log 1 "verify-console: HALTED-OK not accepted: the report has no digest" $opt
    check console-failbody.log 1 "verify-console: HALTED-OK not accepted: the report's body says 'ruleset: digest $FORGED differs from the armed $DIGEST; restore failed: elements of set inet filter geoip: File exists'" $opt
done

# A --digest that is not one is a usage error; so is --digest with --config.
for bad in "${DIGEST^^}" "${DIGEST:1}" "${DIGEST}0" "" "sha256:$DIGEST"; do
    check console-ok.log 2 "haltfw: verify-console: --digest '$bad' is not a ruleset digest (64 lowercase hex digits)" --digest "$bad"
done
check console-ok.log 2 "haltfw: verify-console: give --digest or --config, not both (try 'haltfw verify-console --help')" \
    --digest "$DIGEST" --config /nonexistent/haltfw.conf
check no-such.log 3 "haltfw: verify-console: read $DATA/no-such.log: No such file or directory"

# netconsole captures, made from console-ok.log as the kernel sends its
# lines (non-extended netconsole, 6.1): each line the final stage and
# haltfw-inert wrote to the kernel log, after the kernel's time stamp, one
# datagram each, their payloads one after another as socat writes them.
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
grep -a 'HALTFW: ' "$DATA/console-ok.log" | tr -d '\r' |
    awk '{ printf "[%5d.%06d] %s\n", 43, 400000 + NR * 150, $0 }
         NR == 3 { print "[   43.400200] nft drop: IN=eth0 OUT=eth1 SRC=198.51.100.7 DST=192.0.2.10" }' \
        >"$TMP/netconsole-ok.txt"
from_kernel="verify-console: read from the kernel log's copies of the lines (a netconsole capture)"
DATA=$TMP check netconsole-ok.txt 0 "verify-console: a complete HALTED-OK report (digest $DIGEST, the armed one)" --digest "$DIGEST"
grep -qxF "$from_kernel" <<<"$OUT" || fail "netconsole-ok.txt: not read as a netconsole capture: $OUT"
[ "$(grep -c '^HALTFW: ' <<<"$OUT")" -eq 10 ] || fail "netconsole-ok.txt: expected 9 report lines and the INERT line: $OUT"
DATA=$TMP check netconsole-ok.txt 1 "verify-console: HALTED-OK not accepted: the report's digest '$DIGEST' is not the armed digest '$FORGED'" --digest "$FORGED"
# A datagram received twice: counted once, and said.
sed '/HALTFW: swap: off/p' "$TMP/netconsole-ok.txt" >"$TMP/netconsole-twice.txt"
DATA=$TMP check netconsole-twice.txt 0 "verify-console: a complete HALTED-OK report (digest $DIGEST, the armed one)" --digest "$DIGEST"
grep -qxF "$from_kernel; 1 received twice, counted once" <<<"$OUT" || fail "netconsole-twice.txt: the duplicate not said: $OUT"
# One lost: truncated.
grep -v 'HALTFW: swap: off' "$TMP/netconsole-ok.txt" >"$TMP/netconsole-lost.txt"
DATA=$TMP check netconsole-lost.txt 1 "verify-console: a truncated report: it counts lines=8 but 7 lines arrived before its last" --digest "$DIGEST"
# Without time stamps (printk.time=0): one line twice and another lost
# make the count right; the verdict refuses it all the same.
sed -e 's/^\[[ 0-9.]*\] //' -e '/HALTFW: swap: off/p' -e '/HALTFW: links: /d' "$TMP/netconsole-ok.txt" >"$TMP/netconsole-plain.txt"
DATA=$TMP check netconsole-plain.txt 1 "verify-console: HALTED-OK not accepted: the report has the line 'swap: off' twice (its count matches, so another line is missing)" --digest "$DIGEST"
# A serial log where the console shows the kernel's copies as well: the
# lines written to it count, once; the same output as console-ok.log's.
cat "$DATA/console-ok.log" "$TMP/netconsole-ok.txt" >"$TMP/serial-copies.log"
plain=$("$HALTFW" verify-console --digest "$DIGEST" "$DATA/console-ok.log" 2>&1)
DATA=$TMP check serial-copies.log 0 "verify-console: a complete HALTED-OK report (digest $DIGEST, the armed one)" --digest "$DIGEST"
[ "$OUT" = "$plain" ] || fail "serial-copies.log: not read as console-ok.log: $OUT"
# The copies short of a line the kernel takes: the two disagree.
machine=$(grep -a 'HALTFW: HALTED-OK' "$DATA/console-ok.log" | tr -d '\r' | sed 's/^HALTFW: //')
cat "$DATA/console-ok.log" "$TMP/netconsole-lost.txt" >"$TMP/serial-lost.log"
disagree="verify-console: not proven: the lines written directly and the kernel's copies of them disagree"
DATA=$TMP check serial-lost.log 1 "$disagree (written: '$machine'; copies: '$machine', truncated)" --digest "$DIGEST"
# A raw capture with one unstamped line that anyone could have sent: the
# box's stamped lines still count, and the two readings disagree.
{ echo "HALTFW: swap: off"; cat "$TMP/netconsole-ok.txt"; } >"$TMP/netconsole-forged-line.txt"
DATA=$TMP check netconsole-forged-line.txt 1 "$disagree (written: no machine line; copies: '$machine')" --digest "$DIGEST"
# A forged unstamped report after the box's stamped HALTED-FAIL: refused.
grep -a 'HALTFW: ' "$DATA/console-fail.log" | tr -d '\r' | awk '{ printf "[%5d.%06d] %s\n", 43, 400000 + NR * 150, $0 }' \
    >"$TMP/netconsole-fail-forged.txt"
grep -a 'HALTFW: ' "$DATA/console-ok.log" | tr -d '\r' >>"$TMP/netconsole-fail-forged.txt"
failed=$(grep -a 'HALTFW: HALTED-FAIL' "$DATA/console-fail.log" | tr -d '\r' | sed 's/^HALTFW: //')
DATA=$TMP check netconsole-fail-forged.txt 1 "$disagree (written: '$machine'; copies: '$failed')" --digest "$DIGEST"

# pcap captures (raw IPv4, little-endian), one datagram a line.
export LC_ALL=C
hex() { printf '\\x%02x' "$@"; }
le32() { hex $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
be16() { hex $(($1 >> 8 & 255)) $(($1 & 255)); }
pcap_header() { printf '%b' "$(le32 0xa1b2c3d4)\\x02\\x00\\x04\\x00$(le32 0)$(le32 0)$(le32 65535)$(le32 101)"; }
# pcap_lines HOST SPORT <FILE: each line a UDP datagram from 192.0.2.HOST
# port SPORT to 192.0.2.10 port 6666, its newline left off.
pcap_lines() {
    local l n
    while IFS= read -r l; do
        n=${#l}
        printf '%b' "$(le32 0)$(le32 0)$(le32 $((28 + n)))$(le32 $((28 + n)))"
        printf '%b' "\\x45\\x00$(be16 $((28 + n)))\\x00\\x01\\x40\\x00\\x40\\x11\\x00\\x00\\xc0\\x00\\x02$(hex "$1")"
        printf '%b' "\\xc0\\x00\\x02\\x0a$(be16 "$2")$(be16 6666)$(be16 $((8 + n)))\\x00\\x00"
        printf '%s' "$l"
    done
}
{ pcap_header; pcap_lines 1 6665 <"$TMP/netconsole-ok.txt"; } >"$TMP/box.pcap"
DATA=$TMP check box.pcap 0 "verify-console: a complete HALTED-OK report (digest $DIGEST, the armed one)" --digest "$DIGEST"
# A forged report from another host after the box's: refused, the senders named.
grep -a 'HALTFW: ' "$DATA/console-forged.log" | tr -d '\r' | awk '{ printf "[%5d.%06d] %s\n", 44, 400000 + NR * 150, $0 }' \
    >"$TMP/forged.txt"
{ cat "$TMP/box.pcap"; pcap_lines 66 6665 <"$TMP/forged.txt"; } >"$TMP/two.pcap"
DATA=$TMP check two.pcap 2 "haltfw: verify-console: '$TMP/two.pcap': report lines (HALTFW:) from 2 senders, 192.0.2.1 port 6665 and 192.0.2.66 port 6665: capture the box's datagrams alone (tcpdump -w FILE 'src host ADDRESS and udp src port PORT', netconsole's source port: 6665 unless set)"

rc=0
"$HALTFW" verify-console >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "no FILE: exit $rc, expected 2"
echo "ok: verify-console"
