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
# prints (cached; built if needed), with the tree $HALTFW_STAGE (made by
# 'DESTDIR=DIR cmake --install build') installed into it if set.
hfw_image() {
    if [[ -n ${HALTFW_IMAGE:-} ]]; then
        HFW_IMAGE=$HALTFW_IMAGE
        return 0
    fi
    local stage=${HALTFW_STAGE:-}
    local args=()
    [[ -n $stage ]] && args=(--stage "$stage")
    local t0
    t0=$(hfw_now)
    HFW_IMAGE=$("$HFW_REPO/image/build" "${args[@]}") || hfw_fail "image/build failed"
    hfw_say "image $HFW_IMAGE ($(hfw_since "$t0") s)"
}

# hfw_cleanup : stops the VM (qemu-run removes namespaces and taps).
hfw_cleanup() {
    hfw_stop
}

# hfw_boot GUEST_SCRIPT [qemu-run options...] : boots $HFW_IMAGE with
# GUEST_SCRIPT as the test hook's script, in the background, and returns
# once the guest runs, with HFW_LAN_NS, HFW_WAN_NS, HFW_STARTED... set.
hfw_boot() {
    local guest=$1
    shift
    [[ -n ${HFW_IMAGE:-} ]] || hfw_image
    mkdir -p "$HFW_OUT"
    cp "$guest" "$HFW_OUT/guest.sh"
    local env="$HFW_OUT/vm.env"
    trap hfw_cleanup EXIT
    "$HFW_REPO/scripts/qemu-run" --image "$HFW_IMAGE" --script "$HFW_OUT/guest.sh" \
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
    kill -TERM "$HFW_RUN_PID" 2>/dev/null
    local i
    for ((i = 0; i < 300; i++)); do
        hfw_vm_running || break
        sleep 0.1
    done
    if hfw_vm_running; then
        kill -KILL "$HFW_RUN_PID" 2>/dev/null
        # qemu-run's own cleanup did not happen: remove what it made.
        [[ -n ${HFW_QEMU_PID:-} ]] && kill -KILL "$HFW_QEMU_PID" 2>/dev/null
        [[ -n ${HFW_LAN_NS:-} ]] && ip netns del "$HFW_LAN_NS" 2>/dev/null
        [[ -n ${HFW_WAN_NS:-} ]] && ip netns del "$HFW_WAN_NS" 2>/dev/null
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
