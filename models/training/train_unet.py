"""Trains the U-Net (v-objective) and the timing conditioner on cached latents, text encoder frozen.

  /usr/bin/python3 train_unet.py --run unet [--minutes 70] [--batch 32]
Needs runs/latents (cache_latents.py) and runs/clap (train_clap.py). Resumes from runs/<run>/ckpt.pt.
"""
import argparse
import copy
import glob
import math
import time
import numpy as np
import torch
import torch.nn.functional as F
from chorus.common import run_dir, save_ckpt, load_ckpt, LossLog
from chorus.config import CONFIG, build
from chorus.evalset import train_specs
from chorus.tokenizer import tokenize_batch
from chorus.unet import pitch_target

p = argparse.ArgumentParser()
p.add_argument("--run", default="unet")
p.add_argument("--minutes", type=float, default=70)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--lr", type=float, default=4e-4)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--seed", type=int, default=5)
p.add_argument("--cut", type=float, default=0.3, help="share of cuttable clips shortened in latent space")
p.add_argument("--drop", type=float, default=0.1, help="text dropout for classifier-free guidance")
p.add_argument("--pitch-loss-weight", type=float, default=1.0,
               help="weight of the VAE's pitch channel (the last latent channel) in the loss, relative to the others")
p.add_argument("--head-weight", type=float, default=1.0,
               help="with the pitch head: weight of its direct loss (the clip's mean pitch-channel value over tonal frames)")
p.add_argument("--gate-weight", type=float, default=0.1,
               help="with the pitch head: weight of the gate's cross-entropy against 'tonal at the clip's pitch'")
p.add_argument("--end-weight", type=float, default=0.0,
               help="extra loss weight on the frames within 2 of the clip's end (seconds_total), where a late or loud "
                    "ending leaks sound past it")
p.add_argument("--freeze-head", action="store_true",
               help="with the pitch head: keep it as fit_pitch_head.py left it (train the body and the gate only)")
p.add_argument("--latents", default="latents", help="runs/<latents>/ from cache_latents.py")
p.add_argument("--final-lr", type=float, default=1.0, help="share of --lr reached at the end of the run (linear in time)")
args = p.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)
d = run_dir(args.run)
nets = build()
text, timing, unet = nets["text"], nets["timing"], nets["unet"]
text.load_state_dict(load_ckpt("runs/clap/ckpt.pt")["text"])
text.eval()
sc = load_ckpt(f"runs/{args.latents}/scale.pt")
scale, silence = sc["scale"], sc["silence"] / sc["scale"]
specs = train_specs()
T = CONFIG["text"]["max_length"]
FPS = CONFIG["sample_rate"] / CONFIG["downsampling_ratio"]


def load_chunks():
    """All latent chunks cache_latents.py has finished so far (it may still be running)."""
    files = sorted(glob.glob(f"runs/{args.latents}/chunk_*.pt"))
    cks = [torch.load(f) for f in files]
    return torch.cat([c["latents"] for c in cks]), torch.cat([c["index"] for c in cks])


lat, lat_index = load_chunks()
t_reload = time.time()
# Clips that stay the same sound until they stop can be cut shorter in latent space: more durations for free.
cuttable = torch.tensor([s["family"] in ("tone", "chord", "noise", "drums") and s.get("envelope") != "plucked"
                         and s["seconds_start"] == 0 for s in specs])
ids, mask, nums = (torch.from_numpy(a) for a in tokenize_batch([s["caption"] for s in specs], T))
with torch.no_grad():
    feats = torch.cat([text(ids[i:i + 256], mask[i:i + 256], nums[i:i + 256]) for i in range(0, len(specs), 256)]).half()
start = torch.tensor([s["seconds_start"] for s in specs], dtype=torch.float32)
total = torch.tensor([s["seconds_total"] for s in specs], dtype=torch.float32)
print(f"{lat.shape[0]} cached of {len(specs)} clips, scale {scale:.4f}, unet params {sum(p.numel() for p in unet.parameters())}", flush=True)

if args.freeze_head:
    for q in unet.pitch_head.parameters():
        q.requires_grad_(False)
params = [q for q in unet.parameters() if q.requires_grad] + list(timing.parameters())
opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
ema_unet, ema_timing = copy.deepcopy(unet).eval(), copy.deepcopy(timing).eval()
step = 0
ck = load_ckpt(f"{d}/ckpt.pt")
if ck:
    unet.load_state_dict(ck["unet"]), timing.load_state_dict(ck["timing"])
    fresh_opt = "opt" not in ck
    if not fresh_opt:
        try:
            opt.load_state_dict(ck["opt"])
        except ValueError:      # saved for another set of trained parameters (--freeze-head changed)
            fresh_opt = True
    ema_unet.load_state_dict(ck["ema"]), ema_timing.load_state_dict(ck["timing_ema"])
    step = ck["step"]
# a checkpoint without optimizer state (unpack_checkpoint.py) warms the fresh Adam up again
warm_from = step if ck and fresh_opt else 0
log = LossLog(f"{d}/loss.csv", ["loss", "lr", "head_rmse"])
HEAD = CONFIG["unet"].get("pitch_head", False)
head_params = [q for n, q in unet.named_parameters() if n.startswith(("pitch_head.", "pitch_gate.")) and q.requires_grad]
body_params = [q for n, q in unet.named_parameters() if not n.startswith(("pitch_head.", "pitch_gate."))] + list(timing.parameters())
g = torch.Generator().manual_seed(args.seed * 7919 + step)


def save():
    save_ckpt(f"{d}/ckpt.pt", unet=unet.state_dict(), timing=timing.state_dict(), ema=ema_unet.state_dict(),
              timing_ema=ema_timing.state_dict(), opt=opt.state_dict(), step=step, scale=scale)


t_start = time.time()
t_end, t_ck, t0 = t_start + args.minutes * 60, time.time(), time.time()
two = torch.ones(args.batch, 2)
while time.time() < t_end:
    if time.time() - t_reload > 240:
        lat, lat_index = load_chunks()
        t_reload = time.time()
    j = torch.randint(0, lat.shape[0], (args.batch,), generator=g)
    idx = lat_index[j]
    x0 = lat[j].float() / scale
    s_total = total[idx].clone()
    cut = cuttable[idx] & (torch.rand(args.batch, generator=g) < args.cut)
    for b in torch.nonzero(cut).flatten().tolist():
        new_total = 0.5 + float(torch.rand((), generator=g)) * max(0.0, float(s_total[b]) - 0.5)
        k = int(math.ceil(new_total * FPS))
        if k < x0.shape[-1]:
            x0[b, :, k:] = silence[:, None]
            s_total[b] = new_total
    f = feats[idx].float()
    m = mask[idx].float()
    drop = torch.rand(args.batch, generator=g) < args.drop
    f[drop] = 0
    m[drop] = 0
    tok, glob_cond = timing(start[idx], s_total)
    cross = torch.cat([f, tok], 1)
    cmask = torch.cat([m, two], 1)
    t = torch.rand(args.batch, generator=g)
    alpha, sigma = torch.cos(t * math.pi / 2)[:, None, None], torch.sin(t * math.pi / 2)[:, None, None]
    noise = torch.randn(x0.shape, generator=g)
    v_target = alpha * noise - sigma * x0
    xt = alpha * x0 + sigma * noise
    head_rmse = 0.0
    end_frame = ((s_total - start[idx]) * FPS)[:, None, None]
    frame_w = 1.0 + args.end_weight * ((torch.arange(x0.shape[-1])[None, None] - end_frame).abs() <= 2).float()
    if HEAD:
        v, x0p, ph, gate = unet(xt, t, cross, cmask, glob_cond, return_pitch=True)
        # The pitch channel in clean-estimate units, weighted as the v-loss would (1/σ²) but capped at σ = 0.2, so
        # the head's gradient does not blow up at the smallest σ.
        xp = x0[:, -1:]
        w = torch.clamp(sigma.clamp(min=1e-3) ** -2, max=25.0)
        err = torch.cat([frame_w * (v[:, :-1] - v_target[:, :-1]) ** 2, args.pitch_loss_weight * w * (x0p - xp) ** 2], 1)
        target, has_pitch = pitch_target(xp)
        ok = (has_pitch & ~drop).float()
        head = ((ph[:, 0] - target) ** 2 * ok).sum() / ok.sum().clamp(min=1)
        tonal = (xp.abs() > 1e-6).float()
        gate_target = tonal * ((xp - target[:, None, None]).abs() < 0.05).float() * (~drop).float()[:, None, None]
        bce = F.binary_cross_entropy(gate.clamp(1e-6, 1 - 1e-6), gate_target)
        loss = err.mean() + args.head_weight * head + args.gate_weight * bce
        head_rmse = head.item() ** 0.5
    else:
        v = unet(xt, t, cross, cmask, glob_cond)
        err = frame_w * (v - v_target) ** 2
        if CONFIG["vae"].get("pitch_channel"):
            err = torch.cat([err[:, :-1], args.pitch_loss_weight * err[:, -1:]], 1)
        loss = err.mean()
    done = min(1.0, (time.time() - t_start) / (args.minutes * 60))
    lr = args.lr * min(1.0, (step - warm_from + 1) / 200) * (1.0 - (1.0 - args.final_lr) * done)
    for pg in opt.param_groups:
        pg["lr"] = lr
    opt.zero_grad()
    loss.backward()
    if HEAD:      # the fresh head's early gradients must not shrink the trained body's steps
        torch.nn.utils.clip_grad_norm_(body_params, 1.0)
        torch.nn.utils.clip_grad_norm_(head_params, 1.0)
    else:
        torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    step += 1
    decay = min(0.998, (1 + step) / (10 + step))
    with torch.no_grad():
        for e, src in ((ema_unet, unet), (ema_timing, timing)):
            for pe, ps in zip(e.parameters(), src.parameters()):
                pe.mul_(decay).add_(ps, alpha=1 - decay)
    log.log(step, [loss.item(), lr, head_rmse])
    if step % 25 == 0:
        print(f"step {step} loss {loss.item():.4f} head rmse {head_rmse:.4f} {(time.time() - t0) / 25:.2f}s/step", flush=True)
        t0 = time.time()
    if time.time() - t_ck > 180:
        save()
        t_ck = time.time()
save()
print("done", step, flush=True)
