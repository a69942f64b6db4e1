"""Unpacks the committed weights-only checkpoint into runs/, so a fresh clone can resume training or re-export.

  /usr/bin/python3 unpack_checkpoint.py [--from checkpoints/chorus-tiny-weights-fp16.pt] [--force]
  CHORUS_VAE_RUN=vae_if CHORUS_UNET_RUN=unet4 /usr/bin/python3 unpack_checkpoint.py --pack   (the reverse, after training)

Writes runs/clap/ckpt.pt (text, audio), runs/vae_dec/ckpt.pt (model = ema = the shipped decoder EMA and frozen
encoder), runs/unet/ckpt.pt (unet = ema, timing = timing_ema) and runs/latents/{scale.pt, encoder.pt}. No optimizer
state is committed: the trainers start a fresh optimizer when a checkpoint has none. Existing run files are kept
unless --force is given. The latent chunks themselves are made again with cache_latents.py (same encoder, same
latents), which reuses runs/latents/scale.pt so the scale stays the shipped one.
"""
import argparse
import os
from chorus.common import RUNS, load_ckpt, run_dir, save_ckpt

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = os.path.join(HERE, "checkpoints", "chorus-tiny-weights-fp16.pt")


def unpack(src=DEFAULT, force=False):
    ck = load_ckpt(src)
    if ck is None:
        raise SystemExit(f"no checkpoint at {src}")
    f32 = lambda sd: {k: v.float() if v.is_floating_point() else v for k, v in sd.items()}
    step = int(ck.get("unet_step", 0))
    files = {
        os.path.join(RUNS, "clap", "ckpt.pt"): dict(text=f32(ck["text"]), audio=f32(ck["audio"]), step=0),
        os.path.join(RUNS, "vae_dec", "ckpt.pt"): dict(model=f32(ck["vae"]), ema=f32(ck["vae"]), step=0),
        os.path.join(RUNS, "unet", "ckpt.pt"): dict(unet=f32(ck["unet_ema"]), ema=f32(ck["unet_ema"]),
                                                    timing=f32(ck["timing_ema"]), timing_ema=f32(ck["timing_ema"]),
                                                    step=step, scale=float(ck["latent_scale"])),
        os.path.join(RUNS, "latents", "scale.pt"): dict(scale=float(ck["latent_scale"]),
                                                        silence=ck["silence_latent"].float()),
        os.path.join(RUNS, "latents", "encoder.pt"): dict(model=f32(ck["vae"]), step=0),
    }
    written = []
    for path, state in files.items():
        run_dir(os.path.basename(os.path.dirname(path)))
        if os.path.exists(path) and not force:
            continue
        save_ckpt(path, **state)
        written.append(os.path.relpath(path, HERE))
    return written


def pack(dst=DEFAULT, vae_run=None):
    """The reverse: runs/ → the weights-only fp16 checkpoint that is committed (used after a training session)."""
    vae_run = vae_run or os.environ.get("CHORUS_VAE_RUN", "vae_dec")
    half = lambda sd: {k: v.half() if v.is_floating_point() else v for k, v in sd.items() if not k.endswith(".basis")}
    unet_run = os.environ.get("CHORUS_UNET_RUN", "unet")
    unet, vae, clap = (load_ckpt(os.path.join(RUNS, r, "ckpt.pt")) for r in (unet_run, vae_run, "clap"))
    scale = load_ckpt(os.path.join(RUNS, "latents", "scale.pt"))
    save_ckpt(dst, unet_ema=half(unet["ema"]), timing_ema=half(unet["timing_ema"]), unet_step=unet["step"],
              vae=half(vae.get("ema", vae["model"])), vae_run=f"{vae_run} step {vae['step']}",
              text=half(clap["text"]), audio=half(clap["audio"]), latent_scale=float(scale["scale"]),
              silence_latent=scale["silence"].half())


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--from", dest="src", default=DEFAULT)
    p.add_argument("--force", action="store_true")
    p.add_argument("--pack", action="store_true", help="write the checkpoint from runs/ instead")
    a = p.parse_args()
    if a.pack:
        pack(a.src)
        raise SystemExit(print("packed", a.src))
    print("wrote", unpack(a.src, a.force) or "nothing (runs/ already holds checkpoints; --force overwrites)")
