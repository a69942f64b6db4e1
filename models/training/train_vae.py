"""Trains the VAE on short random crops of synthetic windows. Resumes from runs/<run>/ckpt.pt.

  /usr/bin/python3 train_vae.py --run vae [--minutes 40] [--decoder-only]
--decoder-only freezes the encoder (after latents were cached) and keeps fine-tuning the decoder.
"""
import argparse
import time
import numpy as np
import torch
from chorus import data
from chorus.common import run_dir, save_ckpt, load_ckpt, LossLog
from chorus.vae import VAE, multires_stft_loss

p = argparse.ArgumentParser()
p.add_argument("--run", default="vae")
p.add_argument("--minutes", type=float, default=40)
p.add_argument("--batch", type=int, default=8)
p.add_argument("--crop", type=int, default=16384)
p.add_argument("--lr", type=float, default=1e-3)
p.add_argument("--kl", type=float, default=1e-6)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--seed", type=int, default=1)
p.add_argument("--decoder-only", action="store_true")
p.add_argument("--init-from", default=None, help="checkpoint to start from when this run has none")
args = p.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)
d = run_dir(args.run)
vae = VAE()
ck = load_ckpt(f"{d}/ckpt.pt")
src = ck or (load_ckpt(args.init_from) if args.init_from else None)
if src:
    vae.load_state_dict(src["model"])
params = vae.decoder.parameters() if args.decoder_only else vae.parameters()
opt = torch.optim.Adam(params, lr=args.lr, betas=(0.8, 0.99))
step = 0
if ck:
    opt.load_state_dict(ck["opt"])
    step = ck["step"]
print(f"params enc {sum(p.numel() for p in vae.encoder.parameters())} dec {sum(p.numel() for p in vae.decoder.parameters())}, step {step}", flush=True)
log = LossLog(f"{d}/loss.csv", ["loss", "stft", "l1", "kl"])
rng = np.random.default_rng(args.seed * 1000003 + step)
specs = data.make_dataset(20000, seed=1000 + args.seed)


def batch():
    xs = []
    for _ in range(args.batch):
        s = specs[rng.integers(len(specs))]
        n_sound = int(max(0, round((s["seconds_total"] - s["seconds_start"]) * data.SR)))
        # crops mostly inside the sound, some across its end, a few in silence
        hi = min(data.WINDOW, n_sound + args.crop // 2) - args.crop
        off = int(rng.integers(0, max(hi, 0) + 1))
        n = off + args.crop
        xs.append(data.render(s, n)[:, off:])
    return torch.from_numpy(np.stack(xs))


t_end = time.time() + args.minutes * 60
t_ck = time.time()
t0 = time.time()
while time.time() < t_end:
    x = batch()
    if args.decoder_only:
        with torch.no_grad():
            mean, logvar = vae.encode_dist(x)
    else:
        mean, logvar = vae.encode_dist(x)
    z = mean + torch.randn_like(mean) * (0.5 * logvar).exp()
    y = vae.decoder(z)
    stft = multires_stft_loss(y, x)
    l1 = (y - x).abs().mean()
    kl = 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).mean()
    loss = stft + 10 * l1 + args.kl * kl
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(vae.parameters(), 5.0)
    opt.step()
    step += 1
    log.log(step, [loss.item(), stft.item(), l1.item(), kl.item()])
    if step % 20 == 0:
        print(f"step {step} loss {loss.item():.4f} stft {stft.item():.4f} l1 {l1.item():.5f} kl {kl.item():.3f} "
              f"{(time.time() - t0) / 20:.2f}s/step", flush=True)
        t0 = time.time()
    if time.time() - t_ck > 180:
        save_ckpt(f"{d}/ckpt.pt", model=vae.state_dict(), opt=opt.state_dict(), step=step)
        t_ck = time.time()
save_ckpt(f"{d}/ckpt.pt", model=vae.state_dict(), opt=opt.state_dict(), step=step)
print("done", step, flush=True)
