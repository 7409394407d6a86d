#!/usr/bin/env python3
"""An 802.1Q access port in userspace, for a host kernel without 8021q.

    vlan_access_port.py TRUNK ACCESS VID SECONDS

Frames that arrive on ACCESS (untagged) leave on TRUNK tagged with VID;
frames that arrive on TRUNK tagged with VID leave on ACCESS untagged. Every
other frame is left alone: untagged frames on TRUNK stay the trunk host's,
and frames of other VLANs go nowhere. Runs for at most SECONDS, then prints
its counts. The kernel takes a received frame's tag off into metadata
(PACKET_AUXDATA) even with no VLAN support loaded; a tag still in the
frame is read as well.

Frames from a veth or a tap may come with their checksum left to the
device (a virtio-net header, PACKET_VNET_HDR, says where): it is completed
here, as a device would. A segmentation offload frame (GSO) is counted and
dropped; the scenarios send small exchanges only.
"""
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_8021Q = 0x8100
SOL_PACKET = 263
PACKET_AUXDATA = 8
PACKET_VNET_HDR = 15
PACKET_OUTGOING = 4
TP_STATUS_VLAN_VALID = 1 << 4
AUXDATA = struct.Struct("IIIHHHH")
# struct virtio_net_hdr: flags, gso_type, hdr_len, gso_size, csum_start,
# csum_offset (host byte order, as the kernel writes it for packet sockets).
VNET_HDR = struct.Struct("=BBHHHH")
VNET_F_NEEDS_CSUM = 1
NO_VNET_HDR = bytes(VNET_HDR.size)


class GsoFrame(Exception):
    pass


def ones_complement_sum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def complete_checksum(frame, start, offset):
    """The frame with the checksum at start + offset filled in: the field
    holds the pseudo-header's sum, the sum from start on covers the rest."""
    at = start + offset
    if at + 2 > len(frame):
        return frame
    value = ~ones_complement_sum(frame[start:]) & 0xFFFF
    return frame[:at] + struct.pack("!H", value) + frame[at + 2:]


def open_port(name):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    s.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    s.bind((name, 0))
    return s


def receive(s):
    """(frame, vid or None), or None for a frame this host sent."""
    data, anc, _, addr = s.recvmsg(65536 + VNET_HDR.size, socket.CMSG_SPACE(AUXDATA.size))
    if addr[2] == PACKET_OUTGOING:
        return None
    flags, gso_type, _, _, csum_start, csum_offset = VNET_HDR.unpack_from(data)
    frame = data[VNET_HDR.size:]
    if gso_type != 0:
        raise GsoFrame()
    if flags & VNET_F_NEEDS_CSUM:
        frame = complete_checksum(frame, csum_start, csum_offset)
    for level, kind, data in anc:
        if level == SOL_PACKET and kind == PACKET_AUXDATA and len(data) >= AUXDATA.size:
            status, _, _, _, _, tci, _ = AUXDATA.unpack_from(data)
            if status & TP_STATUS_VLAN_VALID:
                return frame, tci & 0x0FFF
    if len(frame) >= 18 and struct.unpack_from("!H", frame, 12)[0] == ETH_P_8021Q:
        tci = struct.unpack_from("!H", frame, 14)[0]
        return frame[:12] + frame[16:], tci & 0x0FFF
    return frame, None


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: vlan_access_port.py TRUNK ACCESS VID SECONDS")
    trunk_name, access_name = sys.argv[1], sys.argv[2]
    vid, seconds = int(sys.argv[3]), float(sys.argv[4])
    if not 1 <= vid <= 4094:
        sys.exit(f"vlan_access_port.py: VID {vid}: expected 1 to 4094")
    trunk, access = open_port(trunk_name), open_port(access_name)
    tag = struct.pack("!HH", ETH_P_8021Q, vid)
    counts = {"tagged": 0, "untagged": 0, "other_vlans": 0, "gso_dropped": 0}
    end = time.monotonic() + seconds
    print("vlan_access_port: ready", flush=True)
    while (left := end - time.monotonic()) > 0:
        ready, _, _ = select.select([trunk, access], [], [], min(left, 1.0))
        for s in ready:
            try:
                got = receive(s)
            except GsoFrame:
                counts["gso_dropped"] += 1
                continue
            if got is None:
                continue
            frame, frame_vid = got
            if s is access and frame_vid is None and len(frame) >= 14:
                trunk.send(NO_VNET_HDR + frame[:12] + tag + frame[12:])
                counts["tagged"] += 1
            elif s is trunk and frame_vid == vid:
                access.send(NO_VNET_HDR + frame)
                counts["untagged"] += 1
            elif s is trunk and frame_vid is not None:
                counts["other_vlans"] += 1
    print("vlan_access_port: " + " ".join(f"{k}={v}" for k, v in counts.items()), flush=True)


if __name__ == "__main__":
    main()
