"""The headline check, in PyTorch: "a sine tone at <f> Hz", 4 s, seeds 1..N, shipped sampler defaults; prints the
dominant pitch of each seed and how many land within 3 %. Latents come from the U-Net of $CHORUS_UNET_RUN (cached in
runs/headline/), so several decoders can be compared on the same latents.

  /usr/bin/python3 headline.py [vae_run ...] [--freqs 440 300 500] [--seeds 6]     (default vae run: vae_dec)
Same seeds and PRNG as `npx chorus generate --seed N`, so the numbers match the CLI's to within float rounding.
"""
import argparse
import os
import numpy as np
import torch
from chorus.common import RUNS, load_ckpt
from chorus.config import CONFIG, build
from chorus.sampling import generate_latents
from evaluate import dominant_freq
from export import DEFAULTS, load_nets


def vae_from_run(run, scale):
    """The VAE of runs/<run>/ckpt.pt (its EMA weights) with the shipped latent scale."""
    ck = load_ckpt(os.path.join(RUNS, run, "ckpt.pt"))
    sd = {k: v.float() for k, v in ck.get("ema", ck["model"]).items() if not k.endswith(".basis")}
    vae = build()["vae"]
    vae.load_state_dict(sd)
    vae.latent_scale.fill_(scale)
    return vae.eval(), ck.get("step")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--freqs", type=float, nargs="+", default=[440.0])
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("vae_runs", nargs="*", default=["vae_dec"])
    a = ap.parse_args()
    torch.set_num_threads(1)
    unet_run = os.environ.get("CHORUS_UNET_RUN", "unet")
    scale = float(load_ckpt(os.path.join(RUNS, "latents", "scale.pt"))["scale"])
    cache_dir = os.path.join(RUNS, "headline")
    os.makedirs(cache_dir, exist_ok=True)
    latents = {}
    nets = None
    for f in a.freqs:
        path = os.path.join(cache_dir, f"{unet_run}_{f:g}_{a.seeds}_{a.seconds:g}.pt")
        if os.path.exists(path):
            latents[f] = torch.load(path)
            continue
        if nets is None:
            nets, _ = load_nets()
        prompt = f"a sine tone at {f:g} Hz"
        n = a.seeds
        lat, _ = generate_latents(nets, CONFIG, [prompt] * n, list(range(1, n + 1)), [0.0] * n, [a.seconds] * n,
                                  DEFAULTS["steps"], DEFAULTS["sampler"], DEFAULTS["cfg_scale"], [""] * n,
                                  DEFAULTS["schedule"], DEFAULTS["sigma_min"], DEFAULTS["sigma_max"], DEFAULTS["rho"])
        torch.save(lat, path)
        latents[f] = lat
    n_clip = int(round(a.seconds * CONFIG["sample_rate"]))
    for run in a.vae_runs:
        vae, step = vae_from_run(run, scale)
        for f, lat in latents.items():
            with torch.no_grad():
                hz = [dominant_freq(vae.decode(lat[i:i + 1])[0].clamp(-1, 1).numpy()[:, :n_clip].mean(0))
                      for i in range(lat.shape[0])]
            ok = sum(abs(h / f - 1) < 0.03 for h in hz)
            print(f"unet {unet_run} + vae {run} (step {step}): {f:g} Hz within 3 % {ok}/{len(hz)}: "
                  + ", ".join(f"{h:.1f}" for h in hz), flush=True)


if __name__ == "__main__":
    main()
