"""Step `goldens`: reference outputs of the tiny checkpoints, from HF transformers in float32.

The model is loaded back from the written bf16 safetensors (`from_pretrained(folder,
attn_implementation="eager", dtype=torch.float32)`), so the numbers are those of the bf16-rounded
weights. The processor is `PaliGemmaProcessor.from_pretrained(folder)` with its PIL backend.
"""

from __future__ import annotations

import numpy as np

import cases
import images as images_mod
from common import FIXTURES

SOFTCAP = 30.0


def _np(t):
    return t.detach().cpu().numpy()


def generation_position_ids(attention_mask):
    """HF 5.18 generate(): cumsum(mask)-1, pads -> 0, then PaliGemma's +1 (1-based; left pads get 1)."""
    pos = attention_mask.long().cumsum(-1) - 1
    pos = pos.masked_fill(attention_mask == 0, 0)
    return pos + 1


def _prepare(proc, texts, imgs):
    enc = proc(text=texts, images=imgs, return_tensors="pt", padding="longest", padding_side="left")
    enc.pop("labels", None)
    return enc


def _greedy(model, enc):
    import torch

    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=cases.NEW_TOKENS, do_sample=False, eos_token_id=[],
                             return_dict_in_generate=True, output_logits=True)
    logits = torch.stack(out.logits, 1).to(torch.float32)  # [B, steps, V], raw (no final soft-cap)
    tokens = out.sequences[:, enc["input_ids"].shape[1]:]
    assert tokens.shape[1] == cases.NEW_TOKENS
    assert torch.equal(logits.argmax(-1), tokens), "greedy tokens != argmax(logits)"
    top2 = torch.topk(logits, 2, dim=-1).values
    capped = SOFTCAP * torch.tanh(top2 / SOFTCAP)
    return {
        "tokens": _np(tokens).astype(np.int32),
        "gaps": _np(top2[..., 0] - top2[..., 1]),
        "gaps_softcapped": _np(capped[..., 0] - capped[..., 1]),
        "top1": _np(top2[..., 0]),
        "step_logits": _np(logits),
    }


def _prefill(model, enc):
    import torch

    pos = generation_position_ids(enc["attention_mask"])
    with torch.no_grad():
        out = model(**enc, position_ids=pos, use_cache=False)
        # Without token_type_ids HF 5.18 builds a plainly causal mask: the wrong semantics for PaliGemma,
        # kept so a test can show our prefill is the bidirectional one.
        plain = {k: v for k, v in enc.items() if k != "token_type_ids"}
        causal = model(**plain, position_ids=pos, use_cache=False)
    return {
        "logits_causal": _np(causal.logits[:, -1, :].to(torch.float32)),
        "input_ids": _np(enc["input_ids"]).astype(np.int32),
        "attention_mask": _np(enc["attention_mask"]).astype(np.int32),
        "token_type_ids": _np(enc["token_type_ids"]).astype(np.int32),
        "position_ids": _np(pos).astype(np.int32),
        "logits": _np(out.logits[:, -1, :].to(torch.float32)),
    }


def run_suite(model, proc, rgb_images: dict) -> dict:
    """All prompt-level goldens for one model: {case: {prefill..., greedy...}}."""
    res = {}
    for name, prompt, img in cases.SINGLE:
        enc = _prepare(proc, [prompt], [rgb_images[img]])
        res[name] = {**_prefill(model, enc), **_greedy(model, enc)}
    enc = _prepare(proc, [p for p, _ in cases.BATCH], [rgb_images[i] for _, i in cases.BATCH])
    res["batch"] = {**_prefill(model, enc), **_greedy(model, enc)}
    for r in res.values():  # forward() prefill == generate()'s first step (same mask / positions)
        r["prefill_vs_generate_max_abs_diff"] = float(np.abs(r["logits"] - r["step_logits"][:, 0, :]).max())
        assert r["prefill_vs_generate_max_abs_diff"] < 1e-3, r["prefill_vs_generate_max_abs_diff"]
    return res


def suite_quality(res: dict) -> dict:
    gaps = np.concatenate([r["gaps"].ravel() for r in res.values()])
    capped = np.concatenate([r["gaps_softcapped"].ravel() for r in res.values()])
    distinct = min(len(set(row.tolist())) for r in res.values() for row in r["tokens"])
    return {"min_gap": float(gaps.min()), "min_gap_softcapped": float(capped.min()), "min_distinct": distinct}


def suite_ok(q: dict) -> bool:
    # soft-capped gaps are the smaller ones (30*tanh shrinks differences), so this bounds both
    return q["min_gap_softcapped"] > cases.MIN_GAP and q["min_distinct"] >= cases.MIN_DISTINCT


def rgb_images(ctx) -> dict:
    return {i["name"]: images_mod.load_rgb(FIXTURES / i["file"]) for i in ctx.images}


def build(ctx) -> None:
    import torch
    from PIL import Image

    import models

    imgs = rgb_images(ctx)
    g = ctx.golden
    for spec in models.MODELS:
        m = spec.name
        st = ctx.models[m]
        model = models.load_from_disk(spec, st["bf16"])
        proc = models.load_processor(spec)
        S, N, H = spec.image_size, spec.num_image_tokens, spec.hidden

        # --- pixel values (every image) and the plain PIL resize they come from
        pv_notes = ("PaliGemmaProcessor (SiglipImageProcessor, PIL backend) on the image after PIL convert('RGB'): "
                    "resize (S,S) BICUBIC, *1/255, (x-0.5)/0.5; NCHW float32")
        for info in ctx.images:
            name = info["name"]
            pv = _np(proc.image_processor(images=imgs[name], return_tensors="pt")["pixel_values"])
            assert pv.shape == (1, 3, S, S), pv.shape
            resized = np.asarray(imgs[name].resize((S, S), Image.BICUBIC))
            manual = ((resized.astype(np.float32) / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)[None]
            assert np.abs(manual - pv).max() < 1e-6, name
            g.add(f"{m}/pixel_values/{name}", pv, "float32", m, pv_notes)
            g.add(f"{m}/resized_rgb/{name}", resized, "uint8", m,
                  f"PIL Image.resize(({S},{S}), BICUBIC) of the convert('RGB') image, HWC uint8")

        # --- image features
        for name in cases.IMAGE_FEATURES:
            pv = proc.image_processor(images=imgs[name], return_tensors="pt")["pixel_values"]
            with torch.no_grad():
                out = model.model.get_image_features(pv)
            vis = _np(out.last_hidden_state)
            feats = _np(out.pooler_output)
            with torch.no_grad():
                again = model.model.multi_modal_projector(out.last_hidden_state)
            assert np.array_equal(_np(again), feats)
            assert feats.shape == (1, N, H) and vis.shape == (1, N, spec.vis_hidden)
            g.add(f"{m}/vision_hidden/{name}", vis, "float32", m,
                  "SigLIP vision_tower(pixel_values).last_hidden_state, i.e. after post_layernorm; [1,N,vision_hidden]")
            g.add(f"{m}/image_features/{name}", feats, "float32", m,
                  "model.model.get_image_features(pixel_values).pooler_output = multi_modal_projector.linear("
                  "post_layernorm(encoder(embeddings))); NOT divided by sqrt(hidden) (HF 5.18 does not; the "
                  "onnx-community vision_encoder output = this / sqrt(hidden)); [1,N,hidden]")

        # --- empirical check of how HF 5.18 merges image features: the decoder's inputs_embeds hold the
        #     projector output as is at <image> positions and embed_tokens * sqrt(H) elsewhere.
        check = _check_embedding_merge(model, proc, imgs, spec)

        # --- prompts: prefill + greedy
        res = run_suite(model, proc, imgs)
        q = suite_quality(res)
        assert q == st["quality"], (q, st["quality"])  # identical to what the seed search saw in memory
        case_entries = []
        for case, prompts, img_names in [(c, [p], [i]) for c, p, i in cases.SINGLE] + [
                ("batch", [p for p, _ in cases.BATCH], [i for _, i in cases.BATCH])]:
            r = res[case]
            base = f"{m}/{case}"
            t = {}
            t["input_ids"] = g.add(f"{base}/input_ids", r["input_ids"], "int32", m,
                                   "processor input_ids: <image>xN <bos> prompt \\n (left padded for batch)")
            t["attention_mask"] = g.add(f"{base}/attention_mask", r["attention_mask"], "int32", m, "processor attention_mask (0 = pad)")
            t["token_type_ids"] = g.add(f"{base}/token_type_ids", r["token_type_ids"], "int32", m,
                                        "processor token_type_ids (0 = prefix incl. pads); passed to forward/generate")
            t["position_ids"] = g.add(f"{base}/position_ids", r["position_ids"], "int32", m,
                                      "1-based positions as HF generate() builds them: cumsum(mask)-1, pads 0, +1")
            t["logits"] = g.add(f"{base}/logits", r["logits"], "float32", m,
                                "last-position logits of the prefill forward, full padded vocab, RAW (HF 5.18 does "
                                "not apply final_logit_softcapping; apply 30*tanh(x/30) to compare capped)")
            t["logits_causal"] = g.add(f"{base}/logits_causal", r["logits_causal"], "float32", m,
                                       "the same prefill WITHOUT token_type_ids (HF then masks causally); RAW")
            t["tokens"] = g.add(f"{base}/tokens", r["tokens"], "int32", m,
                                f"greedy generate, {cases.NEW_TOKENS} new tokens, eos_token_id=[] (never stops)")
            t["gaps"] = g.add(f"{base}/gaps", r["gaps"], "float32", m, "per-step top1-top2 of the raw logits")
            t["top1_logits"] = g.add(f"{base}/top1_logits", r["top1"], "float32", m,
                                     "per-step max raw logit (the chosen token's logit)")
            if case == cases.STEP_LOGITS_CASE:
                t["step_logits"] = g.add(f"{base}/step_logits", r["step_logits"], "float32", m,
                                         "per-step raw logits seen by generate (KV-cached decode); [B,steps,V]")
            max_abs = float(np.abs(r["step_logits"]).max())
            case_entries.append({
                "max_abs_raw_logit": max_abs,
                "model": m, "case": case, "prompts": prompts, "images": img_names, "batch_size": len(prompts),
                "padding_side": "left",
                "generated_text": [proc.decode(row.tolist(), skip_special_tokens=False) for row in r["tokens"]],
                "min_gap": float(r["gaps"].min()),
                "min_gap_softcapped": float(r["gaps_softcapped"].min()),
                "prefill_vs_generate_max_abs_diff": r["prefill_vs_generate_max_abs_diff"],
                "tensors": t,
            })
        ctx.cases.extend(case_entries)
        st["checks"] = check
        # HF 5.18 returns raw logits: values beyond the cap (30) prove final_logit_softcapping is not applied
        st["checks"]["max_abs_raw_logit_all_cases"] = max(c["max_abs_raw_logit"] for c in case_entries)
        assert st["checks"]["max_abs_raw_logit_all_cases"] > SOFTCAP


def _check_embedding_merge(model, proc, imgs, spec) -> dict:
    import torch

    _, prompt, img = cases.SINGLE[0]
    enc = _prepare(proc, [prompt], [imgs[img]])
    seen = {}

    def hook(_mod, args, kwargs):
        seen["embeds"] = kwargs["inputs_embeds"].detach().clone()

    h = model.model.language_model.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        with torch.no_grad():
            model(**enc, use_cache=False)
    finally:
        h.remove()
    ids = enc["input_ids"][0]
    is_img = ids == model.config.image_token_id
    with torch.no_grad():
        feats = model.model.get_image_features(enc["pixel_values"]).pooler_output[0]
        table = model.model.language_model.embed_tokens.weight.detach()
    emb = seen["embeds"][0]
    img_diff = float((emb[is_img] - feats).abs().max())
    text_diff = float((emb[~is_img] - table[ids[~is_img]] * (spec.hidden ** 0.5)).abs().max())
    assert img_diff == 0.0 and text_diff < 1e-5, (img_diff, text_diff)
    return {"image_positions_equal_unscaled_features": True, "text_positions_equal_embedding_times_sqrt_hidden": True}
