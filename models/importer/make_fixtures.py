#!/usr/bin/env python3
"""Reduced-size Stable Audio Open 1.0 and Small checkpoints with random weights, built by the UPSTREAM modules.

Same module and key layout as the published models (upstream's DiffusionTransformer, NumberConditioner and Oobleck
pretransform make the state dict), smaller widths and depth:
- sao10-reduced: v objective, seconds_start + seconds_total, project_cond_tokens false, grouped-query cross-attention
  (2 query heads over 1 key/value head at cond_dim 64, as 1.0 has 24 over 12), head_dim 64, T5 128 tokens.
- saosmall-reduced: rf_denoiser, seconds_total only, project_cond_tokens true, LayerNorm on q/k, head_dim 128
  (as Small's 1024 / 8 heads), T5 64 tokens.
Both: a 5-stage Oobleck (strides 2·4·4·8·8 = 2048) of base width 4 with 8 latent channels.
Weights are drawn at fan-in scale (upstream zero-initialises the output layers, which would hide most of the
network from the goldens) and stored as F16 to keep the files small; the goldens use the same F16 values.

  /usr/bin/python3 models/importer/make_fixtures.py [--cond-dim 64]

--cond-dim is the T5 fixture's d_model (the conditioning width), a multiple of 64.
"""

import argparse
import json
import math
import os

import torch

import upstream_shims
from chorus_import.checkpoint import write_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")


def oobleck(channels, latent):
    common = {"channels": channels, "c_mults": [1, 2, 4, 8, 16], "strides": [2, 4, 4, 8, 8], "use_snake": True}
    return {"type": "autoencoder", "iterate_batch": True, "config": {
        "encoder": {"type": "oobleck", "config": dict(common, in_channels=2, latent_dim=latent * 2)},
        "decoder": {"type": "oobleck", "config": dict(common, out_channels=2, latent_dim=latent, final_tanh=False)},
        "bottleneck": {"type": "vae"}, "latent_dim": latent, "downsampling_ratio": 2048, "io_channels": 2}}


def number(cid):
    return {"id": cid, "type": "number", "config": {"min_val": 0, "max_val": 512}}


def configs(cond_dim):
    latent = 8
    sao10 = {
        "model_type": "diffusion_cond", "sample_size": 32 * 2048, "sample_rate": 44100, "audio_channels": 2,
        "model": {
            "pretransform": oobleck(4, latent),
            "conditioning": {"configs": [
                {"id": "prompt", "type": "t5", "config": {"t5_model_name": "t5-base", "max_length": 128}},
                number("seconds_start"), number("seconds_total")], "cond_dim": cond_dim},
            "diffusion": {
                "cross_attention_cond_ids": ["prompt", "seconds_start", "seconds_total"],
                "global_cond_ids": ["seconds_start", "seconds_total"],
                "type": "dit",
                "config": {"io_channels": latent, "embed_dim": 128, "depth": 2, "num_heads": 2,
                           "cond_token_dim": cond_dim, "global_cond_dim": 2 * cond_dim,
                           "project_cond_tokens": False, "transformer_type": "continuous_transformer"}},
            "io_channels": latent}}
    small = {
        "model_type": "diffusion_cond", "sample_size": 16 * 2048, "sample_rate": 44100, "audio_channels": 2,
        "model": {
            "pretransform": oobleck(4, latent),
            "conditioning": {"configs": [
                {"id": "prompt", "type": "t5", "config": {"t5_model_name": "t5-base", "max_length": 64}},
                number("seconds_total")], "cond_dim": cond_dim},
            "diffusion": {
                "cross_attention_cond_ids": ["prompt", "seconds_total"],
                "global_cond_ids": ["seconds_total"],
                "diffusion_objective": "rf_denoiser",
                "type": "dit",
                "config": {"io_channels": latent, "embed_dim": 128, "depth": 2, "num_heads": 1,
                           "cond_token_dim": cond_dim, "global_cond_dim": cond_dim,
                           "project_cond_tokens": True, "transformer_type": "continuous_transformer",
                           "attn_kwargs": {"qk_norm": "ln"}}},
            "io_channels": latent}}
    return {"sao10-reduced": sao10, "saosmall-reduced": small}


def upstream_parts(cfg, only=None):
    """Upstream modules for each checkpoint prefix: {prefix: module}; `only` keeps the prefixes starting with it."""
    dit_mod = upstream_shims.upstream("models.dit")
    cond_mod = upstream_shims.upstream("models.conditioners")
    factory = upstream_shims.upstream("models.factory")
    model = cfg["model"]
    wanted = lambda prefix: only is None or prefix.startswith(only)
    parts = {}
    if wanted("model.model."):
        parts["model.model."] = dit_mod.DiffusionTransformer(
            diffusion_objective=model["diffusion"].get("diffusion_objective", "v"), **model["diffusion"]["config"])
    for c in model["conditioning"]["configs"]:
        if c["type"] == "number" and wanted(f"conditioner.conditioners.{c['id']}."):
            parts[f"conditioner.conditioners.{c['id']}."] = cond_mod.NumberConditioner(
                model["conditioning"]["cond_dim"], **c["config"])
    if wanted("pretransform."):
        parts["pretransform."] = factory.create_pretransform_from_config(model["pretransform"], cfg["sample_rate"])
    return parts


def randomize(module, generator):
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith(("gamma", "norm.weight")):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=generator))
            elif p.dim() >= 2:
                fan_in = max(1, p.numel() // p.shape[0])
                p.copy_(torch.randn(p.shape, generator=generator) / math.sqrt(fan_in))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=generator))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cond-dim", type=int, default=64)
    args = parser.parse_args()
    if args.cond_dim % 64:
        parser.error("--cond-dim must be a multiple of 64")
    for index, (name, cfg) in enumerate(configs(args.cond_dim).items()):
        folder = os.path.join(FIXTURES, name)
        os.makedirs(folder, exist_ok=True)
        generator = torch.Generator().manual_seed(1234 + index)
        tensors = {}
        for prefix, module in upstream_parts(cfg).items():
            randomize(module, generator)
            for key, value in module.state_dict().items():
                tensors[prefix + key] = value.half() if value.is_floating_point() else value
        write_safetensors(tensors, os.path.join(folder, "model.safetensors"),
                          metadata={"made_by": "models/importer/make_fixtures.py", "weights": "random"})
        with open(os.path.join(folder, "model_config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
            f.write("\n")
        count = sum(v.numel() for v in tensors.values())
        size = os.path.getsize(os.path.join(folder, "model.safetensors"))
        print(f"{name}: {len(tensors)} tensors, {count} values, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
