#!/usr/bin/env python3
"""Print the parameter layout of OUR modules for a model_config.json, as golden/*-layout.json spells it.

  /usr/bin/python3 models/importer/layout.py models/importer/configs/sao-1.0.json

Our DiT and number conditioners are built on the meta device, so the published sizes cost no memory.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from chorus_import import conditioners, config, dit  # noqa: E402


def main(path):
    with open(path) as f:
        spec = config.validate_config(json.load(f))
    conditioning = spec.config["model"]["conditioning"]
    layout = {
        config.DIT_PREFIX: dit.dit_layout(spec.dit),
        config.COND_PREFIX: conditioners.conditioners_layout(conditioning, spec.cross_ids, spec.global_ids),
    }
    json.dump(layout, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
