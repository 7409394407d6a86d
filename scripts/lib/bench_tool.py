#!/usr/bin/python3
"""Small measuring tools of the QEMU benchmarks (scripts/bench.d/), run on
the host, in the harness's LAN and WAN namespaces where they send or
receive. Every one is bounded in time; every load in count and rate.

  stats                          median min max of numbers on stdin
  pct P                          the P-th percentile (nearest rank) of stdin
  stamp LOG OUT                  copy LOG's new lines to OUT, host time in front
  iperf KIND JSON                one figure from iperf3 -J output
  send DST PORT RATE SECONDS     numbered UDP datagrams at RATE per second
  recv BIND PORT SECONDS OUT     each datagram's number and arrival time
  tcp-server BIND PORT SECONDS   echo each line back, one connection
  tcp-client DST PORT SECONDS OUT  a line every 0.5 s on one connection
  stream-figures RECV SENT HALT_START HALT_OK BINS   loss, gaps, per-bin counts
"""
import json
import math
import os
import socket
import struct
import sys
import time


def die(msg):
    print("bench_tool: " + msg, file=sys.stderr)
    sys.exit(1)


def numbers(stream):
    vals = [float(l) for l in stream.read().split()]
    if not vals:
        die("no numbers")
    return sorted(vals)


def median(v):
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def cmd_stats(_args):
    v = numbers(sys.stdin)
    print("%.6g %.6g %.6g" % (median(v), v[0], v[-1]))


def cmd_pct(args):
    v = numbers(sys.stdin)
    rank = max(1, math.ceil(float(args[0]) / 100 * len(v)))
    print("%.6g" % v[rank - 1])


def cmd_stamp(args):
    # Polls every 10 ms: the serial log is a plain file QEMU appends to.
    log, out = args
    buf = b""
    with open(out, "w", buffering=1) as o:
        while not os.path.exists(log):
            time.sleep(0.01)
        with open(log, "rb") as f:
            while True:
                chunk = f.read()
                now = time.time()
                if not chunk:
                    time.sleep(0.01)
                    continue
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for l in lines:
                    text = l.decode("utf-8", "replace").replace("\r", "")
                    o.write("%.3f %s\n" % (now, text))


def cmd_iperf(args):
    # tcp: received bits per second (the server's count); udp: datagrams
    # per second that arrived (sent minus lost, over the test's length).
    kind, path = args
    with open(path) as f:
        j = json.load(f)
    if "error" in j:
        die("iperf3: " + j["error"])
    end = j["end"]
    if kind == "tcp":
        print("%.6g" % (end["sum_received"]["bits_per_second"] / 1e6))
    elif kind == "udp":
        s = end["sum"]
        print("%.6g" % ((s["packets"] - s["lost_packets"]) / s["seconds"]))
    else:
        die("iperf: kind tcp or udp")


def cmd_send(args):
    # Datagram: sequence number and send time. Paced on an absolute
    # schedule, so a late wake-up sends what is due at once.
    dst, port, rate, seconds = args[0], int(args[1]), float(args[2]), float(args[3])
    count = int(rate * seconds)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t0 = time.monotonic()
    sent = errors = 0
    for seq in range(count):
        due = t0 + seq / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        try:
            s.sendto(struct.pack("!Qd", seq, time.time()) + b"haltfw-bench" * 4, (dst, port))
            sent += 1
        except OSError:
            errors += 1
    print("sent %d of %d in %.3f s, %d send errors" % (sent, count, time.monotonic() - t0, errors))


def cmd_recv(args):
    bind, port, seconds, out = args[0], int(args[1]), float(args[2]), args[3]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((bind, port))
    end = time.monotonic() + seconds
    with open(out, "w") as o:
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                data = s.recv(2048)
            except socket.timeout:
                break
            now = time.time()
            if len(data) >= 16:
                seq, _ = struct.unpack("!Qd", data[:16])
                o.write("%d %.6f\n" % (seq, now))


def cmd_tcp_server(args):
    bind, port, seconds = args[0], int(args[1]), float(args[2])
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((bind, port))
    ls.listen(1)
    ls.settimeout(seconds)
    c, peer = ls.accept()
    c.settimeout(seconds)
    f = c.makefile("rwb", buffering=0)
    for line in f:
        f.write(b"echo %s from %s:%d\n" % (line.strip(), peer[0].encode(), peer[1]))


def cmd_tcp_client(args):
    # One connection for the whole time; a line every 0.5 s, each answer
    # awaited (at most 10 s). Prints the line count, answers, and the peer
    # the server saw first and last (the same NAT mapping means the same
    # connection survived).
    dst, port, seconds, out = args[0], int(args[1]), float(args[2]), args[3]
    c = socket.create_connection((dst, port), timeout=10)
    f = c.makefile("rwb", buffering=0)
    sent = answered = 0
    peers = []
    end = time.monotonic() + seconds
    with open(out, "w") as o:
        while time.monotonic() < end:
            sent += 1
            try:
                f.write(b"%d\n" % sent)
                line = f.readline().decode().strip()
            except OSError as e:
                o.write("%.3f error %s\n" % (time.time(), e))
                break
            if not line:
                o.write("%.3f closed\n" % time.time())
                break
            answered += 1
            peers.append(line.split(" from ")[-1])
            o.write("%.3f %s\n" % (time.time(), line))
            time.sleep(0.5)
    same = bool(peers) and all(p == peers[0] for p in peers)
    print("tcp lines %d answered %d peer %s same_connection %d" % (sent, answered, peers[0] if peers else "-", int(same)))


def cmd_stream_figures(args):
    # RECV: "seq time" lines; SENT: the count sent. Prints one line of
    # figures and writes RECV.bins: "t_rel packets_in_bin" for the plot,
    # t_rel from the first packet.
    recv, sent, halt_start, halt_ok, width = args[0], int(args[1]), float(args[2]), float(args[3]), float(args[4])
    seqs, times = [], []
    with open(recv) as f:
        for l in f:
            a, b = l.split()
            seqs.append(int(a))
            times.append(float(b))
    if not times:
        die("no datagram received")
    distinct = len(set(seqs))
    reordered = sum(1 for i in range(1, len(seqs)) if seqs[i] < seqs[i - 1])
    gap, gap_at = 0.0, times[0]
    for i in range(1, len(times)):
        if times[i] - times[i - 1] > gap:
            gap, gap_at = times[i] - times[i - 1], times[i - 1]
    t0 = times[0]
    nbins = int((times[-1] - t0) / width) + 1
    bins = [0] * nbins
    for t in times:
        bins[int((t - t0) / width)] += 1
    with open(recv + ".bins", "w") as o:
        for i, n in enumerate(bins):
            o.write("%.3f %d\n" % (i * width, n))
    print("sent %d received %d distinct %d lost %d duplicates %d reordered %d gap_ms %.1f gap_at_rel_halt_ok %.2f "
          "first_rel %.3f halt_start_rel %.3f halt_ok_rel %.3f last_rel %.3f" % (
              sent, len(seqs), distinct, sent - distinct, len(seqs) - distinct, reordered, gap * 1000, gap_at - halt_ok,
              0.0, halt_start - t0, halt_ok - t0, times[-1] - t0))


COMMANDS = {
    "stats": cmd_stats, "pct": cmd_pct, "stamp": cmd_stamp, "iperf": cmd_iperf,
    "send": cmd_send, "recv": cmd_recv, "tcp-server": cmd_tcp_server, "tcp-client": cmd_tcp_client,
    "stream-figures": cmd_stream_figures,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        die("usage: bench_tool.py " + "|".join(COMMANDS) + " ARGS (see the file's docstring)")
    COMMANDS[sys.argv[1]](sys.argv[2:])
