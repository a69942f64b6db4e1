"""Writes golden/t5-base-layout.json: the parameter names and shapes of transformers' T5EncoderModel at t5-base's size.

  /usr/bin/python3 models/importer/make_layout_t5.py   (needs transformers under models/importer/.upstream)

The config is Hugging Face t5-base's config.json (the fields an encoder reads); t5.test.ts builds our module from the
same config and requires the same state-dict names and shapes, so a real t5-base checkpoint loads strictly.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from upstream_shims_t5 import upstream_t5

OUT = Path(__file__).resolve().parent / "golden" / "t5-base-layout.json"

T5_BASE = {
    "architectures": ["T5ForConditionalGeneration"],
    "model_type": "t5",
    "vocab_size": 32128,
    "d_model": 768,
    "d_kv": 64,
    "d_ff": 3072,
    "num_layers": 12,
    "num_heads": 12,
    "relative_attention_num_buckets": 32,
    "dropout_rate": 0.1,
    "layer_norm_epsilon": 1e-6,
    "initializer_factor": 1.0,
    "is_encoder_decoder": True,
    "pad_token_id": 0,
    "eos_token_id": 1,
    "decoder_start_token_id": 0,
    "n_positions": 512,
}


def main() -> None:
    t5 = upstream_t5()
    torch.manual_seed(0)
    model = t5.T5EncoderModel(t5.T5Config(**T5_BASE))
    tensors = [[name, list(tensor.shape)] for name, tensor in model.state_dict().items()]
    source = "transformers 4.19.0.dev0 T5EncoderModel (see upstream_shims_t5.py)"
    rows = ",\n".join(f"  {json.dumps(row)}" for row in tensors)
    head = json.dumps({"source": source, "config": T5_BASE})[:-1]
    OUT.write_text(f'{head}, "tensors": [\n{rows}\n]}}\n')
    print(f"wrote {OUT}: {len(tensors)} tensors, {sum(torch.Size(s).numel() for _, s in tensors)} values")


if __name__ == "__main__":
    main()
