#!/usr/bin/env python3
"""Golden tensors from the UPSTREAM stable-audio-tools modules, for the reduced fixtures (fixtures/*/).

For each fixture, with the fixture's weights loaded into upstream's NumberConditioner and DiffusionTransformer:
- conditioners: seconds_start / seconds_total for a batch of 3 (one value past max_val, to hit the clamp) through
  each NumberConditioner, then upstream's ConditionedDiffusionModelWrapper.get_conditioning_inputs assembles the
  cross-attention tokens (prompt features first, then the timing tokens) and the global vector;
  golden timing_tokens = the timing part of those tokens, global_cond = the global vector.
- DiT: one forward (cfg_scale 1, as one step of a sampler sees it) on fixed noise x, t = [0.05, 0.5, 0.95] (three
  timesteps in one batch), the assembled tokens and global vector; golden v.
The prompt features stand in for T5's output (random, zero past each prompt's length, as upstream multiplies the
T5 output by its mask); the third prompt is empty, all zeros.

  /usr/bin/python3 models/importer/make_goldens.py   (needs models/importer/.upstream/, see README.md)
"""

import json
import os
import types

import numpy as np
import torch

import upstream_shims
from chorus_import.checkpoint import read_safetensors
from make_fixtures import upstream_parts

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
GOLDEN = os.path.join(HERE, "golden")

SECONDS_START = [0.0, 12.5, 700.0]
SECONDS_TOTAL = [47.5, 3.0, 0.5]
T_VALUES = [0.05, 0.5, 0.95]
PROMPT_LENGTHS = [None, 5, 0]  # None: every token real


def load_upstream(cfg, tensors):
    """Upstream DiT and number conditioners with the fixture's weights (the VAE's goldens are sao-vae's)."""
    parts = {p: m for p, m in upstream_parts(cfg).items() if p != "pretransform."}
    for prefix, module in parts.items():
        own = {k[len(prefix):]: v.float() for k, v in tensors.items() if k.startswith(prefix)}
        module.load_state_dict(own, strict=True)
        module.eval()
    return parts


def goldens(name):
    folder = os.path.join(FIXTURES, name)
    with open(os.path.join(folder, "model_config.json")) as f:
        cfg = json.load(f)
    parts = load_upstream(cfg, read_safetensors(os.path.join(folder, "model.safetensors")))
    diffusion_mod = upstream_shims.upstream("models.diffusion")
    model_cfg = cfg["model"]
    diffusion = model_cfg["diffusion"]
    cond_dim = model_cfg["conditioning"]["cond_dim"]
    prompt = next(c for c in model_cfg["conditioning"]["configs"] if c["type"] == "t5")
    max_length = prompt["config"]["max_length"]
    batch = len(SECONDS_TOTAL)
    generator = torch.Generator().manual_seed(7)

    mask = torch.zeros(batch, max_length, dtype=torch.bool)
    for i, length in enumerate(PROMPT_LENGTHS):
        mask[i, : max_length if length is None else length] = True
    features = torch.randn(batch, max_length, cond_dim, generator=generator) * mask[..., None]

    inputs = {"seconds_start": SECONDS_START, "seconds_total": SECONDS_TOTAL}
    out = {}
    with torch.no_grad():
        conditioning = {prompt["id"]: (features, mask)}
        for prefix, module in parts.items():
            if prefix.startswith("conditioner.conditioners."):
                cid = prefix.split(".")[2]
                conditioning[cid] = module(inputs[cid], device="cpu")
                out[cid] = np.asarray(inputs[cid], dtype=np.float32)
        wrapper = types.SimpleNamespace(cross_attn_cond_ids=diffusion["cross_attention_cond_ids"],
                                        global_cond_ids=diffusion["global_cond_ids"], input_concat_ids=[],
                                        prepend_cond_ids=[])
        cond = diffusion_mod.ConditionedDiffusionModelWrapper.get_conditioning_inputs(wrapper, conditioning)
        cross, global_cond = cond["cross_attn_cond"], cond["global_cond"]
        out["timing_tokens"] = cross[:, max_length:, :]
        out["global_cond"] = global_cond

        dit = parts["model.model."]
        io = diffusion["config"]["io_channels"]
        frames = cfg["sample_size"] // model_cfg["pretransform"]["config"]["downsampling_ratio"]
        x = torch.randn(batch, io, frames, generator=generator)
        t = torch.tensor(T_VALUES)
        v = dit(x, t, cross_attn_cond=cross, global_embed=global_cond, cfg_scale=1.0)
        out.update(x=x, t=t, cross_attn_cond=cross, v=v)

    target = os.path.join(GOLDEN, name)
    os.makedirs(target, exist_ok=True)
    for key, value in out.items():
        array = value.numpy() if isinstance(value, torch.Tensor) else value
        np.save(os.path.join(target, f"{key}.npy"), array.astype(np.float32))
    print(f"{name}: " + ", ".join(f"{k} {list(np.shape(v))}" for k, v in out.items()))


def main():
    for name in sorted(os.listdir(FIXTURES)):
        if os.path.isfile(os.path.join(FIXTURES, name, "model_config.json")):
            goldens(name)


if __name__ == "__main__":
    main()
