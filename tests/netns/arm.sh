#!/bin/bash
# arm: apply, then the exitrd (an exec-allowing tmpfs holding the static
# final stage and the manifest) and the guards; status says armed; arming
# again changes nothing; status sees tampering; disarm takes everything
# back and leaves addresses, routes and ruleset alone.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/arm_env.bash"
make_links
write_config
# arm records the exitrd's files only from sources older than 2 s (a second
# change within the same clock tick would not show): let a fresh build age.
wait_until_aged() {
    local age
    age=$(($(date +%s) - $(stat -c %Z "$1")))
    if [ "$age" -lt 3 ]; then sleep $((3 - age)); fi
}
wait_until_aged "$FINAL"

run_haltfw 0 --config "$CONF" arm --final "$FINAL"
digest=$("$HALTFW" digest)
expect_contains "arm: apply" "$OUT" "applied 29 changes (ruleset generation "
expect_contains "arm: mount" "$OUT" "exitrd: mounted a tmpfs on $HALTFW_EXITRD (mode 0700, exec allowed)"
expect_contains "arm: final stage" "$OUT" "exitrd: installed the final stage as $HALTFW_EXITRD/shutdown ("
# No haltfw-inert beside the stand-in: none in the exitrd, and arm says so.
expect_contains "arm: no inert program" "$OUT" "exitrd: no inert program: once halted the final stage stays PID 1, its files in memory"
[ ! -e "$HALTFW_EXITRD/haltfw-inert" ] || fail "arm installed a haltfw-inert though none is beside the stand-in"
expect_contains "arm: guard" "$OUT" "guard: wrote $UNITS/nftables.service.d/50-haltfw.conf"
expect_contains "arm: no systemd" "$OUT" "systemd: systemd is not contacted (HALTFW_SYSROOT is set); daemon-reload skipped"
expect_contains "arm: manifest" "$OUT" "manifest: wrote $HALTFW_EXITRD/haltfw.manifest (digest $digest, 2 links, "
expect_contains "arm: verdict" "$OUT" "armed: digest $digest (manifest $HALTFW_EXITRD/haltfw.manifest)"

# The exitrd: a tmpfs of its own, mode 0700, exec allowed (Debian's /run is
# noexec, and systemd skips a shutdown it cannot execute).
read -r fstype opts super <<<"$(exitrd_mount)"
expect_eq "exitrd fstype" "$fstype" tmpfs
case ",$opts," in *,noexec,*) fail "exitrd mounted noexec: $opts" ;; esac
expect_contains "exitrd super options" "$super" "mode=700"
expect_eq "exitrd mode" "$(stat -c %a "$HALTFW_EXITRD")" 700

# The final stage: the very bytes given, 0755, static, and it runs there.
SHUTDOWN="$HALTFW_EXITRD/shutdown"
cmp -s "$FINAL" "$SHUTDOWN" || fail "exitrd shutdown differs from $FINAL"
expect_eq "shutdown mode" "$(stat -c %a "$SHUTDOWN")" 755
has_interp "$SHUTDOWN" && fail "exitrd shutdown is dynamically linked"
"$SHUTDOWN" || fail "exitrd shutdown does not run"

# The manifest: the live digest, the links and addresses, forwarding.
expect_eq "manifest mode" "$(stat -c %a "$M")" 600
expect_eq "manifest digest" "$(sed -n 's/^digest //p' "$M")" "$digest"
expect_eq "manifest links" "$(grep -E '^(link|address) ' "$M")" "link wan wan0
address wan0 198.51.100.1/24
address wan0 2001:db8:1::1/64
link lan lan0
address lan0 192.0.2.1/24
address lan0 2001:db8:2::1/64"
expect_eq "manifest routes" "$(grep '^route ' "$M")" "route wan0 0.0.0.0/0 198.51.100.254 0
route wan0 ::/0 2001:db8:1::fffe 1024
route wan0 203.0.113.0/24 198.51.100.253 0"
expect_contains "manifest forwarding" "$(grep '^sysctl ' "$M")" "sysctl net.ipv4.ip_forward 31"
expect_eq "manifest halt settings" "$(grep -E '^(ctrl-alt-del|sysrq) ' "$M")" "ctrl-alt-del ignore
sysrq 0"
# The final stage's own check of the live state against the manifest.
if [ -x "${HALTFW_FINAL_BIN:-}" ]; then
    vout=$("$HALTFW_FINAL_BIN" --verify "$M" 2>&1) || fail "haltfw-final --verify: $vout"
    expect_contains "haltfw-final --verify" "$vout" "HALTFW: HALTED-OK digest=$digest links=2"
    case $vout in *repaired*) fail "verify repaired something untouched: $vout" ;; esac
    # A unit's stop (ifdown) takes the WAN's address away, and the
    # routes through it go with it: all put back.
    before_routes=$(net_snapshot)
    ip addr del 198.51.100.1/24 dev wan0
    ip -6 route del default via 2001:db8:1::fffe dev wan0
    vout=$("$HALTFW_FINAL_BIN" --verify "$M" 2>&1) || fail "haltfw-final --verify after ifdown: $vout"
    expect_contains "verify: address" "$vout" "repaired: wan0 198.51.100.1/24 added"
    expect_contains "verify: default route" "$vout" "repaired: wan0 route 0.0.0.0/0 via 198.51.100.254 added"
    expect_contains "verify: route" "$vout" "repaired: wan0 route 203.0.113.0/24 via 198.51.100.253 added"
    expect_contains "verify: IPv6 default route" "$vout" "repaired: wan0 route ::/0 via 2001:db8:1::fffe added"
    expect_contains "verify: verdict" "$vout" "HALTFW: HALTED-OK digest=$digest links=2"
    expect_eq "addresses and routes after the repair" "$(net_snapshot)" "$before_routes"
fi

# The guards: nftables, ifupdown and wg-quick; netfilter-persistent has
# FLUSH_ON_STOP=0.
expect_eq "guards" "$(guards)" "./ifup@.service.d/50-haltfw.conf
./networking.service.d/50-haltfw.conf
./nftables.service.d/50-haltfw.conf
./wg-quick@.service.d/50-haltfw.conf"
expect_eq "nftables guard" "$(grep -v '^#' "$UNITS/nftables.service.d/50-haltfw.conf")" "[Service]
ExecStop="

run_haltfw 0 --config "$CONF" status
expect_contains "status armed" "$OUT" "armed: yes (digest $digest, manifest $M)"

# Arming again: nothing to apply, the same mount, the same files.
before=$(cd "$WORK" && find exitrd root -type f -exec sha256sum {} + | sort)
run_haltfw 0 --config "$CONF" arm --final "$FINAL"
expect_contains "re-arm: apply" "$OUT" "nothing to change: the live state matches $CONF"
expect_contains "re-arm: mount" "$OUT" "exitrd: $HALTFW_EXITRD is already haltfw's tmpfs; updating it in place"
# Not even compared: every source and copy has the stamp the first arm
# recorded.
expect_contains "re-arm: final stage" "$OUT" "exitrd: final stage $SHUTDOWN unchanged (1 file, as the last arm recorded it in $HALTFW_EXITRD/haltfw.files)"
expect_contains "re-arm: guard" "$OUT" "guard: $UNITS/nftables.service.d/50-haltfw.conf unchanged"
expect_contains "re-arm: manifest" "$OUT" "manifest: $M unchanged (digest $digest,"
case "$OUT" in *"daemon-reload"*) fail "re-arm reloaded systemd although no guard changed: $OUT" ;; esac
expect_eq "re-arm: mounts on the exitrd" "$(exitrd_mounts)" 1
expect_eq "re-arm: files" "$(cd "$WORK" && find exitrd root -type f -exec sha256sum {} + | sort)" "$before"

# A copy changed behind arm's back changes its stamp: the next arm compares,
# and puts the final stage back.
printf 'x' >>"$SHUTDOWN"
run_haltfw 0 --config "$CONF" arm --final "$FINAL"
expect_contains "re-arm: changed copy" "$OUT" "exitrd: installed the final stage as $SHUTDOWN ("
cmp -s "$FINAL" "$SHUTDOWN" || fail "re-arm did not put back the final stage"
# A source changed in place, with its size and mtime as before: the ctime
# shows it.
cp "$FINAL" "$WORK/final"
wait_until_aged "$WORK/final"
run_haltfw 0 --config "$CONF" arm --final "$WORK/final"
# Another source path than the record's: compared, so the line ends there.
expect_eq "arm from a copy: compared" "$(grep -F "exitrd: final stage $SHUTDOWN" <<<"$OUT")" "exitrd: final stage $SHUTDOWN unchanged"
run_haltfw 0 --config "$CONF" arm --final "$WORK/final"
expect_contains "arm from a copy: recorded" "$OUT" "exitrd: final stage $SHUTDOWN unchanged (1 file, as the last arm recorded it"
touch -r "$WORK/final" "$WORK/final.time"
last=$(($(stat -c %s "$WORK/final") - 1))
byte=$(od -An -tu1 -j "$last" -N1 "$WORK/final" | tr -d ' ')
printf "\\$(printf %03o $(((byte + 1) % 256)))" | dd of="$WORK/final" bs=1 seek="$last" conv=notrunc status=none
touch -r "$WORK/final.time" "$WORK/final"
cmp -s "$FINAL" "$WORK/final" && fail "the test did not change its copy of the final stage"
run_haltfw 0 --config "$CONF" arm --final "$WORK/final"
expect_contains "source changed in place" "$OUT" "exitrd: installed the final stage as $SHUTDOWN ("
cmp -s "$WORK/final" "$SHUTDOWN" || fail "re-arm did not install the changed final stage"
run_haltfw 0 --config "$CONF" arm --final "$FINAL"
cmp -s "$FINAL" "$SHUTDOWN" || fail "re-arm did not put back the final stage"

# status sees a changed ruleset and a lost guard; arming again repairs both.
nft add rule inet filter forward accept
rm "$UNITS/networking.service.d/50-haltfw.conf"
run_haltfw 1 --config "$CONF" status
expect_contains "status after tampering" "$OUT" "armed: no (guard $UNITS/networking.service.d/50-haltfw.conf missing; the live ruleset digest now differs from the armed one ($digest))"
run_haltfw 0 --config "$CONF" arm --final "$FINAL"
expect_contains "re-arm after tampering" "$OUT" "guard: wrote $UNITS/networking.service.d/50-haltfw.conf"
expect_eq "digest after re-arm" "$("$HALTFW" digest)" "$digest"
run_haltfw 0 --config "$CONF" status
expect_contains "status re-armed" "$OUT" "armed: yes (digest $digest, manifest $M)"

# disarm: everything of the arm goes; the network stays as it is.
net_before=$(net_snapshot)
run_haltfw 0 disarm
expect_eq "disarm output" "$OUT" "removed the manifest $M
unmounted the exitrd $HALTFW_EXITRD with the final stage
removed the guard $UNITS/nftables.service.d/50-haltfw.conf
removed the guard $UNITS/networking.service.d/50-haltfw.conf
removed the guard $UNITS/ifup@.service.d/50-haltfw.conf
removed the guard $UNITS/wg-quick@.service.d/50-haltfw.conf
systemd: systemd is not contacted (HALTFW_SYSROOT is set); daemon-reload skipped
disarmed: a halt is an ordinary halt again; the network state is left as it is"
expect_eq "disarm: mounts" "$(exitrd_mounts)" 0
[ -e "$HALTFW_EXITRD" ] && fail "disarm left the exitrd directory it had created"
expect_eq "disarm: guards" "$(guards)" ""
expect_eq "disarm: drop-in directories" "$(cd "$UNITS" && find . -mindepth 1)" ""
expect_eq "disarm: network" "$(net_snapshot)" "$net_before"
expect_eq "disarm: ruleset" "$("$HALTFW" digest)" "$digest"
expect_eq "disarm: forwarding" "$(cat /proc/sys/net/ipv4/ip_forward)" 1
run_haltfw 0 --config "$CONF" status
expect_contains "status disarmed" "$OUT" "armed: no (not armed)"

run_haltfw 0 disarm
expect_eq "disarm again" "$OUT" "nothing to disarm: not armed"
echo "ok: $TEST"
