#!/bin/bash
# The bash completion (packaging/haltfw.bash-completion): sources it in a plain bash, with
# no bash-completion package, and checks COMPREPLY for a command line.
#
#   completion.sh COMPLETION_FILE HALTFW
set -euo pipefail
# shellcheck source=/dev/null
source "$1"
haltfw=${2:?usage: completion.sh COMPLETION_FILE HALTFW}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
touch "$tmp/gw.conf" "$tmp/gw.nft" "$tmp/serial.log"

fails=0
# complete LINE: COMPREPLY, sorted and on one line, for the cursor at the
# end of LINE (a trailing space starts a new, empty word).
complete_line() {
    local line=$1
    read -r -a COMP_WORDS <<<"$line"
    [[ $line == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE=$line
    COMP_POINT=${#line}
    COMPREPLY=()
    _haltfw
    printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}
expect() {
    local got
    got=$(complete_line "$1")
    if [[ $got == "$2" ]]; then
        echo "ok: '$1' -> $got"
    else
        echo "FAIL: '$1': expected '$2', got '$got'"
        fails=$((fails + 1))
    fi
}

expect "haltfw " "apply arm check digest disarm halt show-ruleset status verify-console"
expect "haltfw s" "show-ruleset status"
expect "haltfw -" "--config --help --quiet --verbose --version"
expect "haltfw --verbose a" "apply arm"
expect "haltfw apply -" "--dry-run --help --no-wait"
expect "haltfw digest --" "--dump --help"
expect "haltfw arm --" "--final --help --no-wait --wait-devices"
expect "haltfw halt --w" "--wait-devices"
expect "haltfw --config $tmp/gw.c" "$tmp/gw.conf"
expect "haltfw -c $tmp/gw.n" "$tmp/gw.nft"
expect "haltfw --config $tmp/gw.conf " "apply arm check digest disarm halt show-ruleset status verify-console"
expect "haltfw --config $tmp/gw.conf apply --d" "--dry-run"
expect "haltfw --config = $tmp/gw.c" "$tmp/gw.conf"
expect "haltfw arm --final $tmp/s" "$tmp/serial.log"
expect "haltfw verify-console $tmp/se" "$tmp/serial.log"
expect "haltfw status " ""

# The verbs offered are those 'haltfw --help' lists (the lines under
# "Verbs:" that start with two spaces and a verb), but 'watch'.
help_verbs=$("$haltfw" --help | sed -n '/^Verbs:/,/^$/p' | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p' | grep -vx watch | sort | tr '\n' ' ' | sed 's/ $//')
[[ -n $help_verbs ]] || { echo "FAIL: no verbs found in '$haltfw --help'"; fails=$((fails + 1)); }
expect "haltfw " "$help_verbs"

if ((fails)); then
    echo "completion: $fails case(s) failed"
    exit 1
fi
echo "completion: all cases pass"
