"""Final step: fixtures/golden/manifest.json and fixtures/manifest.json (every file, size, sha256)."""

from __future__ import annotations

import platform
from dataclasses import asdict

from common import FIXTURES, GOLDEN, rel, sha256_file, write_json

FORMAT_VERSION = 1


def _versions() -> dict:
    import numpy
    import PIL
    import safetensors
    import sentencepiece
    import tokenizers
    import torch
    import transformers

    return {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__, "sentencepiece": sentencepiece.__version__,
            "safetensors": safetensors.__version__, "numpy": numpy.__version__, "pillow": PIL.__version__}


def _model_entry(name: str, st: dict, tok: dict) -> dict:
    from models import config_json, vocab_size_for

    spec = st["spec"]
    cfg = config_json(spec, tok)
    d = asdict(spec)
    d.pop("name")
    return {
        "dir": rel(spec.dir),
        "weight_files": st["weight_files"],
        "tensor_names": spec.tensor_names,
        "tied_lm_head_stored": spec.tensor_names == "new",
        "spec": d,
        "num_image_tokens": spec.num_image_tokens,
        "vocab_size": vocab_size_for(tok["size"]),
        "tokenizer_size": tok["size"],
        "image_token_index": cfg["image_token_index"],
        "seed": st["seed"],
        "seeds_tried": st["seeds_tried"],
        "min_greedy_gap": st["quality"]["min_gap"],
        "min_greedy_gap_softcapped": st["quality"]["min_gap_softcapped"],
        "min_distinct_tokens_per_row": st["quality"]["min_distinct"],
        "checks": st.get("checks", {}),
    }


def write_golden_manifest(ctx) -> None:
    import cases

    write_json(GOLDEN / "manifest.json", {
        "format_version": FORMAT_VERSION,
        "generator": "tooling/golden/make.py",
        "paths": "every path in this file is relative to fixtures/",
        "versions": _versions(),
        "hf_semantics": {
            "reference_dtype": "float32 compute on bf16-rounded weights (loaded back from the bf16 safetensors)",
            "attn_implementation": "eager",
            "final_logit_softcapping_applied_by_hf": False,
            "final_logit_softcapping_note": (
                "transformers 5.18 PaliGemmaForConditionalGeneration.forward returns lm_head(hidden) without "
                "config.text_config.final_logit_softcapping (30). All stored logits are RAW; capped = 30*tanh(x/30) "
                "(monotonic: same argmax)."),
            "attn_logit_softcapping_applied_by_hf": True,
            "image_features_scaling": (
                "image_features tensors are the UNSCALED projector output (HF 5.18 get_image_features(...).pooler_output). "
                "HF 5.18 scales only text embeddings by sqrt(hidden) (bf16/float of sqrt(H)) and inserts image features "
                "as is. onnx-community vision_encoder outputs image_features / sqrt(hidden)."),
            "position_ids": "1-based; left pads get 1 (cumsum(mask)-1, pads 0, +1)",
            "prefix_lm": "token_type_ids from the processor are passed to forward and generate (bidirectional prefix)",
            "sliding_window": "4096 in config; irrelevant at these lengths",
            "rgb_conversion": "images are PIL convert('RGB')-ed before the processor (alpha dropped, L replicated)",
        },
        "generation": {"new_tokens": cases.NEW_TOKENS, "do_sample": False, "eos_token_id": [],
                       "seed_search_min_gap": cases.MIN_GAP, "seed_search_min_distinct": cases.MIN_DISTINCT},
        "tokenizer": {"dir": "tokenizer", "size": ctx.tokenizer["size"], "sp_vocab_size": ctx.tokenizer["sp_vocab_size"],
                      "ids": ctx.tokenizer["ids"], "cases_file": "golden/tokenizer-cases.json"},
        "images": ctx.images,
        "models": {name: _model_entry(name, st, ctx.tokenizer) for name, st in sorted(ctx.models.items())},
        "cases": ctx.cases,
        "tensors": ctx.golden.entries(),
        **{k: v for k, v in sorted(ctx.extra_manifest.items())},
    })


def write_fixture_manifest(ctx) -> None:
    out = FIXTURES / "manifest.json"
    files = []
    for p in sorted(FIXTURES.rglob("*"), key=lambda q: q.relative_to(FIXTURES).as_posix()):
        if p.is_file() and p != out:
            files.append({"path": rel(p), "bytes": p.stat().st_size, "sha256": sha256_file(p)})
    write_json(out, {"format_version": FORMAT_VERSION, "generator": "tooling/golden/make.py",
                     "paths": "relative to fixtures/", "files": files})


def build(ctx) -> None:
    write_golden_manifest(ctx)
    write_fixture_manifest(ctx)
