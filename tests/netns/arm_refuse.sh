#!/bin/bash
# arm refuses, and leaves no mount, guard or manifest behind: a final stage
# that is not an executable (before apply changes anything), a blocker (an address
# with a finite lifetime; firewalld that cleans up on exit), a step that
# fails half-way (everything done before it undone). halt refuses without
# systemd before it changes anything.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/arm_env.bash"
make_links
write_config

# nothing_armed WHAT: no exitrd (not even its directory), no guard.
nothing_armed() {
    expect_eq "$1: mounts on the exitrd" "$(exitrd_mounts)" 0
    [ -e "$HALTFW_EXITRD" ] && fail "$1: the exitrd directory $HALTFW_EXITRD was left behind"
    expect_eq "$1: guards" "$(cd "$UNITS" && find . -mindepth 1)" ""
}

# A final stage that is not an ELF executable: refused before apply,
# nothing changed.
before=$(net_snapshot)
printf '#!/bin/sh\necho not a final stage\n' >"$WORK/script-final"
chmod +x "$WORK/script-final"
run_haltfw 2 --config "$CONF" arm --final "$WORK/script-final"
expect_eq "script as final stage" "$OUT" "haltfw: cannot arm: final stage $WORK/script-final: not an ELF file; nothing changed"
expect_eq "script as final stage: network" "$(net_snapshot)" "$before"
nothing_armed "script as final stage"
run_haltfw 3 --config "$CONF" arm --final "$WORK/no-such-final"
expect_eq "missing final stage" "$OUT" "haltfw: cannot arm: final stage $WORK/no-such-final: No such file or directory (give it with --final or HALTFW_FINAL); nothing changed"
HALTFW_FINAL="$WORK/no-such-final" run_haltfw 3 --config "$CONF" arm
expect_contains "HALTFW_FINAL" "$OUT" "final stage $WORK/no-such-final: No such file or directory"
nothing_armed "missing final stage"

# A lease-like address: a blocker; apply's changes stay, nothing is armed.
ip addr add 198.51.100.77/24 dev wan0 valid_lft 300 preferred_lft 300
run_haltfw 1 --config "$CONF" arm --final "$FINAL"
expect_contains "blocker: apply ran" "$OUT" "applied 29 changes"
expect_contains "blocker" "$OUT" "BLOCKER: interface 'wan' (wan0): address 198.51.100.77/24 has a finite lifetime (valid "
expect_contains "blocker: verdict" "$OUT" "haltfw: cannot arm: 1 blocker; nothing armed (apply's changes stay)"
nothing_armed "blocker"
ip addr del 198.51.100.77/24 dev wan0

# firewalld, which flushes the ruleset in its SIGTERM handler: a blocker
# unless CleanupOnExit=no.
mkdir -p "$HALTFW_SYSROOT/usr/sbin" "$HALTFW_SYSROOT/etc/firewalld"
touch "$HALTFW_SYSROOT/usr/sbin/firewalld"
run_haltfw 1 --config "$CONF" arm --final "$FINAL"
expect_contains "firewalld" "$OUT" "BLOCKER: firewalld is installed and its CleanupOnExit is yes (the default: /etc/firewalld/firewalld.conf does not set it): when firewalld stops at the halt it flushes the ruleset and sets every policy to ACCEPT; set CleanupOnExit=no in /etc/firewalld/firewalld.conf or remove firewalld"
nothing_armed "firewalld"
run_haltfw 1 --config "$CONF" check
expect_contains "check agrees" "$OUT" "BLOCKER: firewalld is installed and its CleanupOnExit is yes"
printf '# firewalld config file\nCleanupOnExit=no\n' >"$HALTFW_SYSROOT/etc/firewalld/firewalld.conf"
run_haltfw 0 --config "$CONF" arm --final "$FINAL"
run_haltfw 0 disarm
rm -r "$HALTFW_SYSROOT/usr/sbin" "$HALTFW_SYSROOT/etc/firewalld"
nothing_armed "disarm after firewalld"

# netfilter-persistent with FLUSH_ON_STOP=1 gets a guard of its own.
echo "FLUSH_ON_STOP=1" >"$HALTFW_SYSROOT/etc/default/netfilter-persistent"
run_haltfw 0 --config "$CONF" arm --final "$FINAL"
expect_contains "FLUSH_ON_STOP=1" "$OUT" "guard: wrote $UNITS/netfilter-persistent.service.d/50-haltfw.conf"
run_haltfw 0 disarm
echo "FLUSH_ON_STOP=0" >"$HALTFW_SYSROOT/etc/default/netfilter-persistent"

# A step that fails half-way: the second guard cannot be written (its
# drop-in directory is a file). The mount, the final stage and the first
# guard are undone.
touch "$UNITS/networking.service.d"
run_haltfw 1 --config "$CONF" arm --final "$FINAL"
expect_contains "half-way: mounted first" "$OUT" "exitrd: mounted a tmpfs on $HALTFW_EXITRD"
expect_contains "half-way: error" "$OUT" "haltfw: arm: mkdir $UNITS/networking.service.d: exists and is not a directory"
expect_contains "half-way: undo guard" "$OUT" "undo: remove $UNITS/nftables.service.d/50-haltfw.conf"
expect_contains "half-way: undo mount" "$OUT" "undo: unmount the exitrd $HALTFW_EXITRD"
expect_contains "half-way: verdict" "$OUT" "haltfw: arm failed; everything it had prepared was undone (apply's changes stay)"
rm "$UNITS/networking.service.d"
nothing_armed "half-way"

# A failed re-arm puts the previous arm back: same files, still armed.
run_haltfw 0 --config "$CONF" arm --final "$FINAL"
armed=$(cd "$WORK" && find exitrd root/run -type f -exec sha256sum {} + | sort)
rm "$UNITS/networking.service.d/50-haltfw.conf"
rmdir "$UNITS/networking.service.d"
touch "$UNITS/networking.service.d"
echo 'FLUSH_ON_STOP="1"' >"$HALTFW_SYSROOT/etc/default/netfilter-persistent"
run_haltfw 1 --config "$CONF" arm --final "$FINAL"
rm "$UNITS/networking.service.d"
mkdir "$UNITS/networking.service.d"
run_haltfw 0 --config "$CONF" status
expect_contains "after a failed re-arm" "$OUT" "armed: no (guard $UNITS/networking.service.d/50-haltfw.conf missing; guard $UNITS/netfilter-persistent.service.d/50-haltfw.conf missing)"
expect_eq "after a failed re-arm: files" "$(cd "$WORK" && find exitrd root/run -type f -exec sha256sum {} + | sort | grep -v networking.service.d)" \
    "$(grep -v networking.service.d <<<"$armed")"
run_haltfw 0 disarm
rmdir "$UNITS/networking.service.d"
echo "FLUSH_ON_STOP=0" >"$HALTFW_SYSROOT/etc/default/netfilter-persistent"

# halt without systemd: refused before anything changes.
run_haltfw 3 --config "$CONF" halt --final "$FINAL"
expect_eq "halt with a sysroot" "$OUT" "haltfw: cannot halt: systemd is not contacted (HALTFW_SYSROOT is set); nothing changed"
if [ ! -d /run/systemd/system ]; then
    # Only where systemd does not run: elsewhere this would halt the host.
    OUT=$(env -u HALTFW_SYSROOT "$HALTFW" --config "$CONF" halt --final "$FINAL" 2>&1) && fail "halt without systemd succeeded"
    expect_eq "halt without systemd" "$OUT" "haltfw: cannot halt: systemd is not running (no /run/systemd/system); nothing changed"
fi
nothing_armed "halt"

# --wait-devices (for haltfw-arm.service at boot): a device that appears
# during the wait is armed; one that never does is reported after it.
ip link del lan0
(sleep 0.5; ip link add lan0 type veth peer name lan0p) &
run_haltfw 0 --config "$CONF" arm --final "$FINAL" --wait-devices 10
wait
expect_contains "waited for lan0" "$OUT" "interface 'lan' (lan0): add address 192.0.2.1/24"
run_haltfw 0 disarm
ip link del lan0
run_haltfw 1 --config "$CONF" arm --final "$FINAL" --wait-devices 1
expect_contains "lan0 never came" "$OUT" "devices: not all configured devices are ready after 1 s; going on"
expect_contains "lan0 never came" "$OUT" "interface 'lan': device 'lan0' does not exist"
nothing_armed "missing device"
echo "ok: $TEST"
