#!/usr/bin/env python3
"""Check fixtures/ against its manifests (no torch needed):  python tooling/golden/verify.py

- every file in fixtures/manifest.json exists with that size and sha256, and no file is unlisted;
- every tensor in fixtures/golden/manifest.json has bytes == prod(shape) * itemsize and its sha256.
"""

from __future__ import annotations

import json
import math
import sys

from common import DTYPES, FIXTURES, sha256_file


def main() -> int:
    errors = []
    fm = json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))
    listed = set()
    for f in fm["files"]:
        p = FIXTURES / f["path"]
        listed.add(f["path"])
        if not p.is_file():
            errors.append(f"missing {f['path']}")
        elif p.stat().st_size != f["bytes"] or sha256_file(p) != f["sha256"]:
            errors.append(f"changed {f['path']}")
    on_disk = {p.relative_to(FIXTURES).as_posix() for p in FIXTURES.rglob("*") if p.is_file()} - {"manifest.json"}
    errors += [f"unlisted {p}" for p in sorted(on_disk - listed)]
    gm = json.loads((FIXTURES / "golden" / "manifest.json").read_text(encoding="utf-8"))
    for t in gm["tensors"]:
        p = FIXTURES / t["file"]
        want = math.prod(t["shape"]) * DTYPES[t["dtype"]].itemsize
        if not p.is_file() or p.stat().st_size != want or sha256_file(p) != t["sha256"]:
            errors.append(f"bad tensor {t['name']}")
    for e in errors:
        print(e)
    print(f"{len(fm['files'])} files, {len(gm['tensors'])} tensors, {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
