#!/usr/bin/env python3
"""The parameter layout (tensor names and shapes) of the UPSTREAM modules at the published SAO sizes.

Builds upstream's DiffusionTransformer and NumberConditioners from configs/sao-1.0.json and configs/sao-small.json
(on the CPU: upstream's modules take no device) and writes golden/<name>-layout.json:
{"<checkpoint prefix>": {"<tensor name>": [shape...]}} for `model.model.` and `conditioner.conditioners.`.
The layout test (models/importer/importer.test.ts) compares our modules, built on the meta device, with these lists.

  /usr/bin/python3 models/importer/make_layouts.py   (needs models/importer/.upstream/, see README.md)
"""

import json
import os

import torch

from make_fixtures import upstream_parts

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    torch.set_grad_enabled(False)
    for name in ("sao-1.0", "sao-small"):
        with open(os.path.join(HERE, "configs", f"{name}.json")) as f:
            cfg = json.load(f)
        layout = {}
        for prefix, module in upstream_parts(cfg).items():
            if prefix == "pretransform.":
                continue  # the Oobleck VAE's layout is sao-vae's
            group = "conditioner.conditioners." if prefix.startswith("conditioner.") else prefix
            own = prefix[len(group):]
            layout.setdefault(group, {}).update(
                {own + key: list(value.shape) for key, value in module.state_dict().items()})
            del module
        path = os.path.join(HERE, "golden", f"{name}-layout.json")
        with open(path, "w") as f:
            json.dump(layout, f, indent=1, sort_keys=True)
            f.write("\n")
        print(f"{name}: " + ", ".join(f"{p} {len(t)} tensors" for p, t in layout.items()))


if __name__ == "__main__":
    main()
