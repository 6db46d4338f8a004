#!/usr/bin/python3
"""Pillow references for the image tests (tests/test_image_pillow.cpp).

Regenerate (from the repository root, with Debian's packages, not a virtual environment):

    apt-get install -y python3-pil python3-numpy
    /usr/bin/python3 tests/refs/images/make_pillow_refs.py

Generated with Debian 12 python3-pil 9.4.0-1.1+deb12u1 (Pillow 9.4.0, libjpeg-turbo 2.1.5 = libjpeg62-turbo
1:2.1.5-2, zlib 1.2.13) and python3-numpy 1:1.24.2-1+deb12u1. The script refuses other Pillow versions
unless given --any-version. Everything is deterministic: the inputs are formulas, not random draws, and
every file is rewritten on each run (the PNG/JPEG bytes depend on the zlib / libjpeg versions, the
references only on the pixels that Pillow decodes from them).

Files written next to this script (.npy arrays are uint8 [H][W][3] unless said otherwise):

  orient.png                   25x14 RGB test pattern (x ramp in red, y ramp in green, marks in blue)
  orient_exif_<o>.png          o = 2..8: the pattern as a PNG with an eXIf chunk holding EXIF orientation o
  orient_transpose_<o>.npy     ImageOps.exif_transpose(Image.open(that PNG)).convert('RGB'): the orientation
                               semantics without JPEG noise
  orient_<o>.jpg               o = 1..8: the pattern as a JPEG (quality 95, 4:2:0) with EXIF orientation o
                               (o = 1: no EXIF at all)
  orient_<o>.npy               ImageOps.exif_transpose(Image.open(jpg)).convert('RGB')
  resize_<name>.png            the resize inputs (sizes in RESIZE_INPUTS)
  stretch_<name>_<W>x<H>.npy   Image.resize((W, H), Image.BILINEAR) of that input
  letterbox_<name>_<W>x<H>_pad<PAD>.npy
                               our documented letterbox (docs/formats.md, "Image preprocessing"):
                               scale = min(W / w, H / h); fitted size = round half away from zero of
                               (w * scale, h * scale), clamped to [1, W] x [1, H]; Pillow BILINEAR resize
                               to it; placed at ((W - nw) // 2, (H - nh) // 2) on a W x H canvas of pad
                               value PAD (the odd pixel of padding after the image)
  preprocess_<same>.npy        float32 [3][H][W], for the NORMALISED case: that canvas as (v / 255 - MEAN[c])
                               / STD[c] in float32 (v / 255 correctly rounded), channels first
"""
import math
import os
import sys

import numpy as np
from PIL import Image, ImageOps, features

import PIL

HERE = os.path.dirname(os.path.abspath(__file__))
PILLOW_VERSION = "9.4.0"

# Letterbox normalisation: a different mean/std per channel, so that channel order matters.
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)

# name: (width, height)
RESIZE_INPUTS = {
    "37x23": (37, 23),
    "20x50": (20, 50),
    "300x200": (300, 200),
    "16x9": (16, 9),
    "64x45": (64, 45),
}
# (input, W, H): downscaling, upscaling, and one axis up and the other down.
STRETCH = [
    ("37x23", 32, 32),
    ("20x50", 64, 64),
    ("300x200", 64, 64),
    ("16x9", 96, 96),
    ("300x200", 64, 48),
    ("37x23", 17, 40),
]
# (input, W, H, pad value)
LETTERBOX = [
    ("37x23", 32, 32, 0),     # 32 x 19.89 -> 32 x 20, 6 rows above, 6 below
    ("20x50", 64, 64, 0),     # 25.6 x 64 -> 26 x 64 (upscaling), 19 columns left, 19 right
    ("300x200", 64, 64, 114), # 64 x 42.67 -> 64 x 43, 10 rows above, 11 below (odd pixel after)
    ("16x9", 96, 96, 0),      # 96 x 54 (upscaling), 21 above, 21 below
    ("64x45", 32, 32, 0),     # 32 x 22.5 -> 32 x 23 (half away from zero), 4 above, 5 below
    ("300x200", 64, 32, 0),   # non-square target: 48 x 32, 8 columns left, 8 right
]
# The letterbox case also written normalised (float32, channels first), as preprocess() returns it.
NORMALISED = ("300x200", 64, 64, 114)


def pattern(w, h):
    """x ramp (red), y ramp (green), blue marks that differ per quadrant: every flip/rotation differs."""
    y, x = np.mgrid[0:h, 0:w]
    r = 20 + (215 * x) // (w - 1)
    g = 30 + (200 * y) // (h - 1)
    b = np.where(x < w // 3, 40, 120) + np.where(y < h // 2, 0, 90)
    return np.stack([r, g, b], axis=-1).astype(np.uint8)


def texture(w, h):
    """Smooth ramps plus a hashed high-frequency part (deterministic), so that every tap weight matters."""
    y, x = np.mgrid[0:h, 0:w].astype(np.int64)
    cell = max(1, w // 100)  # the noise in cells of cell x cell pixels: keeps the 300x200 PNG small
    out = []
    for c in range(3):
        smooth = (255 * (x + (c + 1) * y)) // (w + (c + 1) * h)
        noise = (((x // cell) * 73856093) ^ ((y // cell) * 19349663) ^ ((c + 1) * 83492791)) % 97
        edge = np.where((x // 4 + y // 3 + c) % 2 == 0, 40, -40)
        out.append(np.clip(smooth + noise - 48 + edge, 0, 255))
    return np.stack(out, axis=-1).astype(np.uint8)


def exif_bytes(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def save_npy(name, array):
    np.save(os.path.join(HERE, name), np.ascontiguousarray(array), allow_pickle=False)


def round_half_away(v):
    return int(math.floor(v + 0.5))  # v > 0: C++ std::lround


def letterbox(img, W, H, pad):
    w, h = img.size
    scale = min(W / w, H / h)
    nw = min(max(round_half_away(w * scale), 1), W)
    nh = min(max(round_half_away(h * scale), 1), H)
    inner = np.asarray(img.resize((nw, nh), Image.BILINEAR).convert("RGB"))
    canvas = np.full((H, W, 3), pad, dtype=np.uint8)
    x0, y0 = (W - nw) // 2, (H - nh) // 2
    canvas[y0 : y0 + nh, x0 : x0 + nw] = inner
    return canvas


def normalise(canvas):
    v = canvas.astype(np.float32) / np.float32(255)
    v = (v - np.array(MEAN, dtype=np.float32)) / np.array(STD, dtype=np.float32)
    return np.ascontiguousarray(v.transpose(2, 0, 1).astype(np.float32))


def main():
    if PIL.__version__ != PILLOW_VERSION and "--any-version" not in sys.argv:
        sys.exit(f"Pillow {PIL.__version__}: these references were made with {PILLOW_VERSION} (--any-version to override)")
    print(f"Pillow {PIL.__version__}, numpy {np.__version__}, libjpeg-turbo {features.version_feature('libjpeg_turbo')}")

    # EXIF orientation, lossless: Pillow's own exif_transpose on a PNG carrying the orientation.
    base = Image.fromarray(pattern(25, 14), "RGB")
    base.save(os.path.join(HERE, "orient.png"), optimize=False)
    for o in range(2, 9):
        path = os.path.join(HERE, f"orient_exif_{o}.png")
        base.save(path, "PNG", optimize=False, exif=exif_bytes(o))
        im = Image.open(path)
        assert im.getexif().get(0x0112) == o
        out = ImageOps.exif_transpose(im).convert("RGB")
        save_npy(f"orient_transpose_{o}.npy", np.asarray(out))

    # EXIF orientation, JPEG: the same pattern, decoded and transposed by Pillow.
    for o in range(1, 9):
        path = os.path.join(HERE, f"orient_{o}.jpg")
        kwargs = {} if o == 1 else {"exif": exif_bytes(o)}
        base.save(path, "JPEG", quality=95, subsampling=2, **kwargs)
        im = Image.open(path)
        assert im.getexif().get(0x0112, 1) == o
        out = ImageOps.exif_transpose(im).convert("RGB")
        save_npy(f"orient_{o}.npy", np.asarray(out))

    # Resize: stretch and letterbox.
    inputs = {}
    for name, (w, h) in RESIZE_INPUTS.items():
        inputs[name] = Image.fromarray(texture(w, h), "RGB")
        inputs[name].save(os.path.join(HERE, f"resize_{name}.png"), optimize=False)
    for name, W, H in STRETCH:
        save_npy(f"stretch_{name}_{W}x{H}.npy", np.asarray(inputs[name].resize((W, H), Image.BILINEAR)))
    for name, W, H, pad in LETTERBOX:
        canvas = letterbox(inputs[name], W, H, pad)
        save_npy(f"letterbox_{name}_{W}x{H}_pad{pad}.npy", canvas)
        if (name, W, H, pad) == NORMALISED:
            save_npy(f"preprocess_{name}_{W}x{H}_pad{pad}.npy", normalise(canvas))

    total = sum(os.path.getsize(os.path.join(HERE, f)) for f in os.listdir(HERE))
    print(f"{len(os.listdir(HERE))} files, {total} bytes in {HERE}")


if __name__ == "__main__":
    main()
