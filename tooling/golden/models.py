"""Tiny random PaliGemma 2 checkpoints, written the way the Hub stores them.

`MODELS` holds the specs. `write_model_files` writes config.json, generation_config.json,
preprocessor_config.json and the tokenizer files; `write_weights` writes bf16 safetensors (single file
with the OLD tensor names, or 2 shards + index with the NEW names and an explicit tied lm_head).
`init_weights(spec, seed)` is the deterministic re-initialisation (REFERENCE.md section 10).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from common import FIXTURES, write_json

MODELS_DIR = FIXTURES / "models"
TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model"]


@dataclass(frozen=True)
class ModelSpec:
    name: str
    image_size: int
    patch_size: int
    vis_hidden: int
    vis_intermediate: int
    vis_layers: int
    vis_heads: int
    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    query_pre_attn_scalar: int
    tensor_names: str  # "old" (vision_tower.vision_model…, language_model.model…, no lm_head) or "new"
    shards: int
    mirrors: str
    # weight init (see init_weights)
    init: dict = field(default_factory=dict)

    @property
    def num_image_tokens(self) -> int:
        return (self.image_size // self.patch_size) ** 2

    @property
    def dir(self) -> Path:
        return MODELS_DIR / self.name


DEFAULT_INIT = {
    "linear_std": 0.3,       # every Linear / conv weight (SigLIP and Gemma)
    "patch_std": 0.05,       # patch-embedding conv weight (fan-in 3*14*14)
    "bias_std": 0.1,
    "embed_std": 0.05,       # text embedding table (tied with lm_head)
    "pos_embed_std": 0.5,    # SigLIP position embeddings
    "layernorm_std": 0.1,    # SigLIP LayerNorm weight = 1 + N(0, std)
    "rmsnorm_std": 0.1,      # Gemma RMSNorm weight w (applied as 1 + w) = N(0, std)
    "final_norm_mean": 16.0, # Gemma final norm weight w ~ N(16, rmsnorm_std) -> scale ~17
}

MODELS = [
    ModelSpec(
        name="tiny-3b", image_size=56, patch_size=14,
        vis_hidden=32, vis_intermediate=64, vis_layers=2, vis_heads=4,
        hidden=64, intermediate=128, layers=2, heads=4, kv_heads=2, head_dim=16, query_pre_attn_scalar=16,
        tensor_names="old", shards=1, mirrors="google/paligemma2-3b-pt-224 (head_dim == query_pre_attn_scalar)",
        init=DEFAULT_INIT,
    ),
    ModelSpec(
        name="tiny-28b", image_size=42, patch_size=14,
        vis_hidden=48, vis_intermediate=96, vis_layers=2, vis_heads=4,
        hidden=96, intermediate=192, layers=3, heads=4, kv_heads=2, head_dim=16, query_pre_attn_scalar=24,
        tensor_names="new", shards=2,
        mirrors="google/paligemma2-28b-pt-224 (query_pre_attn_scalar = hidden/heads != head_dim, heads*head_dim != hidden)",
        init=DEFAULT_INIT,
    ),
]


def vocab_size_for(tokenizer_size: int) -> int:
    """Embedding rows: tokenizer size rounded up to a multiple of 64 (257153 -> 257216 on the Hub)."""
    return (tokenizer_size + 63) // 64 * 64


def config_json(spec: ModelSpec, tok: dict) -> dict:
    """config.json in the Hub's style (google/paligemma2-*-pt-*, written by transformers 4.47)."""
    image_id = tok["ids"]["<image>"]
    return {
        "_vocab_size": image_id,
        "architectures": ["PaliGemmaForConditionalGeneration"],
        "bos_token_id": 2,
        "eos_token_id": 1,
        "hidden_size": 2048,  # legacy field present on the Hub; meaningless (text_config.hidden_size rules)
        "image_token_index": image_id,
        "model_type": "paligemma",
        "pad_token_id": 0,
        "projection_dim": spec.hidden,
        "text_config": {
            "architectures": ["Gemma2ForCausalLM"],
            "attn_logit_softcapping": 50.0,
            "cache_implementation": "hybrid",
            "eos_token_id": [1, tok["ids"]["<end_of_turn>"]],
            "final_logit_softcapping": 30.0,
            "head_dim": spec.head_dim,
            "hidden_act": "gelu_pytorch_tanh",
            "hidden_activation": "gelu_pytorch_tanh",
            "hidden_size": spec.hidden,
            "intermediate_size": spec.intermediate,
            "max_position_embeddings": 8192,
            "model_type": "gemma2",
            "num_attention_heads": spec.heads,
            "num_hidden_layers": spec.layers,
            "num_image_tokens": spec.num_image_tokens,
            "num_key_value_heads": spec.kv_heads,
            "query_pre_attn_scalar": spec.query_pre_attn_scalar,
            "rms_norm_eps": 1e-06,
            "rope_theta": 10000.0,
            "sliding_window": 4096,
            "torch_dtype": "bfloat16",
            "vocab_size": vocab_size_for(tok["size"]),
        },
        "torch_dtype": "bfloat16",
        "transformers_version": "4.47.0.dev0",
        "vision_config": {
            "hidden_size": spec.vis_hidden,
            "image_size": spec.image_size,
            "intermediate_size": spec.vis_intermediate,
            "model_type": "siglip_vision_model",
            "num_attention_heads": spec.vis_heads,
            "num_hidden_layers": spec.vis_layers,
            "num_image_tokens": spec.num_image_tokens,
            "num_positions": spec.num_image_tokens,
            "patch_size": spec.patch_size,
            "projection_dim": spec.hidden,
            "torch_dtype": "bfloat16",
            "vision_use_head": False,
        },
    }


def preprocessor_config_json(spec: ModelSpec) -> dict:
    return {
        "do_convert_rgb": None,
        "do_normalize": True,
        "do_rescale": True,
        "do_resize": True,
        "image_mean": [0.5, 0.5, 0.5],
        "image_processor_type": "SiglipImageProcessor",
        "image_seq_length": spec.num_image_tokens,
        "image_std": [0.5, 0.5, 0.5],
        "processor_class": "PaliGemmaProcessor",
        "resample": 3,
        "rescale_factor": 0.00392156862745098,
        "size": {"height": spec.image_size, "width": spec.image_size},
    }


def generation_config_json() -> dict:
    return {"bos_token_id": 2, "eos_token_id": 1, "pad_token_id": 0, "transformers_version": "4.47.0.dev0"}


def write_model_files(spec: ModelSpec, tok: dict, tokenizer_dir: Path) -> None:
    """Everything in the model folder except the weights."""
    d = spec.dir
    d.mkdir(parents=True, exist_ok=True)
    write_json(d / "config.json", config_json(spec, tok))
    write_json(d / "preprocessor_config.json", preprocessor_config_json(spec))
    write_json(d / "generation_config.json", generation_config_json())
    for f in TOKENIZER_FILES:
        shutil.copyfile(tokenizer_dir / f, d / f)


def hf_config(spec: ModelSpec):
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(str(spec.dir))


def param_shapes(spec: ModelSpec) -> dict[str, tuple]:
    """transformers-5.18 state-dict names and shapes, taken from the HF model class itself."""
    import torch
    from transformers import PaliGemmaForConditionalGeneration

    with torch.device("meta"):
        model = PaliGemmaForConditionalGeneration._from_config(hf_config(spec), dtype=torch.float32)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def init_weights(spec: ModelSpec, seed: int, shapes: dict[str, tuple], tokenizer_size: int) -> dict[str, np.ndarray]:
    """Deterministic float32 init (before bf16 rounding), keyed by 5.18 state-dict names, lm_head = embedding."""
    p = spec.init
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for name in sorted(shapes):
        if name == "lm_head.weight":
            continue
        shape = shapes[name]
        n = lambda std, mean=0.0: (mean + std * rng.standard_normal(shape)).astype(np.float32)  # noqa: E731
        if name.endswith("embed_tokens.weight"):
            w = n(p["embed_std"])
            w[tokenizer_size:] = 0.0  # padding rows past the tokenizer (never produced, never fed)
        elif "vision_tower" in name:
            if "patch_embedding.weight" in name:
                w = n(p["patch_std"])
            elif "position_embedding" in name:
                w = n(p["pos_embed_std"])
            elif ("layer_norm" in name or "post_layernorm" in name) and name.endswith(".weight"):
                w = n(p["layernorm_std"], 1.0)
            elif name.endswith(".bias"):
                w = n(p["bias_std"])
            else:
                w = n(p["linear_std"])
        elif "multi_modal_projector" in name:
            w = n(p["bias_std"]) if name.endswith(".bias") else n(p["linear_std"])
        elif "language_model" in name:
            if name.endswith("language_model.norm.weight"):
                w = n(p["rmsnorm_std"], p["final_norm_mean"])
            elif "layernorm" in name:
                w = n(p["rmsnorm_std"])
            else:
                w = n(p["linear_std"])
        else:
            raise KeyError(name)
        out[name] = w
    out["lm_head.weight"] = out["model.language_model.embed_tokens.weight"]
    return out


def to_bf16(weights: dict[str, np.ndarray]):
    """float32 numpy -> torch bfloat16 (round to nearest even)."""
    import torch

    return {k: torch.from_numpy(np.ascontiguousarray(v)).to(torch.bfloat16) for k, v in weights.items()}


def disk_name(internal: str, style: str) -> str | None:
    """transformers-5.18 state-dict name -> the name stored in the safetensors file.

    5.18 flattens SiglipVisionModel (no `vision_model.` level) and renames on load; the Hub files keep it:
      old (google/paligemma2-* as uploaded): vision_tower.vision_model.*, multi_modal_projector.*,
                                            language_model.model.*, no lm_head (tied)
      new (saved by transformers 4.52-4.57): model.vision_tower.vision_model.*, model.multi_modal_projector.*,
                                            model.language_model.*, lm_head.weight
    """
    if internal == "lm_head.weight":
        return None if style == "old" else internal
    for a, old, new in (("model.vision_tower.", "vision_tower.vision_model.", "model.vision_tower.vision_model."),
                        ("model.multi_modal_projector.", "multi_modal_projector.", "model.multi_modal_projector."),
                        ("model.language_model.", "language_model.model.", "model.language_model.")):
        if internal.startswith(a):
            return (old if style == "old" else new) + internal[len(a):]
    raise KeyError(internal)


def write_weights(spec: ModelSpec, bf16: dict) -> list[str]:
    """Write the safetensors file(s); returns the file names written."""
    from safetensors.torch import save_file

    d = spec.dir
    for f in list(d.glob("*.safetensors")) + list(d.glob("*.safetensors.index.json")):
        f.unlink()
    # clone(): lm_head.weight gets its own storage (same values as the embedding table)
    tensors = {disk_name(k, spec.tensor_names): v.clone() for k, v in bf16.items()
               if disk_name(k, spec.tensor_names) is not None}
    names = sorted(tensors)
    if spec.shards == 1:
        save_file({k: tensors[k] for k in names}, str(d / "model.safetensors"), metadata={"format": "pt"})
        (d / "model.safetensors").chmod(0o644)
        return ["model.safetensors"]
    nbytes = {k: tensors[k].numel() * tensors[k].element_size() for k in names}
    total = sum(nbytes.values())
    shards: list[list[str]] = [[] for _ in range(spec.shards)]
    acc, i = 0, 0
    for k in names:  # contiguous split by bytes, in sorted-name order
        if acc >= total * (i + 1) / spec.shards and i < spec.shards - 1:
            i += 1
        shards[i].append(k)
        acc += nbytes[k]
    files, weight_map = [], {}
    for i, keys in enumerate(shards):
        fname = f"model-{i + 1:05d}-of-{spec.shards:05d}.safetensors"
        save_file({k: tensors[k] for k in keys}, str(d / fname), metadata={"format": "pt"})
        (d / fname).chmod(0o644)
        files.append(fname)
        weight_map.update({k: fname for k in keys})
    write_json(d / "model.safetensors.index.json", {"metadata": {"total_size": total}, "weight_map": weight_map})
    return files + ["model.safetensors.index.json"]


def build_in_memory(spec: ModelSpec, bf16: dict):
    """An eager float32 model holding the bf16-rounded weights (for the seed search)."""
    import torch
    from transformers import PaliGemmaForConditionalGeneration

    # float32 from construction (buffers such as RoPE inv_freq must not be built in bf16), eager attention
    model = PaliGemmaForConditionalGeneration._from_config(
        hf_config(spec), attn_implementation="eager", dtype=torch.float32).eval()
    sd = {k: v.to(torch.float32) for k, v in bf16.items()}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not unexpected and not [m for m in missing if m != "lm_head.weight"], (missing, unexpected)
    model.tie_weights()
    return model


def load_from_disk(spec: ModelSpec, bf16: dict):
    """from_pretrained(folder) as a user would, eager + float32; verify every weight round-tripped."""
    import torch
    from transformers import PaliGemmaForConditionalGeneration

    model, info = PaliGemmaForConditionalGeneration.from_pretrained(
        str(spec.dir), attn_implementation="eager", dtype=torch.float32, output_loading_info=True)
    model.eval()
    bad = {k: v for k, v in info.items() if v}  # missing / unexpected / mismatched keys, errors
    assert not bad, bad
    sd = model.state_dict()
    for k, v in bf16.items():
        assert torch.equal(sd[k], v.to(torch.float32)), k
    assert model.config.text_config._attn_implementation == "eager"
    tc = model.config.text_config
    assert (tc.hidden_size, tc.head_dim, tc.query_pre_attn_scalar, tc.num_hidden_layers) == (
        spec.hidden, spec.head_dim, spec.query_pre_attn_scalar, spec.layers)
    rope = getattr(tc, "rope_parameters", None) or {}
    assert float(rope.get("rope_theta", getattr(tc, "rope_theta", 0))) == 10000.0, rope
    assert tc.final_logit_softcapping == 30.0 and tc.attn_logit_softcapping == 50.0
    vc = model.config.vision_config
    assert (vc.image_size, vc.patch_size, vc.hidden_size, vc.layer_norm_eps) == (
        spec.image_size, spec.patch_size, spec.vis_hidden, 1e-6)
    return model


def load_processor(spec: ModelSpec):
    from transformers import PaliGemmaProcessor

    proc = PaliGemmaProcessor.from_pretrained(str(spec.dir))
    ip = proc.image_processor
    assert getattr(ip, "backend", None) == "pil", type(ip)
    assert proc.image_seq_length == spec.num_image_tokens
    return proc


def build(ctx) -> None:
    """Step `models`: per spec, write the folder, search seeds, write the chosen bf16 weights."""
    import cases
    import goldens
    from tok import TOKENIZER_DIR

    imgs = goldens.rgb_images(ctx)
    for spec in MODELS:
        write_model_files(spec, ctx.tokenizer, TOKENIZER_DIR)
        shapes = param_shapes(spec)
        proc = load_processor(spec)
        tried = []
        for seed in range(cases.MAX_SEEDS):
            bf16 = to_bf16(init_weights(spec, seed, shapes, ctx.tokenizer["size"]))
            q = goldens.suite_quality(goldens.run_suite(build_in_memory(spec, bf16), proc, imgs))
            tried.append(q)
            if goldens.suite_ok(q):
                break
        else:
            raise RuntimeError(f"{spec.name}: no seed below {cases.MAX_SEEDS} passes the gap test")
        files = write_weights(spec, bf16)
        ctx.models[spec.name] = {"spec": spec, "seed": seed, "seeds_tried": len(tried), "quality": q,
                                 "bf16": bf16, "weight_files": files}
