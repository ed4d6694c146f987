"""A small random PEFT LoRA adapter for tiny-3b and the goldens of the merged model.

Writes fixtures/lora/tiny-3b/ (adapter_config.json, adapter_model.safetensors as PEFT saves them) and
fixtures/lora/goldens.json + *.bin: image_features and last-position prefill logits of HF + PEFT's
merge_and_unload() model (eager, float32, token_type_ids), for `pali convert --lora`.
Run: python tooling/golden/lora_cases.py  (make.py step: `write_lora_cases(root)`)
"""
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch


def write_lora_cases(root: Path) -> None:
    from peft import LoraConfig, get_peft_model
    from PIL import Image
    from transformers import PaliGemmaForConditionalGeneration, PaliGemmaProcessor

    fixtures = root / "fixtures"
    model_dir = fixtures / "models" / "tiny-3b"
    out = fixtures / "lora"
    if out.exists():
        shutil.rmtree(out)
    adapter_dir = out / "tiny-3b"
    torch.manual_seed(20241205)
    model = PaliGemmaForConditionalGeneration.from_pretrained(
        str(model_dir), attn_implementation="eager", dtype=torch.float32)
    model.eval()
    config = LoraConfig(
        r=4, lora_alpha=8, lora_dropout=0.0, init_lora_weights=False,
        # Both towers: SigLIP attention/MLP and Gemma 2 attention/MLP.
        target_modules=["q_proj", "v_proj", "out_proj", "fc1", "o_proj", "gate_proj", "down_proj"],
    )
    peft_model = get_peft_model(model, config)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_" in name:
                p.copy_(torch.randn_like(p) * 0.3)
    peft_model.save_pretrained(str(adapter_dir), safe_serialization=True)
    # Keep only what PEFT needs to load it (the README it writes has a date-dependent template).
    for f in adapter_dir.iterdir():
        if f.name not in ("adapter_config.json", "adapter_model.safetensors"):
            f.unlink()
    cfg = json.loads((adapter_dir / "adapter_config.json").read_text())
    # Machine-independent and ordered, so the file regenerates byte for byte.
    cfg["base_model_name_or_path"] = "fixtures/models/tiny-3b"
    cfg["target_modules"] = sorted(cfg["target_modules"])
    (adapter_dir / "adapter_config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")

    merged = peft_model.merge_and_unload()
    merged.eval()
    proc = PaliGemmaProcessor.from_pretrained(str(model_dir))
    image = Image.open(fixtures / "images" / "big-160x120.png").convert("RGB")
    enc = proc(text=["caption en"], images=[image], return_tensors="pt")
    with torch.no_grad():
        feats = merged.model.get_image_features(enc["pixel_values"])
        feats = getattr(feats, "pooler_output", feats)
        mask = enc["attention_mask"]
        pos = (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 0) + 1
        logits = merged(**enc, position_ids=pos, use_cache=False).logits[:, -1, :]
    files = {
        "image_features": feats.to(torch.float32).numpy().astype("<f4"),
        "logits": logits.to(torch.float32).numpy().astype("<f4"),
        "input_ids": enc["input_ids"].numpy().astype("<i4"),
    }
    manifest = {"model": "tiny-3b", "image": "big-160x120", "prompt": "caption en",
                "note": "HF + PEFT merge_and_unload(), eager float32, token_type_ids; logits RAW (no final soft-cap); image_features unscaled projector output",
                "tensors": {}}
    for k, arr in files.items():
        path = out / f"{k}.bin"
        path.write_bytes(np.ascontiguousarray(arr).tobytes())
        manifest["tensors"][k] = {"file": f"lora/{k}.bin", "shape": list(arr.shape), "dtype": str(arr.dtype)}
    (out / "goldens.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    # The same torch settings as make.py (one thread, deterministic kernels), so both give the same bytes.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import setup_determinism

    setup_determinism()
    write_lora_cases(Path(__file__).resolve().parents[2])
    sys.exit(0)
