#!/usr/bin/env python3
"""Writes tests/fixtures/cloudinary/params_geom.json: Cloudinary's geometry parameters
(ar_, c_mfit, c_mpad, c_auto, z_, relative x_/y_, a_, r_, bo_, o_) as Cloudinary's own
Python SDK writes them, each with the result Cloudinary documents for it.

Run with the official SDK installed (`pip install cloudinary`, tested with 1.46.3):

    python tools/cloudinary/urls_geom.py > tests/fixtures/cloudinary/params_geom.json

The test (`tests/it/cld_geom.rs`) serves every transformation through the server against
a local origin, with the source named in each row:

- `quadrants.png`: 400x200 RGB, red top-left, green top-right, blue bottom-left, yellow
  bottom-right (`support::quadrants`);
- `two-subjects.png`: 400x200 white, a red 50x100 bar at x 10..60 and a blue one at
  x 340..390, both at y 50..150 (`support::two_subjects`): no 200x200 crop holds both;
- `exif-orientation-6.jpg`: tests/fixtures' 48x64 JPEG shown as 64x48 by its EXIF
  orientation (red top-left, green top-right, blue bottom-left, white bottom-right once
  upright).

Expected sizes and pixels are derived by hand from Cloudinary's documented semantics
(README, "Transformations"), never from resizer's output. Pixel points sit away from
edges and quadrant boundaries; `tolerance` absorbs resampling and JPEG.
"""

import json
import sys

import cloudinary
import cloudinary.utils

SOURCE_PLACEHOLDER = "http://origin.test/photo.jpg"
cloudinary.config(cloud_name="demo")

RED = [255, 0, 0, 255]
GREEN = [0, 255, 0, 255]
BLUE = [0, 0, 255, 255]
YELLOW = [255, 255, 0, 255]
BLACK = [0, 0, 0, 255]
WHITE = [255, 255, 255, 255]
CLEAR = [None, None, None, 0]  # fully transparent, whatever its colour
OPAQUE = None  # opaque, whatever its colour (on a quadrant boundary)


def px(x, y, rgba, tolerance=12):
    return {"x": x, "y": y, "rgba": rgba, "tolerance": tolerance}


def ok(width, height, fmt, *pixels):
    return {"status": 200, "width": width, "height": height, "format": fmt, "pixels": list(pixels)}


def refused(status, code, token):
    return {"status": status, "code": code, "names": token}


# (name, source, SDK keyword arguments, expected)
CASES = [
    # ar_ with one side: the other side from the ratio, then the crop mode.
    ("ar with width, fill", "quadrants.png",
     dict(width=160, aspect_ratio="16:9", crop="fill"),
     ok(160, 90, "png", px(10, 10, RED), px(150, 10, GREEN), px(10, 80, BLUE), px(150, 80, YELLOW))),
    ("ar decimal with height, scale distorts", "quadrants.png",
     dict(height=100, aspect_ratio=1.0, crop="scale"),
     ok(100, 100, "png", px(25, 25, RED), px(75, 25, GREEN), px(25, 75, BLUE), px(75, 75, YELLOW))),
    ("ar with width, pad", "quadrants.png",
     dict(width=100, aspect_ratio="1:1", crop="pad", background="black"),
     ok(100, 100, "png", px(50, 10, BLACK), px(25, 40, RED), px(75, 60, YELLOW))),
    # ar_ alone: the source cut (or padded) to the ratio.
    ("ar alone, fill cuts the middle", "quadrants.png",
     dict(aspect_ratio="1:1", crop="fill"),
     ok(200, 200, "png", px(20, 20, RED), px(180, 20, GREEN), px(20, 180, BLUE), px(180, 180, YELLOW))),
    ("ar alone, crop by gravity", "quadrants.png",
     dict(aspect_ratio="1:1", crop="crop", gravity="west"),
     ok(200, 200, "png", px(20, 20, RED), px(180, 20, RED), px(20, 180, BLUE), px(180, 180, BLUE))),
    ("ar alone, pad", "quadrants.png",
     dict(aspect_ratio="1:1", crop="pad", background="black"),
     ok(400, 400, "png", px(200, 50, BLACK), px(50, 150, RED), px(350, 250, YELLOW), px(200, 350, BLACK))),
    # c_mfit / c_mpad: only enlarging.
    ("mfit enlarges a smaller source", "quadrants.png",
     dict(width=800, height=800, crop="mfit"),
     ok(800, 400, "png", px(100, 100, RED), px(700, 300, YELLOW))),
    ("mfit keeps a larger source", "quadrants.png",
     dict(width=300, height=300, crop="mfit"),
     ok(400, 200, "png", px(100, 50, RED), px(300, 150, YELLOW))),
    ("mpad enlarges and pads", "quadrants.png",
     dict(width=800, height=800, crop="mpad", background="black"),
     ok(800, 800, "png", px(400, 100, BLACK), px(100, 300, RED), px(700, 500, YELLOW), px(400, 700, BLACK))),
    ("mpad keeps a larger source unpadded", "quadrants.png",
     dict(width=100, height=100, crop="mpad", background="black"),
     ok(400, 200, "png", px(100, 50, RED), px(300, 150, YELLOW))),
    # c_auto: fill with automatic gravity.
    ("auto is a fill", "quadrants.png",
     dict(width=100, height=100, crop="auto"),
     ok(100, 100, "png")),
    # z_: zoom around the gravity.
    ("crop zoomed in at the north-west", "quadrants.png",
     dict(width=100, height=50, crop="crop", gravity="north_west", zoom=2),
     ok(100, 50, "png", px(10, 10, RED), px(90, 40, RED))),
    ("thumb zoomed in at the south-east", "quadrants.png",
     dict(width=100, height=100, crop="thumb", gravity="south_east", zoom=2),
     ok(100, 100, "png", px(10, 10, YELLOW), px(90, 90, YELLOW))),
    ("thumb zoomed out keeps the whole height", "quadrants.png",
     dict(width=100, height=100, crop="thumb", gravity="center", zoom=0.5),
     ok(100, 100, "png", px(10, 10, RED), px(90, 10, GREEN), px(10, 90, BLUE), px(90, 90, YELLOW))),
    # Relative x_/y_: fractions of the source side.
    ("relative corner", "quadrants.png",
     dict(width=100, height=50, crop="crop", x=0.5, y=0.5),
     ok(100, 50, "png", px(10, 10, YELLOW), px(90, 40, YELLOW))),
    ("relative corner and pixels", "quadrants.png",
     dict(width=100, height=100, crop="crop", x=0.25, y=0.0),
     ok(100, 100, "png", px(10, 10, RED), px(90, 90, RED))),
    # c_fill_pad (needs g_auto): a fill when the subject fits the crop; otherwise the
    # crop widens just enough to keep it and the box is padded with b_.
    # The bars (100 rows) fit a 400x150 fill: cut like c_fill, no padding (white corners).
    ("fill_pad is a fill when the subject fits", "two-subjects.png",
     dict(width=400, height=150, crop="fill_pad", gravity="auto", background="black"),
     ok(400, 150, "png", px(35, 75, RED), px(365, 75, BLUE), px(3, 3, WHITE), px(396, 146, WHITE),
        px(200, 75, WHITE))),
    # Both bars kept: the 386 px the subjects span become 100 px wide and 52 tall,
    # padded top and bottom.
    ("fill_pad pads rather than cut a subject", "two-subjects.png",
     dict(width=100, height=100, crop="fill_pad", gravity="auto", background="black"),
     ok(100, 100, "png", px(50, 8, BLACK), px(50, 92, BLACK), px(6, 50, RED), px(93, 50, BLUE),
        px(50, 50, WHITE))),
    ("fill_pad on a tall box keeps both bars", "two-subjects.png",
     dict(width=100, height=300, crop="fill_pad", gravity="auto", background="black"),
     ok(100, 300, "png", px(50, 20, BLACK), px(50, 280, BLACK), px(6, 150, RED), px(93, 150, BLUE))),
    # a_: quarter turns, flips, steps in order, EXIF, auto, any angle.
    ("quarter turn", "quadrants.png",
     dict(angle=90),
     ok(200, 400, "png", px(20, 20, BLUE), px(180, 20, RED), px(20, 380, YELLOW), px(180, 380, GREEN))),
    ("hflip", "quadrants.png",
     dict(angle="hflip"),
     ok(400, 200, "png", px(20, 20, GREEN), px(380, 20, RED), px(20, 180, YELLOW), px(380, 180, BLUE))),
    ("vflip", "quadrants.png",
     dict(angle="vflip"),
     ok(400, 200, "png", px(20, 20, BLUE), px(380, 20, YELLOW), px(20, 180, RED), px(380, 180, GREEN))),
    ("hflip then a quarter turn", "quadrants.png",
     dict(angle=["hflip", 90]),
     ok(200, 400, "png", px(20, 20, YELLOW), px(180, 20, GREEN), px(20, 380, BLUE), px(180, 380, RED))),
    ("auto_right turns a landscape image for a portrait box", "quadrants.png",
     dict(angle="auto_right", width=100, height=200, crop="fill"),
     ok(100, 200, "png", px(25, 50, BLUE), px(75, 50, RED), px(25, 150, YELLOW), px(75, 150, GREEN))),
    ("auto_left turns the other way", "quadrants.png",
     dict(angle="auto_left", width=100, height=200, crop="fill"),
     ok(100, 200, "png", px(25, 50, GREEN), px(75, 50, YELLOW), px(25, 150, RED), px(75, 150, BLUE))),
    ("auto_right leaves a matching box alone", "quadrants.png",
     dict(angle="auto_right", width=200, height=100, crop="fill"),
     ok(200, 100, "png", px(20, 20, RED), px(180, 80, YELLOW))),
    ("ignore skips the EXIF orientation", "exif-orientation-6.jpg",
     dict(angle="ignore"),
     ok(48, 64, "jpeg", px(5, 5, GREEN, 40), px(42, 5, [255, 255, 255, 255], 40), px(5, 58, RED, 40))),
    ("EXIF orientation applies without ignore", "exif-orientation-6.jpg",
     dict(width=64),
     ok(64, 48, "jpeg", px(5, 5, RED, 40), px(58, 5, GREEN, 40), px(5, 42, BLUE, 40))),
    ("any angle grows the canvas, transparent corners", "quadrants.png",
     dict(width=100, angle=45),
     ok(107, 107, "png", px(0, 0, CLEAR), px(106, 106, CLEAR), px(45, 27, RED, 20), px(62, 80, YELLOW, 20))),
    ("any angle on JPEG: corners on the white default", "quadrants.png",
     dict(width=100, angle=45, fetch_format="jpg"),
     ok(107, 107, "jpeg", px(1, 1, WHITE, 16), px(45, 27, RED, 40))),
    ("any angle on JPEG with b_", "quadrants.png",
     dict(width=100, angle=45, fetch_format="jpg", background="black"),
     ok(107, 107, "jpeg", px(1, 1, BLACK, 16), px(62, 80, YELLOW, 40))),
    ("a negative angle turns counter-clockwise", "quadrants.png",
     dict(width=100, angle=-45),
     ok(107, 107, "png", px(0, 0, CLEAR), px(45, 80, BLUE, 20), px(62, 27, GREEN, 20))),
    # r_ / r_max: rounded corners.
    ("r_ rounds every corner", "quadrants.png",
     dict(radius=40),
     ok(400, 200, "png", px(0, 0, CLEAR), px(399, 199, CLEAR), px(100, 50, RED), px(200, 2, OPAQUE))),
    ("r_ four values clockwise from the top-left", "quadrants.png",
     dict(radius="20:0:40:0"),
     ok(400, 200, "png", px(1, 1, CLEAR), px(399, 0, GREEN), px(395, 195, CLEAR), px(0, 199, BLUE))),
    ("r_max is an ellipse", "quadrants.png",
     dict(radius="max"),
     ok(400, 200, "png", px(0, 0, CLEAR), px(20, 10, CLEAR), px(100, 50, RED), px(5, 100, OPAQUE))),
    ("r_max on JPEG: corners on b_", "quadrants.png",
     dict(radius="max", fetch_format="jpg", background="black"),
     ok(400, 200, "jpeg", px(2, 2, BLACK, 16), px(100, 50, RED, 40))),
    ("r_max circle", "quadrants.png",
     dict(width=100, height=100, crop="fill", radius="max"),
     ok(100, 100, "png", px(5, 5, CLEAR), px(94, 94, CLEAR), px(30, 30, RED), px(70, 70, YELLOW))),
    # bo_: a border around the image.
    ("border added around", "quadrants.png",
     dict(border="10px_solid_black"),
     ok(420, 220, "png", px(5, 5, BLACK), px(15, 15, RED), px(414, 214, BLACK), px(405, 205, YELLOW))),
    ("border from the SDK's dict, hex colour", "quadrants.png",
     dict(width=100, border={"width": 4, "color": "#ff00ff"}),
     ok(108, 58, "png", px(1, 29, [255, 0, 255, 255]), px(10, 10, RED))),
    ("border with rounded corners", "quadrants.png",
     dict(width=200, height=200, crop="fill", radius=50, border="6px_solid_black"),
     ok(212, 212, "png", px(0, 0, CLEAR), px(106, 2, BLACK), px(40, 40, RED), px(170, 170, YELLOW))),
    # o_: opacity.
    ("opacity on PNG", "quadrants.png",
     dict(opacity=50),
     ok(400, 200, "png", px(100, 50, [255, 0, 0, 128], 2))),
    ("opacity on JPEG blends on white", "quadrants.png",
     dict(opacity=50, fetch_format="jpg"),
     ok(400, 200, "jpeg", px(100, 50, [255, 127, 127, 255], 12))),
    ("opacity on JPEG blends on b_", "quadrants.png",
     dict(opacity=50, fetch_format="jpg", background="black"),
     ok(400, 200, "jpeg", px(100, 50, [128, 0, 0, 255], 12))),
    # Refused: a 400 naming the token.
    ("ar zero", "quadrants.png", dict(aspect_ratio="16:0", width=100), refused(400, "invalid_token", "ar_16:0")),
    ("ar with both sides", "quadrants.png", dict(aspect_ratio=1.5, width=100, height=100),
     refused(400, "invalid_token", "ar_1.5")),
    ("zoom without crop or thumb", "quadrants.png", dict(zoom=2, width=100, height=100, crop="fill"),
     refused(400, "invalid_token", "z_2")),
    ("zoom out of range", "quadrants.png", dict(zoom=500, crop="crop"), refused(400, "invalid_token", "z_500")),
    ("relative corner past the edge", "quadrants.png", dict(x=1.5, crop="crop"),
     refused(400, "invalid_token", "x_1.5")),
    ("unknown angle mode", "quadrants.png", dict(angle="flip"), refused(400, "invalid_token", "a_flip")),
    ("angle past a turn", "quadrants.png", dict(angle=400), refused(400, "invalid_token", "a_400")),
    ("five radii", "quadrants.png", dict(radius="1:2:3:4:5"), refused(400, "invalid_token", "r_1:2:3:4:5")),
    ("border without width", "quadrants.png", dict(border="0px_solid_black"),
     refused(400, "invalid_token", "bo_0px_solid_black")),
    ("border style other than solid", "quadrants.png", dict(border="2px_dotted_black"),
     refused(400, "invalid_token", "bo_2px_dotted_black")),
    ("opacity over 100", "quadrants.png", dict(opacity=101), refused(400, "invalid_token", "o_101")),
    ("fill_pad without g_auto", "quadrants.png", dict(width=100, height=100, crop="fill_pad"),
     refused(400, "invalid_token", "c_fill_pad")),
    ("unknown crop mode", "quadrants.png", dict(crop="imagga_crop", width=10), refused(400, "invalid_token", "c_imagga_crop")),
    # Over the limit once the border and the turn grow the output.
    ("border past max_dimension", "quadrants.png", dict(width=8192, border="10px_solid_black"),
     refused(422, "output_too_large", None)),
]


def main():
    rows = []
    for name, source, kwargs, expected in CASES:
        transformation = cloudinary.utils.generate_transformation_string(**dict(kwargs))[0]
        url, _ = cloudinary.utils.cloudinary_url(SOURCE_PLACEHOLDER, type="fetch", **dict(kwargs))
        rows.append({
            "name": name,
            "source": source,
            "sdk": kwargs,
            "transformation": transformation,
            "fetch_url": url,
            "source_placeholder": SOURCE_PLACEHOLDER,
            "expect": expected,
        })
    json.dump({"sdk": "cloudinary " + cloudinary.VERSION, "rows": rows}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
