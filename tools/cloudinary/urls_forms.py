#!/usr/bin/env python3
"""Writes tests/fixtures/cloudinary/urls_forms.json: Cloudinary delivery URLs
built by Cloudinary's own Python SDK (`pip install cloudinary`, 1.46.3), with
the result each should give, derived from Cloudinary's documented semantics.

Run from the repository root: python3 tools/cloudinary/urls_forms.py
CI has no Python: the output is committed, and tests/it/cloudinary.rs reads it.

The sources (tests/it/cloudinary.rs serves them):
- fetch: `http://origin.test/q.png`, `http://origin.test/a b.png` and
  `.../q.png?v=2`, each a 40x20 PNG of quadrants: red top left, green top
  right, blue bottom left, yellow bottom right. The test substitutes its local
  origin for `http://origin.test` (and signs again when the row is signed:
  the signature covers the URL).
- upload: the same image stored in the upload mount as `q.png` and
  `shop/shoes/red.png`.
Presets the test configures: `thumb = c_fill,w_10,h_10`,
`gray = e_grayscale/w_20`.
Rows with `secret` are served by a server configured with
`cloudinary_api_secret = SECRET`, the others by one without.
"""

import json
import os

import cloudinary.utils as cu

SECRET = "test-secret"
CLOUD = "demo"
ORIGIN = "http://origin.test"
RED, GREEN, BLUE, YELLOW = [255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]
# Pixels near the corners of an output whose quadrants are kept.
def quads(w, h):
    return [[1, 1, RED], [w - 2, 1, GREEN], [1, h - 2, BLUE], [w - 2, h - 2, YELLOW]]

rows = []

def row(name, source, expect, *, accept=None, **options):
    signed = options.get("sign_url", False)
    if signed:
        options["api_secret"] = SECRET
    if "cloud_name" not in options:
        # A private CDN host carries the cloud name, not the path: the SDK's
        # form of a URL without `{cloud}`.
        options.update(cloud_name=CLOUD, private_cdn=True)
    url, _ = cu.cloudinary_url(source, **options)
    path = "/" + url.split(".cloudinary.com/", 1)[1]
    rows.append({
        "name": name,
        "sdk_options": {k: v for k, v in options.items() if k != "api_secret"},
        "source": source,
        "path": path,
        "secret": signed,
        "long_signature": bool(options.get("long_url_signature")),
        "accept": accept,
        "expect": expect,
    })

def ok(width, height, fmt, pixels=(), grayscale=False, vary_accept=False):
    return {"status": 200, "width": width, "height": height, "format": fmt,
            "pixels": list(pixels), "grayscale": grayscale, "vary_accept": vary_accept}

Q = ORIGIN + "/q.png"
fetch = dict(type="fetch")
# fetch, without and with cloud name
row("fetch, scale to a width", Q, ok(20, 10, "png", quads(20, 10)), width=20, **fetch)
row("fetch, cloud name", Q, ok(20, 10, "png", quads(20, 10)), width=20, cloud_name=CLOUD, **fetch)
row("fetch, secure, fill", Q, ok(10, 10, "png", quads(10, 10)),
    width=10, height=10, crop="fill", cloud_name=CLOUD, secure=True, **fetch)
row("fetch, no transformation", Q, ok(40, 20, "png", quads(40, 20)), **fetch)
# chained: crop the red quadrant, then scale it
row("fetch, chained crop then scale", Q, ok(10, 5, "png", [[1, 1, RED], [8, 3, RED]]),
    transformation=[dict(crop="crop", width=20, height=10, gravity="north_west"), dict(width=10)], **fetch)
# 10x5 after the first step: the 4x4 south-east corner is rows 1-4, green above yellow.
row("fetch, chained scale then crop", Q, ok(4, 4, "png", [[3, 0, GREEN], [3, 3, YELLOW]]),
    transformation=[dict(width=10), dict(crop="crop", width=4, height=4, gravity="south_east")], **fetch)
row("fetch, format from a later step", Q, ok(20, 10, "jpeg", quads(20, 10)),
    transformation=[dict(width=20), dict(fetch_format="jpg", quality=90)], **fetch)
# f_auto: negotiated from Accept, JPEG for an opaque image when nothing is accepted
row("fetch, f_auto without Accept", Q, ok(20, 10, "jpeg", quads(20, 10), vary_accept=True),
    width=20, fetch_format="auto", **fetch)
row("fetch, f_auto with webp", Q, ok(20, 10, "webp", quads(20, 10), vary_accept=True),
    accept="image/webp,*/*", width=20, fetch_format="auto", **fetch)
# percent-encoded remote URLs, as the SDK escapes them
row("fetch, space in the remote URL", ORIGIN + "/a b.png", ok(20, 10, "png", quads(20, 10)), width=20, **fetch)
row("fetch, query in the remote URL", Q + "?v=2", ok(20, 10, "png", quads(20, 10)), width=20, **fetch)
# named
row("fetch, named transformation", Q, ok(10, 10, "png", quads(10, 10)), transformation="thumb", **fetch)
row("fetch, named chain then a step", Q, ok(10, 5, "png", grayscale=True),
    transformation=[dict(transformation="gray"), dict(width=10)], **fetch)
# signed fetch (the test signs again for its own origin)
row("fetch, signed SHA-1", Q, ok(20, 10, "png", quads(20, 10)), width=20, sign_url=True, cloud_name=CLOUD, **fetch)
row("fetch, signed SHA-256", Q, ok(20, 10, "png", quads(20, 10)), width=20, sign_url=True,
    long_url_signature=True, **fetch)

up = dict(type="upload")
row("upload, public ID without extension", "q", ok(40, 20, "png", quads(40, 20)), **up)
row("upload, delivery extension converts", "q", ok(20, 10, "jpeg", quads(20, 10)), width=20, format="jpg", **up)
row("upload, other extension than stored", "q.webp", ok(20, 10, "webp", quads(20, 10)), width=20, **up)
row("upload, stored extension", "q.png", ok(20, 10, "png", quads(20, 10)), width=20, cloud_name=CLOUD, **up)
row("upload, folders get a version", "shop/shoes/red", ok(10, 5, "png", quads(10, 5)), width=10, **up)
row("upload, explicit version", "shop/shoes/red", ok(20, 10, "webp", quads(20, 10)),
    width=20, version=1712345678, format="webp", **up)
row("upload, f_ wins over the extension", "q", ok(20, 10, "webp", quads(20, 10)),
    width=20, fetch_format="webp", format="png", **up)
row("upload, chained", "shop/shoes/red", ok(4, 4, "png", [[3, 0, GREEN], [3, 3, YELLOW]]),
    transformation=[dict(width=10), dict(crop="crop", width=4, height=4, gravity="north_east")], **up)
row("upload, named", "q", ok(10, 10, "png", quads(10, 10)), transformation="thumb", **up)
row("upload, f_auto", "q", ok(40, 20, "webp", quads(40, 20), vary_accept=True), accept="image/webp",
    fetch_format="auto", **up)
row("upload, signed SHA-1", "q", ok(20, 10, "png", quads(20, 10)), width=20, sign_url=True, **up)
row("upload, signed SHA-256 with folders and version", "shop/shoes/red",
    ok(20, 10, "jpeg", quads(20, 10)), width=20, format="jpg", sign_url=True, long_url_signature=True,
    cloud_name=CLOUD, **up)
row("upload, signed chained", "q", ok(10, 10, "png", quads(10, 10)),
    transformation=[dict(width=20), dict(crop="fill", width=10, height=10)], sign_url=True, **up)

out = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "cloudinary", "urls_forms.json")
with open(out, "w") as f:
    json.dump({"sdk": "cloudinary (Python) " + __import__("cloudinary").VERSION, "secret": SECRET,
               "cloud_name": CLOUD, "origin": ORIGIN, "rows": rows}, f, indent=1)
    f.write("\n")
print(len(rows), "rows ->", os.path.normpath(out))
