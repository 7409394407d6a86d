# Shell helpers shared by image/build, scripts/qemu-run and tests/qemu/.
# Source it; it defines functions only and changes no shell options.
# shellcheck shell=bash

# The program name used as the prefix of every message.
hfw_prog=${hfw_prog:-${0##*/}}

# hfw_say MESSAGE... : a progress or status line on stderr.
hfw_say() {
    printf '%s: %s\n' "$hfw_prog" "$*" >&2
}

# hfw_die MESSAGE... : an error line on stderr, then exit 1.
hfw_die() {
    printf '%s: error: %s\n' "$hfw_prog" "$*" >&2
    exit 1
}

# hfw_now : seconds since the epoch with milliseconds ("1732290000.123").
hfw_now() {
    local t=$EPOCHREALTIME
    printf '%s.%s\n' "${t%.*}" "$(printf '%.3s' "${t#*.}")"
}

# hfw_since START : seconds elapsed since START (an hfw_now value), as "12.3".
hfw_since() {
    awk -v a="$1" -v b="$(hfw_now)" 'BEGIN { printf "%.1f\n", b - a }'
}

# hfw_need_cmd CMD... : fails naming the first command not on PATH.
hfw_need_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || hfw_die "'$c' not found (scripts/setup installs the tools)"
    done
}
