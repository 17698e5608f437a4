"""Animated GIF and WebP sources for the animation memory figures (BENCHMARKS.md, Safety).

Usage: python3 bench/make_animation.py [FRAMES] [WIDTH] [HEIGHT] [OUTDIR]
Defaults: 100 frames of 2000x2000 into bench/images/ (not committed). Writes
anim_<frames>x<width>x<height>.gif and .webp: a static gradient with a large disc
and a bar that move on every frame, 40 ms per frame, looping forever; frame 0 is
fully opaque. Deterministic; needs only Pillow (no numpy).

Then, for example:
  /usr/bin/time -f %M target/release/resizer convert --processing-timeout 600 \
      --max-src-bytes 200MB bench/images/anim_100x2000x2000.gif w_200 /tmp/out.gif
"""
import os
import sys

from PIL import Image, ImageDraw

frames = int(sys.argv[1]) if len(sys.argv) > 1 else 100
width = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
height = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
out = sys.argv[4] if len(sys.argv) > 4 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "images")
os.makedirs(out, exist_ok=True)

# Palette: 0..191 a blue-to-orange ramp for the background, 192.. solid colours.
palette = []
for i in range(192):
    palette += [i * 255 // 191, 80 + i // 4, 255 - i * 255 // 191]
solid = [(255, 255, 255), (0, 0, 0), (220, 30, 30), (30, 200, 60), (250, 220, 0)]
for colour in solid:
    palette += list(colour)
palette += [0, 0, 0] * (256 - len(palette) // 3)

# The background: a diagonal ramp of palette indices, built from a small ramp.
ramp = Image.linear_gradient("L").resize((width, height))  # 0..255 top to bottom
ramp = ramp.rotate(-30, expand=False, fillcolor=128).point(lambda v: v * 191 // 255)
background = Image.frombytes("P", (width, height), ramp.tobytes())
background.putpalette(palette)

images = []
for n in range(frames):
    frame = background.copy()
    draw = ImageDraw.Draw(frame)
    r = min(width, height) // 4
    cx = r + (n * 37) % max(1, width - 2 * r)
    cy = r + (n * 23) % max(1, height - 2 * r)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=192 + 2 + n % 3)
    bar = (n * width // max(1, frames)) % width
    draw.rectangle((bar, 0, bar + width // 20, height - 1), fill=192 + (n % 2))
    images.append(frame)

stem = os.path.join(out, f"anim_{frames}x{width}x{height}")
images[0].save(stem + ".gif", save_all=True, append_images=images[1:], duration=40, loop=0)
rgb = [im.convert("RGB") for im in images]
rgb[0].save(stem + ".webp", save_all=True, append_images=rgb[1:], duration=40, loop=0, quality=60, method=0)
for ext in (".gif", ".webp"):
    print(stem + ext, os.path.getsize(stem + ext), "bytes")
