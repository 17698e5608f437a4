#!/usr/bin/env python3
"""Writes the playground's transparent sample, badge.png, with the standard
library alone (no Pillow): a 320x320 RGBA badge, a ring of hues around a
white disc with a soft shadow, on a transparent background, so that the
background, f_auto (PNG or WebP/AVIF with alpha) and the crop modes have
something to show. coffee.jpg is tests/fixtures/photo-coffee.jpg (CC0).

Run from this folder: python3 make_samples.py
"""
import colorsys
import math
import struct
import zlib

SIZE = 320


def pixel(x, y):
    cx = cy = SIZE / 2
    dx, dy = x + 0.5 - cx, y + 0.5 - cy
    r = math.hypot(dx, dy)
    outer, inner = 150.0, 96.0
    if r <= inner:
        # White disc with a darker centre dot.
        if r < 30:
            return (40, 40, 48, 255)
        return (250, 250, 250, 255)
    if r <= outer:
        hue = (math.atan2(dy, dx) / (2 * math.pi)) % 1.0
        red, green, blue = colorsys.hsv_to_rgb(hue, 0.85, 0.95)
        edge = min(1.0, outer - r + 0.5)
        return (int(red * 255), int(green * 255), int(blue * 255), int(255 * edge))
    # A soft shadow fading out to full transparency.
    fade = max(0.0, 1.0 - (r - outer) / 10.0)
    return (0, 0, 0, int(90 * fade))


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


rows = b"".join(
    b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(SIZE)) for y in range(SIZE)
)
png = (
    b"\x89PNG\r\n\x1a\n"
    + chunk(b"IHDR", struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0))
    + chunk(b"IDAT", zlib.compress(rows, 9))
    + chunk(b"IEND", b"")
)
with open("badge.png", "wb") as out:
    out.write(png)
