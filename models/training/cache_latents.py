"""Freezes the VAE encoder and caches latents (unscaled means) of every training window.

  /usr/bin/python3 cache_latents.py --vae runs/vae/ckpt.pt
Writes runs/latents/{chunk_XXX.pt (fp16 [n,C,L] + spec indices), scale.pt (std of the first chunk → baked into
the exports), encoder.pt}. Chunks appear as they are done so U-Net training can start on the first ones.
Silence after a clip is filled with the encoder's latent of silence instead of being encoded again.
"""
import argparse
import os
import time
import numpy as np
import torch
from chorus import data
from chorus.common import run_dir, load_ckpt, save_ckpt
from chorus.config import build
from chorus.evalset import train_specs

p = argparse.ArgumentParser()
p.add_argument("--vae", default="runs/vae/ckpt.pt")
p.add_argument("--threads", type=int, default=1)
p.add_argument("--limit", type=int, default=0)
p.add_argument("--chunk", type=int, default=200)
p.add_argument("--out", default="latents", help="runs/<out>/; copy runs/latents/scale.pt there first to keep the shipped scale")
args = p.parse_args()
torch.set_num_threads(args.threads)
d = run_dir(args.out)
vae = build()["vae"]
ck = load_ckpt(args.vae)
vae.load_state_dict(ck["model"])
vae.eval()
save_ckpt(f"{d}/encoder.pt", model=ck["model"], step=ck["step"])
specs = train_specs()
if args.limit:
    specs = specs[: args.limit]
R, L = data.RATIO, data.WINDOW_FRAMES
with torch.no_grad():
    silence = vae.encode_dist(torch.zeros(1, 2, 64 * R))[0][0, :, 32]
    out = torch.empty(args.chunk, silence.shape[0], L, dtype=torch.float16)
    t0 = time.time()
    scale = None
    done = 0
    while os.path.exists(f"{d}/chunk_{done // args.chunk:03d}.pt"):
        done += args.chunk
    if done or os.path.exists(f"{d}/scale.pt"):     # a resumed cache, or the shipped scale (unpack_checkpoint.py)
        scale = load_ckpt(f"{d}/scale.pt")["scale"]
        save_ckpt(f"{d}/scale.pt", scale=scale, silence=silence)   # this encoder's silence (its channels)
    for i, s in enumerate(specs):
        if i < done:
            continue
        n_sound = int(max(0, round((s["seconds_total"] - s["seconds_start"]) * data.SR)))
        keep = min(L, -(-n_sound // R) + 4)            # frames holding sound, plus a margin
        n_enc = min(L, keep + 4) * R                 # encode a little past them; the cut edge is discarded
        lat = silence[:, None].repeat(1, L)
        if keep > 0:
            audio = torch.from_numpy(data.render(s, n_enc))[None]
            lat[:, :keep] = vae.encode_dist(audio)[0][0, :, :keep]
        out[i % args.chunk] = lat.half()
        if (i + 1) % args.chunk == 0 or i == len(specs) - 1:
            n = i % args.chunk + 1
            if scale is None:
                scale = out[:n].float().std().item()
                save_ckpt(f"{d}/scale.pt", scale=scale, silence=silence)
            k = i // args.chunk
            save_ckpt(f"{d}/chunk_{k:03d}.pt", latents=out[:n].clone(), index=torch.arange(k * args.chunk, k * args.chunk + n))
            print("chunk", k, i + 1, f"{time.time() - t0:.0f}s", "scale", scale, flush=True)
print("done", len(specs), flush=True)
