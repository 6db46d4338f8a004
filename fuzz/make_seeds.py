#!/usr/bin/env python3
"""Writes the hand-made seed files of fuzz/corpus/ (PNG, BMP, PPM/PGM, .npy, tokenizer.json, short texts).

Usage: fuzz/make_seeds.py OUT_DIR  (OUT_DIR/<target>/ is created). Every file is a small valid input
written from its format's specification with the standard library only; JPEG seeds are made from the
PPM seeds with libjpeg-turbo's cjpeg/jpegtran when they are installed (Debian: libjpeg-turbo-progs).
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import zlib

out = sys.argv[1]


def put(target, name, data):
    os.makedirs(os.path.join(out, target), exist_ok=True)
    with open(os.path.join(out, target, name), "wb") as f:
        f.write(data)


def pixels(w, h, c, maxval=255):
    """A deterministic gradient: rows of w*c samples."""
    return [[(x * 37 + y * 59 + k * 101) % (maxval + 1) for x in range(w) for k in range(c)] for y in range(h)]


# ---- PNG ------------------------------------------------------------------------------------------------
def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png(w, h, depth, color, rows_bytes, extra=b"", interlace=0):
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, interlace)
    raw = b"".join(b"\x00" + r for r in rows_bytes)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def pack_bits(samples, depth):
    bits = "".join(format(s, "0%db" % depth) for s in samples)
    bits += "0" * (-len(bits) % 8)
    return bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))


def png_rows(w, h, c, depth):
    rows = pixels(w, h, c, (1 << depth) - 1)
    if depth == 16:
        return [b"".join(struct.pack(">H", s) for s in r) for r in rows]
    return [bytes(r) if depth == 8 else pack_bits(r, depth) for r in rows]


put("fuzz_image_png", "rgb8.png", png(5, 4, 8, 2, png_rows(5, 4, 3, 8)))
put("fuzz_image_png", "rgba8.png", png(4, 3, 8, 6, png_rows(4, 3, 4, 8)))
put("fuzz_image_png", "gray1.png", png(9, 3, 1, 0, png_rows(9, 3, 1, 1)))
put("fuzz_image_png", "gray4.png", png(5, 2, 4, 0, png_rows(5, 2, 1, 4)))
put("fuzz_image_png", "gray16.png", png(3, 3, 16, 0, png_rows(3, 3, 1, 16)))
put("fuzz_image_png", "graya8.png", png(3, 2, 8, 4, png_rows(3, 2, 2, 8)))
put("fuzz_image_png", "rgb16.png", png(2, 2, 16, 2, png_rows(2, 2, 3, 16)))
put("fuzz_image_png", "interlaced.png", png(9, 9, 8, 2, png_rows(9, 9, 3, 8), interlace=1))
plte = chunk(b"PLTE", bytes(range(0, 48)))
put("fuzz_image_png", "palette4.png", png(6, 2, 4, 3, png_rows(6, 2, 1, 4), plte))
put("fuzz_image_png", "palette-trns.png", png(4, 4, 2, 3, png_rows(4, 4, 1, 2), plte + chunk(b"tRNS", b"\x00\x80")))
put("fuzz_image_png", "gray-trns.png", png(3, 3, 8, 0, png_rows(3, 3, 1, 8), chunk(b"tRNS", b"\x00\x05")))


# ---- BMP ------------------------------------------------------------------------------------------------
def bmp(w, h, bpp, rows, palette=b"", compression=0, v5_masks=None, top_down=False):
    """rows: the stored rows (bottom-up unless top_down), already padded to 4 bytes."""
    data = b"".join(rows)
    if v5_masks:
        info = struct.pack("<IiiHHIIiiII", 124, w, -h if top_down else h, 1, bpp, compression, len(data), 2835, 2835, 0, 0)
        info += struct.pack("<IIII", *v5_masks) + b"BGRs" + bytes(36) + struct.pack("<IIII", 0, 0, 0, 0) + bytes(4) * 4
        info = info[:124]
    else:
        info = struct.pack("<IiiHHIIiiII", 40, w, -h if top_down else h, 1, bpp, compression, len(data), 2835, 2835,
                           len(palette) // 4, 0)
    offset = 14 + len(info) + len(palette)
    head = b"BM" + struct.pack("<IHHI", offset + len(data), 0, 0, offset)
    return head + info + palette + data


def pad4(b):
    return b + bytes(-len(b) % 4)


w, h = 5, 3
put("fuzz_image_bmp", "rgb24.bmp", bmp(w, h, 24, [pad4(bytes(r)) for r in pixels(w, h, 3)]))
put("fuzz_image_bmp", "rgb24-topdown.bmp", bmp(w, h, 24, [pad4(bytes(r)) for r in pixels(w, h, 3)], top_down=True))
put("fuzz_image_bmp", "bgra32.bmp", bmp(w, h, 32, [bytes(r) for r in pixels(w, h, 4)]))
put("fuzz_image_bmp", "bitfields32-v5.bmp",
    bmp(w, h, 32, [bytes(r) for r in pixels(w, h, 4)], compression=3,
        v5_masks=(0x00FF0000, 0x0000FF00, 0x000000FF, 0xFF000000)))
put("fuzz_image_bmp", "rgb565.bmp",
    bmp(w, h, 16, [pad4(bytes(r)) for r in pixels(w, h, 2)], compression=3, v5_masks=(0xF800, 0x07E0, 0x001F, 0)))
pal = b"".join(bytes((i * 16, 255 - i * 16, i * 8, 0)) for i in range(16))
put("fuzz_image_bmp", "pal8.bmp", bmp(w, h, 8, [pad4(bytes(v % 16 for v in r)) for r in pixels(w, h, 1)], pal))
put("fuzz_image_bmp", "pal4.bmp", bmp(w, h, 4, [pad4(pack_bits([v % 16 for v in r], 4)) for r in pixels(w, h, 1)], pal))
put("fuzz_image_bmp", "pal1.bmp", bmp(9, 2, 1, [pad4(pack_bits([v % 2 for v in r], 1)) for r in pixels(9, 2, 1)], pal[:8]))
# RLE8: per row "count value" runs, an absolute run, end of line; end of bitmap.
rle = [bytes((2, 1, 3, 2, 0, 0)), bytes((0, 3, 4, 5, 6, 0, 2, 7, 0, 0)), bytes((5, 9, 0, 1))]
put("fuzz_image_bmp", "rle8.bmp", bmp(w, h, 8, rle, pal, compression=1))


# ---- PPM / PGM ------------------------------------------------------------------------------------------
def pnm(magic, w, h, maxval, c, comment=b""):
    samples = [s for r in pixels(w, h, c, maxval) for s in r]
    body = bytes(samples) if maxval < 256 else b"".join(struct.pack(">H", s) for s in samples)
    return magic + b"\n" + comment + b"%d %d\n%d\n" % (w, h, maxval) + body


put("fuzz_image_ppm", "rgb.ppm", pnm(b"P6", 5, 4, 255, 3))
put("fuzz_image_ppm", "gray.pgm", pnm(b"P5", 7, 3, 255, 1))
put("fuzz_image_ppm", "comment.ppm", pnm(b"P6", 3, 2, 255, 3, b"# made by make_seeds.py\n"))
put("fuzz_image_ppm", "maxval15.pgm", pnm(b"P5", 4, 4, 15, 1))
put("fuzz_image_ppm", "rgb16.ppm", pnm(b"P6", 3, 3, 65535, 3))
put("fuzz_image_ppm", "gray16.pgm", pnm(b"P5", 3, 2, 1000, 1))

# ---- JPEG (from the PPM seeds, when libjpeg-turbo's tools are there) -------------------------------------
tmp = os.path.join(out, ".tmp")
os.makedirs(tmp, exist_ok=True)
if shutil.which("cjpeg") and shutil.which("jpegtran"):
    big = pnm(b"P6", 19, 13, 255, 3)
    gray = pnm(b"P5", 17, 9, 255, 1)
    open(os.path.join(tmp, "in.ppm"), "wb").write(big)
    open(os.path.join(tmp, "in.pgm"), "wb").write(gray)

    def cjpeg(name, src, *args):
        data = subprocess.run(["cjpeg", *args, os.path.join(tmp, src)], check=True, capture_output=True).stdout
        put("fuzz_image_jpeg", name, data)
        return data

    base = cjpeg("rgb-420.jpg", "in.ppm", "-quality", "75")
    cjpeg("rgb-444.jpg", "in.ppm", "-sample", "1x1", "-quality", "90")
    cjpeg("rgb-422-restart.jpg", "in.ppm", "-sample", "2x1", "-restart", "1")
    cjpeg("progressive.jpg", "in.ppm", "-progressive")
    cjpeg("gray.jpg", "in.pgm", "-grayscale")
    cjpeg("optimized.jpg", "in.ppm", "-optimize", "-dct", "float")
    try:
        cjpeg("arithmetic.jpg", "in.ppm", "-arithmetic")
    except subprocess.CalledProcessError:
        pass
    cjpeg("rgb-colorspace.jpg", "in.ppm", "-rgb")
    # An EXIF APP1 segment with orientation 6 (rotate 90° clockwise), little- and big-endian TIFF headers.
    for name, tiff in (("exif-orient6-le.jpg", b"II*\x00" + struct.pack("<IHHHIHH", 8, 1, 0x112, 3, 1, 6, 0) + bytes(4)),
                       ("exif-orient8-be.jpg", b"MM\x00*" + struct.pack(">IHHHIHH", 8, 1, 0x112, 3, 1, 8, 0) + bytes(4))):
        app1 = b"Exif\x00\x00" + tiff
        put("fuzz_image_jpeg", name, base[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + base[2:])
else:
    print("cjpeg/jpegtran not found: no JPEG seeds written", file=sys.stderr)
shutil.rmtree(tmp)


# ---- .npy -----------------------------------------------------------------------------------------------
def npy(descr, shape, data, version=1, fortran=False):
    shape_s = "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    d = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape_s)
    head_len = 10 if version == 1 else 12
    d += " " * (-(head_len + len(d) + 1) % 64) + "\n"
    lenfield = struct.pack("<H", len(d)) if version == 1 else struct.pack("<I", len(d))
    return b"\x93NUMPY" + bytes((version, 0)) + lenfield + d.encode() + data


put("fuzz_npy", "f4-2x3.npy", npy("<f4", (2, 3), struct.pack("<6f", 0, 1.5, -2, 3e38, 1e-40, float("inf"))))
put("fuzz_npy", "f8-3.npy", npy("<f8", (3,), struct.pack("<3d", 1.0, -0.5, 1e300)))
put("fuzz_npy", "i4-4.npy", npy("<i4", (4,), struct.pack("<4i", 1, -1, 2**31 - 1, -2**31)))
put("fuzz_npy", "i8-2x1.npy", npy("<i8", (2, 1), struct.pack("<2q", 2**63 - 1, -5)))
put("fuzz_npy", "u1-2x2x3.npy", npy("|u1", (2, 2, 3), bytes(range(12))))
put("fuzz_npy", "scalar.npy", npy("<f4", (), struct.pack("<f", 7.0)))
put("fuzz_npy", "empty.npy", npy("<i4", (0, 3), b""))
put("fuzz_npy", "v2.npy", npy("<f4", (2,), struct.pack("<2f", 1, 2), version=2))
put("fuzz_npy", "v3.npy", npy("<i8", (1,), struct.pack("<q", 9), version=3))
put("fuzz_npy", "fortran.npy", npy("<f4", (1, 1), struct.pack("<f", 1), fortran=True))

# ---- tokenizer.json (optionally NUL + tokenizer_config.json) and texts -----------------------------------
byte_chars = [chr(c) for c in range(33, 127)] + [chr(c) for c in range(161, 173)] + [chr(c) for c in range(174, 256)]
n = 0
for b in range(256):
    if chr(b) not in byte_chars:
        byte_chars.insert(b, chr(256 + n))  # GPT-2's bytes_to_unicode
        n += 1
alphabet = {c: i for i, c in enumerate(byte_chars[:256])}
vocab = dict(alphabet)
merges = [["Ġ", "t"], ["h", "e"], ["Ġt", "he"], ["l", "l"], ["he", "ll"], ["hell", "o"]]
for m in merges:
    vocab[m[0] + m[1]] = len(vocab)
added = [{"id": len(vocab), "content": "<|endoftext|>", "special": True},
         {"id": len(vocab) + 1, "content": "<|im_start|>", "special": True},
         {"id": len(vocab) + 2, "content": "<user>", "special": False}]
gpt2 = {"version": "1.0", "added_tokens": added, "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<|im_start|>"}},
                                                                   {"Sequence": {"id": "A"}}]},
        "model": {"type": "BPE", "vocab": vocab, "merges": merges}}
put("fuzz_tokenizer", "gpt2-small.json", json.dumps(gpt2, ensure_ascii=False).encode())
llama3 = dict(gpt2)
llama3["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
    {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
     "behavior": "Isolated", "invert": False},
    {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
llama3["model"] = {"type": "BPE", "vocab": vocab, "merges": [a + " " + b for a, b in merges], "ignore_merges": True}
config = {"bos_token": "<|im_start|>", "eos_token": {"content": "<|endoftext|>"}, "pad_token": None,
          "add_bos_token": True, "chat_template": "{% for m in messages %}{{ m['content'] }}{% endfor %}"}
put("fuzz_tokenizer", "llama3-with-config.json",
    json.dumps(llama3, ensure_ascii=False).encode() + b"\x00" + json.dumps(config).encode())
sparse = {"model": {"vocab": {"a": 0, "b": 3, "ab": 5}, "merges": ["a b"]}, "pre_tokenizer": {"type": "ByteLevel"},
          "added_tokens": [{"id": 7, "content": "<s>", "special": True}]}
put("fuzz_tokenizer", "sparse-ids.json", json.dumps(sparse).encode() + b"\x00" +
    json.dumps({"bos_token": "<s>", "chat_template": [{"name": "default", "template": "x"}]}).encode())

texts = ["Hello world", " Hello  world\n\n", "<|im_start|>user\nhi<|im_end|>\n", "don't I'LL 12345 3.14",
         "caf\u00e9 \u65e5\u672c\u8a9e \U0001F600", "\ttabs\r\nand\rreturns", "<|endoftext|><|endoftext|>", "a" * 64,
         "\xff\xfe invalid utf-8 follows"]
for i, t in enumerate(texts):
    data = t.encode("utf-8") if i != len(texts) - 1 else b"\xff\xfe\xc3 invalid \xe2\x82 utf-8 \xf0\x9f"
    put("fuzz_tokenize", "text%d.txt" % i, data)
