#!/usr/bin/env python3
"""A full-size random checkpoint in the published SAO layout, for timing the importer without the gated weights.

  /usr/bin/python3 models/importer/make_random_checkpoint.py sao-small [--out models/importer/.random/sao-small]

Writes OUT/model_config.json (configs/<name>.json) and OUT/model.safetensors (F32, as the published files are):
the DiT and number conditioners from our modules at the published sizes (their layout is checked against
upstream's by the layout test), the Oobleck VAE from upstream's pretransform (sao-vae owns our VAE code), all with
random weights at fan-in scale. Needs models/importer/.upstream/ for the VAE.
"""

import argparse
import json
import os
import shutil

import torch

from chorus_import import conditioners, config, dit
from chorus_import.checkpoint import write_safetensors
from make_fixtures import randomize, upstream_parts

HERE = os.path.dirname(os.path.abspath(__file__))


def random_tensors(module, prefix, generator, tensors):
    randomize(module, generator)
    for key, value in module.state_dict().items():
        tensors[prefix + key] = value.detach().contiguous()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=["sao-1.0", "sao-small"])
    parser.add_argument("--out")
    args = parser.parse_args()
    out = args.out or os.path.join(HERE, ".random", args.name)
    os.makedirs(out, exist_ok=True)
    source = os.path.join(HERE, "configs", f"{args.name}.json")
    with open(source) as f:
        cfg = json.load(f)
    spec = config.validate_config(cfg)
    torch.set_grad_enabled(False)
    generator = torch.Generator().manual_seed(0)
    tensors = {}
    random_tensors(dit.DiffusionTransformer(**dit.dit_kwargs(spec.dit)), config.DIT_PREFIX, generator, tensors)
    timing = conditioners.build_conditioners(cfg["model"]["conditioning"], spec.cross_ids, spec.global_ids)
    random_tensors(timing.conditioners, config.COND_PREFIX, generator, tensors)
    random_tensors(upstream_parts(cfg, only="pretransform.")["pretransform."], "pretransform.", generator, tensors)
    write_safetensors(tensors, os.path.join(out, "model.safetensors"), metadata={"weights": "random"})
    shutil.copyfile(source, os.path.join(out, "model_config.json"))
    count = sum(v.numel() for v in tensors.values())
    print(f"{out}: {len(tensors)} tensors, {count / 1e6:.1f} M values, "
          f"{os.path.getsize(os.path.join(out, 'model.safetensors')) / 1e9:.2f} GB")


if __name__ == "__main__":
    main()
