"""Codec (VAE round trip) check on tones: how often the decoded pitch lands within 3% of the true one.

  /usr/bin/python3 codec_eval.py [run ...]     (runs/<run>/ckpt.pt, EMA weights; default vae_dec)
Also reports how the encoder lays pitch out in the latent (`latent_map`): the U-Net has to learn that map.
Pitch is the ceiling for the whole model: the U-Net can only ask for what the decoder can say.
"""
import sys
import numpy as np
import torch
from chorus import data
from evaluate import dominant_freq
from chorus.vae import PITCH_GAIN
from export import load_vae_run

torch.set_num_threads(1)
specs = [s for s in data.make_dataset(4000, seed=99, heldout=False) if s["family"] == "tone"
         and s["seconds_start"] == 0 and s["seconds_total"] >= 2.5 and s.get("envelope") != "plucked"][:40]
# Pure centred sines on a 10 Hz grid around the headline prompt's 440 Hz.
grid = [dict(family="tone", wave="sine", freq=float(f), seconds_start=0.0, seconds_total=3.0, loudness=None,
             placement=None, envelope=None, seed=f, caption=f"a sine tone at {f} Hz") for f in range(300, 601, 10)]


def errors(v, clips):
    errs = []
    for s in clips:
        x = data.render(s, 64 * 2048)
        with torch.no_grad():
            y = v.decoder(v.encode_dist(torch.from_numpy(x)[None])[0])[0].numpy()
        n = int(2.0 * data.SR)
        f_ref, f_rec = dominant_freq(x[:, :n].mean(0)), dominant_freq(y[:, :n].mean(0))
        errs.append(abs(f_rec / f_ref - 1))
    return np.array(errs)


def latent_map(v):
    """How the encoder lays pitch out: sines 300–600 Hz in 5 Hz steps, each clip's mean latent. Returns the share of
    sines whose nearest other code is a grid neighbour (±5 Hz), near 1 when pitch runs smoothly through the latent
    and low when the map folds, and the median pitch error of that nearest code (a 1-nearest-neighbour read-out).
    Both over the learned channels; with a pitch channel, also its own median error (else None)."""
    fs = np.arange(300.0, 601.0, 5.0)
    learned = v.latent_channels - int(v.pitch_channel)
    codes, measured = [], []
    for f in fs:
        s = dict(grid[0], freq=float(f), seed=int(f))
        with torch.no_grad():
            m = v.encode_dist(torch.from_numpy(data.render(s, 64 * 2048))[None])[0][0]
        codes.append(m[:learned, 4:56].mean(1).numpy())
        if v.pitch_channel:
            measured.append(440.0 * 2 ** (m[-1, 4:56].mean().item() / PITCH_GAIN))
    c = np.stack(codes)
    d = np.linalg.norm(c[:, None] - c[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    nearest = fs[d.argmin(1)]
    channel = float(np.median(np.abs(np.array(measured) / fs - 1))) if v.pitch_channel else None
    return float(np.mean(np.abs(nearest - fs) <= 5.0)), float(np.median(np.abs(nearest / fs - 1))), channel


for run in sys.argv[1:] or ["vae_dec"]:
    v, step = load_vae_run(run)
    e, g = errors(v, specs), errors(v, grid)
    neighbour, nn_err, channel = latent_map(v)
    print(f"{run} step {step}: within 3% {int((e < 0.03).sum())}/{len(e)}, within 6% {int((e < 0.06).sum())}/{len(e)}, "
          f"median error {100 * np.median(e):.1f}%; sines 300-600 Hz within 3% {int((g < 0.03).sum())}/{len(g)}, "
          f"median {100 * np.median(g):.1f}%; latent: nearest code a grid neighbour {100 * neighbour:.0f}%, "
          f"its pitch off by {100 * nn_err:.1f}% (median)"
          + (f"; pitch channel off by {100 * channel:.2f}% (median)" if channel is not None else ""), flush=True)
