#!/usr/bin/env python3
"""Regenerate fixtures/ deterministically:  python tooling/golden/make.py

Each step is a function step(ctx) in its own module. To add a generator, append a Step to STEPS
(before "manifest", which must stay last: it lists the golden tensors every step registered via
ctx.golden.add(...) and then hashes every file under fixtures/). `owns` names the fixtures/ entries a
step writes from scratch: make.py deletes exactly those before running (never anything else, since other
tools also write under fixtures/, e.g. fixtures/hf-cache-layout/).

  python tooling/golden/make.py                  # all steps
  python tooling/golden/make.py --manifest-only  # only rewrite fixtures/manifest.json (after another
                                                 # tool changed files under fixtures/)
"""

from __future__ import annotations

import shutil
import sys
import time
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import FIXTURES, REPO, GoldenRegistry, setup_determinism  # noqa: E402

setup_determinism()

import goldens  # noqa: E402
import images  # noqa: E402
import manifest  # noqa: E402
import models  # noqa: E402
import tok  # noqa: E402
import tokcases  # noqa: E402


@dataclass
class Step:
    name: str
    run: Callable
    owns: list[str] = field(default_factory=list)  # paths under fixtures/ deleted before the run


def _resize(ctx) -> None:  # fixtures/resize/ (resize_cases.py; overwrites its files, deletes nothing)
    import resize_cases

    resize_cases.main()


def _tokenizer_extra(ctx) -> None:  # fixtures/tokenizer-extra/ (tokenizer_extra.py)
    import tokenizer_extra

    tokenizer_extra.main()


def _vqvae(ctx) -> None:  # fixtures/vqvae/ (vqvae_cases.py)
    import vqvae_cases

    vqvae_cases.write_vqvae_cases(REPO)


def _lora(ctx) -> None:  # fixtures/lora/ (lora_cases.py; needs peft)
    import lora_cases

    lora_cases.write_lora_cases(REPO)


def _sampling(ctx) -> None:  # fixtures/sampling/ (sampling_cases.py)
    import sampling_cases

    sampling_cases.write_sampling_cases(REPO)


STEPS = [
    Step("tokenizer", tok.build, ["tokenizer"]),               # fixtures/tokenizer/*
    Step("images", images.build, ["images"]),                  # fixtures/images/*
    Step("models", models.build, ["models"]),                  # fixtures/models/* (seed search + bf16 safetensors)
    Step("goldens", goldens.build, ["golden"]),                # fixtures/golden/<model>/..., golden/images/...
    Step("tokenizer-cases", tokcases.build),                   # fixtures/golden/tokenizer-cases.json
    Step("tokenizer-extra", _tokenizer_extra),                 # fixtures/tokenizer-extra/cases.json
    Step("resize", _resize),                                   # fixtures/resize/*
    Step("sampling", _sampling),                               # fixtures/sampling/cases.json
    Step("vqvae", _vqvae, ["vqvae"]),                          # fixtures/vqvae/* (mask decoder + placement)
    Step("lora", _lora),                                       # fixtures/lora/ (after models: reads tiny-3b)
    Step("manifest", manifest.build, ["manifest.json"]),       # fixtures/golden/manifest.json, fixtures/manifest.json (last)
]


def check_versions() -> None:
    """Byte-identical output needs the pinned versions: warn about any difference."""
    from importlib.metadata import PackageNotFoundError, version

    req = Path(__file__).resolve().parent / "requirements.txt"
    for line in req.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" not in line:
            continue
        pkg, want = line.split("==")
        try:
            have = version(pkg)
        except PackageNotFoundError:
            have = None
        if have is None or have.split("+")[0] != want:
            print(f"[golden] WARNING: {pkg} {have} installed, {want} pinned: output may differ", flush=True)
    try:
        version("torchvision")
        print("[golden] WARNING: torchvision is installed; the PIL image backend is required", flush=True)
    except PackageNotFoundError:
        pass


def clean(steps: list[Step]) -> None:
    FIXTURES.mkdir(exist_ok=True)
    for s in steps:
        for name in s.owns:
            p = FIXTURES / name
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()


def main(argv: list[str]) -> None:
    if argv == ["--manifest-only"]:
        manifest.write_fixture_manifest(None)
        print("[golden] wrote fixtures/manifest.json")
        return
    if argv:
        sys.exit(__doc__)
    check_versions()
    ctx = types.SimpleNamespace(
        golden=GoldenRegistry(),  # golden tensors -> fixtures/golden/manifest.json "tensors"
        tokenizer=None,           # set by tok.build: {"ids", "size", "sp_vocab_size"}
        images=[],                # set by images.build
        models={},                # set by models.build: name -> {spec, seed, quality, bf16, ...}
        cases=[],                 # appended by goldens.build
        extra_manifest={},        # later steps may add top-level keys to fixtures/golden/manifest.json
    )
    clean(STEPS)
    t0 = time.time()
    for s in STEPS:
        t = time.time()
        s.run(ctx)
        print(f"[golden] {s.name}: {time.time() - t:.1f}s", flush=True)
    for name, st in sorted(ctx.models.items()):
        print(f"[golden] {name}: seed {st['seed']} ({st['seeds_tried']} tried), min gap "
              f"{st['quality']['min_gap']:.4f} (soft-capped {st['quality']['min_gap_softcapped']:.4f})")
    print(f"[golden] done in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main(sys.argv[1:])
