"""Trains the VAE (log-magnitude STFT targets) on short random crops of synthetic windows. Resumes from runs/<run>/ckpt.pt.

  /usr/bin/python3 train_vae.py --run vae [--minutes 40] [--decoder-only]
--decoder-only freezes the encoder (after latents were cached) and keeps fine-tuning the decoder.
"""
import argparse
import copy
import time
import numpy as np
import torch
from chorus import data
from chorus.common import run_dir, save_ckpt, load_ckpt, LossLog
from chorus.config import build
from chorus.vae import BINS

p = argparse.ArgumentParser()
p.add_argument("--run", default="vae")
p.add_argument("--minutes", type=float, default=40)
p.add_argument("--batch", type=int, default=8)
p.add_argument("--crop", type=int, default=16384)
p.add_argument("--lr", type=float, default=1e-3)
p.add_argument("--kl", type=float, default=1e-6)
p.add_argument("--lin-weight", type=float, default=0.0,
               help="weight of the spectral-convergence term (linear magnitudes): sharpens partials, so pitch")
p.add_argument("--if-weight", type=float, default=1.0,
               help="weight of the instantaneous-frequency loss (bins, power-weighted): pitch precision")
p.add_argument("--peak-weight", type=float, default=200.0, help="cap of the per-bin weight")
p.add_argument("--warmup", type=int, default=200, help="steps of linear learning-rate warm-up when the optimizer starts fresh")
p.add_argument("--pitch-weight", type=float, default=0.0,
               help="weight of the pitch probe: a linear read-out of the latent must give log2(f0) of tonal clips, "
                    "so pitch lies along one latent direction instead of folding")
p.add_argument("--threads", type=int, default=1)
p.add_argument("--final-lr", type=float, default=1.0, help="share of --lr reached at the end of the run (linear in time)")
p.add_argument("--seed", type=int, default=1)
p.add_argument("--decoder-only", action="store_true")
p.add_argument("--all-pitches", action="store_true", help="include the held-out pitch/tempo bands (codec only)")
p.add_argument("--init-from", default=None, help="checkpoint to start from when this run has none")
args = p.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)
d = run_dir(args.run)
vae = build()["vae"]
ck = load_ckpt(f"{d}/ckpt.pt")
src = ck or (load_ckpt(args.init_from) if args.init_from else None)
if src:
    vae.load_state_dict({k: v for k, v in src["model"].items() if not k.endswith(".basis")})   # older checkpoints
heads = [vae.if_head] + ([vae.gate_head] if vae.pitch_channel else [])
params = (list(vae.decoder_net.parameters()) + [q for m in heads for q in m.parameters()]) if args.decoder_only else vae.parameters()
opt = torch.optim.Adam(params, lr=args.lr, betas=(0.9, 0.99))
probe = torch.nn.Conv1d(vae.latent_channels - vae.pitch_channel, 1, 1)   # the pitch probe (--pitch-weight); not exported
if args.pitch_weight:
    opt.add_param_group({"params": list(probe.parameters())})
    if ck and "probe" in ck:
        probe.load_state_dict(ck["probe"])
ema = copy.deepcopy(vae).eval()     # exported weights: the decoder's loss is noisy step to step
step = 0
if ck and "ema" in ck:
    ema.load_state_dict({k: v for k, v in ck["ema"].items() if not k.endswith(".basis")})
resumed_opt = bool(ck and "opt" in ck)
if resumed_opt:
    opt.load_state_dict(ck["opt"])
if ck:
    step = ck["step"]
print(f"params enc {sum(p.numel() for p in vae.encoder.parameters())} dec {sum(p.numel() for p in vae.decoder_net.parameters())}, step {step}", flush=True)
log = LossLog(f"{d}/loss.csv", ["loss", "linmag", "logmag", "kl", "if_bins", "pitch_oct2"])
rng = np.random.default_rng(args.seed * 1000003 + step)
# The held-out pitch/tempo bands are about the *prompt* conditioning; the codec may hear every pitch.
specs = data.make_dataset(20000, seed=1000 + args.seed, heldout=not args.all_pitches)


def latent_f0(s, offset, n_frames):
    """log2(f0 / 440) of a spec's lowest note at the centres of the crop's latent frames, and where it sounds."""
    c = offset + np.arange(n_frames) * vae.ratio + vae.ratio // 2
    on = (c < int(max(0, round((s["seconds_total"] - s["seconds_start"]) * data.SR)))).astype(np.float32)
    if s["family"] in ("tone", "chord"):
        f = np.full(n_frames, s["freq"])
    elif s["family"] == "sweep":
        f = s["f0"] * np.exp(np.log(s["f1"] / s["f0"]) / s["seconds_total"] * (s["seconds_start"] + c / data.SR))
    else:
        return np.zeros(n_frames, np.float32), np.zeros(n_frames, np.float32)
    return np.log2(f / 440.0).astype(np.float32), on


def batch():
    xs, f0s, ons = [], [], []
    for _ in range(args.batch):
        s = specs[rng.integers(len(specs))]
        n_sound = int(max(0, round((s["seconds_total"] - s["seconds_start"]) * data.SR)))
        # crops mostly inside the sound, some across its end, a few in silence
        hi = min(data.WINDOW, n_sound + args.crop // 2) - args.crop
        off = int(rng.integers(0, max(hi, 0) + 1))
        n = off + args.crop
        xs.append(data.render(s, n)[:, off:])
        f0, on = latent_f0(s, off, args.crop // vae.ratio)
        f0s.append(f0)
        ons.append(on)
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(f0s)), torch.from_numpy(np.stack(ons))


t_start = time.time()
step0 = step
t_end = t_start + args.minutes * 60
t_ck = time.time()
t0 = time.time()
while time.time() < t_end:
    x, f0_true, f0_on = batch()
    if args.decoder_only:
        with torch.no_grad():
            mean, logvar = vae.encode_dist(x)
    else:
        mean, logvar = vae.encode_dist(x)
    z = mean + torch.randn_like(mean) * (0.5 * logvar).exp()
    h, corr, gate = vae.decode_heads(z)
    logmag = h.reshape(-1, BINS, z.shape[-1] * 4) - 4.0
    true_if, tmag = vae.true_frequencies(x)
    # frequency head: power-weighted error in bins, normalised per clip so silent frames weigh nothing
    freq = vae.frequencies(torch.exp(logmag.clamp(max=6.3)).detach(), corr, gate,
                           vae.pitch_bins(z) if vae.pitch_channel else None)
    pw = tmag * tmag
    pw = pw / (pw.sum((1, 2), keepdim=True) + 1e-9)
    ifl = (pw * (freq - true_if).abs()).sum((1, 2)).mean()
    # per-bin log-magnitude at the decoder's own STFT framing (phase is rebuilt, not learned);
    # bins holding energy weigh more so partials (pitch) are learned before the noise floor
    # (bins above the frame's mean magnitude carry about half the weight: a tone's few partials count)
    w = 1.0 + (tmag / (tmag.mean(1, keepdim=True) + 1e-3)).clamp(max=args.peak_weight)
    magl = ((logmag.clamp(min=-7.0) - torch.log(tmag + 1e-3)).abs() * w).mean()
    # spectral convergence over the batch (silent crops would blow a per-clip ratio up): the energy of a
    # partial must sit in the right bins
    lin = (torch.exp(logmag.clamp(max=7.0)) - tmag).norm() / (tmag.norm() + 1e-3)
    kl = 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).mean()
    learned = mean[:, : probe.in_channels]     # the probe reads the learned channels, not the measured pitch
    pitch = (((probe(learned)[:, 0] - f0_true) ** 2) * f0_on).sum() / (f0_on.sum() + 1e-6)
    loss = magl + args.kl * kl + args.lin_weight * lin + args.if_weight * ifl + args.pitch_weight * pitch
    # a fresh Adam's first steps move every weight by about lr: warm up, or a trained decoder is thrown off
    warm = 1.0 if resumed_opt else min(1.0, (step - step0 + 1) / args.warmup)
    for pg in opt.param_groups:
        pg["lr"] = warm * args.lr * (1.0 - (1.0 - args.final_lr) * min(1.0, (time.time() - t_start) / (args.minutes * 60)))
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(vae.parameters(), 5.0)
    opt.step()
    step += 1
    with torch.no_grad():
        decay = min(0.995, (1 + step) / (10 + step))
        for pe, ps in zip(ema.parameters(), vae.parameters()):
            pe.mul_(decay).add_(ps, alpha=1 - decay)
    log.log(step, [loss.item(), float(lin), magl.item(), kl.item(), ifl.item(), pitch.item()])
    if step % 10 == 0:
        print(f"step {step} loss {loss.item():.4f} linmag {lin.item():.4f} logmag {magl.item():.4f} kl {kl.item():.3f} if {ifl.item():.3f} pitch {pitch.item():.4f} "
              f"{(time.time() - t0) / 10:.2f}s/step", flush=True)
        t0 = time.time()
    if time.time() - t_ck > 180:
        save_ckpt(f"{d}/ckpt.pt", model=vae.state_dict(), ema=ema.state_dict(), opt=opt.state_dict(), step=step,
                  probe=probe.state_dict())
        t_ck = time.time()
save_ckpt(f"{d}/ckpt.pt", model=vae.state_dict(), ema=ema.state_dict(), opt=opt.state_dict(), step=step,
          probe=probe.state_dict())
print("done", step, flush=True)
