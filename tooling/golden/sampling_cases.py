"""Golden cases for the logits processors and warpers (HF transformers' own classes).

Writes fixtures/sampling/cases.json: for random logits and a set of options, which tokens survive
HF's RepetitionPenalty / Temperature / TopK / TopP / MinP chain, and their processed logits.
Run: python tooling/golden/sampling_cases.py  (entry point for make.py: `write_sampling_cases(root)`)
"""
import json
import sys
from pathlib import Path

import numpy as np
import torch
from transformers.generation.logits_process import (
    LogitsProcessorList,
    MinPLogitsWarper,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

VOCAB = 300
OPTIONS = [
    {"temperature": 1.0, "topK": 10},
    {"temperature": 0.7, "topK": 1},
    {"temperature": 1.3, "topP": 0.9},
    {"temperature": 1.0, "topP": 0.5},
    {"temperature": 0.5, "topP": 0.95, "topK": 40},
    {"temperature": 1.0, "minP": 0.05},
    {"temperature": 2.0, "minP": 0.2, "topP": 0.9},
    {"temperature": 1.0, "topK": 50, "topP": 0.8, "minP": 0.1},
    {"temperature": 1.0, "repetitionPenalty": 1.3, "topK": 20},
    {"temperature": 0.9, "repetitionPenalty": 0.8, "topP": 0.7},
    {"temperature": 1.0, "topP": 0.999},
    {"temperature": 0.3, "topP": 0.3},
]


def hf_chain(opts):
    procs = []
    if opts.get("repetitionPenalty", 1.0) != 1.0:
        procs.append(RepetitionPenaltyLogitsProcessor(opts["repetitionPenalty"]))
    procs.append(TemperatureLogitsWarper(opts["temperature"]))
    if "topK" in opts:
        procs.append(TopKLogitsWarper(opts["topK"]))
    if "topP" in opts:
        procs.append(TopPLogitsWarper(opts["topP"]))
    if "minP" in opts:
        procs.append(MinPLogitsWarper(opts["minP"]))
    return LogitsProcessorList(procs)


def write_sampling_cases(root: Path) -> None:
    rng = np.random.default_rng(1234)
    cases = []
    for i, opts in enumerate(OPTIONS):
        scale = [1.0, 3.0, 0.3][i % 3]
        logits = (rng.standard_normal(VOCAB) * scale).astype(np.float32)
        if i % 4 == 1:
            logits[rng.integers(0, VOCAB, 5)] = logits.max()  # ties at the top
        seen = rng.integers(0, VOCAB, 12).astype(np.int64)
        out = hf_chain(opts)(torch.from_numpy(seen)[None, :], torch.from_numpy(logits.copy())[None, :])[0]
        kept = torch.isfinite(out).nonzero().flatten().tolist()
        cases.append({
            "options": opts,
            "logits": [float(x) for x in logits],
            "seen": seen.tolist(),
            "kept": kept,
            "keptLogits": [float(out[k]) for k in kept],
        })
    out_dir = root / "fixtures" / "sampling"
    out_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"vocab": VOCAB, "cases": cases}, sort_keys=True, separators=(",", ":"))
    (out_dir / "cases.json").write_text(text + "\n")


if __name__ == "__main__":
    # The same torch settings as make.py (one thread, deterministic kernels), so both give the same bytes.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import setup_determinism

    setup_determinism()
    write_sampling_cases(Path(__file__).resolve().parents[2])
    sys.exit(0)
