"""Step `tokenizer`: a tiny Gemma-style SentencePiece BPE tokenizer + its HF files.

Writes fixtures/tokenizer/{tokenizer.model, tokenizer.json, tokenizer_config.json,
special_tokens_map.json}. Layout of ids (mirrors PaliGemma's, scaled down):
  0 <pad>, 1 <eos>, 2 <bos>, 3 <unk>, 4 <mask>, 5 <start_of_turn>, 6 <end_of_turn>, 7 "\\n",
  then 256 byte-fallback pieces <0x00>..<0xFF>, then learned BPE pieces / characters
  (SP_VOCAB_SIZE in all), then <loc0000>..<loc1023>, <seg000>..<seg127> (added, NOT special),
  then <image> (added, special).
"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import numpy as np

from common import FIXTURES, write_bytes, write_json

TOKENIZER_DIR = FIXTURES / "tokenizer"
SP_VOCAB_SIZE = 1024
CORPUS_SEED = 1234
SPM_SEED = 42

LOC_TOKENS = [f"<loc{i:04d}>" for i in range(1024)]
SEG_TOKENS = [f"<seg{i:03d}>" for i in range(128)]
IMAGE_TOKEN = "<image>"
USER_DEFINED = ["<mask>", "<start_of_turn>", "<end_of_turn>", "\n"]

_WORDS = (
    "a an the this that these those is are was were be been being have has had do does did "
    "cat cats dog dogs bird birds horse car cars bus truck bicycle person people man woman child "
    "tree trees house building street road sky cloud clouds water river lake sea beach mountain "
    "red green blue yellow black white brown orange purple grey small large big little tall short "
    "sitting standing running walking flying parked lying sleeping eating playing holding looking "
    "on in under over near next to behind front of with without and or but at by from into onto "
    "what where who which how many why when caption describe answer question detect segment ocr "
    "image picture photo there here one two three four five six seven eight nine ten "
    "left right top bottom middle center corner side background foreground table chair window "
    "door book phone computer screen sign text letter number word sentence paragraph page"
).split()

_MULTI = [
    "le chat est sur la table", "les enfants jouent dans le jardin", "où est le chien ?",
    "der Hund läuft über die Straße", "größer als das Haus", "schöne grüne Bäume",
    "el perro está en la playa", "¿qué hay en la imagen?", "niños pequeños",
    "o gato está dormindo", "açúcar e café", "il gatto è nero",
    "кошка сидит на столе", "собака бежит", "δύο γάτες",
    "猫がテーブルの上にいます", "犬が走っています", "写真", "猫在桌子上", "一只狗在跑", "图片里有什么",
    "고양이가 있다", "القطة على الطاولة", "הכלב רץ", "बिल्ली मेज पर है",
    "naïve café résumé", "Zürich Ångström Øresund", "smörgåsbord",
]
_EMOJI = ["🐱", "🐶", "🚗", "🌳", "☀️", "👍", "🙂"]
_PUNCT = [".", ",", "!", "?", ";", ":", "-", "(", ")", "\"", "'", "/", "#", "%", "&", "*", "+", "="]


def build_corpus() -> list[str]:
    """Deterministic training sentences (no newlines: SentencePiece trains line by line)."""
    rng = np.random.default_rng(CORPUS_SEED)
    lines: list[str] = []
    for i in range(6000):
        n = int(rng.integers(3, 14))
        words = [_WORDS[int(k)] for k in rng.integers(0, len(_WORDS), size=n)]
        kind = i % 10
        if kind == 0:
            words.insert(int(rng.integers(0, n)), str(int(rng.integers(0, 100000))))
        elif kind == 1:
            words.insert(int(rng.integers(0, n)), f"{rng.integers(0, 1000)}.{rng.integers(0, 100):02d}")
        elif kind == 2:
            words.append(_PUNCT[int(rng.integers(0, len(_PUNCT)))])
        elif kind == 3:
            words = [w.capitalize() if j == 0 else w for j, w in enumerate(words)]
        elif kind == 4:
            words = _MULTI[int(rng.integers(0, len(_MULTI)))].split(" ")
        elif kind == 5 and i % 30 == 5:
            words.append(_EMOJI[int(rng.integers(0, len(_EMOJI)))])
        sep = "  " if i % 97 == 0 else " "
        line = sep.join(words)
        if kind in (0, 3, 6):
            line += "."
        if i % 53 == 0:
            line = "\t" + line
        lines.append(line)
    return lines


def train_spm() -> bytes:
    import sentencepiece as spm

    spm.set_random_generator_seed(SPM_SEED)
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(build_corpus()),
        model_writer=buf,
        model_type="bpe",
        vocab_size=SP_VOCAB_SIZE,
        character_coverage=0.9995,
        byte_fallback=True,
        split_digits=True,
        add_dummy_prefix=False,
        remove_extra_whitespaces=False,
        allow_whitespace_only_pieces=True,
        normalization_rule_name="identity",
        split_by_whitespace=True,
        max_sentencepiece_length=16,
        pad_id=0,
        eos_id=1,
        bos_id=2,
        unk_id=3,
        pad_piece="<pad>",
        eos_piece="<eos>",
        bos_piece="<bos>",
        unk_piece="<unk>",
        user_defined_symbols=USER_DEFINED,
        num_threads=1,
        input_sentence_size=0,
        shuffle_input_sentence=False,
        minloglevel=2,
    )
    return buf.getvalue()


def _added_token(content: str, special: bool) -> dict:
    return {"content": content, "lstrip": False, "normalized": False, "rstrip": False,
            "single_word": False, "special": special}


def build(ctx) -> None:
    from transformers import AddedToken, GemmaTokenizer

    model_bytes = train_spm()
    write_bytes(TOKENIZER_DIR / "tokenizer.model", model_bytes)

    # HF's own Gemma conversion of the SentencePiece model (from a folder holding only the .model,
    # so that no previously written tokenizer.json is picked up).
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "tokenizer.model").write_bytes(model_bytes)
        tok = GemmaTokenizer.from_pretrained(tmp, add_bos_token=True, add_eos_token=False)
    assert len(tok) == SP_VOCAB_SIZE, len(tok)
    # PaliGemma's extra tokens: loc/seg are plain (non-special) added tokens, <image> is special.
    tok.add_tokens([AddedToken(t, normalized=False, special=False) for t in LOC_TOKENS + SEG_TOKENS])
    tok.add_special_tokens({"additional_special_tokens": [AddedToken(IMAGE_TOKEN, normalized=False, special=True)]})
    backend = tok.backend_tokenizer
    tj = json.loads(backend.to_str())
    tj["truncation"] = None
    tj["padding"] = None
    write_json(TOKENIZER_DIR / "tokenizer.json", tj, sort_keys=False)

    # tokenizer_config.json / special_tokens_map.json in the Hub's (google/paligemma2-*) style.
    added = {t["id"]: t for t in tj["added_tokens"]}
    decoder = {str(i): _added_token(added[i]["content"], added[i]["special"]) for i in sorted(added)}
    config = {
        "add_bos_token": True,
        "add_eos_token": False,
        "added_tokens_decoder": decoder,
        "additional_special_tokens": [IMAGE_TOKEN],
        "bos_token": "<bos>",
        "clean_up_tokenization_spaces": False,
        "eos_token": "<eos>",
        "extra_special_tokens": {},
        "model_max_length": 1000000000000000019884624838656,
        "pad_token": "<pad>",
        "processor_class": "PaliGemmaProcessor",
        "sp_model_kwargs": {},
        "spaces_between_special_tokens": False,
        "tokenizer_class": "GemmaTokenizer",
        "unk_token": "<unk>",
        "use_default_system_prompt": False,
    }
    write_json(TOKENIZER_DIR / "tokenizer_config.json", config)
    st = lambda c: {k: v for k, v in _added_token(c, True).items() if k != "special"}  # noqa: E731
    write_json(TOKENIZER_DIR / "special_tokens_map.json", {
        "additional_special_tokens": [st(IMAGE_TOKEN)],
        "bos_token": st("<bos>"), "eos_token": st("<eos>"), "pad_token": st("<pad>"), "unk_token": st("<unk>"),
    })

    info = check(TOKENIZER_DIR)
    ctx.tokenizer = info


def check(folder: Path) -> dict:
    """Reload the written files with the Rust lib and with transformers; return the id layout."""
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    rust = Tokenizer.from_file(str(folder / "tokenizer.json"))
    hf = AutoTokenizer.from_pretrained(str(folder))
    ids = {t: rust.token_to_id(t) for t in ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<start_of_turn>",
                                             "<end_of_turn>", "\n", "<0x00>", "<loc0000>", "<loc1023>",
                                             "<seg000>", "<seg127>", IMAGE_TOKEN]}
    size = rust.get_vocab_size(with_added_tokens=True)
    assert ids["<pad>"] == 0 and ids["<eos>"] == 1 and ids["<bos>"] == 2 and ids["<unk>"] == 3, ids
    assert ids["<loc0000>"] == SP_VOCAB_SIZE and ids["<seg000>"] == SP_VOCAB_SIZE + 1024, ids
    assert ids[IMAGE_TOKEN] == SP_VOCAB_SIZE + 1024 + 128 == size - 1, (ids, size)
    assert len(hf) == size and hf.convert_tokens_to_ids(IMAGE_TOKEN) == ids[IMAGE_TOKEN]
    for s in ["caption en", "detect cat ; dog<loc0001><seg002>", "日本語 🙂\n"]:
        assert hf(s)["input_ids"] == rust.encode(s).ids, s
    return {"ids": ids, "size": size, "sp_vocab_size": SP_VOCAB_SIZE}
