"""Exports our Oobleck VAE graphs on their own (tests and measurements; the importer calls chorus_import.oobleck directly).

  /usr/bin/python3 models/importer/export_oobleck.py export --config model_config.json --checkpoint model.safetensors \
      --part encoder|decoder|both --frames N|dynamic --out DIR [--precision fp32|fp16]
  /usr/bin/python3 models/importer/export_oobleck.py export --config model_config.json --random --part decoder --frames 256 --out DIR
  /usr/bin/python3 models/importer/export_oobleck.py layout --pretransform-from golden/oobleck-layout.json

`export` writes DIR/vae_encoder.onnx and/or DIR/vae_decoder.onnx and prints one JSON object describing them;
`--random` builds full-size modules with fresh random weights instead of reading a checkpoint (for timing).
`layout` prints, as JSON, every tensor name and shape our modules have (before weight norm is folded) under
`pretransform.model.`, for the given `model.pretransform` config.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from chorus_import.oobleck import build_oobleck, export_oobleck, fold_weight_norm, oobleck_graph_module  # noqa: E402
from chorus_import.checkpoint import read_safetensors  # noqa: E402

PREFIX = "pretransform.model."


def pretransform_of(config_path: str) -> dict:
    config = json.loads(Path(config_path).read_text())
    pretransform = config.get("model", {}).get("pretransform")
    if pretransform is None:
        raise SystemExit(f"{config_path}: model.pretransform is missing; a stable-audio-tools model config is expected")
    return pretransform


def frames_arg(text: str):
    return None if text == "dynamic" else int(text)


def export(args) -> None:
    pretransform = pretransform_of(args.config)
    parts = ["encoder", "decoder"] if args.part == "both" else [args.part]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.random:
        torch.manual_seed(0)
        state = None
    else:
        if not args.checkpoint:
            raise SystemExit("--checkpoint FILE.safetensors or --random is required")
        state = {k[len(PREFIX):]: v for k, v in read_safetensors(args.checkpoint).items() if k.startswith(PREFIX)}
    result = {}
    for part in parts:
        started = time.perf_counter()
        if state is None:
            module = oobleck_graph_module(pretransform, part)
            fold_weight_norm(module)
            module.eval().requires_grad_(False)
        else:
            module = build_oobleck(pretransform, state, part)
        path = out / f"vae_{part}.onnx"
        info = export_oobleck(module, part, str(path), args.frames, args.precision)
        info["file"] = str(path)
        info["export_s"] = round(time.perf_counter() - started, 2)
        info["parameters"] = sum(p.numel() for p in module.parameters())
        result[part] = info
    print(json.dumps(result))


def layout(args) -> None:
    pretransform = json.loads(Path(args.pretransform_from).read_text())["pretransform"]
    tensors = {}
    for part in ("encoder", "decoder"):
        module = oobleck_graph_module(pretransform, part)
        tensors.update({f"{PREFIX}{k}": list(v.shape) for k, v in module.state_dict().items()})
    print(json.dumps(tensors))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("export")
    p.add_argument("--config", required=True)
    p.add_argument("--checkpoint")
    p.add_argument("--random", action="store_true")
    p.add_argument("--part", choices=["encoder", "decoder", "both"], default="both")
    p.add_argument("--frames", type=frames_arg, required=True, help="latent frames of the graph, or 'dynamic'")
    p.add_argument("--out", required=True)
    p.add_argument("--precision", choices=["fp32", "fp16"], default="fp32")
    p.set_defaults(run=export)
    p = sub.add_parser("layout")
    p.add_argument("--pretransform-from", required=True, help="a JSON file with a `pretransform` object (golden/oobleck-layout.json)")
    p.set_defaults(run=layout)
    args = parser.parse_args()
    try:
        args.run(args)
    except ValueError as error:
        raise SystemExit(str(error))


if __name__ == "__main__":
    main()
