"""Codec (VAE round trip) check on tones: how often the decoded pitch lands within 3% of the true one.

  /usr/bin/python3 codec_eval.py [run ...]     (runs/<run>/ckpt.pt, EMA weights; default vae_dec)
Pitch is the ceiling for the whole model: the U-Net can only ask for what the decoder can say.
"""
import sys
import numpy as np
import torch
from chorus import data
from chorus.common import load_ckpt
from chorus.config import build
from evaluate import dominant_freq

torch.set_num_threads(1)
specs = [s for s in data.make_dataset(4000, seed=99, heldout=False) if s["family"] == "tone"
         and s["seconds_start"] == 0 and s["seconds_total"] >= 2.5 and s.get("envelope") != "plucked"][:40]
for run in sys.argv[1:] or ["vae_dec"]:
    v = build()["vae"]
    ck = load_ckpt(f"runs/{run}/ckpt.pt")
    v.load_state_dict({k: t.float() for k, t in ck.get("ema", ck["model"]).items() if not k.endswith(".basis")})
    v.eval()
    errs = []
    for s in specs:
        x = data.render(s, 64 * 2048)
        with torch.no_grad():
            y = v.decoder(v.encode_dist(torch.from_numpy(x)[None])[0])[0].numpy()
        n = int(2.0 * data.SR)
        f_ref, f_rec = dominant_freq(x[:, :n].mean(0)), dominant_freq(y[:, :n].mean(0))
        errs.append(abs(f_rec / f_ref - 1))
    e = np.array(errs)
    print(f"{run} step {ck.get('step')}: within 3% {int((e < 0.03).sum())}/{len(e)}, within 6% {int((e < 0.06).sum())}/{len(e)}, "
          f"median error {100 * np.median(e):.1f}%", flush=True)
