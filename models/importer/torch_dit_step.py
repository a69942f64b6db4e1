#!/usr/bin/env python3
"""Our DiT in torch on dit_step.mjs's inputs at batch 1: prints the step time and saves v as OUT.npy.

  /usr/bin/python3 models/importer/torch_dit_step.py CONFIG CHECKPOINT OUT.npy
"""

import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from chorus_import import checkpoint, config, dit  # noqa: E402


def main(config_path, checkpoint_path, out):
    with open(config_path) as f:
        spec = config.validate_config(json.load(f))
    model = dit.load_dit(spec.dit, config.split_state_dict(checkpoint.load_state_dict(checkpoint_path))["dit"])
    tokens = spec.max_length + len([k for k in spec.cross_ids if k in spec.numbers])
    shapes = [(1, spec.latent_channels, spec.window_frames), (1, tokens, spec.cond_dim), (1, spec.dit["global_cond_dim"])]
    x, cross, global_cond = (
        torch.from_numpy((np.sin(np.arange(np.prod(s)) * 12.9898) * 0.5).astype(np.float32)).reshape(s) for s in shapes)
    with torch.no_grad():
        start = time.time()
        v = model(x, torch.tensor([0.5]), cross, global_cond)
    print(f"torch step at batch 1: {time.time() - start:.1f} s; dit_step.mjs sizes C L S D G = "
          f"{spec.latent_channels} {spec.window_frames} {tokens} {spec.cond_dim} {spec.dit['global_cond_dim']}")
    np.save(out, v.numpy())


if __name__ == "__main__":
    main(*sys.argv[1:4])
