# Shared helper of the QEMU benchmarks (scripts/bench.d/*.sh). It sources
# the QEMU scenarios' helper (tests/qemu/lib.sh: boot, serial log, the LAN
# and WAN hosts, captures) and adds what only the benchmarks need:
# statistics, a serial log stamped with the host's clock, the guest's
# "go on" signal, one place for the tools they install.
#
# A benchmark prints figures and asserts nothing about them; but a figure
# that could not be measured is a failure (hfw_fail, non-zero), never a
# placeholder.
# shellcheck shell=bash
# shellcheck disable=SC2034 # variables set here are for the benchmarks

# Logs of benchmark runs apart from the tests'.
HALTFW_TEST_OUT=${HALTFW_TEST_OUT:-/tmp/haltfw-bench}
# shellcheck source=tests/qemu/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/tests/qemu/lib.sh"
hfw_prog="bench/$HFW_TEST"
HFW_BENCH_PY="$HFW_REPO/scripts/lib/bench_tool.py"

# Samples per measurement (scripts/bench passes HALTFW_BENCH_RUNS as $2).
BENCH_RUNS=${BENCH_RUNS:-${HALTFW_BENCH_RUNS:-7}}

# bench_need_pkg PACKAGE... : installs the Debian packages that are missing
# (apt-get, non-interactive). For tools only the benchmarks use.
bench_need_pkg() {
    local p missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0
    hfw_say "installing ${missing[*]} (apt-get) ..."
    mkdir -p "$HFW_OUT"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >"$HFW_OUT/apt.log" 2>&1 </dev/null ||
        hfw_fail "apt-get install ${missing[*]} failed; see $HFW_OUT/apt.log$(grep '^E: ' "$HFW_OUT/apt.log" | tail -n 3 | sed 's/^/\n  /')"
}

# bench_boot_dir NAME : for a benchmark that boots more than once: the next
# boot's logs (serial console, qemu-run's, its env file) go to
# BASE/NAME, BASE being the run's own log directory; makes it.
bench_boot_dir() {
    BENCH_BASE_OUT=${BENCH_BASE_OUT:-$HFW_OUT}
    HFW_OUT=$BENCH_BASE_OUT/$1
    HFW_SERIAL_LOG="$HFW_OUT/serial.log"
    HFW_RUN_LOG="$HFW_OUT/qemu-run.log"
    mkdir -p "$HFW_OUT"
}

# bench_stats : median, min and max of the numbers on stdin, one per line
# ("median min max"); fails on no input.
bench_stats() {
    python3 "$HFW_BENCH_PY" stats
}

# bench_stamp_start : copies each new serial-log line to
# $HFW_OUT/serial.stamped with the host's clock in front ("EPOCH LINE"), in
# the background until the VM ends (bounded by $HFW_VM_TIMEOUT). Host-side
# timing: when a line reached the serial log, within ~10 ms.
bench_stamp_start() {
    timeout "$HFW_VM_TIMEOUT" python3 "$HFW_BENCH_PY" stamp "$HFW_SERIAL_LOG" "$HFW_OUT/serial.stamped" &
    HFW_BG_PIDS+=("$!")
}

# bench_stamp_of ERE : the host time (epoch s) of the first stamped serial
# line matching ERE; fails if there is none.
bench_stamp_of() {
    local t
    t=$(awk -v re="$1" '{ line = $0; sub(/^[^ ]* /, "", line); if (line ~ re) { print $1; exit } }' "$HFW_OUT/serial.stamped")
    [[ -n $t ]] || hfw_fail "no stamped serial line matches '$1'"
    echo "$t"
}

# bench_signal_guest : tells a guest waiting in bench_guest_wait_signal to
# go on: three pings from the LAN host to the box's LAN address (the guest
# counts ICMP echo requests addressed to itself, which no benchmark load
# sends).
bench_signal_guest() {
    hfw_lan ping -c 3 -i 0.2 -W 2 192.0.2.1 >>"$HFW_OUT/signal.txt" 2>&1 ||
        hfw_fail "the box does not answer the signal pings from the LAN"
}

# The guest side of the signal, for a guest script (bash, the image has no
# Python): bench_wait_signal SECONDS returns once 3 more echo requests came
# in than when it was defined, or fails after SECONDS. It polls once a
# second and reads /proc/net/snmp with bash builtins (its only process is
# one sleep a second), so that waiting costs the live box next to nothing
# while it is measured.
# shellcheck disable=SC2016 # guest code, expanded in the guest
BENCH_GUEST_SIGNAL='
bench_in_echos() {
    local key line h=() v=() i
    while read -r key line; do
        [[ $key == Icmp: ]] || continue
        if ((${#h[@]} == 0)); then read -ra h <<<"$line"; else read -ra v <<<"$line"; fi
    done </proc/net/snmp
    for i in "${!h[@]}"; do [[ ${h[i]} == InEchos ]] && bench_echos=${v[i]}; done
}
bench_in_echos
bench_echos0=$bench_echos
bench_wait_signal() {
    local i
    for ((i = 0; i < $1; i++)); do
        bench_in_echos
        ((bench_echos - bench_echos0 >= 3)) && { bench_echos0=$bench_echos; return 0; }
        sleep 1
    done
    return 1
}
'

# bench_report_field KEY : a field of the final stage's machine line in the
# serial log ('haltfw verify-console' parses it); fails if absent.
bench_report_field() {
    local v
    v=$(hfw_log_clean | sed -n 's/.*HALTFW: HALTED-\(OK\|FAIL\) .*/&/p' | tail -n 1 | tr ' ' '\n' | sed -n "s/^$1=//p")
    [[ -n $v && $v != -1 ]] || hfw_fail "the report has no $1= field"
    echo "$v"
}

# bench_inert_field KEY : a field of haltfw-inert's INERT line, which
# follows the report (tests/qemu/lib.sh hfw_expect_inert waits for it);
# fails if absent or unknown (-1).
bench_inert_field() {
    local v
    v=$(hfw_log_clean | sed -n 's/.*HALTFW: \(INERT .*\)/\1/p' | tail -n 1 | tr ' ' '\n' | sed -n "s/^$1=//p")
    [[ -n $v && $v != -1 ]] || hfw_fail "the INERT line has no $1= field"
    echo "$v"
}

# bench_guest_arm_signal_halt NAME SECONDS : prints a guest script that
# arms ("NAME: armed", or "NAME: haltfw arm failed: ..."), waits at most
# SECONDS for bench_signal_guest (with 0, not at all), then says "NAME:
# halting" and runs 'haltfw halt'.
bench_guest_arm_signal_halt() {
    echo "$BENCH_GUEST_SIGNAL"
    cat <<EOF_GUEST
say() { echo "$1: \$*"; }
if ! out=\$(haltfw arm 2>&1); then
    say "haltfw arm failed: \$out"
    exit 1
fi
say "armed"
if (($2 > 0)) && ! bench_wait_signal $2; then
    say "no signal from the host: not halting"
    exit 1
fi
say "halting"
haltfw halt || say "haltfw halt failed with \$?"
EOF_GUEST
}

# bench_vcpu_tid : sets vcpu_tid to the thread id of the booted VM's one
# vCPU (QEMU's monitor, 'info cpus'), whose schedstat says how long the
# guest ran; fails if the monitor names none.
bench_vcpu_tid() {
    vcpu_tid=$(printf 'info cpus\n' | timeout 10 socat -t 5 - "UNIX-CONNECT:$HFW_MONITOR" | tr -d '\r' |
        sed -n 's/.*CPU #0:.*thread_id=\([0-9]*\).*/\1/p')
    [[ -n $vcpu_tid && -r /proc/$HFW_QEMU_PID/task/$vcpu_tid/schedstat ]] ||
        hfw_fail "QEMU's monitor names no vCPU thread of pid $HFW_QEMU_PID ('info cpus')"
}

# bench_wait_armed NAME : waits for the guest script of
# bench_guest_arm_signal_halt to say it armed; fails if arm failed.
bench_wait_armed() {
    hfw_wait_log "^$1: (armed|haltfw arm failed)" 300 "the guest arming"
    hfw_log_has "^$1: haltfw arm failed" && hfw_fail "'haltfw arm' failed in the guest"
    return 0
}

# bench_wait_listen SIDE PROTO PORT : waits (at most 10 s) until something
# listens on PORT (PROTO tcp or udp) on the LAN or WAN host.
bench_wait_listen() {
    local ns i flag=-Hltn
    ns=$(hfw_ns "$1")
    [[ $2 == udp ]] && flag=-Hlun
    for ((i = 0; i < 100; i++)); do
        ip netns exec "$ns" ss "$flag" "sport = :$3" | grep -q . && return 0
        sleep 0.1
    done
    hfw_fail "nothing listens on $2 port $3 on the $1 host after 10 s"
}
