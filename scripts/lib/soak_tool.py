#!/usr/bin/python3
"""The soak benchmark's tools (scripts/bench.d/soak.sh), on the host, in the
harness's LAN and WAN namespaces. Standard library only. Every one is
bounded in time, every load in count and rate.

  conn-server BIND PORT SECONDS
      answers each connection: reads one request line, writes a 512-byte
      reply, closes once the client has closed
  conn-client DST PORT RATE SECONDS OUT
      opens RATE new connections a second for SECONDS (RATE * SECONDS in
      all), each: a 64-byte request, the 512-byte reply read whole, close;
      a failure is a connect error, a reset, a short reply or no reply
      within 10 s. OUT gets one line a second: host time, started, ok,
      failed, in flight. Prints one summary line at the end.
  report STAMPED LOAD_START LOAD_END CLIENT_OUT CLIENT_SUMMARY UDP_SENT_LOG UDP_RECV CSV PNG
      the ALIVE lines of the host-stamped serial log (bench.sh's
      bench_stamp_start) with the load's counts beside them, to CSV; the
      plot to PNG; the figures against their targets as a Markdown table
      on stdout.
"""
import bisect
import collections
import errno
import math
import os
import re
import resource
import selectors
import socket
import struct
import sys
import time
import zlib

REQUEST_BYTES = 64
REPLY_BYTES = 512
CONN_TIMEOUT = 10.0
# Flat memory: the least-squares slope of mem_avail_kib over the settled
# part of the load (below) within this, proven: the slope's distance from 0
# plus two standard errors, and the counter's resolution over that time
# (one step of it, which a slower trend could hide within), must be inside
# it. The step: free pages move between the kernel's per-CPU lists and its
# free count (which MemAvailable reads) a batch at a time, 63 pages (252
# KiB) in the 1 GiB guest (pcp_batch_kib). Why 1 MiB/h: at 200 connections a second, a leak of 1.5 bytes a
# connection makes 1,054 KiB/h; anything the kernel could leak per
# connection or per packet (a slab object is 8 bytes at least, a conntrack
# entry about 400 here) would be many times over it.
FLAT_KIB_PER_HOUR = 1024.0
# The settled part starts this long into the load (or at its half, if
# sooner): twice the conntrack table's TIME_WAIT timeout (120 s), so that
# the table has filled and turned over once.
SETTLE_S = 240.0


def die(msg):
    print("soak_tool: " + msg, file=sys.stderr)
    sys.exit(1)


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 8192) if hard != resource.RLIM_INFINITY else 8192
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def cmd_conn_server(args):
    bind, port, seconds = args[0], int(args[1]), float(args[2])
    raise_fd_limit()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((bind, port))
    ls.listen(4096)
    ls.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ, None)
    reply = (b"haltfw-soak-reply " * 40)[:REPLY_BYTES - 1] + b"\n"
    served = errors = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=0.5):
            if key.data is None:
                while True:
                    try:
                        c, _ = ls.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    c.setblocking(False)
                    sel.register(c, selectors.EVENT_READ, {"buf": b"", "replied": False})
                continue
            c, st = key.fileobj, key.data
            try:
                data = c.recv(4096)
            except OSError:
                data, st["error"] = b"", True
            if data and not st["replied"]:
                st["buf"] += data
                if b"\n" in st["buf"]:
                    try:
                        c.sendall(reply)  # 512 bytes: the socket buffer takes them whole
                        st["replied"] = True
                        served += 1
                    except OSError:
                        st["error"] = True
                        data = b""
            if not data:  # the client's close (or an error): ours follows
                errors += 0 if st["replied"] and not st.get("error") else 1
                sel.unregister(c)
                c.close()
    print("served %d errors %d" % (served, errors))


class Client:
    """The connection load: non-blocking sockets on one selector, started
    on an absolute schedule (a late start is made up at once, within the
    in-flight cap), each with a 10 s deadline."""

    def __init__(self, dst, port, rate, seconds, out):
        self.dst, self.port, self.rate = dst, port, rate
        self.count = int(rate * seconds)
        self.out = out
        self.cap = min(2000, raise_fd_limit() - 64)
        self.sel = selectors.DefaultSelector()
        self.deadlines = collections.deque()  # (deadline, sock), in start order
        self.live = {}  # sock -> state
        self.started = self.ok = self.failed = 0
        self.reasons = collections.Counter()
        self.durations = []
        self.lag_max = 0.0

    def start_one(self, seq, now):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        self.started += 1
        err = s.connect_ex((self.dst, self.port))
        if err not in (0, errno.EINPROGRESS):
            s.close()
            self.fail(None, errno.errorcode.get(err, str(err)))
            return
        req = (b"%d " % seq).ljust(REQUEST_BYTES - 1, b".") + b"\n"
        self.live[s] = {"t0": now, "req": req, "got": 0, "connected": False}
        self.sel.register(s, selectors.EVENT_WRITE)
        self.deadlines.append((now + CONN_TIMEOUT, s))

    def fail(self, s, reason):
        self.failed += 1
        self.reasons[reason] += 1
        if s is not None:
            self.finish(s)

    def finish(self, s):
        self.sel.unregister(s)
        del self.live[s]
        s.close()

    def on_event(self, s, now):
        st = self.live[s]
        try:
            if not st["connected"]:
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    return self.fail(s, "connect-" + errno.errorcode.get(err, str(err)))
                st["connected"] = True
                n = s.send(st["req"])
                if n != len(st["req"]):  # 64 bytes into an empty socket buffer
                    return self.fail(s, "short-send")
                self.sel.modify(s, selectors.EVENT_READ)
                return None
            data = s.recv(4096)
        except ConnectionResetError:
            return self.fail(s, "reset")
        except OSError as e:
            return self.fail(s, errno.errorcode.get(e.errno, str(e)))
        if not data:
            return self.fail(s, "short-reply")
        st["got"] += len(data)
        if st["got"] >= REPLY_BYTES:
            self.ok += 1
            self.durations.append(now - st["t0"])
            self.finish(s)  # ours is the first close: the TIME_WAIT is here
        return None

    def expire(self, now):
        while self.deadlines and self.deadlines[0][0] <= now:
            _, s = self.deadlines.popleft()
            if s in self.live:
                self.fail(s, "timeout")

    def run(self):
        t0 = time.monotonic()
        seq = 0
        next_line = t0 + 1
        with open(self.out, "w", buffering=1) as log:
            while seq < self.count or self.live:
                now = time.monotonic()
                while seq < self.count and t0 + seq / self.rate <= now and len(self.live) < self.cap:
                    self.lag_max = max(self.lag_max, now - (t0 + seq / self.rate))
                    self.start_one(seq, now)
                    seq += 1
                wait = 0.05
                if seq < self.count:
                    wait = min(wait, max(0.0, t0 + seq / self.rate - now))
                for key, _ in self.sel.select(timeout=wait):
                    self.on_event(key.fileobj, time.monotonic())
                now = time.monotonic()
                self.expire(now)
                if now >= next_line:
                    log.write("%.3f %d %d %d %d\n" % (time.time(), self.started, self.ok, self.failed, len(self.live)))
                    next_line += 1
            log.write("%.3f %d %d %d %d\n" % (time.time(), self.started, self.ok, self.failed, len(self.live)))
        elapsed = time.monotonic() - t0
        d = sorted(self.durations) or [float("nan")]
        pct = lambda p: d[max(0, math.ceil(p / 100 * len(d)) - 1)] * 1000
        reasons = ",".join("%s:%d" % kv for kv in sorted(self.reasons.items())) or "-"
        print("conns attempted %d ok %d failed %d seconds %.1f rate_attempted %.1f rate_ok %.1f "
              "p50_ms %.1f p99_ms %.1f max_ms %.1f lag_max_s %.2f reasons %s" % (
                  self.started, self.ok, self.failed, elapsed, self.started / elapsed, self.ok / elapsed,
                  pct(50), pct(99), d[-1] * 1000, self.lag_max, reasons))


def cmd_conn_client(args):
    dst, port, rate, seconds, out = args[0], int(args[1]), float(args[2]), float(args[3]), args[4]
    if not (0 < rate <= 1000 and 0 < seconds <= 86400):
        die("conn-client: RATE 1-1000 a second, SECONDS up to a day")
    Client(dst, port, rate, seconds, out).run()


# --- report ---------------------------------------------------------------

ALIVE = re.compile(r"HALTFW: ALIVE (.*)")


def alive_rows(stamped):
    rows = []
    with open(stamped, errors="replace") as f:
        for line in f:
            at, _, rest = line.partition(" ")
            m = ALIVE.search(rest)
            if not m:
                continue
            fields = dict(kv.split("=", 1) for kv in m.group(1).split() if "=" in kv)
            try:
                rows.append({"at": float(at), "up": int(fields["up"]), "load1": fields.get("load1", ""),
                             "mem_avail_kib": int(fields["mem_avail_kib"]),
                             "mem_free_kib": int(fields.get("mem_free_kib", -1)),
                             "conntrack": int(fields["conntrack"]), "rss_kib": int(fields.get("rss_kib", -1))})
            except (KeyError, ValueError):
                die("an ALIVE line without a field needed: " + rest.strip())
    return rows


def fit(points):
    """Least squares y = a + b x: (b, standard error of b)."""
    n = len(points)
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    b = sum((p[0] - mx) * (p[1] - my) for p in points) / sxx
    a = my - b * mx
    ss = sum((p[1] - a - b * p[0]) ** 2 for p in points)
    return a, b, math.sqrt(ss / (n - 2) / sxx)


def pcp_batch_kib(mem_total_kib):
    """The per-CPU page lists' batch of a zone this size, in KiB, as Linux
    6.1 sizes it (mm/page_alloc.c, zone_batchsize): a 1024th of the zone's
    pages, at most 256, quartered, then 2^n - 1 of one and a half times
    that. The guest's memory is nearly all one zone (DMA32)."""
    batch = max(1, min((mem_total_kib // 4) >> 10, 256) // 4)
    return ((1 << (batch + batch // 2).bit_length() - 1) - 1) * 4


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def cmd_report(args):
    stamped, start, end, client_out, client_summary, udp_sent_log, udp_recv, csv_path, png_path = args
    start, end = float(start), float(end)
    rows = alive_rows(stamped)
    load = [r for r in rows if start <= r["at"] <= end]
    if len(load) < 8:
        die("%d ALIVE lines during the load (8 at least needed)" % len(load))
    before = [r for r in rows if r["at"] < start]

    # The load's cumulative counts, to put beside each ALIVE line.
    conn_t, conn_v = [], []
    with open(client_out) as f:
        for l in f:
            p = l.split()
            conn_t.append(float(p[0]))
            conn_v.append((int(p[1]), int(p[2]), int(p[3])))
    udp_times = []
    with open(udp_recv) as f:
        for l in f:
            udp_times.append(float(l.split()[1]))
    udp_times.sort()
    with open(udp_recv) as f:
        seqs = set(int(l.split()[0]) for l in f)
    with open(udp_sent_log) as f:
        m = re.search(r"sent (\d+) of (\d+) in ([0-9.]+) s, (\d+) send errors", f.read())
    if not m:
        die("no summary from the UDP sender in " + udp_sent_log)
    udp_sent, udp_planned, udp_secs, udp_errors = int(m.group(1)), int(m.group(2)), float(m.group(3)), int(m.group(4))
    with open(client_summary) as f:
        line = f.read().strip().splitlines()[-1:] or [""]
    toks = line[0].split()
    cs = dict(zip(toks[1::2], toks[2::2]))  # after "conns"
    if "attempted" not in cs:
        die("no summary from the connection client in " + client_summary)

    with open(csv_path, "w") as o:
        o.write("t_s,up_s,load1,mem_avail_kib,mem_free_kib,conntrack,rss_kib,conns_started,conns_ok,conns_failed,udp_received\n")
        for r in rows:
            i = bisect.bisect_right(conn_t, r["at"]) - 1
            c = conn_v[i] if i >= 0 else (0, 0, 0)
            u = bisect.bisect_right(udp_times, r["at"])
            o.write("%.1f,%d,%s,%d,%d,%d,%d,%d,%d,%d,%d\n" % (
                r["at"] - start, r["up"], r["load1"], r["mem_avail_kib"], r["mem_free_kib"], r["conntrack"],
                r["rss_kib"], c[0], c[1], c[2], u))

    # Steady state: the conntrack count over the settled part of the load;
    # it was reached at the first line at 90% of that part's median.
    half = start + min(SETTLE_S, (end - start) / 2)
    second = [r for r in load if r["at"] >= half]
    if len(second) < 3:
        die("%d ALIVE lines in the settled part of the load (3 at least needed)" % len(second))
    ct_med = median([r["conntrack"] for r in second])
    steady = next(r for r in load if r["conntrack"] >= 0.9 * ct_med)
    after = [r for r in load if r["at"] >= steady["at"]]
    drop = steady["mem_avail_kib"] - min(r["mem_avail_kib"] for r in after)
    a, slope, se = fit([((r["at"] - start) / 3600, r["mem_avail_kib"]) for r in second])
    with open(stamped, errors="replace") as f:
        m = re.search(r"bench-soak: armed: .*mem_total_kib=(\d+)", f.read())
    if not m:
        die("the guest's 'bench-soak: armed:' line with mem_total_kib= is not in " + stamped)
    step = pcp_batch_kib(int(m.group(1)))
    resolution = step / ((end - half) / 3600)
    bound = max(abs(slope) + 2 * se, resolution)
    if end - start < 2 * SETTLE_S:
        verdict = "not judged: a load under %.0f s ends before the table settles" % (2 * SETTLE_S)
    elif bound <= FLAT_KIB_PER_HOUR:
        verdict = "met"
    elif abs(slope) - 2 * se > FLAT_KIB_PER_HOUR:
        verdict = "**NOT met**"
    else:
        verdict = "not resolved by a run this short"
    first = (before or load)[0]
    last = load[-1]
    lost = udp_sent - len(seqs)
    attempted, ok, failed = int(cs["attempted"]), int(cs["ok"]), int(cs["failed"])
    rate_ok = float(cs["rate_ok"])
    mins = (end - start) / 60

    def kib(v):
        return "{:,} KiB".format(v)

    print("| measure | target | measured |")
    print("|---|---|---|")
    print("| load | 200 new TCP connections/s + a UDP stream, after HALTED-OK | %.1f min: %s connections attempted "
          "(%.1f/s), UDP %s datagrams (%.0f/s) |" % (mins, "{:,}".format(attempted), float(cs["rate_attempted"]),
                                                      "{:,}".format(udp_sent), udp_sent / udp_secs))
    print("| memory available: first (%s) / conntrack steady (%+.0f s) / last (%+.0f s) | flat | %s / %s / %s |" % (
        "idle, before the load" if before else "first under load", steady["at"] - start, last["at"] - start,
        kib(first["mem_avail_kib"]), kib(steady["mem_avail_kib"]), kib(last["mem_avail_kib"])))
    print("| memory available: largest drop after the conntrack steady state | no growth beyond the steady state | %s |" %
          kib(drop))
    print("| memory available: slope from %+.0f s to the end (%d lines, least squares) | within +-%.0f KiB/h | "
          "%+.0f KiB/h, standard error %.0f; the counter's step %d KiB is %.0f KiB/h over that time; so the trend "
          "is within +-%.0f KiB/h: %s |" % (half - start, len(second), FLAT_KIB_PER_HOUR, slope, se, step, resolution,
                                            bound, verdict))
    print("| conntrack entries from %+.0f s to the end: median (min-max) | steady | %s (%s-%s) |" % (half - start,
        "{:,.0f}".format(ct_med), "{:,}".format(min(r["conntrack"] for r in second)),
        "{:,}".format(max(r["conntrack"] for r in second))))
    print("| UDP datagrams lost | 0 | %d of %s (%d send errors) |" % (lost, "{:,}".format(udp_sent), udp_errors))
    print("| TCP connections failed | 0 | %d of %s (%s) |" % (failed, "{:,}".format(attempted), cs.get("reasons", "-")))
    print("| connection rate achieved (completed/s) | 200 | %.1f%s; connection time p50 %s ms, p99 %s ms; "
          "schedule lag up to %s s |" % (rate_ok, "" if rate_ok >= 199 else " (the host did not reach 200/s)",
                                          cs["p50_ms"], cs["p99_ms"], cs["lag_max_s"]))
    print("| PID 1 resident set: first / last | constant | %s / %s |" % (kib(first["rss_kib"]), kib(last["rss_kib"])))
    print("| ALIVE lines: during the load / in all; interval by the guest's uptime | every 10 s | %d / %d; %s s |" % (
        len(load), len(rows), ",".join(sorted(set(str(rows[i + 1]["up"] - rows[i]["up"]) for i in range(len(rows) - 1))))))
    print()
    print("flat: the least-squares slope of mem_avail_kib against time, from %.0f s into the load (twice the "
          "table's TIME_WAIT timeout, or half the load if shorter) to its end, within +-%.0f KiB/h, counting "
          "two standard errors and one step of the counter over that time" % (half - start, FLAT_KIB_PER_HOUR))

    plot(rows, start, end, steady["at"], half, a, slope, png_path)


# --- the plot: a PNG drawn with the standard library ------------------------

FONT = {
    "A": " ### |#   #|#   #|#####|#   #|#   #|#   #", "B": "#### |#   #|#   #|#### |#   #|#   #|#### ",
    "C": " ### |#   #|#    |#    |#    |#   #| ### ", "D": "#### |#   #|#   #|#   #|#   #|#   #|#### ",
    "E": "#####|#    |#    |#### |#    |#    |#####", "F": "#####|#    |#    |#### |#    |#    |#    ",
    "G": " ### |#   #|#    |# ###|#   #|#   #| ####", "H": "#   #|#   #|#   #|#####|#   #|#   #|#   #",
    "I": " ### |  #  |  #  |  #  |  #  |  #  | ### ", "J": "  ###|   # |   # |   # |   # |#  # | ##  ",
    "K": "#   #|#  # |# #  |##   |# #  |#  # |#   #", "L": "#    |#    |#    |#    |#    |#    |#####",
    "M": "#   #|## ##|# # #|# # #|#   #|#   #|#   #", "N": "#   #|#   #|##  #|# # #|#  ##|#   #|#   #",
    "O": " ### |#   #|#   #|#   #|#   #|#   #| ### ", "P": "#### |#   #|#   #|#### |#    |#    |#    ",
    "Q": " ### |#   #|#   #|#   #|# # #|#  # | ## #", "R": "#### |#   #|#   #|#### |# #  |#  # |#   #",
    "S": " ####|#    |#    | ### |    #|    #|#### ", "T": "#####|  #  |  #  |  #  |  #  |  #  |  #  ",
    "U": "#   #|#   #|#   #|#   #|#   #|#   #| ### ", "V": "#   #|#   #|#   #|#   #|#   #| # # |  #  ",
    "W": "#   #|#   #|#   #|# # #|# # #|# # #| # # ", "X": "#   #|#   #| # # |  #  | # # |#   #|#   #",
    "Y": "#   #|#   #| # # |  #  |  #  |  #  |  #  ", "Z": "#####|    #|   # |  #  | #   |#    |#####",
    "0": " ### |#   #|#  ##|# # #|##  #|#   #| ### ", "1": "  #  | ##  |  #  |  #  |  #  |  #  | ### ",
    "2": " ### |#   #|    #|   # |  #  | #   |#####", "3": "#####|   # |  #  |   # |    #|#   #| ### ",
    "4": "   # |  ## | # # |#  # |#####|   # |   # ", "5": "#####|#    |#### |    #|    #|#   #| ### ",
    "6": "  ## | #   |#    |#### |#   #|#   #| ### ", "7": "#####|    #|   # |  #  | #   | #   | #   ",
    "8": " ### |#   #|#   #| ### |#   #|#   #| ### ", "9": " ### |#   #|#   #| ####|    #|   # | ##  ",
    ".": "     |     |     |     |     | ##  | ##  ", ",": "     |     |     |     | ##  |  #  | #   ",
    ":": "     | ##  | ##  |     | ##  | ##  |     ", "-": "     |     |     |#####|     |     |     ",
    "/": "     |    #|   # |  #  | #   |#    |     ", "(": "   # |  #  | #   | #   | #   |  #  |   # ",
    ")": " #   |  #  |   # |   # |   # |  #  | #   ", "%": "##   |##  #|   # |  #  | #   |#  ##|   ##",
    "=": "     |     |#####|     |#####|     |     ", "+": "     |  #  |  #  |#####|  #  |  #  |     ",
    "_": "     |     |     |     |     |     |#####", ";": "     | ##  | ##  |     | ##  |  #  | #   ", " ": "     |     |     |     |     |     |     ",
}


class Canvas:
    def __init__(self, w, h):
        self.w, self.h = w, h
        self.px = bytearray(b"\xff" * (w * h * 3))

    def dot(self, x, y, c):
        x, y = int(round(x)), int(round(y))
        if 0 <= x < self.w and 0 <= y < self.h:
            i = (y * self.w + x) * 3
            self.px[i:i + 3] = bytes(c)

    def line(self, x0, y0, x1, y1, c, width=1, dash=0):
        n = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
        for i in range(n + 1):
            if dash and (i // dash) % 2:
                continue
            x = x0 + (x1 - x0) * i / n
            y = y0 + (y1 - y0) * i / n
            for d in range(width):
                self.dot(x + (d if abs(y1 - y0) > abs(x1 - x0) else 0), y + (0 if abs(y1 - y0) > abs(x1 - x0) else d), c)

    def text(self, x, y, s, c=(0, 0, 0), scale=2, anchor="left"):
        s = s.upper()
        w = len(s) * 6 * scale
        if anchor == "right":
            x -= w
        elif anchor == "center":
            x -= w // 2
        for k, ch in enumerate(s):
            rows = FONT.get(ch, FONT[" "]).split("|")
            for r, bits in enumerate(rows):
                for col, b in enumerate(bits):
                    if b == "#":
                        for dy in range(scale):
                            for dx in range(scale):
                                self.dot(x + (k * 6 + col) * scale + dx, y + r * scale + dy, c)

    def png(self, path):
        raw = b"".join(b"\x00" + bytes(self.px[y * self.w * 3:(y + 1) * self.w * 3]) for y in range(self.h))

        def chunk(kind, data):
            return struct.pack("!I", len(data)) + kind + data + struct.pack("!I", zlib.crc32(kind + data) & 0xffffffff)
        with open(path, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack("!IIBBBBB", self.w, self.h, 8, 2, 0, 0, 0)) +
                    chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def nice_ticks(lo, hi, n=5):
    span = hi - lo if hi > lo else 1.0
    raw = span / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)], step


def tick_label(v, step):
    # As many decimals as the step has (2.5 MiB ticks read 847.5, not 848).
    d = 0
    while d < 6 and abs(step * 10 ** d - round(step * 10 ** d)) > 1e-9:
        d += 1
    return "{:,.{}f}".format(v, d)


def panel(cv, box, xs, ys, xlo, xhi, title, color, marks, fitline=None, labels_at_top=True):
    x0, y0, x1, y1 = box
    lo, hi = min(ys), max(ys)
    pad = (hi - lo) * 0.08 or max(1.0, abs(hi) * 0.01)
    lo, hi = lo - pad, hi + pad
    fx = lambda x: x0 + (x - xlo) / (xhi - xlo) * (x1 - x0)
    fy = lambda y: y1 - (y - lo) / (hi - lo) * (y1 - y0)
    grey = (200, 200, 200)
    ticks, step = nice_ticks(lo, hi)
    for t in ticks:
        cv.line(x0, fy(t), x1, fy(t), (235, 235, 235))
        cv.text(x0 - 8, fy(t) - 7, tick_label(t, step), scale=2, anchor="right")
    xt, xstep = nice_ticks(xlo, xhi, 8)
    for t in xt:
        cv.line(fx(t), y0, fx(t), y1, (235, 235, 235))
        cv.text(fx(t), y1 + 8, tick_label(t, xstep), scale=2, anchor="center")
    for x, label, c, side in marks:
        cv.line(fx(x), y0, fx(x), y1, c, dash=6)
        cv.text(fx(x) + (4 if side == "left" else -4), y0 + 4 if labels_at_top else y1 - 18, label, c, scale=2,
                anchor=side)
    cv.line(x0, y0, x1, y0, grey)
    cv.line(x0, y1, x1, y1, (0, 0, 0))
    cv.line(x0, y0, x0, y1, (0, 0, 0))
    cv.line(x1, y0, x1, y1, grey)
    if fitline:
        (fa, fb), fx0, fx1, fc = fitline
        cv.line(fx(fx0), fy(fa + fb * fx0), fx(fx1), fy(fa + fb * fx1), fc, width=2)
    pts = [(fx(x), fy(y)) for x, y in zip(xs, ys)]
    for (ax, ay), (bx, by) in zip(pts, pts[1:]):
        cv.line(ax, ay, bx, by, color, width=2)
    for x, y in pts:
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                cv.dot(x + dx, y + dy, color)
    cv.text(x0, y0 - 22, title, scale=2)


def plot(rows, start, end, steady_at, half, a, slope, path):
    cv = Canvas(1000, 680)
    xs = [(r["at"] - start) / 60 for r in rows]
    xlo, xhi = min(xs + [0]), max(xs + [(end - start) / 60])
    cv.text(500, 12, "haltfw soak: halted box, 200 TCP conn/s + UDP stream (QEMU TCG)", scale=2, anchor="center")
    marks = [(0, "load", (220, 120, 0), "left"), ((end - start) / 60, "end", (220, 120, 0), "right"),
             ((steady_at - start) / 60, "ct steady", (150, 150, 150), "left")]
    mem = [r["mem_avail_kib"] / 1024 for r in rows]
    # The fit in MiB against minutes, over the settled part.
    fa, fb = a / 1024, slope / 1024 / 60
    panel(cv, (150, 70, 960, 320), xs, mem, xlo, xhi, "MemAvailable (MiB); red: least-squares fit, settled part", (31, 95, 168), marks,
          ((fa, fb), (half - start) / 60, (end - start) / 60, (200, 30, 30)))
    panel(cv, (150, 390, 960, 620), xs, [r["conntrack"] for r in rows], xlo, xhi, "conntrack entries", (40, 140, 60), marks,
          labels_at_top=False)
    cv.text(555, 650, "minutes from the start of the load (ALIVE lines every 10 s)", scale=2, anchor="center")
    cv.png(path)


COMMANDS = {"conn-server": cmd_conn_server, "conn-client": cmd_conn_client, "report": cmd_report}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        die("usage: soak_tool.py " + "|".join(COMMANDS) + " ARGS (see the file's docstring)")
    COMMANDS[sys.argv[1]](sys.argv[2:])
