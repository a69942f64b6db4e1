"""Writes the tiny T5 tokenizer fixture and the token ids Hugging Face's T5 tokenizer gives for a set of prompts.

  /usr/bin/python3 models/importer/make_tokenizer_t5.py     (needs Debian's python3-sentencepiece; dev time only)

1. Trains a small SentencePiece Unigram model the way T5's `spiece.model` was made (normalization nmt_nfkc,
   <pad>=0, </s>=1, <unk>=2, no <s>), on a few hundred audio prompts: fixtures/t5-tiny/spiece.model.
2. Converts it to fixtures/t5-tiny/tokenizer.json with t5-base's tokenizer.json structure (what transformers'
   T5Converter writes): Unigram model, Precompiled normalizer (the model's own nmt_nfkc charsmap), WhitespaceSplit +
   Metaspace pre-tokenizer, TemplateProcessing appending </s>, <extra_id_N> added tokens after the vocabulary.
3. Encodes PROMPTS with SentencePiece as transformers' slow T5Tokenizer does with
   `padding="max_length", truncation=True, max_length=N` (N in MAX_LENGTHS) (pieces, then </s>; truncated to N−1 pieces + </s>; padded
   with <pad>=0): golden/t5-tiny-tokens.json, which the TypeScript HfTokenizer must reproduce.
"""
from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import sentencepiece as spm

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "fixtures" / "t5-tiny"
GOLDEN = HERE / "golden" / "t5-tiny-tokens.json"
VOCAB_SIZE = 200
EXTRA_IDS = 4  # t5-base has 100 (<extra_id_0> … <extra_id_99>), listed after the vocabulary in reverse order
MAX_LENGTHS = (16, 64)  # 16 truncates the longer prompts; 64 holds every prompt whole

WORDS = {
    "instrument": "piano guitar bass drum drums kick snare hihat cymbal synth pad lead pluck strings violin cello flute "
    "trumpet horn choir vocal organ bell bells marimba harp sax saxophone clap shaker tom percussion",
    "quality": "warm dark bright soft loud airy lush gritty distorted clean analog digital vintage modern ambient "
    "cinematic dreamy punchy deep heavy light smooth crisp",
    "music": "beat loop groove melody chord chords riff arpeggio rhythm tempo bpm key minor major note notes tone "
    "sine square sawtooth noise reverb delay echo fade sweep riser drop break fill",
    "genre": "techno house ambient jazz rock funk hiphop trap dubstep lofi orchestral classical folk disco",
    "misc": "a an the with and in of at to for from 120 128 140 90 100 C D E F G A B sharp flat seconds long short "
    "slow fast rising falling wide stereo mono",
}
PROMPTS = [
    "a warm analog pad in C minor",
    "Punchy techno kick, 128 BPM",
    "  lush   ambient   strings  ",
    "Café jazz piano at 90 bpm",
    "ＦＵＬＬ-width ＴＥＸＴ and ﬁne ligatures",
    "vintage ½ speed tape echo — with a long fade",
    "a 440 Hz sine tone",
    "xylophone zither quokka",
    "",
    "dark cinematic riser with heavy distorted bass and a slow sweep over a rising arpeggio in A minor at 140 bpm",
    # Graphemes of several characters, and characters @huggingface/tokenizers' NFKC stand-in used to get wrong.
    "cafe\u0301 family \U0001F468\u200d\U0001F469\u200d\U0001F467 flag \U0001F1EF\U0001F1F5",
    "tab\there, line\nbreak, nel\u0085end, zw\u200bsp, nbsp\u00a0here, \uff5etilde",
    "\ua7f2 \U00010783 \u0344 \u1100\u1161\u11a8 \u2460 \u3371 \u00bd",
]


def corpus() -> list[str]:
    import itertools

    words = [w for group in WORDS.values() for w in group.split()]
    lines = [" ".join(words[i : i + 7]) for i in range(0, len(words), 3)]
    lines += [f"{q} {i} {m}" for q, i, m in itertools.product(WORDS["quality"].split()[:8], WORDS["instrument"].split()[:10], ["loop", "melody", "in C minor"])]
    lines += ["Café à la française, naïve façade", "full-width text, ligatures and fractions ½ ¼"]
    return lines


def train() -> spm.SentencePieceProcessor:
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus()),
        model_writer=model,
        model_type="unigram",
        vocab_size=VOCAB_SIZE,
        normalization_rule_name="nmt_nfkc",
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        character_coverage=1.0,
        hard_vocab_limit=True,
        minloglevel=2,
    )
    FIXTURE.mkdir(parents=True, exist_ok=True)
    (FIXTURE / "spiece.model").write_bytes(model.getvalue())
    return spm.SentencePieceProcessor(model_proto=model.getvalue())


def proto_fields(data: bytes):
    """(field number, wire type, value) of a protobuf message; enough to read SentencePiece's ModelProto."""
    i = 0

    def varint():
        nonlocal i
        shift = result = 0
        while True:
            byte = data[i]
            i += 1
            result |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return result

    while i < len(data):
        key = varint()
        field, wire = key >> 3, key & 7
        if wire == 0:
            yield field, wire, varint()
        elif wire == 1:
            yield field, wire, data[i : i + 8]
            i += 8
        elif wire == 2:
            n = varint()
            yield field, wire, data[i : i + n]
            i += n
        elif wire == 5:
            yield field, wire, data[i : i + 4]
            i += 4
        else:
            raise ValueError(f"unexpected protobuf wire type {wire}")


def precompiled_charsmap(model_proto: bytes) -> bytes:
    # ModelProto.normalizer_spec = 3; NormalizerSpec.precompiled_charsmap = 2
    for field, _, value in proto_fields(model_proto):
        if field == 3:
            for inner, _, charsmap in proto_fields(value):
                if inner == 2:
                    return charsmap
    raise ValueError("the SentencePiece model has no precompiled charsmap")


def special(id_: int, content: str) -> dict:
    return {"id": id_, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": True}


def tokenizer_json(sp: spm.SentencePieceProcessor) -> dict:
    n = sp.get_piece_size()
    vocab = [[sp.id_to_piece(i), 0.0 if sp.is_control(i) or sp.is_unknown(i) else sp.get_score(i)] for i in range(n)]
    extra = [f"<extra_id_{i}>" for i in range(EXTRA_IDS - 1, -1, -1)]
    vocab += [[piece, 0.0] for piece in extra]
    charsmap = precompiled_charsmap((FIXTURE / "spiece.model").read_bytes())
    metaspace = {"type": "Metaspace", "replacement": "\u2581", "add_prefix_space": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [special(0, "<pad>"), special(1, "</s>"), special(2, "<unk>")]
        + [special(n + k, piece) for k, piece in enumerate(extra)],
        "normalizer": {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(charsmap).decode()},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, metaspace]},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "pair": [
                {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}},
                {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}},
            ],
            "special_tokens": {"</s>": {"id": "</s>", "ids": [1], "tokens": ["</s>"]}},
        },
        "decoder": metaspace,
        "model": {"type": "Unigram", "unk_id": 2, "vocab": vocab},
    }


def hf_t5_encode(sp: spm.SentencePieceProcessor, prompt: str, max_length: int) -> tuple[list[int], list[int]]:
    """transformers' T5Tokenizer(prompt, padding="max_length", truncation=True, max_length=max_length)."""
    ids = sp.encode(prompt)[: max_length - 1] + [sp.piece_to_id("</s>")]
    mask = [1] * len(ids)
    pad = max_length - len(ids)
    return ids + [0] * pad, mask + [0] * pad


def main() -> None:
    sp = train()
    (FIXTURE / "tokenizer.json").write_text(json.dumps(tokenizer_json(sp), ensure_ascii=False, indent=1) + "\n")
    cases = []
    for prompt in PROMPTS:
        encodings = {}
        for max_length in MAX_LENGTHS:
            ids, mask = hf_t5_encode(sp, prompt, max_length)
            encodings[str(max_length)] = {"input_ids": ids, "attention_mask": mask}
        cases.append({"prompt": prompt, "pieces": sp.encode(prompt, out_type=str), "encodings": encodings})
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    source = f"sentencepiece {spm.__version__} on fixtures/t5-tiny/spiece.model"
    GOLDEN.write_text(json.dumps({"source": source, "cases": cases}, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {FIXTURE / 'spiece.model'}, {FIXTURE / 'tokenizer.json'} and {GOLDEN}")


if __name__ == "__main__":
    main()
