"""Benchmark images for the in-process pipeline benchmarks (benches/pipeline.rs, bench/vips_job.py).

Writes into bench/images/ (not committed; run once):
  photo_12mp.jpg        4000x3000 baseline JPEG q90 (astronaut, upscaled, mild noise)
  photo_12mp_prog.jpg   the same, progressive
  photo_1000.jpg        1000x1000 JPEG q90 (coffee)
  photo_1600_alpha.png  1600x1200 RGBA PNG (chelsea with a radial alpha vignette)
Deterministic (fixed RNG seed). Needs numpy, Pillow and scikit-image:
  python3 -m venv .venv && .venv/bin/pip install numpy pillow scikit-image
  .venv/bin/python bench/make_images.py
"""
import os

import numpy as np
from PIL import Image
from skimage import data

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "images")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(12345)


def noisy(img, sigma):
    arr = np.asarray(img).astype(np.int16)
    arr = arr + rng.normal(0, sigma, arr.shape).astype(np.int16)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


a = Image.fromarray(data.astronaut()).crop((0, 64, 512, 448)).resize((4000, 3000), Image.LANCZOS)
big = noisy(a, 3.0)
big.save(os.path.join(OUT, "photo_12mp.jpg"), quality=90)
big.save(os.path.join(OUT, "photo_12mp_prog.jpg"), quality=90, progressive=True)

c = Image.fromarray(data.coffee())
w, h = c.size
s = min(w, h)
c = c.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)).resize((1000, 1000), Image.LANCZOS)
noisy(c, 2.0).save(os.path.join(OUT, "photo_1000.jpg"), quality=90)

ch = Image.fromarray(data.chelsea()).resize((1600, 1200), Image.LANCZOS).convert("RGBA")
yy, xx = np.mgrid[0:1200, 0:1600]
r = np.sqrt(((xx - 800) / 800.0) ** 2 + ((yy - 600) / 600.0) ** 2)
alpha = np.clip((1.2 - r) * 255 / 0.4, 0, 255).astype(np.uint8)
ch.putalpha(Image.fromarray(alpha))
ch.save(os.path.join(OUT, "photo_1600_alpha.png"))

for name in sorted(os.listdir(OUT)):
    print(name, os.path.getsize(os.path.join(OUT, name)))
