#!/usr/bin/env python3
"""The load and the judge of bench/soak.sh (standard library only, 127.0.0.1 only).

    python3 bench/soak.py BASE ORIGIN PID SECONDS OUT_DIR

Drives a mixed load with faults at the resizer on BASE (sources from the fault origin on
ORIGIN, bench/fault_origin.py), samples the server's RSS and open file descriptors every
10 s, and at the end writes OUT_DIR/soak.csv, OUT_DIR/soak.svg and OUT_DIR/statuses.txt and
exits non-zero when a check fails: a 500, a status the case does not allow, a client
timeout, or RSS / fds not flat after warm-up.

Flat: the samples are cut in thirds (the first is warm-up); the largest RSS of the last third
must be within RSS_SLACK (10 %) of the largest of the middle third, and the largest fd count of
the last third within FD_SLACK (+16) of the middle third's.
"""

import collections
import http.client
import os
import random
import socket
import sys
import threading
import time
import urllib.parse

BASE, ORIGIN, PID, SECONDS, OUT = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
WORKERS = int(os.environ.get("SOAK_WORKERS", "6"))
HANGUPS = int(os.environ.get("SOAK_HANGUP_WORKERS", "1"))
SAMPLE_EVERY = 10
RSS_SLACK = 0.10
FD_SLACK = 16
CLIENT_TIMEOUT = 30
host, port = urllib.parse.urlsplit(BASE).hostname, urllib.parse.urlsplit(BASE).port
assert host == "127.0.0.1" and urllib.parse.urlsplit(ORIGIN).hostname == "127.0.0.1", "loopback only"

# Every case: (weight, name, path builder, allowed statuses). 503 (busy) is allowed everywhere:
# the load is sized below capacity, and the report counts them.
SMALL, BIG, PNG = "photo_1000.jpg", "photo_12mp.jpg", "photo_800x600.png"


def src(path):
    return urllib.parse.quote(ORIGIN + path, safe="")


CASES = [
    (30, "hot", lambda r, k: f"/w_{r.choice([100, 150, 200, 300])}?url={src('/img/' + SMALL)}", {200}),
    (20, "sizes", lambda r, k: f"/w_{100 + k % 700},f_webp?url={src('/img/' + SMALL)}", {200}),
    (6, "new_12mp", lambda r, k: f"/w_{200 + k % 400}?url={src(f'/img/{BIG}?v={k}')}", {200}),
    (8, "png", lambda r, k: f"/w_{100 + k % 500},f_png?url={src(f'/img/{PNG}?v={k % 50}')}", {200}),
    (8, "changing", lambda r, k: f"/w_{32 + k % 64}?url={src('/changing.png')}", {200}),
    (6, "slow", lambda r, k: f"/w_{100 + k % 300}?url={src(f'/slow/300/{SMALL}?v={k}')}", {200}),
    (1, "drip", lambda r, k: f"/w_120?url={src(f'/drip/{SMALL}?v={k}')}", {504}),
    (4, "origin_5xx", lambda r, k: f"/w_100?url={src(f'/status/{r.choice([500, 502, 503])}?v={k}')}", {502}),
    (2, "origin_404", lambda r, k: f"/w_100?url={src(f'/status/404?v={k}')}", {404}),
    (3, "reset", lambda r, k: f"/w_100?url={src(f'/reset?v={k}')}", {502}),
    (3, "closed_early", lambda r, k: f"/w_100?url={src(f'/closed/{SMALL}?v={k}')}", {502}),
    (3, "cut", lambda r, k: f"/w_{100 + k % 200}?url={src(f'/cut/{r.choice([SMALL, PNG])}?v={k}')}", {200, 422}),
    (3, "corrupt", lambda r, k: f"/w_{100 + k % 200}?url={src(f'/corrupt/{r.choice([SMALL, PNG])}?v={k}')}",
     {200, 422}),
    (2, "garbage", lambda r, k: f"/w_100?url={src(f'/garbage?v={k}')}", {415, 422}),
    (3, "bomb", lambda r, k: f"/w_100?url={src(f'/bomb.png?v={k}')}", {422}),
    (2, "bad_token", lambda r, k: f"/w_100,zz_{k}?url={src('/img/' + SMALL)}", {400}),
]
TOTAL = sum(c[0] for c in CASES)

lock = threading.Lock()
counts = collections.Counter()          # (case, status) -> n
unexpected = collections.Counter()      # (case, status) -> n
latencies = collections.defaultdict(list)
stop = threading.Event()


def pick(rng):
    x = rng.randrange(TOTAL)
    for case in CASES:
        if x < case[0]:
            return case
        x -= case[0]
    return CASES[-1]


def worker(seed):
    rng = random.Random(seed)
    conn = None
    k = seed * 1_000_000
    while not stop.is_set():
        weight, name, build, allowed = pick(rng)
        k += 1
        path = build(rng, k)
        started = time.monotonic()
        try:
            if conn is None:
                conn = http.client.HTTPConnection(host, port, timeout=CLIENT_TIMEOUT)
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            status = response.status
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
        except socket.timeout:
            status = "timeout"
            conn.close()
            conn = None
        except (OSError, http.client.HTTPException) as e:
            status = "error:" + type(e).__name__
            if conn:
                conn.close()
            conn = None
        took = time.monotonic() - started
        with lock:
            counts[(name, status)] += 1
            latencies[name].append(took)
            if status not in allowed and status != 503:
                unexpected[(name, status)] += 1


def hangup_worker(seed):
    """Clients that go away: before the answer, or after its first bytes."""
    rng = random.Random(seed)
    k = seed * 1_000_000
    while not stop.is_set():
        k += 1
        early = rng.random() < 0.5
        # A large output, so the answer is still being written when the client leaves.
        path = f"/w_{1500 + k % 500},f_png?url={src(f'/img/{PNG}?v={k % 20}')}"
        try:
            s = socket.create_connection((host, port), timeout=CLIENT_TIMEOUT)
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            if early:
                time.sleep(rng.uniform(0.005, 0.2))
            else:
                s.recv(2048)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
            status = "hangup_early" if early else "hangup_mid_response"
        except OSError as e:
            status = "error:" + type(e).__name__
        with lock:
            counts[("hangup", status)] += 1
            if status.startswith("error"):
                unexpected[("hangup", status)] += 1
        time.sleep(0.05)


def sample():
    with open(f"/proc/{PID}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    fds = len(os.listdir(f"/proc/{PID}/fd"))
    return rss / 1024, fds


def svg(rows, path):
    """RSS (MB) and open fds over time, two panels, drawn by hand."""
    w, h, left, top, ph, gap = 720, 420, 60, 30, 150, 60
    pw = w - left - 20
    tmax = max(r[0] for r in rows) or 1
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" '
           f'font-size="11"><rect width="100%" height="100%" fill="white"/>']

    def panel(y0, col, label, colour):
        vmax = max(r[col] for r in rows) * 1.15 or 1
        out.append(f'<text x="{left}" y="{y0 - 8}" font-size="13">{label}</text>')
        out.append(f'<rect x="{left}" y="{y0}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>')
        for i in range(5):
            v = vmax * i / 4
            y = y0 + ph - ph * i / 4
            out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
            out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{v:.0f}</text>')
        for i in range(6):
            t = tmax * i / 5
            x = left + pw * i / 5
            out.append(f'<text x="{x:.1f}" y="{y0 + ph + 14}" text-anchor="middle">{t:.0f} s</text>')
        pts = " ".join(f"{left + pw * r[0] / tmax:.1f},{y0 + ph - ph * r[col] / vmax:.1f}" for r in rows)
        out.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>')

    panel(top, 1, "resizer RSS (MB), sampled every 10 s", "#1f77b4")
    panel(top + ph + gap, 2, "open file descriptors", "#d62728")
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    threads = [threading.Thread(target=worker, args=(i + 1,), daemon=True) for i in range(WORKERS)]
    threads += [threading.Thread(target=hangup_worker, args=(100 + i,), daemon=True) for i in range(HANGUPS)]
    rows = []
    start = time.monotonic()
    rss, fds = sample()
    rows.append((0, rss, fds, 0))
    for t in threads:
        t.start()
    done_before = 0
    while (elapsed := time.monotonic() - start) < SECONDS:
        time.sleep(min(SAMPLE_EVERY, SECONDS - elapsed))
        rss, fds = sample()
        with lock:
            done = sum(counts.values())
        rows.append((round(time.monotonic() - start), rss, fds, done - done_before))
        done_before = done
        print(f"t={rows[-1][0]:4d}s rss={rss:7.1f}MB fds={fds:4d} requests={rows[-1][3]}", flush=True)
    stop.set()
    for t in threads:
        t.join(CLIENT_TIMEOUT + 5)

    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "soak.csv"), "w") as f:
        f.write("t_s,rss_mb,open_fds,requests_in_interval\n")
        for r in rows:
            f.write(f"{r[0]},{r[1]:.1f},{r[2]},{r[3]}\n")
    svg(rows, os.path.join(OUT, "soak.svg"))

    failures = []
    by_status = collections.Counter()
    lines = []
    for (name, status), n in sorted(counts.items(), key=lambda x: (x[0][0], str(x[0][1]))):
        by_status[status] += n
        lat = sorted(latencies.get(name, [0]))
        lines.append(f"{name:14s} {str(status):22s} {n:7d}")
    lines.append("")
    for status, n in sorted(by_status.items(), key=lambda x: str(x[0])):
        lines.append(f"all            {str(status):22s} {n:7d}")
    for name in sorted(latencies):
        lat = sorted(latencies[name])
        lines.append(f"latency {name:14s} n={len(lat):6d} p50={lat[len(lat) // 2] * 1000:8.1f}ms "
                     f"p99={lat[int(len(lat) * 0.99)] * 1000:8.1f}ms")
    report = "\n".join(lines)
    print(report)
    with open(os.path.join(OUT, "statuses.txt"), "w") as f:
        f.write(report + "\n")

    if by_status.get(500):
        failures.append(f"{by_status[500]} responses were 500")
    if unexpected:
        failures.append("unexpected statuses: " + ", ".join(f"{c}/{s} x{n}" for (c, s), n in unexpected.items()))
    if by_status.get("timeout"):
        failures.append(f"{by_status['timeout']} client timeouts ({CLIENT_TIMEOUT} s)")
    third = len(rows) // 3
    if third >= 2:
        mid, last = rows[third:2 * third], rows[2 * third:]
        mid_rss, last_rss = max(r[1] for r in mid), max(r[1] for r in last)
        mid_fd, last_fd = max(r[2] for r in mid), max(r[2] for r in last)
        print(f"flat: RSS max middle third {mid_rss:.1f} MB, last third {last_rss:.1f} MB "
              f"({(last_rss / mid_rss - 1) * 100:+.1f} %, allowed +{RSS_SLACK * 100:.0f} %); "
              f"fds max middle {mid_fd}, last {last_fd} (allowed +{FD_SLACK})")
        if last_rss > mid_rss * (1 + RSS_SLACK):
            failures.append("RSS still growing after warm-up")
        if last_fd > mid_fd + FD_SLACK:
            failures.append("open fds still growing after warm-up")
    else:
        print("too short to judge flatness (needs 60 s or more)")
    for failure in failures:
        print("FAIL:", failure)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
