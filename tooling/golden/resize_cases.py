"""Pillow resize and decode goldens for @pali/image, written under fixtures/resize/ only.

Run: python tooling/golden/resize_cases.py   (entry function: main())
Pins: tooling/golden/requirements-resize.txt (Pillow decides every byte here).

cases.json: each case names a synthetic source image that TypeScript rebuilds from the same numbers
(packages/image/src/synthetic.ts documents the integer-only hash and patterns), a target size and a
resample mode, and records the sha256 of Pillow's uint8 RGB output plus sample bytes (the whole output
when it is small). Cases with `pixel_values` also record the sha256 of HF SiglipImageProcessor's (PIL
backend) float32 pixel_values for that image, size and resample.

decode/: small files in many formats and modes, each with Pillow's
ImageOps.exif_transpose(im).convert('RGB') result saved as a lossless PNG and hashed in decode.json.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, ImageOps

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "fixtures" / "resize"

MODES = {"nearest": 0, "lanczos": 1, "bilinear": 2, "bicubic": 3, "box": 4, "hamming": 5}


# ---- synthetic sources (mirror of packages/image/src/synthetic.ts) ----

def hash32(i: np.ndarray, seed: int) -> np.ndarray:
    x = (i.astype(np.uint32) * np.uint32(0x9E3779B1) + np.uint32(seed & 0xFFFFFFFF)).astype(np.uint32)
    x ^= x >> np.uint32(16)
    x = (x * np.uint32(0x7FEB352D)).astype(np.uint32)
    x ^= x >> np.uint32(15)
    x = (x * np.uint32(0x846CA68B)).astype(np.uint32)
    x ^= x >> np.uint32(16)
    return x


def gradient(w: int, h: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.int64)
    g = np.empty((h, w, 3), np.int64)
    g[..., 0] = (x * 255) // max(w - 1, 1)
    g[..., 1] = (y * 255) // max(h - 1, 1)
    g[..., 2] = ((x + y) * 255) // max(w + h - 2, 1)
    return g


def synthetic(w: int, h: int, pattern: str, seed: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        idx = np.arange(w * h * 3, dtype=np.uint64).astype(np.uint32)
        if pattern == "noise":
            return (hash32(idx, seed) >> np.uint32(24)).astype(np.uint8).reshape(h, w, 3)
        if pattern == "gradient":
            return gradient(w, h).astype(np.uint8)
        if pattern == "mixed":
            noise = (hash32(idx, seed) >> np.uint32(27)).astype(np.int64).reshape(h, w, 3) - 16
            return np.clip(gradient(w, h) + noise, 0, 255).astype(np.uint8)
        if pattern == "blocks":
            size = 1 + (seed % 13)
            per_row = -(-w // size)
            y, x = np.mgrid[0:h, 0:w]
            b = ((y // size) * per_row + (x // size)).astype(np.uint32)
            out = np.empty((h, w, 3), np.uint8)
            for c in range(3):
                out[..., c] = (hash32(b * np.uint32(3) + np.uint32(c), seed) >> np.uint32(24)).astype(np.uint8)
            return out
    raise ValueError(pattern)


# ---- cases ----

def case_list() -> list[dict]:
    cases = []
    extremes = [
        (1, 1, "noise", 1), (1, 7, "noise", 2), (7, 1, "mixed", 3), (2, 2, "blocks", 4), (3, 5, "noise", 5),
        (13, 11, "mixed", 6), (1, 1000, "mixed", 7), (1000, 1, "mixed", 8), (2000, 3, "noise", 9),
        (3, 2000, "blocks", 10), (97, 89, "blocks", 11),
    ]
    for (w, h, pattern, seed) in extremes:
        for (tw, th) in [(224, 224), (1, 1), (3, 5), (17, 300)]:
            for mode in MODES:
                cases.append({"source": {"width": w, "height": h, "pattern": pattern, "seed": seed},
                              "width": tw, "height": th, "resample": mode})
    photos = [
        (640, 480, "mixed", 21), (480, 640, "blocks", 22), (1920, 1080, "mixed", 23), (333, 777, "noise", 24),
        (224, 224, "gradient", 0), (225, 223, "noise", 25), (896, 896, "mixed", 26), (100, 100, "blocks", 27),
    ]
    for (w, h, pattern, seed) in photos:
        for size in (224, 448, 896):
            for mode in ("bicubic", "bilinear", "nearest"):
                cases.append({"source": {"width": w, "height": h, "pattern": pattern, "seed": seed},
                              "width": size, "height": size, "resample": mode, "pixel_values": True})
    for size in (224, 448, 896):
        for mode in ("bicubic", "bilinear", "nearest"):
            cases.append({"source": {"width": 4000, "height": 3000, "pattern": "mixed", "seed": 31},
                          "width": size, "height": size, "resample": mode, "pixel_values": True})
    cases.append({"source": {"width": 4000, "height": 3000, "pattern": "blocks", "seed": 32},
                  "width": 224, "height": 224, "resample": "bicubic", "pixel_values": True})
    return cases


def samples(data: bytes) -> dict:
    n = len(data)
    picks = sorted({0, 1, 2, n // 3, n // 2, (2 * n) // 3, n - 1})
    return {str(i): data[i] for i in picks}


def siglip_pixel_values(im: Image.Image, size: int, mode: str) -> np.ndarray:
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    proc = SiglipImageProcessorPil(size={"height": size, "width": size}, resample=MODES[mode],
                                   rescale_factor=1 / 255, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    return proc(im, return_tensors="np")["pixel_values"].astype("<f4")


def make_resize_cases() -> list[dict]:
    sources: dict[tuple, Image.Image] = {}
    out = []
    for case in case_list():
        s = case["source"]
        key = (s["width"], s["height"], s["pattern"], s["seed"])
        if key not in sources:
            arr = synthetic(*key)
            # keep one: 4000x3000 sources are large
            sources = {key: (Image.fromarray(arr, "RGB"), hashlib.sha256(arr.tobytes()).hexdigest())}
        im, src_hash = sources[key]
        res = im.resize((case["width"], case["height"]), MODES[case["resample"]])
        data = res.tobytes()
        rec = dict(case)
        rec["source"] = dict(s, sha256=src_hash)
        rec["sha256"] = hashlib.sha256(data).hexdigest()
        rec["samples"] = samples(data)
        if len(data) <= 64 * 3:
            rec["bytes"] = data.hex()
        if case.get("pixel_values"):
            pv = siglip_pixel_values(im, case["width"], case["resample"])
            rec["pixel_values"] = {
                "sha256": hashlib.sha256(pv.tobytes()).hexdigest(),
                "shape": list(pv.shape),
                "min": float(pv.min()), "max": float(pv.max()), "mean": float(pv.astype(np.float64).mean()),
            }
        out.append(rec)
    return out


# ---- decode fixtures ----

def png_rgb16(arr16: np.ndarray) -> bytes:
    """A 16-bit RGB PNG written by hand (Pillow cannot save one)."""
    h, w, _ = arr16.shape
    raw = b"".join(b"\x00" + arr16[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def with_orientation(im: Image.Image, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=95, exif=exif.tobytes())
    return buf.getvalue()


def save(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def decode_files() -> dict[str, tuple[bytes, bool]]:
    """name -> (file bytes, exact): exact means lossless, so decoders must agree to the byte."""
    w, h = 61, 47
    rgb = Image.fromarray(synthetic(w, h, "mixed", 41), "RGB")
    smooth = Image.fromarray(synthetic(w, h, "gradient", 0), "RGB")
    alpha = Image.fromarray(synthetic(w, h, "noise", 42)[..., 0], "L")
    grey = rgb.convert("L")
    rgba = rgb.copy()
    rgba.putalpha(alpha)
    la = grey.copy()
    la.putalpha(alpha)
    pal = rgb.quantize(64)
    pal_t = pal.copy()
    pal_t.info["transparency"] = 5
    l16 = Image.fromarray((synthetic(w, h, "noise", 43)[..., 0].astype("<u2") * 7 + 3))
    rgb16 = synthetic(w, h, "noise", 44).astype(np.uint16) * 257 + synthetic(w, h, "mixed", 45).astype(np.uint16)
    frames = [Image.fromarray(synthetic(w, h, "blocks", 46 + i), "RGB").quantize(32) for i in range(2)]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    files = {
        "png-rgb.png": (save(rgb, "PNG"), True),
        "png-rgba.png": (save(rgba, "PNG"), True),
        "png-l.png": (save(grey, "PNG"), True),
        "png-la.png": (save(la, "PNG"), True),
        "png-p.png": (save(pal, "PNG"), True),
        "png-p-transparency.png": (save(pal_t, "PNG", transparency=5), True),
        "png-1bit.png": (save(grey.convert("1"), "PNG"), True),
        "png-l16.png": (save(l16, "PNG"), True),
        "png-rgb16.png": (png_rgb16(rgb16), True),
        "jpeg-rgb.jpg": (save(smooth, "JPEG", quality=95), False),
        "jpeg-photo.jpg": (save(rgb, "JPEG", quality=90), False),
        "jpeg-l.jpg": (save(smooth.convert("L"), "JPEG", quality=95), False),
        "jpeg-cmyk.jpg": (save(smooth.convert("CMYK"), "JPEG", quality=95), False),
        "webp-lossless.webp": (save(rgb, "WEBP", lossless=True), True),
        "webp-rgba-lossless.webp": (save(rgba, "WEBP", lossless=True, exact=True), True),
        "webp-lossy.webp": (save(smooth, "WEBP", quality=90), False),
        "gif-animated.gif": (gif.getvalue(), True),
        "tiff-rgb.tif": (save(rgb, "TIFF"), True),
        "tiff-cmyk.tif": (save(rgb.convert("CMYK"), "TIFF"), True),
        "avif-rgb.avif": (save(smooth, "AVIF", quality=90), False),
    }
    for o in range(1, 9):
        files[f"jpeg-orientation-{o}.jpg"] = (with_orientation(smooth, o), False)
    exif = Image.Exif()
    exif[0x0112] = 6
    files["webp-lossless-orientation-6.webp"] = (save(rgb, "WEBP", lossless=True, exif=exif.tobytes()), True)
    exif[0x0112] = 5
    files["tiff-orientation-5.tif"] = (save(rgb, "TIFF", exif=exif.tobytes()), True)
    exif[0x0112] = 7
    files["png-orientation-7.png"] = (save(rgb, "PNG", exif=exif.tobytes()), True)
    exif[0x0112] = 3
    files["webp-lossless-orientation-3.webp"] = (save(rgb, "WEBP", lossless=True, exif=exif.tobytes()), True)
    return files


PIXEL_VALUE_FILES = {
    "png-rgb.png": [(224, "bicubic"), (448, "bicubic"), (224, "bilinear")],
    "jpeg-orientation-6.jpg": [(224, "bicubic")],
    "png-rgba.png": [(224, "bicubic")],
}


def make_decode_cases() -> list[dict]:
    out_dir = OUT / "decode"
    out_dir.mkdir(parents=True, exist_ok=True)
    records = []
    for name, (data, exact) in sorted(decode_files().items()):
        (out_dir / name).write_bytes(data)
        im = Image.open(io.BytesIO(data))
        mode = im.mode
        ref = ImageOps.exif_transpose(im).convert("RGB")
        ref_name = name.rsplit(".", 1)[0] + ".pillow.png"
        ref.save(out_dir / ref_name, "PNG")
        rec = {
            "file": f"decode/{name}", "pillow_mode": mode, "exact": exact,
            "width": ref.width, "height": ref.height,
            "rgb_sha256": hashlib.sha256(ref.tobytes()).hexdigest(), "pillow_rgb": f"decode/{ref_name}",
        }
        if name in PIXEL_VALUE_FILES:
            # What `pali preprocess FILE --size S` must write: HF's processor on the decoded image.
            rec["pixel_values"] = {}
            for size, mode_name in PIXEL_VALUE_FILES[name]:
                pv = siglip_pixel_values(ref, size, mode_name)
                rec["pixel_values"][f"{size}-{mode_name}"] = {
                    "sha256": hashlib.sha256(pv.tobytes()).hexdigest(), "shape": list(pv.shape),
                    "min": float(pv.min()), "max": float(pv.max()), "mean": float(pv.astype(np.float64).mean()),
                }
        records.append(rec)
    # Malformed inputs the decoders must reject with typed errors.
    good = decode_files()["png-rgb.png"][0]
    (out_dir / "bad-empty.png").write_bytes(b"")
    (out_dir / "bad-truncated.png").write_bytes(good[: len(good) // 2])
    (out_dir / "bad-not-an-image.txt").write_bytes(b"hello, this is not an image\n" * 4)
    return records


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    versions = {"pillow": PIL.__version__, "numpy": np.__version__}
    try:
        import transformers
        versions["transformers"] = transformers.__version__
    except ImportError:
        sys.exit("transformers (tooling/golden/requirements-resize.txt) is needed for the pixel_values goldens")
    cases = make_resize_cases()
    (OUT / "cases.json").write_text(json.dumps({"versions": versions, "cases": cases}, indent=1, sort_keys=True) + "\n")
    decode = make_decode_cases()
    (OUT / "decode.json").write_text(json.dumps({"versions": versions, "files": decode}, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(cases)} resize cases and {len(decode)} decode files to {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
