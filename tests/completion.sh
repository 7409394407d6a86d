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
# complete LINE [PROGRAM]: COMPREPLY, sorted and on one line, for the cursor
# at the end of LINE (a trailing space starts a new, empty word). The
# function gets the program (HALTFW unless given), the word and the one
# before it, as bash passes them.
complete_line() {
    local line=$1 program=${2:-$haltfw}
    read -r -a COMP_WORDS <<<"$line"
    [[ $line == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE=$line
    COMP_POINT=${#line}
    COMPREPLY=()
    _haltfw "$program" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]:-}"
    printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}
expect() {
    local got
    got=$(complete_line "$1" "${3:-}")
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
help_verbs=$("$haltfw" --help | sed -n '/^Verbs:/,/^$/p' | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p' | grep -vx watch |
    sort | tr '\n' ' ' | sed 's/ $//')
[[ -n $help_verbs ]] || { echo "FAIL: no verbs found in '$haltfw --help'"; fails=$((fails + 1)); }
expect "haltfw " "$help_verbs"

# The verbs offered are the verb table's, as 'haltfw --list-verbs' prints
# it, and a haltfw that cannot be run offers none.
table_verbs=$("$haltfw" --list-verbs | sort | tr '\n' ' ' | sed 's/ $//')
[[ -n $table_verbs ]] || { echo "FAIL: '$haltfw --list-verbs' printed nothing"; fails=$((fails + 1)); }
expect "haltfw " "$table_verbs"
expect "haltfw " "" "$tmp/no-such-haltfw"

# Each verb's options offered are those 'haltfw VERB --help' lists (the
# option column: "  -h [ --help ]", "  --no-wait"), and for verify-console
# the global --config, which names the config to judge against.
for verb in $table_verbs; do
    help_opts=$("$haltfw" "$verb" --help | sed -nE 's/^  (-[a-z] \[ )?(--[a-z-]+).*/\2/p')
    [[ $verb == verify-console ]] && help_opts+=$'\n--config'
    expect "haltfw $verb --" "$(sort <<<"$help_opts" | tr '\n' ' ' | sed 's/ $//')"
done

if ((fails)); then
    echo "completion: $fails case(s) failed"
    exit 1
fi
echo "completion: all cases pass"
