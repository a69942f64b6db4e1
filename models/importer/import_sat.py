#!/usr/bin/env python3
"""Import a stable-audio-tools checkpoint (Stable Audio Open 1.0 / Small) as a Chorus model folder.

  import_sat.py --from stable-audio-tools --config model_config.json --checkpoint model.safetensors|model.ckpt
                --text-encoder T5_DIR --out DIR [--precision fp32|fp16] [--name NAME]
                [--parts text_encoder,conditioners,dit,vae]

--parts writes only some graphs and no model.json (for tests and debugging); the default is all of them.

Everything is checked before anything is written: the config, every checkpoint tensor's name and shape, the T5 folder
and the VAE. A refusal is one line on stderr and exit status 2.
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from chorus_import import checkpoint, conditioners, config, dit, export, manifest  # noqa: E402

PARTS = ("text_encoder", "conditioners", "dit", "vae")
T5_FILES = "config.json, model.safetensors (or pytorch_model.bin) and tokenizer.json, as Hugging Face's t5-base has them"


class Refusal(Exception):
    """Input the importer cannot serve: printed as one line."""


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="chorus models import", description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", required=True, choices=["stable-audio-tools"])
    parser.add_argument("--config", required=True, help="model_config.json")
    parser.add_argument("--checkpoint", required=True, help="model.safetensors or model.ckpt")
    parser.add_argument("--text-encoder", required=True, help="Hugging Face T5 folder (t5-base)")
    parser.add_argument("--out", required=True, help="model folder to write")
    parser.add_argument("--precision", default="fp32", choices=export.PRECISIONS)
    parser.add_argument("--name", help="model name in model.json (default: the --out folder's name)")
    parser.add_argument("--parts", default=",".join(PARTS), help="graphs to write (default: all, with model.json)")
    args = parser.parse_args(argv)
    args.parts = [p for p in args.parts.split(",") if p]
    unknown = [p for p in args.parts if p not in PARTS]
    if unknown or not args.parts:
        parser.error(f"--parts {','.join(unknown) or '(empty)'}: choose from {','.join(PARTS)}")
    return args


def read_config(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise Refusal(f"--config {path}: not found; give the model's model_config.json") from None
    except ValueError as err:
        raise Refusal(f"--config {path}: not valid JSON ({err})") from None


def check_t5_folder(t5_dir, spec):
    if not os.path.isdir(t5_dir):
        raise Refusal(f"--text-encoder {t5_dir}: folder not found; give a T5 folder with {T5_FILES}")
    for name in ("config.json", "tokenizer.json"):
        if not os.path.isfile(os.path.join(t5_dir, name)):
            raise Refusal(f"--text-encoder {t5_dir}: {name} is missing; the folder needs {T5_FILES}")
    if not any(os.path.isfile(os.path.join(t5_dir, n)) for n in ("model.safetensors", "pytorch_model.bin")):
        raise Refusal(f"--text-encoder {t5_dir}: no model.safetensors or pytorch_model.bin; the folder needs {T5_FILES}")
    with open(os.path.join(t5_dir, "config.json")) as f:
        d_model = json.load(f).get("d_model")
    if d_model != spec.cond_dim:
        raise Refusal(f"--text-encoder {t5_dir}: d_model {d_model} differs from the model's conditioning width "
                      f"model.conditioning.cond_dim {spec.cond_dim} ({spec.t5_model_name} expected)")


def prepare(args):
    """Validate every input and build every module; nothing is written."""
    spec = config.validate_config(read_config(args.config))
    parts = config.split_state_dict(checkpoint.load_state_dict(args.checkpoint))
    what = "the DiT in model.diffusion.config"
    config.check_tensors(config.DIT_PREFIX, dit.dit_layout(spec.dit), parts["dit"], what,
                         optional=("transformer.rotary_pos_emb.inv_freq",))
    conditioning = spec.config["model"]["conditioning"]
    config.check_tensors(config.COND_PREFIX, conditioners.conditioners_layout(conditioning, spec.cross_ids, spec.global_ids),
                         parts["conditioners"], "the number conditioners in model.conditioning")
    if not parts["vae"]:
        raise Refusal(f"checkpoint: no {config.VAE_PREFIX}* tensors; the Oobleck VAE weights must be in the checkpoint")
    if "text_encoder" in args.parts:
        check_t5_folder(args.text_encoder, spec)
    if "vae" in args.parts:
        from chorus_import import oobleck  # sao-vae's module
        oobleck.check_vae_config(spec.vae)
    if "text_encoder" in args.parts:
        from chorus_import import t5  # sao-t5's module
        t5.load_t5(args.text_encoder)  # every T5 weight present and of the right shape
    modules = {
        "dit": dit.load_dit(spec.dit, parts["dit"]),
        "conditioners": conditioners.load_conditioners(conditioning, spec.cross_ids, spec.global_ids, parts["conditioners"]),
    }
    if "vae" in args.parts:
        modules["vae_encoder"] = oobleck.build_oobleck(spec.vae, parts["vae"], "encoder")
        modules["vae_decoder"] = oobleck.build_oobleck(spec.vae, parts["vae"], "decoder")
    return spec, modules


def write(args, spec, modules):
    out = args.out
    os.makedirs(out, exist_ok=True)
    timings = {}

    def timed(key, fn, *a):
        start = time.time()
        result = fn(*a)
        timings[key] = round(time.time() - start, 1)
        print(f"{key}: {timings[key]} s", file=sys.stderr)
        return result

    text = None
    if "text_encoder" in args.parts:
        from chorus_import import t5
        text = timed("text_encoder", t5.export_text_encoder, args.text_encoder, os.path.join(out, "text_encoder.onnx"),
                     spec.max_length, args.precision)
    if "conditioners" in args.parts:
        timed("conditioners", export.export_conditioners, modules["conditioners"],
              os.path.join(out, "conditioners.onnx"), args.precision)
    if "dit" in args.parts:
        dit_graph = timed("dit", export.export_dit, modules["dit"], spec, out, args.precision)
    if "vae" in args.parts:
        from chorus_import import oobleck
        # Dynamic length (frames None): the same ops traced at 4 frames instead of the window, which took most of the
        # import's time (full-size SAO Small here: decoder 178 s, encoder 388 s); onnxruntime runs it at the window,
        # and its decoder peaked at half the memory (OOBLECK.md).
        timed("vae_decoder", oobleck.export_oobleck, modules["vae_decoder"], "decoder",
              os.path.join(out, "vae_decoder.onnx"), None, args.precision)
        timed("vae_encoder", oobleck.export_oobleck, modules["vae_encoder"], "encoder",
              os.path.join(out, "vae_encoder.onnx"), None, args.precision)
    if set(args.parts) != set(PARTS):
        return timings
    name = args.name or os.path.basename(os.path.normpath(out))
    manifest.write_manifest(out, spec, name, text or {}, args.precision, dit_graph,
                            provenance={"config": os.path.basename(args.config),
                                        "checkpoint": os.path.basename(args.checkpoint)})
    return timings


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        spec, modules = prepare(args)
    except (Refusal, config.ConfigError, checkpoint.CheckpointError) as err:
        print(f"chorus models import: {err}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError, ImportError) as err:
        # the T5 and VAE builders refuse with ValueError / FileNotFoundError; keep it to one line
        print(f"chorus models import: {str(err).splitlines()[0] if str(err) else type(err).__name__}", file=sys.stderr)
        return 2
    write(args, spec, modules)
    print(json.dumps({"out": args.out, "window_frames": spec.window_frames, "objective": spec.objective}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
