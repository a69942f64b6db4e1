"""The headline check, in PyTorch: "a sine tone at <f> Hz", 4 s, seeds 1..N, shipped sampler defaults; prints the
dominant pitch of each seed and how many land within 3 %. Latents come from the U-Net of $CHORUS_UNET_RUN (cached in
runs/headline/ under the loaded weights' run and step), so several decoders can be compared on the same latents.

  /usr/bin/python3 headline.py [vae_run ...] [--freqs 440 300 500] [--seeds 6]     (default vae run: vae_dec)
Same seeds and PRNG as `npx chorus generate --seed N`, so the numbers match the CLI's to within float rounding.
"""
import argparse
import os
import torch
from chorus.common import RUNS
from chorus.config import CONFIG
from chorus.sampling import generate_latents
from evaluate import dominant_freq
from export import DEFAULTS, load_nets, load_vae_run


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--freqs", type=float, nargs="+", default=[440.0])
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("vae_runs", nargs="*", default=["vae_dec"])
    a = ap.parse_args()
    torch.set_num_threads(1)
    cache_dir = os.path.join(RUNS, "headline")
    os.makedirs(cache_dir, exist_ok=True)
    nets, used = load_nets()
    scale = float(nets["vae"].latent_scale)     # the latent scale the U-Net's latents are in
    # keyed on the weights actually loaded (run and step), so a U-Net trained further never reuses stale latents
    weights = "".join(ch if ch.isalnum() else "_" for ch in used["unet"])
    latents = {}
    for f in a.freqs:
        path = os.path.join(cache_dir, f"{weights}_{f:g}_{a.seeds}_{a.seconds:g}.pt")
        if os.path.exists(path):
            latents[f] = torch.load(path)
            continue
        prompt = f"a sine tone at {f:g} Hz"
        n = a.seeds
        lat, _ = generate_latents(nets, CONFIG, [prompt] * n, list(range(1, n + 1)), [0.0] * n, [a.seconds] * n,
                                  DEFAULTS["steps"], DEFAULTS["sampler"], DEFAULTS["cfg_scale"], [""] * n,
                                  DEFAULTS["schedule"], DEFAULTS["sigma_min"], DEFAULTS["sigma_max"], DEFAULTS["rho"])
        torch.save(lat, path)
        latents[f] = lat
    n_clip = int(round(a.seconds * CONFIG["sample_rate"]))
    for run in a.vae_runs:
        vae, step = load_vae_run(run, scale)
        for f, lat in latents.items():
            with torch.no_grad():
                hz = [dominant_freq(vae.decode(lat[i:i + 1])[0].clamp(-1, 1).numpy()[:, :n_clip].mean(0))
                      for i in range(lat.shape[0])]
            ok = sum(abs(h / f - 1) < 0.03 for h in hz)
            print(f"unet {used['unet']} + vae {run} (step {step}): {f:g} Hz within 3 % {ok}/{len(hz)}: "
                  + ", ".join(f"{h:.1f}" for h in hz), flush=True)


if __name__ == "__main__":
    main()
