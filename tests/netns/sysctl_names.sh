#!/bin/bash
# [sysctl] keys are names under net.*, never paths: 'net.//.kernel.hostname'
# (once '/' stands for '.', the path /proc/sys/net/../kernel/hostname) is a
# config error and nothing is written; a key this kernel lacks is named by
# check; values compare as the kernel prints them ('01' is its '1'), so a
# second apply changes nothing, the manifest holds the kernel's form, and
# the real final stage verifies it; a sealed manifest with a key outside
# net.* is refused whole.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/arm_env.bash"
make_links
write_config
hostname_before=$(cat /proc/sys/kernel/hostname)

# The hostile path first: a path in disguise, and a key outside net.*.
cp "$CONF" "$WORK/bad.conf"
printf 'net.//.kernel.hostname = owned\nkernel.modprobe = /bin/sh\n' >>"$WORK/bad.conf"
line=$(grep -n '^net\.//' "$WORK/bad.conf" | cut -d: -f1)
for verb in check apply; do
    run_haltfw 2 --config "$WORK/bad.conf" "$verb"
    expect_contains "$verb: traversal" "$OUT" "$WORK/bad.conf:$line: sysctl 'net.//.kernel.hostname': component '//' would be '..' (a '/' stands for a '.' in an interface name)"
    expect_contains "$verb: outside net" "$OUT" "$WORK/bad.conf:$((line + 1)): sysctl 'kernel.modprobe': under kernel.* only the panic settings can be set (kernel.panic, "
done
expect_eq "hostname untouched" "$(cat /proc/sys/kernel/hostname)" "$hostname_before"

# A well-formed key the kernel does not have: check names it and its line.
cp "$CONF" "$WORK/unknown.conf"
echo 'net.ipv4.no_such_thing = 1' >>"$WORK/unknown.conf"
run_haltfw 1 --config "$WORK/unknown.conf" check
expect_contains "unknown key" "$OUT" "sysctl 'net.ipv4.no_such_thing': no such setting in this kernel"

# Values not in the kernel's form, and a per-device key for a name with a
# dot ('/' in the key, as sysctl(8) writes it).
ip link add lan0.5 type veth peer name lan0p5
sed -i 's/^net.ipv4.ip_forward = 1$/net.ipv4.ip_forward = 01/' "$CONF"
printf 'net.ipv4.tcp_rmem = 4096  87380 \t 6291456\nnet.ipv6.conf.lan0/5.accept_ra = 02\n' >>"$CONF"
run_haltfw 0 --config "$CONF" apply
expect_eq "ip_forward" "$(cat /proc/sys/net/ipv4/ip_forward)" 1
expect_eq "tcp_rmem" "$(cat /proc/sys/net/ipv4/tcp_rmem)" "$(printf '4096\t87380\t6291456')"
expect_eq "lan0.5 accept_ra" "$(cat /proc/sys/net/ipv6/conf/lan0.5/accept_ra)" 2
run_haltfw 0 --config "$CONF" apply
expect_contains "second apply" "$OUT" "nothing to change"
run_haltfw 0 --config "$CONF" status

# The manifest holds the kernel's form; the real final stage agrees.
run_haltfw 0 --config "$CONF" arm --final "$FINAL"
expect_contains "manifest ip_forward" "$(cat "$M")" "sysctl net.ipv4.ip_forward $(printf 1 | od -An -tx1 | tr -d ' \n')"
expect_contains "manifest tcp_rmem" "$(cat "$M")" "sysctl net.ipv4.tcp_rmem $(printf '4096\t87380\t6291456' | od -An -tx1 | tr -d ' \n')"
if [ -n "${HALTFW_FINAL_BIN:-}" ]; then
    vout=$("$HALTFW_FINAL_BIN" --verify "$M" 2>&1) || fail "verify: $vout"
    expect_contains "verify" "$vout" "HALTFW: HALTED-OK"

    # A manifest sealed with a valid checksum that asks PID 1 to write
    # kernel.hostname through a '//' key: refused whole, nothing written.
    python3 - "$M" "$WORK/evil.manifest" <<'PY'
import hashlib, sys
body = [l for l in open(sys.argv[1]).read().split("\n") if l and not l.startswith("end ")]
body.append("sysctl net.//.kernel.hostname " + b"owned".hex())
text = "\n".join(body) + "\n"
open(sys.argv[2], "w").write(text + "end " + hashlib.sha256(text.encode()).hexdigest() + "\n")
PY
    rc=0
    vout=$("$HALTFW_FINAL_BIN" --verify "$WORK/evil.manifest" 2>&1) || rc=$?
    expect_eq "evil manifest exit" "$rc" 2
    expect_contains "evil manifest" "$vout" "sysctl key 'net.//.kernel.hostname': component '//' would be '..'"
    expect_eq "hostname untouched by the final stage" "$(cat /proc/sys/kernel/hostname)" "$hostname_before"
else
    echo "note: HALTFW_FINAL_BIN not set: the real final stage's verify is not run"
fi
run_haltfw 0 --config "$CONF" disarm
echo "ok: $TEST"
