"""Writes SentencePiece's normalization of every code point U+0001–U+2FFFF (each between two letters) for the sweep
in sweep_normalizer_t5.mts, which compares the TypeScript Precompiled normalizer against it (see T5.md).

  /usr/bin/python3 models/importer/sweep_normalizer_t5.py .t5-out/sweep.json   (needs python3-sentencepiece)
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import sentencepiece as spm

HERE = Path(__file__).resolve().parent


def main() -> None:
    sp = spm.SentencePieceProcessor(model_file=str(HERE / "fixtures" / "t5-tiny" / "spiece.model"))
    cases = []
    for cp in range(0x1, 0x30000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        text = f"a{chr(cp)}b"
        # Unknown pieces keep their (normalized) surface text, so the pieces spell the normalized prompt.
        normalized = "".join(sp.encode(text, out_type=str)).replace("\u2581", " ")
        cases.append([cp, text, " ".join(part for part in normalized.split(" ") if part)])
    Path(sys.argv[1]).write_text(json.dumps(cases))
    print(f"wrote {len(cases)} code points to {sys.argv[1]}")


if __name__ == "__main__":
    main()
