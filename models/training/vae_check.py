"""Quick VAE sanity check on a few synth clips: pitch, L/R, noise slope and silence after the end survive?

  /usr/bin/python3 vae_check.py [runs/vae/ckpt.pt]
"""
import sys
import numpy as np
import torch
from chorus import data
from chorus.config import build
from evaluate import dominant_freq, lr_ratio_db, flatness_and_slope

torch.set_num_threads(1)
v = build()["vae"]
v.load_state_dict(torch.load(sys.argv[1] if len(sys.argv) > 1 else "runs/vae/ckpt.pt")["model"])
v.eval()
for f, pl, fam, loud in [(440, "left", "tone", None), (262, None, "tone", "quiet"), (700, "right", "tone", "loud"), (0, None, "noise", None), (0, "left", "brown", None)]:
    s = {"family": "noise" if fam == "brown" else fam, "wave": "sine", "freq": f, "colour": "pink" if fam == "noise" else "brown",
         "seconds_start": 0, "seconds_total": 3.0, "seed": 1, "placement": pl, "loudness": loud, "envelope": None}
    x = data.render(s, 80 * 2048)
    with torch.no_grad():
        y = v.decoder(v.encode_dist(torch.from_numpy(x)[None])[0])[0].numpy()
    n = 3 * 44100
    after = 10 * np.log10((y[:, n + 4096:] ** 2).mean() + 1e-20) - 10 * np.log10((y[:, :n] ** 2).mean())
    print(f"{fam:5s} {f:4d} ref {dominant_freq(x[:, :n].mean(0)):7.1f} rec {dominant_freq(y[:, :n].mean(0)):7.1f} | "
          f"LR {lr_ratio_db(x[:, :n]):5.1f} {lr_ratio_db(y[:, :n]):5.1f} | slope {flatness_and_slope(x[:, :n].mean(0))[1]:6.1f} "
          f"{flatness_and_slope(y[:, :n].mean(0))[1]:6.1f} | rms {10*np.log10((x[:, :n]**2).mean()):6.1f} {10*np.log10((y[:, :n]**2).mean()):6.1f} | after {after:6.1f} dB")
