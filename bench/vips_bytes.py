"""libvips's side of examples/bytes.rs: thumbnails of the bench photos saved
as JPEG, WebP and AVIF with libvips's defaults at Q=80 (what imgproxy ships),
written to a folder with the median save time of each, and any AVIF files
given decoded back to PNG (the default build of resizer reads no AVIF).

  VIPS_CONCURRENCY=1 <venv with pyvips>/bin/python bench/vips_bytes.py \
      IMAGES OUT RUNS photo.jpg:width ... [--png file.avif ...]

For each photo:width it writes OUT/vips_<photo stem>_<width>.{jpg,webp,avif}
and prints one line per file: name, bytes, median save ms.
"""
import os
import statistics
import sys
import time

os.environ.setdefault("VIPS_CONCURRENCY", "1")
import pyvips  # noqa: E402

pyvips.cache_set_max(0)


def median_ms(job, runs):
    job()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        job()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main(argv):
    images, out, runs = argv[0], argv[1], int(argv[2])
    rest = argv[3:]
    pngs = []
    if "--png" in rest:
        at = rest.index("--png")
        rest, pngs = rest[:at], rest[at + 1 :]
    for spec in rest:
        photo, width = spec.split(":")
        with open(os.path.join(images, photo), "rb") as f:
            data = f.read()
        # Decode and resize once; only the save is timed.
        thumb = pyvips.Image.thumbnail_buffer(data, int(width)).copy_memory()
        stem = os.path.splitext(photo)[0]
        saves = {
            "jpg": lambda: thumb.jpegsave_buffer(Q=80),
            "webp": lambda: thumb.webpsave_buffer(Q=80),
            "avif": lambda: thumb.heifsave_buffer(Q=80, compression="av1"),
        }
        for ext, save in saves.items():
            name = f"vips_{stem}_{width}.{ext}"
            encoded = save()
            with open(os.path.join(out, name), "wb") as f:
                f.write(encoded)
            # AVIF saves are slow; fewer runs keep the bench bounded.
            ms = median_ms(save, max(1, runs // 4) if ext == "avif" else runs)
            print(f"{name} {len(encoded)} {ms:.3f}")
    for path in pngs:
        pyvips.Image.new_from_file(path).pngsave(path + ".png")


main(sys.argv[1:])
