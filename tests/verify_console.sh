#!/bin/bash
# verify-console on sample serial logs: exit 0 only for a complete
# HALTED-OK report, 1 for HALTED-FAIL or a truncated report, 2 for none,
# 3 for a log that cannot be read. No root, no namespace.
#   tests/verify_console.sh /path/to/haltfw tests/data
set -euo pipefail
HALTFW=${1:?usage: $0 HALTFW DATA_DIR}
DATA=${2:?usage: $0 HALTFW DATA_DIR}
DIGEST=e15c3fb957cb389075e862bdf02030b4874556a42bc8a5d0c07fa817a94c1a8d

fail() {
    echo "FAIL: verify-console: $*" >&2
    exit 1
}

# check LOG EXPECTED_RC LAST_LINE: runs verify-console, checks the exit code
# and the verdict (the last line of its output).
check() {
    local rc=0 out
    out=$("$HALTFW" verify-console "$DATA/$1" 2>&1) || rc=$?
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
[ "$(wc -l <<<"$OUT")" -eq 11 ] || fail "console-ok.log: expected 9 report lines, haltfw-inert's line and the verdict: $OUT"
[ "$(sed -n 10p <<<"$OUT")" = "HALTFW: INERT rss_kib=704 rss_anon_kib=52 rss_file_kib=652 vm_rss_kib=704 vm_hwm_kib=716 mem_used_kib=108420 removed=9 remove_failed=0 freed_kib=2796 left_kib=668 ctrl_alt_del=ignore" ] ||
    fail "console-ok.log: the INERT line is not printed after the report: $OUT"
grep -q $'\r' <<<"$OUT" && fail "console-ok.log: CR left in the output"

check console-fail.log 1 "verify-console: HALTED-FAIL (reason ruleset)"
check console-truncated.log 1 "verify-console: a truncated report: it counts lines=8 but 7 lines arrived before its last"
check console-cut.log 1 "verify-console: a truncated report: it has no HALTED-OK or HALTED-FAIL line"
check console-retry.log 0 "verify-console: a complete HALTED-OK report (digest $DIGEST)"
check console-none.log 2 "verify-console: no haltfw report in '$DATA/console-none.log'"
check no-such.log 3 "haltfw: verify-console: read $DATA/no-such.log: No such file or directory"

rc=0
"$HALTFW" verify-console >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "no FILE: exit $rc, expected 2"
echo "ok: verify-console"
