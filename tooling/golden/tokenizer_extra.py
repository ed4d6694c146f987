#!/usr/bin/env python3
"""Extra tokenizer goldens for @pali/tokenizer:  python tooling/golden/tokenizer_extra.py

Standalone (not a make.py step); writes only fixtures/tokenizer-extra/cases.json. Needs
transformers 5.18, tokenizers 0.23, numpy, pillow (no torch). Reads the fixture tokenizer
(fixtures/tokenizer) and the tiny-3b model folder written by make.py, so run it after make.py.

  behaviour: strings grouped by the Gemma tokenizer behaviour they exercise (byte fallback, digits,
             whitespace runs, added tokens), encoded by the Rust `tokenizers` library
  random:    seeded random strings from a palette of tricky pieces, encoded and decoded
  decode:    seeded random id sequences (byte-fallback runs, valid and invalid UTF-8, special,
             loc/seg ids, out-of-vocabulary ids) decoded with and without skip_special_tokens
  cleanup:   transformers' decode(..., clean_up_tokenization_spaces=True) of punctuation-heavy strings
             (5.18 ignores it for BPE models unless forced by a flag: both are recorded)
  processor: HF PaliGemmaProcessor input_ids / attention_mask / token_type_ids for prompts with and
             without suffix, several images, and batches padded left and right
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_VERBOSITY"] = "error"

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
OUT = FIXTURES / "tokenizer-extra" / "cases.json"
TOKENIZER = FIXTURES / "tokenizer" / "tokenizer.json"
MODEL = FIXTURES / "models" / "tiny-3b"
SEED = 20261127

BEHAVIOUR = {
    # characters the 1024-piece vocabulary lacks -> <0xAB> tokens, 1 to 4 bytes per character
    "byte-fallback": ["€", "ÿ", "Ω≈ç√∫", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\u0000\u0001\u007f", "\ufffd", "🦜🦩", "ﬁ ligature",
                      "a\u0300\u0301\u0302", "Ǆǅǆ", "\U0010fffd", "mixed € and cat"],
    # split_digits: every digit is its own piece
    "digits": ["0", "42", "1234567890", "3.14159", "1,000,000", "v2.0.1", "2024-11-27", "٣٤٥", "１２３"],
    # no dummy prefix, spaces -> ▁, runs of spaces kept (allow_whitespace_only_pieces)
    "whitespace": [" ", "  ", "    ", "a  b", "a   b    c", " leading", "trailing ", "\t", "\t\t x", "\n",
                   "\n\n\n", "a \n b", " \u00a0 ", "\u3000ideographic", "\r\n\r\n"],
    # added tokens match inline, special or not; near-misses are plain text
    "added-tokens": ["<bos>", "<eos>", "<pad>", "<unk>", "<mask>", "<image>", "<image><image><bos>x\n",
                     "<start_of_turn>user\nhi<end_of_turn>", "<loc0000>", "<loc1023><seg127>",
                     "a<loc0005>b", " <loc0005> ", "<loc005>", "<loc10230>", "<seg128>", "<LOC0001>",
                     "<<loc0001>>", "<bos><bos>", "text<eos><pad><pad>"],
}

PALETTE = list("abcdefxyz ABC,.!?;:'\"-()[]/\\\n\t 0123456789éüßøñ日本語猫犬😀🙂👍🏽€") + [
    "<loc0005>", "<loc1023>", "<seg010>", "<seg127>", "<image>", "<bos>", "<eos>", "<pad>", "<unk>",
    "<start_of_turn>", "<end_of_turn>", "\r\n", "  ", "\u200b", "e\u0301", "<loc", "seg>", "caption en",
    "detect cat ; dog", " ; ", "the ", "cat", "dogs", "sitting on the table",
]

PROMPTS = [
    "caption en",
    "describe de",
    "ocr",
    "answer en what is this?",
    "question fr le chat",
    "detect cat ; dog",
    "segment cat",
    "",
    " leading and trailing ",
    "answer en how  many\tbirds?\n",
    "猫がテーブルの上にいます 🙂",
    "answer en <loc0001> and <seg002>",
    "caption en<eos>",
]
SUFFIXES = [("answer en what is this?", "a cat"), ("detect cat", "<loc0001><loc0002><loc0100><loc0200> cat"),
            ("caption en", ""), ("ocr", "€ 12,50\n")]
BATCHES = [
    (["caption en", "answer en how many birds are sitting on the table ?"], "left"),
    (["caption en", "answer en how many birds are sitting on the table ?"], "right"),
    (["detect cat ; dog", "", "describe es"], "left"),
]


def random_strings(rng: random.Random) -> list[str]:
    out = []
    for _ in range(400):
        out.append("".join(rng.choice(PALETTE) for _ in range(rng.randint(0, 30))))
    for _ in range(100):  # arbitrary code points (no surrogates)
        chars = []
        for _ in range(rng.randint(1, 12)):
            c = rng.randint(1, 0x2FFFF)
            if 0xD800 <= c <= 0xDFFF:
                c = 0x20
            chars.append(chr(c))
        out.append("".join(chars))
    out.append("the cat sat on the mat " * 60)
    out.append("日本語" * 200)
    return out


def random_ids(rng: random.Random, size: int) -> list[list[int]]:
    byte_ids = list(range(8, 8 + 256))  # <0x00>..<0xFF>
    utf8_runs = [list(ch.encode("utf-8")) for ch in ["é", "€", "日", "🙂", "𝔘"]]
    out = []
    for _ in range(400):
        seq: list[int] = []
        for _ in range(rng.randint(1, 14)):
            kind = rng.randint(0, 7)
            if kind == 0:
                seq.append(rng.choice(byte_ids))  # any byte: often invalid UTF-8
            elif kind == 1:  # a valid multi-byte character, sometimes truncated
                run = rng.choice(utf8_runs)
                run = run[: rng.randint(1, len(run))]
                seq.extend(8 + b for b in run)
            elif kind == 2:
                seq.append(rng.randint(0, 7))  # pad, eos, bos, unk, mask, turns, "\n"
            elif kind == 3:
                seq.append(rng.randint(1024, size - 1))  # loc, seg, <image>
            elif kind == 4:
                seq.append(rng.choice([size, size + 5, 10**6]))  # ids past the vocabulary
            else:
                seq.append(rng.randint(264, 1023))  # learned pieces
        out.append(seq)
    return out


def main() -> None:
    import numpy as np
    import tokenizers
    import transformers
    from tokenizers import Tokenizer
    from transformers import PaliGemmaProcessor

    rng = random.Random(SEED)
    tk = Tokenizer.from_file(str(TOKENIZER))
    size = tk.get_vocab_size(with_added_tokens=True)

    def enc(s: str) -> dict:
        plain = tk.encode(s, add_special_tokens=False)
        withs = tk.encode(s, add_special_tokens=True)
        return {"text": s, "ids": plain.ids, "tokens": plain.tokens, "ids_with_special": withs.ids,
                "decode": tk.decode(withs.ids, skip_special_tokens=False),
                "decode_skip_special": tk.decode(withs.ids, skip_special_tokens=True)}

    behaviour = {k: [enc(s) for s in v] for k, v in BEHAVIOUR.items()}
    rand = [enc(s) for s in random_strings(rng)]
    decode = [{"ids": ids, "decode": tk.decode(ids, skip_special_tokens=False),
               "decode_skip_special": tk.decode(ids, skip_special_tokens=True)} for ids in random_ids(rng, size)]

    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(str(TOKENIZER.parent))
    forced = AutoTokenizer.from_pretrained(
        str(TOKENIZER.parent), clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output=True)
    pieces = [" .", " ?", " !", " ,", " ' ", " n't", " 'm", " 's", " 've", " 're", "a", " b", "do", " '", "'",
              "n", "t", " ", "  ", ".", "€"]
    cleanup = []
    for _ in range(60):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        ids = hf(text, add_special_tokens=False)["input_ids"]
        cleanup.append({"text": text, "ids": ids,
                        "decode_cleanup": hf.decode(ids, clean_up_tokenization_spaces=True),
                        "decode_cleanup_forced": forced.decode(ids, clean_up_tokenization_spaces=True)})

    proc = PaliGemmaProcessor.from_pretrained(str(MODEL))
    img = np.zeros((8, 8, 3), dtype=np.uint8)

    def run(texts, images, suffix=None, padding_side="left"):
        kw = {"suffix": suffix} if suffix is not None else {}
        e = proc(text=texts, images=images, return_tensors="np", padding="longest", padding_side=padding_side, **kw)
        return {k: np.asarray(e[k]).astype(int).tolist() for k in ("input_ids", "attention_mask", "token_type_ids")}

    processor = []
    for p in PROMPTS:
        processor.append({"prompts": [p], "images": 1, "padding_side": "left", **run([p], [img])})
    for p, s in SUFFIXES:
        processor.append({"prompts": [p], "suffix": [s], "images": 1, "padding_side": "left",
                          **run([p], [img], suffix=[s])})
    processor.append({"prompts": ["caption en"], "images": 2, "padding_side": "left",
                      **run(["caption en"], [[img, img]])})
    for texts, side in BATCHES:
        processor.append({"prompts": texts, "images": 1, "padding_side": side,
                          **run(texts, [img] * len(texts), padding_side=side)})
    processor.append({"prompts": ["answer en what?", "caption en"], "suffix": ["yes", "a small cat"], "images": 1,
                      "padding_side": "left", **run(["answer en what?", "caption en"], [img, img],
                                                    suffix=["yes", "a small cat"])})

    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        "generator": "tooling/golden/tokenizer_extra.py",
        "versions": {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__},
        "tokenizer": "tokenizer/tokenizer.json",
        "model": "models/tiny-3b",
        "fields": {
            "ids": "Tokenizer.encode(text, add_special_tokens=False).ids (Rust tokenizers)",
            "ids_with_special": "encode(text, add_special_tokens=True).ids",
            "decode / decode_skip_special": "decode(ids_with_special or ids, skip_special_tokens=False / True)",
            "cleanup": "transformers AutoTokenizer decode(ids, clean_up_tokenization_spaces=True): ignored for BPE "
                       "models unless clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output "
                       "(decode_cleanup_forced)",
            "processor": "PaliGemmaProcessor(text, images, suffix, padding='longest', padding_side)",
        },
        "behaviour": behaviour, "random": rand, "decode": decode, "cleanup": cleanup, "processor": processor,
    }, ensure_ascii=False, indent=None, separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8", newline="\n")
    print(f"wrote {OUT.relative_to(REPO)}: {sum(len(v) for v in behaviour.values())} behaviour, {len(rand)} random, "
          f"{len(decode)} decode, {len(cleanup)} cleanup, {len(processor)} processor cases")


if __name__ == "__main__":
    main()
