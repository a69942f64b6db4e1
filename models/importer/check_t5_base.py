"""Compares the features bench_t5.mts wrote for the full-size random t5-base with transformers' T5EncoderModel.

  /usr/bin/python3 models/importer/check_t5_base.py FEATURES.bin BATCH [T5_DIR]   (needs .upstream transformers)
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from chorus_import.t5 import read_safetensors
from upstream_shims_t5 import upstream_t5

HERE = Path(__file__).resolve().parent


def main() -> None:
    features_file, batch = Path(sys.argv[1]), int(sys.argv[2])
    t5_dir = Path(sys.argv[3]) if len(sys.argv) > 3 else HERE / ".t5-base-random"
    config = json.loads((t5_dir / "config.json").read_text())
    t = 128
    raw = features_file.read_bytes()
    n = batch * t * 8
    ids = torch.from_numpy(np.frombuffer(raw[:n], dtype="<i8").reshape(batch, t).copy())
    mask = torch.from_numpy(np.frombuffer(raw[n : 2 * n], dtype="<i8").reshape(batch, t).copy())
    ours = np.frombuffer(raw[2 * n :], dtype="<f4").reshape(batch, t, config["d_model"])
    t5 = upstream_t5()
    model = t5.T5EncoderModel(t5.T5Config(**config)).eval()
    state = {k: v.float() for k, v in read_safetensors(t5_dir / "model.safetensors").items()}
    state["encoder.embed_tokens.weight"] = state["shared.weight"]
    model.load_state_dict(state, strict=True)
    with torch.no_grad():
        upstream = (model(input_ids=ids, attention_mask=mask).last_hidden_state * mask.unsqueeze(-1)).numpy()
    print(json.dumps({"batch": batch, "max_abs_diff": float(np.abs(ours - upstream).max()), "max_abs": float(np.abs(upstream).max())}))


if __name__ == "__main__":
    main()
