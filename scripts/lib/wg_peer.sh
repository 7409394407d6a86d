# Host-side WireGuard peers of the halted box, for the QEMU scenario
# wireguard (tests/qemu/wireguard.sh) and the wireguard benchmark
# (scripts/bench.d/wireguard.sh). This host's kernel has no WireGuard: a
# peer is wireguard-go (userspace WireGuard over a TUN device) in one of the
# harness's namespaces, set up with wg(8) over its control socket.
#
# Source tests/qemu/lib.sh first (hfw_fail, hfw_say, HFW_OUT, HFW_BG_PIDS).
#
# What wireguard-go does, seen here (0.0.20220316): with -f it stays in the
# foreground; it makes the TUN device in the namespace it runs in, and its
# control socket /var/run/wireguard/IFNAME.sock, which is NOT per namespace
# (so device names are unique to the run: hfw_wg_name); the socket is
# there within ~0.1 s. SIGTERM ends it in about a second, the device and
# the socket gone with it. It prints a banner saying the kernel has
# WireGuard (it judges by the kernel's version): harmless. Its sockets keep
# the source address of the last packet received from a peer ("sticky"):
# to send from another address, set the endpoint again.
# shellcheck shell=bash
# shellcheck disable=SC2034 # HFW_WG_* variables are for the callers

# Where the run's key material goes: its own log directory, mode 0700.
HFW_WG_DIR=

# hfw_wg_keys NAME... : for each NAME a private key NAME.key and its public
# key NAME.pub in $HFW_WG_DIR ($HFW_OUT/wg, made 0700; files 0600).
hfw_wg_keys() {
    HFW_WG_DIR=$HFW_OUT/wg
    mkdir -p "$HFW_WG_DIR"
    chmod 0700 "$HFW_WG_DIR"
    local n
    for n in "$@"; do
        (umask 077 && wg genkey >"$HFW_WG_DIR/$n.key" && wg pubkey <"$HFW_WG_DIR/$n.key" >"$HFW_WG_DIR/$n.pub") ||
            hfw_fail "wg genkey/pubkey failed for '$n'"
    done
}

# hfw_wg_psk NAME : a preshared key NAME.psk in $HFW_WG_DIR (0600).
hfw_wg_psk() {
    (umask 077 && wg genpsk >"$HFW_WG_DIR/$1.psk") || hfw_fail "wg genpsk failed for '$1'"
}

# hfw_wg_get NAME.EXT : the contents of a key file of $HFW_WG_DIR (one line).
hfw_wg_get() {
    local v
    v=$(cat "$HFW_WG_DIR/$1") || hfw_fail "no key file $HFW_WG_DIR/$1"
    echo "$v"
}

# hfw_wg_box_interfaces : the part of the appliance's haltfw.conf the
# scenario and the benchmark share: the WAN and LAN as the harness wires
# them, wg0 on port 51820 at 203.0.113.129/25, and the road warrior
# 'laptop' (203.0.113.130/32) with its keys (hfw_wg_keys, hfw_wg_psk). For a
# heredoc that the host expands; the caller adds what follows.
hfw_wg_box_interfaces() {
    cat <<EOF
[interface.wan]
device = eth0
address = 198.51.100.1/24
gateway = 198.51.100.254

[interface.lan]
device = eth1
address = 192.0.2.1/24

[interface.vpn]
device = wg0
wireguard-key = wg0.key
listen-port = 51820
address = 203.0.113.129/25

[peer.laptop]
interface = vpn
public-key = $(hfw_wg_get laptop.pub)
allowed-ips = 203.0.113.130/32
preshared-key-file = laptop.psk
EOF
}

# hfw_wg_name TAG : a device name unique to this run (wireguard-go's control
# socket is shared by every namespace): wgTAG and the last digits of the
# PID, at most 15 characters.
hfw_wg_name() {
    local n="wg$1$$"
    echo "${n:0:15}"
}

# hfw_wg_start NS IFNAME SECONDS : runs wireguard-go for IFNAME in namespace
# NS, in the foreground of a background job bounded by SECONDS (timeout(1),
# which passes SIGTERM on); returns once its control socket is there (at
# most 10 s). Its output goes to $HFW_OUT/wireguard-go-IFNAME.txt. Sets
# HFW_WG_PID (end it with hfw_wg_stop; hfw_bg_cleanup ends it too).
hfw_wg_start() {
    local ns=$1 ifname=$2 limit=$3 sock=/var/run/wireguard/$2.sock i
    [[ ! -e $sock ]] || hfw_fail "wireguard-go: $sock exists already (another run's device '$ifname'?)"
    ip netns exec "$ns" timeout "$limit" wireguard-go -f "$ifname" >"$HFW_OUT/wireguard-go-$ifname.txt" 2>&1 &
    HFW_WG_PID=$!
    HFW_BG_PIDS+=("$HFW_WG_PID")
    for ((i = 0; i < 100; i++)); do
        [[ -S $sock ]] && ip -n "$ns" link show dev "$ifname" >/dev/null 2>&1 && return 0
        kill -0 "$HFW_WG_PID" 2>/dev/null || hfw_fail "wireguard-go for $ifname ended at once: $(tail -n 5 "$HFW_OUT/wireguard-go-$ifname.txt")"
        sleep 0.1
    done
    hfw_fail "wireguard-go made no device $ifname and control socket $sock within 10 s"
}

# hfw_wg_stop PID IFNAME : ends that wireguard-go (SIGTERM, at most 5 s)
# and fails unless its control socket went with it.
hfw_wg_stop() {
    hfw_end_pid "$1"
    [[ ! -e /var/run/wireguard/$2.sock ]] || hfw_fail "wireguard-go for $2 ended but left its control socket"
}

# hfw_wg_road_warrior NS IFNAME NAME BOX_PUB PSK_NAME ENDPOINT PORT ADDRESS
# ROUTE... : wireguard-go for IFNAME in NS (bounded by $HFW_WG_SECONDS,
# default 600) as the peer NAME (key NAME.key of $HFW_WG_DIR): listening on
# PORT, one peer, the box (BOX_PUB, preshared key PSK_NAME.psk) at ENDPOINT
# with a keepalive every 25 s, allowed every ROUTE; ADDRESS (a /32) on the
# device, up, and a route to each ROUTE through it. As a road warrior's
# wg-quick would set it. Sets HFW_WG_PID.
hfw_wg_road_warrior() {
    local ns=$1 ifname=$2 name=$3 box_pub=$4 psk=$5 endpoint=$6 port=$7 address=$8
    shift 8
    local routes=("$@") r
    hfw_wg_start "$ns" "$ifname" "${HFW_WG_SECONDS:-600}"
    local allowed
    allowed=$(IFS=,; echo "${routes[*]}")
    wg set "$ifname" private-key "$HFW_WG_DIR/$name.key" listen-port "$port" \
        peer "$box_pub" preshared-key "$HFW_WG_DIR/$psk.psk" endpoint "$endpoint" \
        persistent-keepalive 25 allowed-ips "$allowed" || hfw_fail "wg set $ifname failed"
    ip -n "$ns" addr add "$address" dev "$ifname" || hfw_fail "could not give $ifname the address $address"
    ip -n "$ns" link set dev "$ifname" up || hfw_fail "could not bring $ifname up"
    for r in "${routes[@]}"; do
        ip -n "$ns" route add "$r" dev "$ifname" || hfw_fail "could not route $r through $ifname"
    done
}

# hfw_wg_handshake IFNAME : the time (epoch s) of the latest handshake with
# the device's only peer, 0 for none yet.
hfw_wg_handshake() {
    local t
    t=$(wg show "$1" latest-handshakes | awk 'NR == 1 { print $2 }') || hfw_fail "wg show $1 failed"
    echo "${t:-0}"
}

# hfw_wg_wait_handshake NS IFNAME ADDR SECONDS : pings ADDR through IFNAME
# once a second until it answers and the device has a handshake, at most
# SECONDS; prints the handshake's time; fails otherwise.
hfw_wg_wait_handshake() {
    local ns=$1 ifname=$2 addr=$3 limit=$4 i t
    for ((i = 0; i < limit; i++)); do
        if ip netns exec "$ns" ping -n -c 1 -W 1 "$addr" >/dev/null 2>&1; then
            t=$(hfw_wg_handshake "$ifname")
            ((t > 0)) && { echo "$t"; return 0; }
        fi
    done
    hfw_fail "no handshake through $ifname and no answer from $addr within $limit tries: $(wg show "$ifname" 2>&1 | grep -v 'private key')"
}

# hfw_wg_transfer IFNAME : "RX TX" bytes of the device's only peer.
hfw_wg_transfer() {
    wg show "$1" transfer | awk 'NR == 1 { print $2, $3 }'
}
