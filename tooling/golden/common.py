"""Shared helpers: paths, deterministic JSON, hashing, the golden-tensor registry."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
GOLDEN = FIXTURES / "golden"

# dtype name in manifests -> numpy little-endian dtype
DTYPES = {"float32": np.dtype("<f4"), "int32": np.dtype("<i4"), "uint8": np.dtype("u1")}


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    return sha256_bytes(Path(path).read_bytes())


def rel(path: Path) -> str:
    """Path relative to fixtures/, with forward slashes (the convention of every manifest)."""
    return Path(path).resolve().relative_to(FIXTURES).as_posix()


def json_text(obj, indent: int | None = 2) -> str:
    """Deterministic JSON: sorted keys, UTF-8 (no \\u escapes), trailing newline."""
    return json.dumps(obj, indent=indent, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def write_json(path: Path, obj, indent: int | None = 2, sort_keys: bool = True) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(obj, indent=indent, sort_keys=sort_keys, ensure_ascii=False, allow_nan=False) + "\n"
    path.write_text(text, encoding="utf-8", newline="\n")


def write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


class GoldenRegistry:
    """Collects golden tensors (raw little-endian .bin files) for fixtures/golden/manifest.json."""

    def __init__(self) -> None:
        self.tensors: dict[str, dict] = {}

    def add(self, name: str, array, dtype: str, model: str | None, notes: str = "") -> str:
        """Write `array` to fixtures/golden/<name>.bin and record it. Returns the tensor name."""
        if name in self.tensors:
            raise ValueError(f"duplicate golden tensor {name}")
        if dtype not in DTYPES:
            raise ValueError(dtype)
        arr = np.ascontiguousarray(np.asarray(array), dtype=DTYPES[dtype])
        if dtype == "float32" and not np.all(np.isfinite(arr)):
            raise ValueError(f"{name}: non-finite values")
        data = arr.tobytes(order="C")
        path = GOLDEN / f"{name}.bin"
        write_bytes(path, data)
        self.tensors[name] = {
            "name": name,
            "file": rel(path),
            "dtype": dtype,
            "shape": [int(s) for s in arr.shape],
            "sha256": sha256_bytes(data),
            "model": model,
            "notes": notes,
        }
        return name

    def entries(self) -> list[dict]:
        return [self.tensors[k] for k in sorted(self.tensors)]


def setup_determinism() -> None:
    os.environ.setdefault("PYTHONHASHSEED", "0")
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_VERBOSITY"] = "error"
    import torch
    import transformers

    transformers.utils.logging.disable_progress_bar()
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1) if not getattr(setup_determinism, "_done", False) else None
    torch.use_deterministic_algorithms(True)
    setup_determinism._done = True
