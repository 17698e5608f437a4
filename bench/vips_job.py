"""Times libvips (the engine of imgproxy) in one process on the same jobs as
benches/pipeline.rs, single-threaded, and prints medians in milliseconds.

  VIPS_CONCURRENCY=1 <venv with pyvips>/bin/python bench/vips_job.py [runs]

Jobs (images from bench/make_images.py):
  jpeg_12mp_300        12 MP baseline JPEG -> 300 px wide JPEG q80
  jpeg_1000_150x500    1000x1000 JPEG -> exactly 150x500 JPEG q80
  jpeg_12mp_prog_300   12 MP progressive JPEG -> 300 px wide JPEG q80
  png_alpha_400_webp   1600x1200 RGBA PNG -> 400 px wide WebP q80
  jpeg_12mp_960, _1280, _1600
                       12 MP baseline JPEG -> 960, 1280, 1600 px wide JPEG q80 (the large
                       renditions of the srcset load; examples/quality.rs with QUALITY_HALF)
"""
import os
import statistics
import sys
import time

os.environ.setdefault("VIPS_CONCURRENCY", "1")
import pyvips  # noqa: E402

pyvips.cache_set_max(0)
IMAGES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "images")
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 30


def read(name):
    with open(os.path.join(IMAGES, name), "rb") as f:
        return f.read()


JOBS = {
    "jpeg_12mp_300": (read("photo_12mp.jpg"), lambda b: pyvips.Image.thumbnail_buffer(b, 300).jpegsave_buffer(Q=80)),
    "jpeg_1000_150x500": (
        read("photo_1000.jpg"),
        lambda b: pyvips.Image.thumbnail_buffer(b, 150, height=500, size="force").jpegsave_buffer(Q=80),
    ),
    "jpeg_12mp_prog_300": (
        read("photo_12mp_prog.jpg"),
        lambda b: pyvips.Image.thumbnail_buffer(b, 300).jpegsave_buffer(Q=80),
    ),
    "png_alpha_400_webp": (
        read("photo_1600_alpha.png"),
        lambda b: pyvips.Image.thumbnail_buffer(b, 400).webpsave_buffer(Q=80),
    ),
}
PHOTO_12MP = JOBS["jpeg_12mp_300"][0]
for width in (960, 1280, 1600):  # RENDITIONS in examples/quality.rs
    JOBS[f"jpeg_12mp_{width}"] = (
        PHOTO_12MP,
        lambda b, width=width: pyvips.Image.thumbnail_buffer(b, width).jpegsave_buffer(Q=80),
    )

print(f"libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}, {RUNS} runs, median ms")
for name, (data, job) in JOBS.items():
    job(data)
    times = []
    for _ in range(RUNS):
        t = time.perf_counter()
        job(data)
        times.append((time.perf_counter() - t) * 1000)
    print(f"{name:22s} {statistics.median(times):8.2f}")
