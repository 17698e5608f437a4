#!/usr/bin/env python3
"""Closed-loop HTTP/1.1 load of bench/overload.sh (standard library only, 127.0.0.1 only).

    python3 bench/overload_client.py BASE CONNS SECONDS

CONNS keep-alive connections each send the bench kit's `sources` requests (every request a
new (W,H) and a new source, photo_12mp.jpg?v=k, as its wrk-bench.lua does) one after the
other for SECONDS. Unlike wrk it keeps the latency of each request with its status, so the
percentiles of *served* (2xx) requests are not flattered by fast 503s. Prints
"OVERLOAD served served_rps p50_ms p99_ms s503 s503_retry_after other_status socket_errors
timeouts refused_p99_ms".
"""

import asyncio
import sys
import time
import urllib.parse

BASE, CONNS, SECONDS = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
TIMEOUT = 30.0
SRC = "http://127.0.0.1:8081/photo_12mp.jpg"
u = urllib.parse.urlsplit(BASE)
assert u.hostname == "127.0.0.1", "loopback only"

served, refused = [], []
tally = {"s503": 0, "ra": 0, "other": 0, "errors": 0, "timeouts": 0}
counter = [0]


def path():
    k = counter[0]
    counter[0] += 1
    w = 100 + k % 501
    h = w * 3 // 4 + k // 501
    return f"/w_{w},h_{h}?url={urllib.parse.quote(SRC + '?v=' + str(k), safe='')}"


async def exchange(reader, writer):
    writer.write(f"GET {path()} HTTP/1.1\r\nHost: {u.netloc}\r\n\r\n".encode())
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("closed")
    status = int(status_line.split()[1])
    headers = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        k, _, v = line.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status, headers


async def connection(deadline):
    reader = writer = None
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(u.hostname, u.port)
            status, headers = await asyncio.wait_for(exchange(reader, writer), TIMEOUT)
            took = time.monotonic() - started
            if 200 <= status < 300:
                served.append(took)
            elif status == 503:
                refused.append(took)
                tally["s503"] += 1
                tally["ra"] += "retry-after" in headers
            else:
                tally["other"] += 1
            if headers.get("connection", "").lower() == "close":
                writer.close()
                writer = None
        except asyncio.TimeoutError:
            tally["timeouts"] += 1
            writer.close()
            writer = None
        except (OSError, ConnectionError, ValueError, IndexError, asyncio.IncompleteReadError):
            tally["errors"] += 1
            if writer:
                writer.close()
            writer = None
            await asyncio.sleep(0.01)
    if writer:
        writer.close()


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] * 1000


async def main():
    start = time.monotonic()
    await asyncio.gather(*(connection(start + SECONDS) for _ in range(CONNS)))
    elapsed = time.monotonic() - start
    print(f"OVERLOAD {len(served)} {len(served) / elapsed:.2f} {pct(served, 0.5):.1f} {pct(served, 0.99):.1f} "
          f"{tally['s503']} {tally['ra']} {tally['other']} {tally['errors']} {tally['timeouts']} "
          f"{pct(refused, 0.99):.1f}")


asyncio.run(main())
