"""Times Pillow's decode + resize + rescale/normalize (as HF's PIL backend does it) for bench/preprocess.ts.

Usage: python3 pillow_preprocess.py IMAGE RUNS SIZE...  -> one JSON line per size.
"""

import hashlib
import json
import sys
import time

import numpy as np
from PIL import Image


def pixel_values(path: str, size: int) -> np.ndarray:
    im = Image.open(path).convert("RGB")
    x = np.asarray(im.resize((size, size), Image.Resampling.BICUBIC)).transpose(2, 0, 1)
    x = (x.astype(np.float64) * (1 / 255)).astype(np.float32)
    return (x - np.float32(0.5)) / np.float32(0.5)


def main() -> None:
    path, runs, sizes = sys.argv[1], int(sys.argv[2]), [int(s) for s in sys.argv[3:]]
    for size in sizes:
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            pv = pixel_values(path, size)
            times.append((time.perf_counter() - t) * 1000)
        digest = hashlib.sha256(pv.astype("<f4").tobytes()).hexdigest()
        print(json.dumps({"size": size, "ms": sorted(times)[len(times) // 2], "sha256": digest}))


if __name__ == "__main__":
    main()
