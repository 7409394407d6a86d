# Shared helper of the QEMU scenario scripts (tests/qemu/*.sh). A scenario
# sources this file and reads as a list of steps:
#
#   source "$(dirname "$0")/lib.sh"
#   hfw_require_root
#   hfw_image                       # build or find the appliance
#   hfw_boot "$guest_script"        # boot it; the script runs in the guest
#   hfw_wait_log 'MARKER' 300       # wait for a line on the serial console
#   hfw_lan ping -c 3 203.0.113.1   # act from the LAN (or WAN) namespace
#   hfw_pass
#
# Exit status: 0 pass, 1 fail, 77 skipped (only when something cannot run at
# all, e.g. not root). Logs stay in $HFW_OUT, whose path is printed.
# Sourcing sets no shell options; scenarios use 'set -euo pipefail'.
# shellcheck shell=bash
# shellcheck disable=SC2034 # HFW_* variables set here are for the scenarios

HFW_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# The host's haltfw, for verify-console on the serial log ($HALTFW_BIN from
# ctest; else the default build directory's).
HFW_HALTFW=${HALTFW_BIN:-$HFW_REPO/build/haltfw/haltfw}
HFW_TEST=$(basename "$0" .sh)
hfw_prog="qemu/$HFW_TEST"
# shellcheck source=scripts/lib/common.sh
source "$HFW_REPO/scripts/lib/common.sh"

# Where this run's logs go: the serial console, qemu-run's own messages.
HFW_OUT=${HALTFW_TEST_OUT:-/tmp/haltfw-tests}/$HFW_TEST-$(date +%Y%m%d-%H%M%S)-$$
HFW_SERIAL_LOG="$HFW_OUT/serial.log"
HFW_RUN_LOG="$HFW_OUT/qemu-run.log"
HFW_RUN_PID=
# How long a VM may live at most (qemu-run --timeout).
HFW_VM_TIMEOUT=${HALTFW_VM_TIMEOUT:-600}

# hfw_skip WHY : the scenario cannot run here. Never used for a failure.
hfw_skip() {
    echo "skipped: $*"
    exit 77
}

# hfw_log_clean : the serial log without colour codes and carriage returns.
hfw_log_clean() {
    [[ -f $HFW_SERIAL_LOG ]] || return 0
    sed -e 's/\x1b\[[0-9;]*[A-Za-z]//g' -e 's/\r//g' "$HFW_SERIAL_LOG"
}

# hfw_fail MESSAGE : fails the scenario, showing the end of the serial log.
hfw_fail() {
    {
        echo "FAIL: $HFW_TEST: $*"
        if [[ -s $HFW_SERIAL_LOG ]]; then
            echo "--- last 40 lines of $HFW_SERIAL_LOG"
            hfw_log_clean | tail -n 40
            echo "---"
        fi
        if [[ -s $HFW_RUN_LOG ]]; then
            echo "--- last 10 lines of $HFW_RUN_LOG"
            tail -n 10 "$HFW_RUN_LOG"
            echo "---"
        fi
        echo "logs: $HFW_OUT"
    } >&2
    exit 1
}

# hfw_pass : the scenario passed.
hfw_pass() {
    echo "PASS: $HFW_TEST (logs: $HFW_OUT)"
    exit 0
}

# hfw_require_root : skips unless the scenario can run at all.
hfw_require_root() {
    [[ $(id -u) -eq 0 ]] || hfw_skip "needs root (network namespaces, taps, mmdebstrap)"
    [[ -c /dev/net/tun ]] || hfw_skip "no /dev/net/tun"
    local c
    for c in qemu-system-x86_64 qemu-img mmdebstrap mke2fs socat; do
        command -v "$c" >/dev/null 2>&1 || hfw_skip "'$c' is not installed (scripts/setup)"
    done
}

# hfw_image : sets HFW_IMAGE. $HALTFW_IMAGE if set, else what image/build
# prints (cached; built if needed), with the package $HALTFW_DEB (made by
# scripts/package) installed into it if set, of the variant
# $HFW_IMAGE_VARIANT (test, or kiosk for the kiosk gateway).
hfw_image() {
    if [[ -n ${HALTFW_IMAGE:-} ]]; then
        HFW_IMAGE=$HALTFW_IMAGE
        return 0
    fi
    local deb=${HALTFW_DEB:-}
    local args=(--variant "${HFW_IMAGE_VARIANT:-test}")
    [[ -n $deb ]] && args+=(--deb "$deb")
    [[ ${HFW_IMAGE_DISK:-0} == 1 ]] && args+=(--disk)
    local t0
    t0=$(hfw_now)
    HFW_IMAGE=$("$HFW_REPO/image/build" "${args[@]}") || hfw_fail "image/build failed"
    hfw_say "image $HFW_IMAGE ($(hfw_since "$t0") s)"
}

# hfw_cleanup : stops the VM (qemu-run removes namespaces and taps).
hfw_cleanup() {
    hfw_stop
}

# hfw_sabotage_unit DEVICE PREFIX : prints lines for a guest script: they
# install and start hfw-sabotage-DEVICE.service, a unit the guards do not
# know whose stop deletes DEVICE (as wg-quick@'s or ifupdown's does) and
# says "hfw-sabotage: DEVICE deleted at uptime S, status RC" on the
# console; then "PREFIX: saboteur active" (systemctl is-active's word).
hfw_sabotage_unit() {
    cat <<EOF_SABOTAGE
cat >/run/hfw-sabotage-$1 <<'EOF_STOP'
/usr/sbin/ip link del $1
rc=\$?
echo "hfw-sabotage: $1 deleted at uptime \$(cut -d' ' -f1 /proc/uptime), status \$rc" >/dev/console
EOF_STOP
cat >/run/systemd/system/hfw-sabotage-$1.service <<'EOF_UNIT'
[Unit]
Description=haltfw test: delete $1 at stop

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true
ExecStop=/bin/sh /run/hfw-sabotage-$1
EOF_UNIT
systemctl daemon-reload
systemctl start hfw-sabotage-$1.service
echo "$2: saboteur \$(systemctl is-active hfw-sabotage-$1.service)"
EOF_SABOTAGE
}

# hfw_boot GUEST_SCRIPT [qemu-run options...] : boots $HFW_IMAGE with
# GUEST_SCRIPT as the test hook's script, in the background, and returns
# once the guest runs, with HFW_LAN_NS, HFW_WAN_NS, HFW_STARTED... set.
# An empty GUEST_SCRIPT passes none (the disk image has no test hook).
hfw_boot() {
    local guest=$1
    shift
    [[ -n ${HFW_IMAGE:-} ]] || hfw_image
    mkdir -p "$HFW_OUT"
    local script=()
    if [[ -n $guest ]]; then
        cp "$guest" "$HFW_OUT/guest.sh"
        script=(--script "$HFW_OUT/guest.sh")
    fi
    local env="$HFW_OUT/vm.env"
    trap hfw_cleanup EXIT
    "$HFW_REPO/scripts/qemu-run" --image "$HFW_IMAGE" "${script[@]}" \
        --log "$HFW_SERIAL_LOG" --env-file "$env" --timeout "$HFW_VM_TIMEOUT" "$@" \
        >"$HFW_RUN_LOG" 2>&1 &
    HFW_RUN_PID=$!
    local i
    for ((i = 0; i < 600; i++)); do
        [[ -f $env ]] && break
        kill -0 "$HFW_RUN_PID" 2>/dev/null || hfw_fail "qemu-run ended before the VM started"
        sleep 0.1
    done
    [[ -f $env ]] || hfw_fail "the VM did not start within 60 s"
    # shellcheck source=/dev/null
    source "$env"
    hfw_say "VM started; logs in $HFW_OUT"
}

# hfw_vm_running : qemu-run (and so the VM) still runs.
hfw_vm_running() {
    [[ -n $HFW_RUN_PID ]] && kill -0 "$HFW_RUN_PID" 2>/dev/null
}

# hfw_log_has ERE : a line of the serial log matches ERE.
hfw_log_has() {
    # Not grep -q: quitting at the first match would kill sed with SIGPIPE,
    # and pipefail would turn the match into a failure.
    hfw_log_clean | grep -E -- "$1" >/dev/null
}

# hfw_wait_log ERE SECONDS [WHAT] : waits until a serial-log line matches
# ERE; fails after SECONDS, or as soon as the VM is gone. Sets HFW_SEEN_AT
# (epoch seconds, 0.2 s resolution) and HFW_WAITED (seconds waited).
hfw_wait_log() {
    local ere=$1 limit=$2 what=${3:-"'$1'"} t0 i
    t0=$(hfw_now)
    for ((i = 0; i < limit * 5; i++)); do
        if hfw_log_has "$ere"; then
            HFW_SEEN_AT=$(hfw_now)
            HFW_WAITED=$(hfw_since "$t0")
            return 0
        fi
        if ! hfw_vm_running; then
            hfw_log_has "$ere" && { HFW_SEEN_AT=$(hfw_now); HFW_WAITED=$(hfw_since "$t0"); return 0; }
            hfw_fail "the VM stopped before the serial console showed $what"
        fi
        sleep 0.2
    done
    hfw_fail "no $what on the serial console within $limit s"
}

# hfw_assert_log ERE WHAT : the serial log shows WHAT (a line matching ERE).
hfw_assert_log() {
    hfw_log_has "$1" || hfw_fail "the serial console does not show $2 (no line matching '$1')"
}

# hfw_log_count ERE : how many serial-log lines match ERE. (grep -a: a
# boot loader's menu can put bytes on the serial line that make grep call
# the log binary.)
hfw_log_count() {
    hfw_log_clean | grep -acE -- "$1" || true
}

# hfw_wait_count ERE N SECONDS WHAT : waits until N serial-log lines match
# ERE (a second boot's, a third report's); fails after SECONDS, or once the
# VM is gone without them.
hfw_wait_count() {
    local i
    for ((i = 0; i < $3 * 5; i++)); do
        (($(hfw_log_count "$1") >= $2)) && return 0
        hfw_vm_running || break
        sleep 0.2
    done
    (($(hfw_log_count "$1") >= $2)) || hfw_fail "no $4 within $3 s ($(hfw_log_count "$1") of $2 lines matching '$1')"
}

# hfw_lan CMD... / hfw_wan CMD... : runs CMD on the LAN / WAN host.
hfw_lan() {
    ip netns exec "$HFW_LAN_NS" "$@"
}
hfw_wan() {
    ip netns exec "$HFW_WAN_NS" "$@"
}

# hfw_stop : stops the VM and waits (at most 30 s) for qemu-run's cleanup.
hfw_stop() {
    hfw_vm_running || return 0
    kill -TERM "$HFW_RUN_PID" 2>/dev/null || true  # it may end meanwhile; set -e must not cut the EXIT trap short
    local i
    for ((i = 0; i < 300; i++)); do
        hfw_vm_running || break
        sleep 0.1
    done
    if hfw_vm_running; then
        kill -KILL "$HFW_RUN_PID" 2>/dev/null || true
        # qemu-run's own cleanup did not happen: remove what it made.
        if [[ -n ${HFW_QEMU_PID:-} ]]; then kill -KILL "$HFW_QEMU_PID" 2>/dev/null || true; fi
        if [[ -n ${HFW_LAN_NS:-} ]]; then ip netns del "$HFW_LAN_NS" 2>/dev/null || true; fi
        if [[ -n ${HFW_WAN_NS:-} ]]; then ip netns del "$HFW_WAN_NS" 2>/dev/null || true; fi
    fi
    wait "$HFW_RUN_PID" 2>/dev/null || true
    HFW_RUN_PID=
}

# hfw_overlay_cat FILE : prints FILE from the guest's root disk, read from
# the qcow2 overlay kept with 'hfw_boot ... --keep-overlay PATH' after
# hfw_stop (debugfs on a raw copy; nothing is mounted).
hfw_overlay_cat() {
    [[ -n ${HFW_OVERLAY:-} && -f $HFW_OVERLAY ]] || hfw_fail "no kept overlay (boot with --keep-overlay PATH)"
    local raw="$HFW_OUT/root-view.img"
    [[ -f $raw && $raw -nt $HFW_OVERLAY ]] || qemu-img convert -O raw "$HFW_OVERLAY" "$raw"
    debugfs -R "cat $1" "$raw" 2>/dev/null
}

# ---------------------------------------------------------------------------
# Helpers added with scenarios 5-8 (sabotage, reboot, nothing_lost,
# bad_config): packet captures and TCP endpoints on the harness's hosts, a
# VM that ends by itself, the kept root disk as a raw image. Every
# background process here runs under timeout(1), so none outlives its bound
# even if a scenario dies before hfw_bg_cleanup.
# ---------------------------------------------------------------------------

# PIDs of the background helpers below ('ip netns exec' execs, so each is
# the timeout(1) process, which passes SIGTERM on to its child).
HFW_BG_PIDS=()

# hfw_end_pid PID : ends a background process: SIGTERM, at most 5 s to go,
# then SIGKILL; reaps it. Never fails (it runs in cleanup under set -e).
hfw_end_pid() {
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# hfw_bg_cleanup : ends every background helper still running (at most 5 s).
hfw_bg_cleanup() {
    local pid
    for pid in "${HFW_BG_PIDS[@]}"; do
        hfw_end_pid "$pid"
    done
    HFW_BG_PIDS=()
    return 0
}

# hfw_ns SIDE : the namespace of the LAN or WAN host (SIDE lan or wan).
hfw_ns() {
    case $1 in
        lan) echo "$HFW_LAN_NS" ;;
        wan) echo "$HFW_WAN_NS" ;;
        *) hfw_fail "hfw_ns: '$1': expected lan or wan" ;;
    esac
}

# hfw_capture_start NAME SIDE [SECONDS [FILTER...]] : captures every packet
# on the LAN or WAN host's interface (SIDE lan or wan), or those FILTER (a
# tcpdump expression, applied in the kernel) takes, to $HFW_OUT/NAME.pcap,
# for at most SECONDS (default 300); returns once tcpdump listens (at most
# 10 s).
hfw_capture_start() {
    local name=$1 side=$2 limit=${3:-300} ns ifname i
    shift $(($# < 3 ? $# : 3))
    ns=$(hfw_ns "$side")
    if [[ $side == lan ]]; then ifname=${HFW_LAN_IF:-lan0}; else ifname=${HFW_WAN_IF:-wan0}; fi
    local pcap="$HFW_OUT/$name.pcap" err="$HFW_OUT/$name.tcpdump.txt"
    # -U: each packet written at once, so a read while it runs sees it.
    # --immediate-mode: each packet handed to tcpdump at once; otherwise
    # TPACKET_V3 holds them in the ring until a block fills or its 1 s
    # timeout, and whatever is held when tcpdump is stopped never reaches
    # the file (seen: 35 packets received by filter, 14 captured).
    # -B 16384: a 16 MiB ring instead of 2 MiB; with the default, tcpdump
    # on this busy 2-core machine fell behind a 400 packets/s stream and
    # the kernel dropped 4 of 11912 (transition).
    ip netns exec "$ns" timeout "$limit" tcpdump -n -U --immediate-mode -B 16384 -i "$ifname" -w "$pcap" "$@" 2>"$err" &
    HFW_BG_PIDS+=("$!")
    eval "HFW_CAPTURE_PID_$name=$!"
    for ((i = 0; i < 100; i++)); do
        grep -q 'listening on' "$err" 2>/dev/null && return 0
        kill -0 "$!" 2>/dev/null || hfw_fail "tcpdump on $side ($ifname) ended at once: $(cat "$err")"
        sleep 0.1
    done
    hfw_fail "tcpdump on $side ($ifname) did not start listening within 10 s"
}

# hfw_capture_stop NAME : ends the capture NAME (its file stays).
hfw_capture_stop() {
    local var="HFW_CAPTURE_PID_$1"
    local pid=${!var:-}
    [[ -n $pid ]] || hfw_fail "hfw_capture_stop: no capture '$1'"
    sleep 0.5  # the last packets in flight
    hfw_end_pid "$pid"
}

# hfw_capture_show NAME [FILTER...] : the capture's packets matching the
# tcpdump FILTER, one line each (tcpdump -n -r).
hfw_capture_show() {
    local pcap="$HFW_OUT/$1.pcap"
    shift
    [[ -f $pcap ]] || hfw_fail "no capture file $pcap"
    tcpdump -n -r "$pcap" "$@" 2>/dev/null
}

# hfw_capture_count NAME [FILTER...] : how many of its packets match FILTER.
hfw_capture_count() {
    local n
    n=$(hfw_capture_show "$@" | wc -l)
    echo "$n"
}

# hfw_tcp_listen SIDE ADDR PORT [SECONDS] : a TCP server on the LAN or WAN
# host, on ADDR:PORT, for at most SECONDS (default 300). Each connection is
# answered with one line, "hfw-pong PEER", PEER being the address the
# server saw (behind the firewall's NAT: the firewall's WAN address).
hfw_tcp_listen() {
    local side=$1 addr=$2 port=$3 limit=${4:-300} ns i
    ns=$(hfw_ns "$side")
    # shellcheck disable=SC2016 # $SOCAT_PEERADDR is for socat's shell
    ip netns exec "$ns" timeout "$limit" socat -T 5 \
        "TCP-LISTEN:$port,bind=$addr,reuseaddr,fork" SYSTEM:'echo "hfw-pong $SOCAT_PEERADDR"' \
        >"$HFW_OUT/listen-$side-$port.txt" 2>&1 &
    HFW_BG_PIDS+=("$!")
    for ((i = 0; i < 100; i++)); do
        ip netns exec "$ns" ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && return 0
        kill -0 "$!" 2>/dev/null || hfw_fail "the TCP server on $side $addr:$port ended at once: $(cat "$HFW_OUT/listen-$side-$port.txt")"
        sleep 0.1
    done
    hfw_fail "the TCP server on $side $addr:$port did not listen within 10 s"
}

# hfw_tcp_try SIDE ADDR PORT [SECONDS] : connects from the LAN or WAN host
# to ADDR:PORT; prints the server's line; fails (status 1) without an
# answer within SECONDS (default 5).
hfw_tcp_try() {
    local side=$1 addr=$2 port=$3 limit=${4:-5} ns out
    ns=$(hfw_ns "$side")
    out=$(ip netns exec "$ns" timeout "$((limit + 2))" \
        socat -T "$limit" - "TCP:$addr:$port,connect-timeout=$limit" </dev/null 2>/dev/null) || true
    [[ $out == hfw-pong* ]] || return 1
    echo "$out"
}

# hfw_wait_vm_exit SECONDS : waits for the VM to end by itself (a guest
# reboot with --no-reboot, a poweroff); fails if it still runs after
# SECONDS. Sets HFW_RUN_RC (qemu-run's status: QEMU's own, 124 on its
# timeout) and HFW_WAITED.
hfw_wait_vm_exit() {
    local limit=$1 t0 i
    t0=$(hfw_now)
    for ((i = 0; i < limit * 5; i++)); do
        hfw_vm_running || break
        sleep 0.2
    done
    hfw_vm_running && hfw_fail "the VM still runs after $limit s (it should have ended by itself)"
    HFW_WAITED=$(hfw_since "$t0")
    HFW_RUN_RC=0
    wait "$HFW_RUN_PID" 2>/dev/null || HFW_RUN_RC=$?
    HFW_RUN_PID=
}

# hfw_overlay_raw : after hfw_stop, converts the kept overlay ('hfw_boot ...
# --keep-overlay PATH') with its backing root.img to one raw image and
# prints its path ($HFW_OUT/root-view.img, as hfw_overlay_cat uses). About
# 750 MB on disk: remove it when done.
hfw_overlay_raw() {
    [[ -n ${HFW_OVERLAY:-} && -f $HFW_OVERLAY ]] || hfw_fail "no kept overlay (boot with --keep-overlay PATH)"
    hfw_vm_running && hfw_fail "hfw_overlay_raw: the VM still runs (hfw_stop first)"
    local raw="$HFW_OUT/root-view.img"
    [[ -f $raw && $raw -nt $HFW_OVERLAY ]] || qemu-img convert -O raw "$HFW_OVERLAY" "$raw" ||
        hfw_fail "qemu-img convert of $HFW_OVERLAY failed"
    echo "$raw"
}

# ---------------------------------------------------------------------------
# Helpers added with scenarios 2-4 (forwarding, closed, transition): tools a
# scenario needs, the final stage's report judged as an operator would, a
# capture that provably saw every packet.
# ---------------------------------------------------------------------------

# hfw_require_cmd CMD... : skips unless every CMD is installed (scripts/setup
# installs them all).
hfw_require_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || hfw_skip "'$c' is not installed (scripts/setup)"
    done
}

# hfw_expect_halted_ok [SECONDS] : waits (default 240 s) for the final
# stage's report on the serial console; 'haltfw verify-console' must accept
# it (a complete HALTED-OK). Its output goes to $HFW_OUT/verify.txt.
hfw_expect_halted_ok() {
    hfw_wait_log 'HALTFW: HALTED-(OK|FAIL)' "${1:-240}" "the final stage's report"
    sleep 1  # let the last console bytes reach the log
    "$HFW_HALTFW" verify-console "$HFW_SERIAL_LOG" >"$HFW_OUT/verify.txt" 2>&1 ||
        hfw_fail "verify-console did not accept the report:
$(cat "$HFW_OUT/verify.txt")"
    if hfw_log_has 'reboot: System halted'; then
        hfw_fail "the kernel halted the CPUs ('System halted'): the final stage did not take over"
    fi
}

# hfw_expect_inert [SECONDS] : after the report, waits (default 30 s) for
# haltfw-inert's line (what PID 1 becomes after the final stage) and fails
# unless it comes after the last HALTED-OK/FAIL line. Sets HFW_INERT_LINE.
# The kernel log's copies (with netconsole: '[   36.1] HALTFW: ...') are
# left out, as verify-console leaves them.
hfw_expect_inert() {
    hfw_wait_log 'HALTFW: INERT ' "${1:-30}" "haltfw-inert's INERT line"
    sleep 0.5
    local last
    last=$(hfw_log_clean | grep -vE '^\[ *[0-9]+\.[0-9]+\] ' | grep -E 'HALTFW: (HALTED-(OK|FAIL)|INERT) ' |
        tail -n 2 | sed 's/.*HALTFW: //')
    [[ $(head -n 1 <<<"$last") == HALTED-* && $(tail -n 1 <<<"$last") == INERT\ * ]] ||
        hfw_fail "the INERT line does not follow the report's machine line:
$last"
    HFW_INERT_LINE=$(tail -n 1 <<<"$last")
}

# hfw_inert_field KEY : a field of HFW_INERT_LINE (hfw_expect_inert).
hfw_inert_field() {
    tr ' ' '\n' <<<"${HFW_INERT_LINE:-}" | sed -n "s/^$1=//p"
}

# hfw_capture_complete NAME : after hfw_capture_stop, fails unless tcpdump
# says it lost nothing: 0 packets dropped by the kernel, and every packet
# the kernel handed over ("received by filter") written ("captured"). A
# capture with holes cannot show that a packet never passed. Sets
# HFW_CAPTURED (packets in the file).
hfw_capture_complete() {
    local stats="$HFW_OUT/$1.tcpdump.txt" dropped received
    dropped=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel$/\1/p' "$stats" 2>/dev/null)
    received=$(sed -n 's/^\([0-9]*\) packets\{0,1\} received by filter$/\1/p' "$stats" 2>/dev/null)
    HFW_CAPTURED=$(sed -n 's/^\([0-9]*\) packets\{0,1\} captured$/\1/p' "$stats" 2>/dev/null)
    [[ -n $dropped && -n $received && -n $HFW_CAPTURED ]] ||
        hfw_fail "capture '$1': no statistics from tcpdump in $stats"
    ((dropped == 0 && received == HFW_CAPTURED)) ||
        hfw_fail "capture '$1': tcpdump dropped $dropped packet(s) and wrote $HFW_CAPTURED of $received, so it cannot vouch for what passed"
}

# ---------------------------------------------------------------------------
# Helpers added to account for every packet between the harness's hosts and
# the VM: the host end of each tap (its queue, its counters, over time) and
# the serial console stamped with the host's clock.
# ---------------------------------------------------------------------------

# hfw_tap_if SIDE : the host end of SIDE's tap (lan0 or wan0), in hfw_ns SIDE.
hfw_tap_if() {
    case $1 in
        lan) echo "${HFW_LAN_IF:-lan0}" ;;
        wan) echo "${HFW_WAN_IF:-wan0}" ;;
        *) hfw_fail "hfw_tap_if: '$1': expected lan or wan" ;;
    esac
}

# hfw_tap_qlen SIDE [LEN] : prints the length of the tap's queue of packets
# from the host to the guest (tun's ring, txqueuelen: 1,000 as qemu-run's
# 'ip tuntap add' makes it); with LEN, sets it first. Packets wait there
# until QEMU reads them; when it is full they are dropped and counted as the
# tap's tx_dropped.
hfw_tap_qlen() {
    local ns ifname
    ns=$(hfw_ns "$1")
    ifname=$(hfw_tap_if "$1")
    if [[ -n ${2:-} ]]; then
        ip -n "$ns" link set dev "$ifname" txqueuelen "$2" || hfw_fail "could not set txqueuelen $2 on the $1 tap ($ifname)"
    fi
    ip netns exec "$ns" cat "/sys/class/net/$ifname/tx_queue_len"
}

# hfw_tap_stats SIDE : "TX_PACKETS TX_DROPPED RX_PACKETS RX_DROPPED" of SIDE's
# tap; tx is host to guest (counted when QEMU reads the packet, or dropped
# because the queue was full), rx guest to host.
hfw_tap_stats() {
    local ns ifname
    ns=$(hfw_ns "$1")
    ifname=$(hfw_tap_if "$1")
    # shellcheck disable=SC2016 # for the namespace's shell
    ip netns exec "$ns" sh -c 'cd "/sys/class/net/$1/statistics" && echo $(cat tx_packets tx_dropped rx_packets rx_dropped)' sh "$ifname"
}

# hfw_tap_sampler SIDE SECONDS FILE : in the background, every 20 ms for at
# most SECONDS, a line to FILE: host time (epoch s); SIDE's tap tx_packets,
# tx_dropped, rx_packets; the IP packets SIDE's host has sent (OutRequests of
# its /proc/net/snmp: what it sent less what QEMU took or the tap dropped is
# what waits in the tap's queue); the bytes queued on its oldest raw socket
# (a long ping's) and how many it dropped, its receive buffer full
# (/proc/net/raw); then for each QEMU thread the nanoseconds it has run and
# waited for a CPU (/proc/PID/task/TID/schedstat; 'main' is the thread that
# reads the taps). A line '#' names the columns.
hfw_tap_sampler() {
    local side=$1 limit=$2 file=$3 ns ifname
    ns=$(hfw_ns "$side")
    ifname=$(hfw_tap_if "$side")
    # Only builtins in the loop (no fork); the read on a pipe nobody writes
    # to is the 20 ms sleep.
    # shellcheck disable=SC2016 # for the sampler's shell
    ip netns exec "$ns" timeout "$limit" bash -c '
        s=/sys/class/net/$1/statistics
        tasks=(/proc/$2/task/*/schedstat)
        [[ -e ${tasks[0]} ]] || tasks=()
        exec {z}<> <(:)
        h="# time tx_packets tx_dropped rx_packets out_requests sock_queue sock_drops"
        for t in "${tasks[@]}"; do c=${t%/schedstat}; c=${c##*/}; [[ $c == "$2" ]] && c=main; h+=" $c.run $c.wait"; done
        echo "$h"
        while :; do
            read -r a <"$s/tx_packets"; read -r b <"$s/tx_dropped"; read -r c <"$s/rx_packets"
            { read -r _; read -r -a ip; } </proc/net/snmp
            rq=0 rd=0 ri=0
            while read -r -a f; do
                [[ ${f[0]} == sl ]] && continue
                ((ri == 0 || f[9] < ri)) && ri=${f[9]} rq=$((16#${f[4]#*:})) rd=${f[12]}
            done </proc/net/raw
            l="$EPOCHREALTIME $a $b $c ${ip[10]} $rq $rd"
            for i in "${!tasks[@]}"; do
                read -r r w _ <"${tasks[i]}" 2>/dev/null && run[i]=$r wait[i]=$w
                l+=" ${run[i]:-0} ${wait[i]:-0}"
            done
            echo "$l"
            read -r -t 0.02 -u "$z" _ || :
        done' sh "$ifname" "${HFW_QEMU_PID:-0}" >"$file" 2>/dev/null &
    HFW_BG_PIDS+=("$!")
}

# hfw_serial_stamps : in the background until the VM ends, every serial
# console line with the host's time (epoch s) when it came, to
# $HFW_OUT/serial-stamped.log: to set the console's events (a restore, the
# final stage) beside host-side times (ping -D).
hfw_serial_stamps() {
    local line
    timeout "$HFW_VM_TIMEOUT" tail -n +1 -F --pid="$HFW_RUN_PID" "$HFW_SERIAL_LOG" 2>/dev/null |
        while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "${line//$'\r'/}"; done >"$HFW_OUT/serial-stamped.log" &
    HFW_BG_PIDS+=("$!")
}

# hfw_expect_kiosk_traffic NAME : scenario 2's traffic through the kiosk
# gateway's profile (image/kiosk/, and the disk image's example config),
# halted: LAN->far host ICMP and TCP NATed to the WAN address (a whole
# WAN-side capture, named NAME_wan, holds no LAN source), the port forward
# WAN 198.51.100.1:8080 -> LAN 192.0.2.10:80, and WAN->LAN dropped.
hfw_expect_kiosk_traffic() {
    local got out from_box lan_src
    # LAN -> far host, ICMP and TCP: NATed to the WAN address, and the WAN
    # side (captured whole) sees no LAN source address.
    hfw_capture_start "$1_wan" wan 120
    hfw_lan ping -n -c 5 -i 0.2 -W 2 203.0.113.1 >"$HFW_OUT/ping-far.txt" 2>&1 || true
    got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$HFW_OUT/ping-far.txt")
    [ "${got:-0}" = 5 ] || hfw_fail "LAN -> 203.0.113.1 ping through the halted box: ${got:-0} of 5 answered"
    hfw_tcp_listen wan 203.0.113.1 8081 60
    out=$(hfw_tcp_try lan 203.0.113.1 8081) || hfw_fail "LAN -> 203.0.113.1:8081 got no answer through the halted box"
    [ "$out" = "hfw-pong 198.51.100.1" ] || hfw_fail "LAN -> WAN: the far host saw '$out', not the WAN address (NAT)"
    hfw_capture_stop "$1_wan"
    hfw_capture_complete "$1_wan"
    from_box=$(hfw_capture_count "$1_wan" 'src host 198.51.100.1')
    lan_src=$(hfw_capture_count "$1_wan" 'src net 192.0.2.0/24')
    ((from_box >= 5)) || hfw_fail "the WAN capture holds only $from_box packets from 198.51.100.1 (expected the 5 NATed echo requests at least)"
    ((lan_src == 0)) || hfw_fail "the WAN capture holds $lan_src packets with a LAN source address:
$(hfw_capture_show "$1_wan" 'src net 192.0.2.0/24' | head -n 10)"

    # The port forward: WAN 198.51.100.1:8080 -> LAN 192.0.2.10:80, and the LAN
    # server sees the WAN host itself (DNAT, no SNAT).
    hfw_tcp_listen lan 192.0.2.10 80 60
    out=$(hfw_tcp_try wan 198.51.100.1 8080) || hfw_fail "WAN -> 198.51.100.1:8080 (the forward) got no answer"
    [ "$out" = "hfw-pong 198.51.100.254" ] || hfw_fail "the forward: the LAN server saw '$out', not the WAN host"

    # WAN -> LAN directly: dropped.
    if out=$(hfw_tcp_try wan 192.0.2.10 80 3); then
        hfw_fail "WAN -> 192.0.2.10:80 directly was answered ('$out'): the halted box forwards new WAN connections"
    fi
}

# hfw_disk_boot uefi|bios [DISK [qemu-run options...]] : boots the disk
# image (image/build --variant kiosk --disk), or DISK (if not empty), a copy
# of its disk.img, read-only under that firmware, with no guest script, and
# waits for the report: HALTED-OK,
# accepted by verify-console, the config having come from the HALTFW
# partition. Sets HFW_DISK and HFW_DISK_SUM (its sha256 before the boot).
hfw_disk_boot() {
    local firmware=$1
    hfw_require_root
    hfw_require_cmd socat tcpdump ping sha256sum
    HFW_IMAGE_VARIANT=kiosk
    HFW_IMAGE_DISK=1
    hfw_image
    HFW_DISK=${2:-$HFW_IMAGE/disk.img}
    shift $(($# < 2 ? $# : 2))
    [[ -f $HFW_DISK ]] || hfw_fail "no disk image '$HFW_DISK'"
    HFW_DISK_SUM=$(sha256sum <"$HFW_DISK")
    hfw_boot "" --firmware "$firmware" --disk "$HFW_DISK" "$@"
    hfw_expect_halted_ok 360
    hfw_assert_log 'haltfw-boot-config: copied /haltfw/ from the HALTFW partition' \
        "haltfw-boot-config copying /haltfw/ from the HALTFW partition"
    hfw_assert_log 'Arm the halted firewall' "haltfw-arm.service running at boot"
}

# hfw_disk_read_only : QEMU holds the booted disk read-only (as a
# write-protected medium would be), and its bytes are as before the boot.
hfw_disk_read_only() {
    local info
    info=$(printf 'info block\n' | timeout 10 socat -t 5 - "UNIX-CONNECT:$HFW_MONITOR" | tr -d '\r') ||
        hfw_fail "could not ask QEMU's monitor for its drives"
    grep -q "^disk .*(raw, read-only)" <<<"$info" || hfw_fail "QEMU does not hold the disk read-only:
$info"
    [[ $(sha256sum <"$HFW_DISK") == "$HFW_DISK_SUM" ]] || hfw_fail "the booted disk '$HFW_DISK' was written to"
}

# hfw_disk_copy NAME : a copy of the disk image's disk.img in $HFW_OUT (for a
# scenario that edits its HALTFW partition), as HFW_DISK_COPY; HFW_ESP is
# mtools' name for its HALTFW partition (hfw_disk_esp).
hfw_disk_copy() {
    HFW_IMAGE_VARIANT=kiosk
    HFW_IMAGE_DISK=1
    hfw_image
    mkdir -p "$HFW_OUT"
    HFW_DISK_COPY="$HFW_OUT/$1.img"
    cp --sparse=always "$HFW_IMAGE/disk.img" "$HFW_DISK_COPY"
    HFW_ESP=$(hfw_disk_esp "$HFW_DISK_COPY")
}

# hfw_disk_maintenance_default : makes the maintenance entry the default of
# systemd-boot's menu on the copy hfw_disk_copy made (its loader.conf on
# HALTFW, through mtools); fails unless the default was the halting entry.
hfw_disk_maintenance_default() {
    local conf="$HFW_OUT/loader.conf"
    MTOOLS_SKIP_CHECK=1 mcopy -n -i "$HFW_ESP" ::/loader/loader.conf "$conf" ||
        hfw_fail "mcopy could not read /loader/loader.conf"
    grep -q '^default haltfw.conf$' "$conf" || hfw_fail "the boot menu's default is not the halting entry: $(cat "$conf")"
    sed -i 's|^default haltfw.conf$|default haltfw-maintenance.conf|' "$conf"
    MTOOLS_SKIP_CHECK=1 mcopy -o -i "$HFW_ESP" "$conf" ::/loader/loader.conf || hfw_fail "mcopy could not write loader.conf"
}

# hfw_disk_esp DISK : mtools' name for DISK's first partition (HALTFW):
# DISK@@OFFSET, its byte offset read from the partition table.
hfw_disk_esp() {
    local start
    start=$(sfdisk --dump "$1" | sed -n 's|.*1 : start= *\([0-9]*\),.*|\1|p')
    [[ -n $start ]] || hfw_fail "no first partition in '$1'"
    echo "$1@@$((start * 512))"
}

# hfw_screen_text : the text of a VGA text-mode screen (a --device VGA
# machine booted by BIOS, whose kernel console is vgacon): the whole 32 KiB
# text window, which holds the visible screen wherever vgacon scrolled it
# to, read from guest memory at 0xb8000 through QEMU's monitor; character
# bytes only, 80 to a line.
hfw_screen_text() {
    # HMP reads "32768 /path" as a division: the file is named relative to
    # QEMU's working directory, and fetched from there.
    local name="haltfw-vga-$$.bin" dir raw="$HFW_OUT/vga-text.bin"
    dir=$(readlink "/proc/$HFW_QEMU_PID/cwd") || hfw_fail "QEMU (pid $HFW_QEMU_PID) is gone"
    rm -f "$dir/$name"
    printf 'pmemsave 0xb8000 32768 %s\n' "$name" | timeout 10 socat -t 5 - "UNIX-CONNECT:$HFW_MONITOR" >/dev/null ||
        hfw_fail "could not read the VGA text memory through QEMU's monitor"
    local i
    for ((i = 0; i < 50; i++)); do
        [[ $(stat -c %s "$dir/$name" 2>/dev/null || echo 0) == 32768 ]] && break
        sleep 0.1
    done
    mv "$dir/$name" "$raw" 2>/dev/null || hfw_fail "QEMU wrote no VGA text memory ($dir/$name)"
    python3 -c 'import sys
b = open(sys.argv[1], "rb").read()[0::2]
for i in range(0, len(b), 80):
    print(b[i:i + 80].decode("cp437").rstrip())' "$raw"
}
