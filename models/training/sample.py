"""Reference text-to-audio in PyTorch (same weights export.py ships): prompt → WAV + measured pitch.

  /usr/bin/python3 sample.py --prompt "a sine tone at 440 Hz" --seconds-total 4 --out runs/a.wav
"""
import argparse
import numpy as np
import scipy.io.wavfile
import torch
from chorus.config import CONFIG
from chorus.sampling import generate_latents
from evaluate import dominant_freq, lr_ratio_db, rms_db
from export import load_nets, DEFAULTS

p = argparse.ArgumentParser()
p.add_argument("--prompt", required=True)
p.add_argument("--negative-prompt", default="")
p.add_argument("--seconds-start", type=float, default=0.0)
p.add_argument("--seconds-total", type=float, default=4.0)
p.add_argument("--steps", type=int, default=DEFAULTS["steps"])
p.add_argument("--sampler", default=DEFAULTS["sampler"])
p.add_argument("--cfg-scale", type=float, default=DEFAULTS["cfg_scale"])
p.add_argument("--seed", type=int, default=0)
p.add_argument("--out", default="runs/sample.wav")
a = p.parse_args()
torch.set_num_threads(1)
nets, used = load_nets()
lat, _ = generate_latents(nets, CONFIG, [a.prompt], [a.seed], [a.seconds_start], [a.seconds_total], a.steps, a.sampler,
                          a.cfg_scale, [a.negative_prompt], DEFAULTS["schedule"], DEFAULTS["sigma_min"], DEFAULTS["sigma_max"], DEFAULTS["rho"])
with torch.no_grad():
    audio = nets["vae"].decode(lat)[0].clamp(-1, 1).numpy()
n = int(round(a.seconds_total * CONFIG["sample_rate"]))
clip = audio[:, :n]
print(f"dominant {dominant_freq(clip.mean(0)):.1f} Hz, L/R {lr_ratio_db(clip):.1f} dB, rms {rms_db(clip):.1f} dB, "
      f"after {rms_db(audio[:, n:]) - rms_db(clip):.1f} dB")
scipy.io.wavfile.write(a.out, CONFIG["sample_rate"], clip.T.astype(np.float32))
