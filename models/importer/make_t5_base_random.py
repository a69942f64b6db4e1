"""Writes a full-size t5-base encoder with random weights, in Hugging Face's layout, for timing and memory checks.

  /usr/bin/python3 models/importer/make_t5_base_random.py [OUT_DIR]   (default models/importer/.t5-base-random, git-ignored)

config.json is t5-base's (golden/t5-base-layout.json); model.safetensors holds the encoder's tensors drawn with the
scales of HF's T5 initialisation; tokenizer.json is the tiny fixture's (only the graph is measured, not the vocabulary).
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import torch

from chorus_import.t5 import T5Config, T5Encoder
from chorus_import.checkpoint import write_safetensors

HERE = Path(__file__).resolve().parent


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / ".t5-base-random"
    config = json.loads((HERE / "golden" / "t5-base-layout.json").read_text())["config"]
    c = T5Config(config, "t5-base")
    torch.manual_seed(0)
    model = T5Encoder(c)
    # HF's T5PreTrainedModel._init_weights (initializer_factor 1).
    std = {"q": (c.d_model * c.d_kv) ** -0.5, "k": c.d_model**-0.5, "v": c.d_model**-0.5, "o": (c.num_heads * c.d_kv) ** -0.5,
           "wi": c.d_model**-0.5, "wi_0": c.d_model**-0.5, "wi_1": c.d_model**-0.5, "wo": c.d_ff**-0.5,
           "relative_attention_bias": c.d_model**-0.5, "shared": 1.0}
    with torch.no_grad():
        for name, param in model.named_parameters():
            if not name.endswith("layer_norm.weight"):
                param.normal_(0.0, std[name.split(".")[-2]])
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    state = {k: v for k, v in model.state_dict().items() if k != "encoder.embed_tokens.weight"}
    write_safetensors(state, str(out / "model.safetensors"))
    shutil.copyfile(HERE / "fixtures" / "t5-tiny" / "tokenizer.json", out / "tokenizer.json")
    print(f"wrote {out}: {sum(v.numel() for v in state.values())} parameters")


if __name__ == "__main__":
    main()
