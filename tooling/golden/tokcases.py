"""Step `tokenizer-cases`: fixtures/golden/tokenizer-cases.json, via the Rust `tokenizers` library."""

from __future__ import annotations

from common import FIXTURES, GOLDEN, write_json
from tok import TOKENIZER_DIR

STRINGS = [
    "",
    " ",
    "  ",
    "hello",
    " hello",
    "hello ",
    "  hello   world  ",
    "hello\nworld",
    "\n",
    "\n\n",
    "line one\nline two\n",
    "tab\tseparated\tvalues",
    "\t leading tab",
    "\r\n windows newline",
    "12345",
    "3.14159 and 2,718",
    "year 2024: 100%",
    "Hello, World! How's it going? (fine) [ok] {yes}",
    "a-b_c/d\\e|f~g`h^i@j#k$l",
    "...!!!???",
    "naïve café résumé",
    "Zürich Ångström Øresund smörgåsbord",
    "¿qué hay en la imagen?",
    "кошка сидит на столе",
    "猫がテーブルの上にいます",
    "图片里有什么",
    "一只狗在跑 and a dog",
    "고양이가 있다",
    "القطة على الطاولة",
    "הכלב רץ",
    "बिल्ली मेज पर है",
    "🐱🐶",
    "a 🙂 smile 👍🏽",
    "👨‍👩‍👧 family (ZWJ)",
    "zero\u200bwidth\u200cnon\u200djoiner",
    "e\u0301 combining accent vs \u00e9",
    "\u00a0non-breaking space",
    "ｆｕｌｌｗｉｄｔｈ",
    "<loc0123>",
    "<loc0000><loc1023><loc0512><loc0256> cat",
    "<seg045>",
    "<seg000><seg127>",
    "<image>",
    "<image><image><bos>caption en\n",
    "<bos>",
    "<eos>",
    "<pad><unk><mask>",
    "<start_of_turn>user\nhi<end_of_turn>",
    "caption en",
    "answer en what is this?",
    "detect cat ; dog",
    "segment cat",
    "<loc0100><loc0200><loc0300><loc0400> cat ; <loc0010><loc0020><loc0030><loc0040> dog",
    "<loc0001><loc0002><loc0003><loc0004><seg001><seg002><seg003><seg004> cat",
    "<loc12345> <loc999> <seg1000> <Image> <bos",
    "supercalifragilisticexpialidociousantidisestablishmentarianism",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "The quick brown fox jumps over the lazy dog.",
    "\x00\x01\x7f control chars",
]


def build(ctx) -> None:
    from tokenizers import Tokenizer

    tk = Tokenizer.from_file(str(TOKENIZER_DIR / "tokenizer.json"))
    out = []
    for s in STRINGS:
        plain = tk.encode(s, add_special_tokens=False)
        withs = tk.encode(s, add_special_tokens=True)
        out.append({
            "text": s,
            "ids": plain.ids,
            "tokens": plain.tokens,
            "ids_with_special": withs.ids,
            "decode": tk.decode(withs.ids, skip_special_tokens=False),
            "decode_skip_special": tk.decode(withs.ids, skip_special_tokens=True),
        })
    write_json(GOLDEN / "tokenizer-cases.json", {
        "tokenizer": "tokenizer/tokenizer.json",
        "library": "tokenizers (Rust) Tokenizer.from_file",
        "fields": {
            "ids": "encode(text, add_special_tokens=False).ids",
            "tokens": "the same encoding's token strings",
            "ids_with_special": "encode(text, add_special_tokens=True).ids (post-processor prepends <bos>)",
            "decode": "decode(ids_with_special, skip_special_tokens=False)",
            "decode_skip_special": "decode(ids_with_special, skip_special_tokens=True)",
        },
        "cases": out,
    })
    assert (FIXTURES / "golden" / "tokenizer-cases.json").exists()
