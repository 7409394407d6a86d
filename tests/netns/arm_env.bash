# Sourced by the arm namespace tests after lib.sh (not a test itself: the
# test glob takes *.sh). Points every place arm writes into $WORK:
#   HALTFW_EXITRD   the exitrd tmpfs is mounted there (the mount namespace
#                   from unshare --mount is private, so the host never sees it)
#   HALTFW_SYSROOT  unit files and their settings are read, and the guards
#                   written, under it; with it set haltfw never contacts
#                   systemd, so no test can reload or halt the host
# and provides a fake Debian unit tree with nftables and ifupdown installed,
# and M, the path of the manifest arm writes.
FINAL=${HALTFW_TEST_FINAL:-}
if [ ! -x "$FINAL" ]; then
    echo "skipped: $TEST: HALTFW_TEST_FINAL (a static stand-in for haltfw-final) is not set"
    exit 77
fi
export HALTFW_EXITRD="$WORK/exitrd"
export HALTFW_SYSROOT="$WORK/root"
# shellcheck disable=SC2034 # read by the tests that source this
M="$HALTFW_EXITRD/haltfw.manifest"
unset HALTFW_FINAL
UNITS="$HALTFW_SYSROOT/run/systemd/system"
mkdir -p "$UNITS" "$HALTFW_SYSROOT/lib/systemd/system" "$HALTFW_SYSROOT/etc/default"
for u in nftables.service networking.service ifup@.service netfilter-persistent.service wg-quick@.service; do
    echo "[Service]" >"$HALTFW_SYSROOT/lib/systemd/system/$u"
done
echo "FLUSH_ON_STOP=0" >"$HALTFW_SYSROOT/etc/default/netfilter-persistent"
# The exitrd may still be mounted when a test fails half-way.
trap 'umount "$HALTFW_EXITRD" 2>/dev/null || true; rm -rf "$WORK"' EXIT

# exitrd_mount: "FSTYPE OPTIONS" of the top-most mount on the exitrd, or "".
exitrd_mount() {
    python3 - "$(realpath -m "$HALTFW_EXITRD")" <<'PY'
import sys
found = ""
for line in open("/proc/self/mountinfo"):
    w = line.split()
    sep = w.index("-")
    if w[4] == sys.argv[1]:
        found = w[sep + 1] + " " + w[5] + " " + w[sep + 3]
print(found)
PY
}

# exitrd_mounts: how many mounts are stacked on the exitrd.
exitrd_mounts() {
    awk -v p="$(realpath -m "$HALTFW_EXITRD")" '$5 == p' /proc/self/mountinfo | wc -l
}

# guards: the drop-ins under the sysroot, one path per line, sorted.
guards() {
    (cd "$UNITS" && find . -name '*.conf' | sort)
}

# has_interp FILE: true if FILE is dynamically linked.
has_interp() {
    readelf -lW "$1" | grep -q 'Requesting program interpreter'
}

# write_unrestorable_manifest SRC DST : DST is SRC with the rules of chain
# 'forward' moved to a chain 'nowhere' that does not exist, sealed with a
# valid checksum and the same digest line: a manifest whose ruleset the
# kernel refuses to restore.
write_unrestorable_manifest() {
    python3 - "$1" "$2" <<'PY'
import hashlib, sys
lines = open(sys.argv[1]).read().split("\n")
body = [l for l in lines if l and not l.startswith("end ")]
old, new = "forward".encode().hex(), "nowhere".encode().hex()
for i, l in enumerate(body):
    w = l.split(" ")
    if w[0] == "object" and w[1] == "7" and w[4] == old:
        w[4], w[5] = new, w[5].replace(old, new)
        body[i] = " ".join(w)
        break
else:
    sys.exit("no rule of chain 'forward' in the manifest")
text = "\n".join(body) + "\n"
open(sys.argv[2], "w").write(text + "end " + hashlib.sha256(text.encode()).hexdigest() + "\n")
PY
}

# The kernel's ruleset generation now, as haltfw reads it.
generation() { "$HALTFW" --verbose digest 2>&1 | sed -n 's/^read at ruleset generation //p'; }

# armed_cookie : the network namespace cookie arm recorded in the manifest
# beside the generation it read the armed ruleset at.
armed_cookie() { sed -n 's/^generation [0-9a-f-]* \([0-9]*\) [0-9]*$/\1/p' "$HALTFW_EXITRD/haltfw.manifest"; }

# write_hash_set_rules FILE N : a ruleset with one N-element IPv4 hash set
# (table inet big, set s) that the forward chain drops, and an input chain:
# what the large-set tests arm.
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/set_rules.sh"
write_hash_set_rules() { hfw_set_rules "$1" hash "$2" big s; }
