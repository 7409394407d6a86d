#!/bin/bash
# The guest test runner: runs one group of guest tests (tests/guest/GROUP/
# *.sh) inside the appliance VM, on its own kernel, in one boot. The tests
# and tests/guest/lib.sh (and tests/data/gateway and tests/data/bridge-filter, as data/...) travel in the test hook's script (a tarball in
# base64); in the guest each runs in turn, under a time limit, with its
# output on the serial console, prefixed by its name, and one result line:
#
#   GUEST-TEST-END NAME rc=N secs=S
#
# then the guest powers off. This script reads the results off the serial
# log: every test of the group must end with rc=0. Exit status: 0 all
# passed; 77 none failed but some could not run (rc=77); 1 otherwise.
#
#   tests/guest/run.sh GROUP        (ctest: "guest: GROUP", label guest)
set -euo pipefail
group=${1:?usage: tests/guest/run.sh GROUP}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/qemu/lib.sh
source "$here/../qemu/lib.sh"
HFW_TEST=guest-$group
hfw_prog="guest/$group"
HFW_OUT=${HALTFW_TEST_OUT:-/tmp/haltfw-tests}/$HFW_TEST-$(date +%Y%m%d-%H%M%S)-$$
HFW_SERIAL_LOG="$HFW_OUT/serial.log"
HFW_RUN_LOG="$HFW_OUT/qemu-run.log"
# How long one test may run in the guest (TCG is slow).
readonly per_test=${HALTFW_GUEST_TEST_TIMEOUT:-150}

hfw_require_root
[[ -d $here/$group ]] || hfw_fail "no guest test group '$group' (tests/guest/$group/)"
mapfile -t tests < <(cd "$here/$group" && find . -maxdepth 1 -name '*.sh' -printf '%f\n' | LC_ALL=C sort)
((${#tests[@]})) || hfw_fail "guest test group '$group' has no tests"
mkdir -p "$HFW_OUT"

guest="$HFW_OUT/guest-runner.sh"
{
    cat <<EOF_HEAD
# The guest side of tests/guest/run.sh, group '$group'.
dir=/run/haltfw-guest
rm -rf "\$dir" && mkdir -p "\$dir" && cd "\$dir" || exit 1
base64 -d <<'EOF_TAR' | tar -xzf - || { echo "GUEST-RUNNER-BROKEN: cannot unpack the tests"; exit 1; }
EOF_HEAD
    tar -C "$here" --owner=0 --group=0 -czf - lib.sh "$group" -C "$here/.." data/gateway data/bridge-filter | base64
    cat <<EOF_BODY
EOF_TAR
n=0
for t in ${tests[*]}; do
    name=\${t%.sh}
    echo "GUEST-TEST-BEGIN \$name"
    t0=\$(date +%s.%N)
    rc=0
    timeout -k 5 $per_test bash "$group/\$t" </dev/null 2>&1 | sed -u "s/^/guest[\$name]: /" || true
    rc=\${PIPESTATUS[0]}
    echo "GUEST-TEST-END \$name rc=\$rc secs=\$(awk -v a="\$t0" -v b="\$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
    n=\$((n + 1))
done
echo "GUEST-RUNNER-DONE tests=\$n"
sleep 1
systemctl poweroff
EOF_BODY
} >"$guest"

hfw_say "group '$group': ${#tests[*]} tests (${tests[*]})"
hfw_image
hfw_boot "$guest"
hfw_wait_log '^GUEST-RUNNER-(DONE|BROKEN)' $((120 + (per_test + 10) * ${#tests[@]})) "the guest runner's end"
hfw_log_has '^GUEST-RUNNER-BROKEN' && hfw_fail "the guest could not unpack the tests"

failed=() skipped=()
for t in "${tests[@]}"; do
    name=${t%.sh}
    line=$(hfw_log_clean | grep -E "^GUEST-TEST-END $name rc=" | tail -n 1 || true)
    rc=${line#* rc=}
    rc=${rc%% *}
    case $line in
        '') failed+=("$name (no result)") ;;
        *) case $rc in
               0) hfw_say "PASS $name (${line##* secs=} s)" ;;
               77) skipped+=("$name") ; hfw_say "SKIP $name: $(hfw_log_clean | grep -E "^guest\[$name\]: " | tail -n 1)" ;;
               *) failed+=("$name (rc=$rc)") ;;
           esac ;;
    esac
done
if ((${#failed[@]})); then
    for f in "${failed[@]}"; do
        n=${f%% *}
        hfw_say "FAIL $f; its last lines:"
        hfw_log_clean | grep -E "^guest\[$n\]: " | tail -n 8 | sed 's/^/    /' >&2 || true
    done
    hfw_fail "${#failed[@]} of ${#tests[@]} guest tests failed: ${failed[*]}"
fi
((${#skipped[@]})) && hfw_skip "${#skipped[@]} of ${#tests[@]} guest tests could not run: ${skipped[*]}"
hfw_pass
