#!/bin/bash
# Scenario: hardware watchdogs on the halted box. The VM gets two i6300ESB
# watchdogs (i6300esb resets the machine after two stages, each about half
# its timeout) besides the ICH9 TCO watchdog every q35 VM has:
#   - one is systemd's runtime watchdog (the image's
#     RuntimeWatchdogSec=10s, WatchdogDevice=/dev/watchdog-runtime): systemd
#     252 disarms it itself on its way to a halt (DISABLECARD and the magic
#     close in become_shutdown), so the final stage finds it not running;
#   - the other is fed by a daemon (a perl loop; timeout 20 s, as it dies
#     in the shutdown transaction: 2 s before the final stage's report in a
#     quiet run, more on a loaded machine) that is killed without the
#     magic close: the kernel says "watchdog did not stop!" and leaves it
#     running with nothing to feed it. The final stage stops it with the
#     magic close;
#   - the TCO watchdog (iTCO_wdt) was started by the firmware and is fed by
#     the kernel itself: not running as far as userspace goes, left alone.
# Then the box must still be halted (HALTED-OK, verify-console), forward
# LAN->WAN and answer three times the timeouts later (60 s after the
# daemon's death by the kernel's clock, and at least 30 s after the
# report), with a single boot in the serial log.
#
# It can fail: HFW_WATCHDOG_PROVE_FAIL=1 sets nowayout on the daemon's
# watchdog once it has died, so that nothing can stop it, and the scenario
# then expects the opposite: HALTED-FAIL reason=watchdog, the report's
# "cannot be stopped (nowayout): the box resets in 20 s", and a second
# boot. Run by hand (TCG, 1m02s in all): the final stage's magic close
# failed at 32.08 s of guest time ("nowayout prevents watchdog being
# stopped!", then the release's ping), the report said "resets in 20 s",
# and the second boot's first line came 23.4 s after the report (the 20 s
# plus the firmware's start). Without the prove mode, the same box stays
# halted with one boot (the figures of a pass: the daemon died 2.2 s
# before the report, the watchdog was stopped within that time).
set -euo pipefail
# shellcheck source=tests/qemu/lib.sh
source "$(dirname "$0")/lib.sh"

hfw_require_root
hfw_require_cmd ping
hfw_image
prove_fail=${HFW_WATCHDOG_PROVE_FAIL:-0}

guest=$(mktemp)
cat >"$guest" <<EOF_GUEST
prove_fail=$prove_fail
EOF_GUEST
cat >>"$guest" <<'EOF_GUEST'
# wd_esb STATE : the i6300ESB watchdogs in that state. (Linux 6.1's
# i6300esb gives them no parent device: identity and state tell them apart.)
wd_esb() {
    local d
    for d in /sys/class/watchdog/watchdog*; do
        [[ $(cat "$d/identity") == "i6300ESB timer" && $(cat "$d/state") == "$1" ]] && echo "${d##*/}"
    done
}
# wd_show NAME : its sysfs state in one line.
wd_show() {
    local d=/sys/class/watchdog/$1
    echo "$1 ($(cat "$d/identity")) state=$(cat "$d/state") timeout=$(cat "$d/timeout") nowayout=$(cat "$d/nowayout")"
}
# systemd opens /dev/watchdog-runtime once udev has made it (it retries
# every 5 s at most): one i6300ESB active, the other idle for the daemon.
for ((i = 0; i < 150; i++)); do
    runtime=$(wd_esb active) fed=$(wd_esb inactive)
    [[ $runtime =~ ^watchdog[0-9]+$ && $fed =~ ^watchdog[0-9]+$ ]] && break
    sleep 0.2
done
echo "watchdog: runtime $(wd_show "$runtime")"
for d in /sys/class/watchdog/watchdog*; do echo "watchdog: present $(wd_show "${d##*/}")"; done
# The daemon: feeds its watchdog every 2 s; the shutdown transaction stops
# it (SIGTERM; its slice conflicts with shutdown.target), and it dies
# without the magic close. WDIOC_SETTIMEOUT is _IOWR('W', 6, int). To
# prove the scenario can fail, its ExecStopPost then sets nowayout on the
# watchdog it left running.
stop_post=()
if ((prove_fail)); then
    stop_post=(-p "ExecStopPost=/bin/sh -c 'echo 1 >/sys/class/watchdog/$fed/nowayout'")
fi
systemd-run --quiet --unit=haltfw-test-feeder "${stop_post[@]}" perl -e '
    my $dev = $ARGV[0];
    open(my $f, ">", "/dev/$dev") or die "open /dev/$dev: $!";
    my $t = pack("i", 20);
    ioctl($f, 0xC0045706, $t) or die "WDIOC_SETTIMEOUT: $!";
    while (1) { syswrite($f, "."); sleep 2 }' "$fed"
for ((i = 0; i < 50; i++)); do
    [[ $(cat "/sys/class/watchdog/$fed/state") == active ]] && break
    sleep 0.2
done
echo "watchdog: fed $(wd_show "$fed")"
echo "watchdog: halting"
haltfw halt || echo "watchdog: haltfw halt failed with $?"
EOF_GUEST
hfw_boot "$guest" --device i6300esb --device i6300esb
rm -f "$guest"

hfw_wait_log '^watchdog: halting' 300 "the guest script starting the halt"
runtime=$(hfw_log_clean | sed -n 's/^watchdog: runtime \(watchdog[0-9]*\) .*/\1/p')
fed=$(hfw_log_clean | sed -n 's/^watchdog: fed \(watchdog[0-9]*\) .*/\1/p')
[[ -n $runtime && -n $fed ]] || hfw_fail "the guest script did not find both i6300ESBs"
hfw_assert_log "^watchdog: runtime $runtime \\(i6300ESB timer\\) state=active timeout=10 nowayout=0\$" \
    "systemd running its runtime watchdog (RuntimeWatchdogSec=10s) on /dev/watchdog-runtime"
hfw_assert_log "^watchdog: fed $fed \\(i6300ESB timer\\) state=active timeout=20 nowayout=0\$" "the daemon feeding $fed"
hfw_assert_log '^watchdog: present watchdog[0-9]+ \(iTCO_wdt\) state=inactive' "the ICH9 TCO watchdog, kernel-fed"

hfw_wait_log 'HALTFW: HALTED-(OK|FAIL)' 240 "the final stage's report"
report_at=$HFW_SEEN_AT
sleep 1  # let the last console bytes reach the log
# The daemon's death: the kernel's release without the magic close.
hfw_assert_log "watchdog: $fed: watchdog did not stop!" "the kernel leaving $fed running as its daemon died"
hfw_assert_log "HALTFW: watchdog: $runtime \\(i6300ESB timer\\) not running\$" "systemd having disarmed $runtime"
hfw_assert_log 'HALTFW: watchdog: watchdog[0-9]+ \(iTCO_wdt\) not running$' "the TCO watchdog left to the kernel"
boots() { hfw_log_clean | grep -c 'Linux version' || true; }

if [[ $prove_fail == 1 ]]; then
    esb="$fed \\(i6300ESB timer\\)"
    hfw_assert_log "HALTFW: watchdog: $esb cannot be stopped \\(nowayout\\): the box resets in 20 s\$" \
        "the report naming the watchdog that cannot be stopped"
    hfw_assert_log 'HALTFW: HALTED-FAIL reason=watchdog ' "HALTED-FAIL reason=watchdog"
    for ((i = 0; i < 300 && $(boots) < 2; i++)); do sleep 0.2; done
    (($(boots) >= 2)) ||
        hfw_fail "no second boot within 60 s of the report: the unstoppable watchdog did not reset the box"
    hfw_say "the box was reset $(hfw_since "$report_at") s after the report, as the report said it would be"
    hfw_stop
    hfw_pass
fi

hfw_expect_halted_ok 5
hfw_assert_log "HALTFW: watchdog: $fed \\(i6300ESB timer\\) stopped with the magic close\$" \
    "the final stage stopping $fed"
# Three times the fed watchdog's 20 s since its daemon died, by the guest
# kernel's clock (its "did not stop!" line and the final stage's HALTED-OK
# copy in the kernel log), and three times systemd's 10 s since its disarm,
# which comes before the report.
ktime() { hfw_log_clean | sed -n "s/^\[ *\([0-9]*\)\.[0-9]*\] $1.*/\1/p" | tail -n 1; }
died=$(ktime "watchdog: $fed: watchdog did not stop!") reported=$(ktime 'haltfw-final: HALTED-OK')
[[ -n $died && -n $reported ]] || hfw_fail "no kernel time for the daemon's death or the report"
hfw_say "the final stage reported $((reported - died)) s after the daemon's death (the watchdog's timeout: 20 s)"
wait_s=$((60 - (reported - died)))
((wait_s >= 30)) || wait_s=30
sleep "$wait_s"
hfw_vm_running || hfw_fail "the VM ended after the halt"
(($(boots) == 1)) || hfw_fail "the serial log shows $(boots) boots: a watchdog reset the halted box"
hfw_log_has 'HALTFW: INERT ' || hfw_fail "no INERT line: PID 1 is not haltfw-inert"
hfw_lan ping -n -c 3 -i 0.3 -W 2 203.0.113.1 >"$HFW_OUT/ping-far.txt" 2>&1 ||
    hfw_fail "the halted box no longer forwards LAN->WAN 30 s after the report:
$(cat "$HFW_OUT/ping-far.txt")"
hfw_lan ping -n -c 2 -W 2 192.0.2.1 >"$HFW_OUT/ping-box.txt" 2>&1 || hfw_fail "the halted box no longer answers ping"
hfw_say "halted, forwarding and one boot $(hfw_since "$report_at") s after the report"
hfw_stop
hfw_pass
