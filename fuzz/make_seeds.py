"""Small seed files for the `probe_decode` fuzz target, one or more per raster format the
probe reads, so that libFuzzer starts inside every decoder instead of finding each header,
and three SVGs for the `svg` target (most features usvg handles, and an external image that
must never be fetched).

  cd fuzz && python3 make_seeds.py      # needs Pillow; writes corpus/probe_decode/ and corpus/svg/
  cp ../tests/fixtures/*.jpg ../tests/fixtures/heif/*.heic ../tests/fixtures/heif/*.avif corpus/probe_decode/
"""
import os

from PIL import Image, ImageDraw

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
OUT = os.path.join(CORPUS, "probe_decode")

SVGS = {
    "a.svg": '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80" viewBox="0 0 120 80"><defs><linearGradient id="g"><stop offset="0" stop-color="red"/><stop offset="1" stop-color="blue" stop-opacity=".5"/></linearGradient></defs><rect width="120" height="80" fill="url(#g)"/><circle cx="60" cy="40" r="30" fill="#0f0" stroke="black" stroke-width="3"/><path d="M10 10 L50 70 Q 80 10 110 70 Z" fill="none" stroke="purple"/></svg>',
    "b.svg": '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 100 100"><defs><g id="s"><rect width="10" height="10"/></g><filter id="f"><feGaussianBlur stdDeviation="2"/></filter><clipPath id="c"><circle cx="50" cy="50" r="40"/></clipPath><marker id="m" markerWidth="4" markerHeight="4"><circle r="2"/></marker></defs><g clip-path="url(#c)" filter="url(#f)"><use xlink:href="#s" x="10"/><use href="#s" x="30" transform="rotate(20)"/></g><polyline points="0,0 50,50 100,0" marker-mid="url(#m)" stroke="red"/><text x="10" y="90" font-size="12">Hi</text><image href="http://127.0.0.1:1/x.png" width="10" height="10"/></svg>',
    "c.svg": '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="32"><style>rect{fill:teal}</style><pattern id="p" width="8" height="8" patternUnits="userSpaceOnUse"><rect width="4" height="4"/></pattern><rect width="64" height="32" fill="url(#p)" opacity="0.7"/><mask id="k"><rect width="32" height="32" fill="white"/></mask><ellipse cx="32" cy="16" rx="30" ry="10" mask="url(#k)"/></svg>',
}


def picture(mode, size=(40, 30)):
    """A red field with a green rectangle and a blue ring, in `mode`; RGBA gets a gradient alpha."""
    im = Image.new("RGB", size, (200, 40, 40))
    draw = ImageDraw.Draw(im)
    draw.rectangle([5, 5, 25, 20], fill=(20, 180, 60))
    draw.ellipse([10, 2, 38, 28], outline=(10, 10, 240))
    if mode == "RGBA":
        im = im.convert("RGBA")
        im.putalpha(Image.linear_gradient("L").resize(size))
    elif mode != "RGB":
        im = im.convert(mode)
    return im


def save(name, im, fmt, **options):
    im.save(os.path.join(OUT, name), fmt, **options)


def main():
    os.makedirs(OUT, exist_ok=True)
    save("a.png", picture("RGBA"), "PNG")
    save("p.png", picture("P"), "PNG")
    save("g16.png", picture("L").convert("I;16"), "PNG")
    frames = [picture("P"), picture("P").rotate(90)]
    save("anim.gif", frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    save("s.gif", picture("P"), "GIF")
    save("l.webp", picture("RGB"), "WEBP", quality=70)
    save("ll.webp", picture("RGBA"), "WEBP", lossless=True)
    frames = [picture("RGBA"), picture("RGBA").rotate(45)]
    save("anim.webp", frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=80)
    save("lzw.tif", picture("RGB"), "TIFF", compression="tiff_lzw")
    save("zip.tif", picture("RGBA"), "TIFF", compression="tiff_adobe_deflate")
    save("raw16.tif", picture("L").convert("I;16"), "TIFF")
    save("pb.tif", picture("RGB"), "TIFF", compression="packbits")
    pages = [picture("RGB", (64, 48)), picture("RGB", (32, 24)), picture("RGB", (16, 12))]
    save("pyr.tif", pages[0], "TIFF", save_all=True, append_images=pages[1:], compression="tiff_lzw")
    save("c.bmp", picture("RGB"), "BMP")
    save("p8.bmp", picture("P"), "BMP")
    save("a32.bmp", picture("RGBA"), "BMP")
    save("m.ico", picture("RGBA", (64, 64)), "ICO", sizes=[(16, 16), (32, 32), (64, 64)])
    save("prog.jpg", picture("RGB"), "JPEG", progressive=True, quality=70)
    save("g.jpg", picture("L"), "JPEG")
    save("444.jpg", picture("RGB"), "JPEG", subsampling=0)
    save("cmyk.jpg", picture("RGB").convert("CMYK"), "JPEG")
    os.makedirs(os.path.join(CORPUS, "svg"), exist_ok=True)
    for name, text in SVGS.items():
        with open(os.path.join(CORPUS, "svg", name), "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
