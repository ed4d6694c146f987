"""Step `images`: small deterministic test images under fixtures/images/.

Every image is generated from seeded numpy. PNGs are lossless; the JPEG's decoded RGB depends on the
libjpeg build, so its decoded pixels (as this Pillow decodes them) are also stored as a golden.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from common import FIXTURES, write_bytes

IMAGES_DIR = FIXTURES / "images"
SEED = 2024


def _pattern(rng: np.random.Generator, h: int, w: int, c: int) -> np.ndarray:
    """Smooth gradients + stripes + noise, so resizing has real work to do."""
    y = np.linspace(0.0, 1.0, h, dtype=np.float64)[:, None, None]
    x = np.linspace(0.0, 1.0, w, dtype=np.float64)[None, :, None]
    ch = np.arange(c, dtype=np.float64)[None, None, :]
    base = 0.5 + 0.25 * np.sin(2 * np.pi * (x * (1.5 + ch) + y * (0.7 + 0.5 * ch)))
    base += 0.15 * np.cos(2 * np.pi * 5 * (x + 2 * y))
    base += rng.normal(0.0, 0.08, size=(h, w, c))
    return np.clip(np.round(base * 255.0), 0, 255).astype(np.uint8)


# name -> (description, builder(rng) -> (PIL image, file format))
def _specs():
    def rgb(h, w):
        return lambda rng: Image.fromarray(_pattern(rng, h, w, 3), "RGB")

    def rgba(rng):
        a = _pattern(rng, 31, 29, 4)
        a[..., 3] = np.linspace(0, 255, 29, dtype=np.float64).round().astype(np.uint8)[None, :]  # alpha ramp
        a[:5, :, 3] = 0  # fully transparent rows keep their (non-zero) colour
        return Image.fromarray(a, "RGBA")

    def grey(rng):
        return Image.fromarray(_pattern(rng, 33, 40, 1)[..., 0], "L")

    def one(rng):
        return Image.fromarray(np.array([[[200, 30, 90]]], dtype=np.uint8), "RGB")

    return [
        ("rgb-37x23", "RGB, odd size 37x23 (W x H)", rgb(23, 37), "PNG"),
        ("rgba-29x31", "RGBA 29x31, alpha ramps 0..255 left to right, top 5 rows alpha 0", rgba, "PNG"),
        ("grey-40x33", "greyscale (mode L) 40x33", grey, "PNG"),
        ("one-1x1", "RGB 1x1 pixel (200,30,90)", one, "PNG"),
        ("wide-300x7", "RGB very wide 300x7", rgb(7, 300), "PNG"),
        ("tall-9x120", "RGB tall 9x120", rgb(120, 9), "PNG"),
        ("big-160x120", "RGB 160x120 (downscale in both axes)", rgb(120, 160), "PNG"),
        ("photo-96x72", "RGB JPEG 96x72, quality 90, 4:2:0; decode may differ by libjpeg build", rgb(72, 96), "JPEG"),
    ]


def load_rgb(path) -> Image.Image:
    """What a user (and REFERENCE.md section 6) does before the processor: decode, convert('RGB')."""
    with Image.open(path) as im:
        im.load()
        return im.convert("RGB")


def build(ctx) -> None:
    rng = np.random.default_rng(SEED)
    images = []
    for name, desc, make, fmt in _specs():
        im = make(rng)
        buf = io.BytesIO()
        if fmt == "PNG":
            im.save(buf, format="PNG", optimize=False, compress_level=9)
            ext = "png"
        else:
            im.save(buf, format="JPEG", quality=90, subsampling=2, optimize=False, progressive=False)
            ext = "jpg"
        path = IMAGES_DIR / f"{name}.{ext}"
        write_bytes(path, buf.getvalue())
        assert path.stat().st_size < 100_000
        rgb = np.asarray(load_rgb(path))
        tname = ctx.golden.add(f"images/{name}/rgb", rgb, "uint8", None,
                               f"decoded {path.name} after PIL convert('RGB'), HWC uint8")
        images.append({"name": name, "file": f"images/{path.name}", "format": fmt, "mode": im.mode,
                       "width": im.width, "height": im.height, "description": desc, "rgb_tensor": tname})
    ctx.images = images
