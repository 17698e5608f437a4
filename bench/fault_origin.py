#!/usr/bin/env python3
"""A misbehaving image origin for bench/soak.sh (standard library only, 127.0.0.1 only).

    python3 bench/fault_origin.py PORT IMAGES_DIR

Paths (any query string, e.g. ?v=k, is ignored by the origin; it only makes URLs distinct):

  /img/NAME            the file IMAGES_DIR/NAME
  /slow/MS/NAME        the file, after MS milliseconds
  /drip/NAME           the file at 1 KB per 300 ms: longer than any sane download deadline
  /status/CODE         an empty answer with that status (500, 502, 503, 404 ...)
  /reset               the connection is reset (RST) before any answer
  /closed/NAME         headers announce the whole file, half the body is sent, then close
  /cut/NAME            a file cut in half, announced as such (a truncated upload)
  /corrupt/NAME        the file with bytes overwritten in its middle
  /garbage             random bytes served as image/jpeg
  /bomb.png            a valid PNG header claiming 100000 x 100000 pixels
  /changing.png        a different small PNG every request (colour, size, ETag)
"""

import os
import random
import socket
import struct
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
IMAGES = sys.argv[2]
FILES = {}
LOCK = threading.Lock()
CHANGES = [0]


def load(name):
    """The bytes of IMAGES/name, read once."""
    name = os.path.basename(name)
    with LOCK:
        if name not in FILES:
            with open(os.path.join(IMAGES, name), "rb") as f:
                FILES[name] = f.read()
        return FILES[name]


def mime(name):
    return "image/png" if name.endswith(".png") else "image/jpeg"


def png(width, height, rgb):
    """A solid-colour RGB PNG."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    row = b"\x00" + bytes(rgb) * width
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


def bomb():
    """A PNG whose header claims 100000 x 100000 pixels, with a tiny IDAT."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 4096)) + chunk(b"IEND", b""))


BOMB = bomb()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, ctype="image/jpeg", length=None, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        parts = path.strip("/").split("/")
        try:
            kind = parts[0]
            if kind == "img":
                self.send(200, load(parts[1]), mime(parts[1]))
            elif kind == "slow":
                time.sleep(int(parts[1]) / 1000)
                self.send(200, load(parts[2]), mime(parts[2]))
            elif kind == "drip":
                body = load(parts[1])
                self.send(200, b"", mime(parts[1]), length=len(body))
                for i in range(0, len(body), 1024):
                    self.wfile.write(body[i:i + 1024])
                    self.wfile.flush()
                    time.sleep(0.3)
            elif kind == "status":
                self.send(int(parts[1]), b"", "text/plain")
            elif kind == "reset":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()
            elif kind == "closed":
                body = load(parts[1])
                self.send(200, body[: len(body) // 2], mime(parts[1]), length=len(body))
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            elif kind == "cut":
                body = load(parts[1])
                self.send(200, body[: len(body) // 2], mime(parts[1]))
            elif kind == "corrupt":
                body = bytearray(load(parts[1]))
                rng = random.Random(self.path)
                start = len(body) // 3
                for i in range(start, start + 2048):
                    body[i] = rng.randrange(256)
                self.send(200, bytes(body), mime(parts[1]))
            elif kind == "garbage":
                self.send(200, os.urandom(8192), "image/jpeg")
            elif kind == "bomb.png":
                self.send(200, BOMB, "image/png")
            elif kind == "changing.png":
                with LOCK:
                    CHANGES[0] += 1
                    n = CHANGES[0]
                body = png(64 + n % 64, 48 + n % 32, ((n * 37) % 256, (n * 91) % 256, (n * 13) % 256))
                self.send(200, body, "image/png", extra=[("ETag", f'"{n}"'), ("Cache-Control", "no-cache")])
            else:
                self.send(404, b"", "text/plain")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


if __name__ == "__main__":
    Server(("127.0.0.1", PORT), Handler).serve_forever()
