#!/bin/bash
# Hostile first: a key file of the wrong mode, owner or length, not base64,
# or a symbolic link; a flipped public key; the box's own key as a peer; a
# peer of an unknown interface; an endpoint given as a name. Each is
# refused with the config's file:line and what is wrong (never the key),
# and nothing changes: no wg0, no address, no ruleset.
set -euo pipefail
source "$(dirname "$0")/wg_common.bash"

key="$WORK/wg0.key"
refused() {  # WHAT LINE
    hfw 2 apply
    expect_line "$1" "$2"
    grep -q "; nothing changed$" <<<"$OUT" || g_fail "$1: no 'nothing changed' in: $OUT"
    if grep -qF -- "$(cat "$WORK/good.key" 2>/dev/null || cat "$key")" <<<"$OUT"; then
        g_fail "$1: the private key is in the output"
    fi
    if grep -qF -- "$(cat "$WORK/laptop.psk")" <<<"$OUT"; then g_fail "$1: the preshared key is in the output"; fi
    g_say "refused: $1"
}

write_conf
chmod 0644 "$key"
refused "key file mode 0644" \
    "$CONF:5: interface 'vpn': wireguard-key '$key': mode 0644: a key file must be mode 0600 or 0400 (readable by root alone)"
chmod 0600 "$key"

chown 65534:65534 "$key"
refused "key file of another owner" \
    "$CONF:5: interface 'vpn': wireguard-key '$key': owned by uid 65534: a key file must be owned by root"
chown 0:0 "$key"

cp -p "$key" "$WORK/good.key"
head -c 43 "$WORK/good.key" >"$key"
refused "key file too short" \
    "$CONF:5: interface 'vpn': wireguard-key '$key': holds 43 bytes: expected one base64 key (44 characters) and a newline"
sed 's/^\(.....\)./\1!/' "$WORK/good.key" >"$key"
refused "key file not base64" \
    "$CONF:5: interface 'vpn': wireguard-key '$key': not a WireGuard key: not base64 (a '!' at character 6)"
rm -f "$key"
ln -s "$WORK/good.key" "$key"
refused "key file a symbolic link" \
    "$CONF:5: interface 'vpn': wireguard-key '$key': a symbolic link: name the key file itself"
rm -f "$key"
mv "$WORK/good.key" "$key"

chmod 0644 "$WORK/laptop.psk"
refused "preshared key file mode 0644" \
    "$CONF:22: peer 'laptop': preshared-key-file '$WORK/laptop.psk': mode 0644: a key file must be mode 0600 or 0400 (readable by root alone)"
chmod 0600 "$WORK/laptop.psk"

# A flipped public key: the last character's low bits, which a real key
# never sets.
alphabet=ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/
last=${PEER_PUB:42:1}
before=${alphabet%%"$last"*}
flipped=${PEER_PUB:0:42}${alphabet:$((${#before} ^ 1)):1}=
set_line 18 "public-key = $flipped"
refused "flipped public key" \
    "$CONF:18: peer 'laptop': public-key: not base64 of 32 bytes (its last character has bits set past the 32nd byte)"

set_line 18 "public-key = $BOX_PUB"
refused "the box's own public key as a peer" \
    "$CONF:18: peer 'laptop': public-key is interface 'vpn''s own (the public key of its wireguard-key, line 5); the kernel ignores such a peer"
set_line 18 "public-key = $PEER_PUB"

set_line 17 "interface = vpm"
refused "a peer of an unknown interface" "$CONF:17: peer 'laptop': interface 'vpm': no section [interface.vpm]"
set_line 17 "interface = wan"
refused "a peer of an interface that is no WireGuard one" \
    "$CONF:17: peer 'laptop': interface 'wan' is not a WireGuard interface (it has no 'wireguard-key =')"
set_line 17 "interface = vpn"

set_line 20 "endpoint = vpn.example.net:51820"
refused "an endpoint given as a name" \
    "$CONF:20: peer 'laptop': endpoint 'vpn.example.net:51820': a host name; nothing can resolve names once the box is halted: give an IP address"
set_line 20 "endpoint = 198.51.100.2:51820"

# Nothing changed through all of that.
if ip -n "$box" link show wg0 >/dev/null 2>&1; then g_fail "wg0 exists after refused applies"; fi
[[ -z $(ip -n "$box" -4 addr show dev wan0) ]] || g_fail "wan0 got an address"
[[ -z $(ip netns exec "$box" nft list ruleset) ]] || g_fail "a ruleset was loaded"

# The config as it stands now is good: each refusal was for its cause.
hfw 0 apply --dry-run
expect_has "dry run" "would: interface 'vpn': create WireGuard device wg0"
g_say "every refusal named its line; nothing changed"
