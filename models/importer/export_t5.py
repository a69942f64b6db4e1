"""Exports a Hugging Face T5 folder's encoder to ONNX on its own (the importer calls export_text_encoder itself).

  /usr/bin/python3 models/importer/export_t5.py T5_DIR OUT.onnx [--max-length 128] [--precision fp32|fp16]

Prints the result as one JSON line ({"dim": …, "tokenizer_file": "tokenizer.json"}); a folder it cannot use is
refused with one line on stderr and exit status 2.
"""
from __future__ import annotations

import argparse
import json
import sys

from chorus_import.t5 import PRECISIONS, T5FolderError, export_text_encoder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("t5_dir")
    parser.add_argument("out")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32")
    args = parser.parse_args()
    try:
        result = export_text_encoder(args.t5_dir, args.out, args.max_length, args.precision)
    except T5FolderError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
