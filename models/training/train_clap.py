"""CLAP-style contrastive training of the text encoder against a log-mel audio encoder.

  /usr/bin/python3 train_clap.py --run clap [--minutes 20]
Also a small auxiliary regression (log pitch, log bpm, pan, loudness) from the text's penultimate
features, so the conditioning keeps the numbers the U-Net needs.
"""
import argparse
import math
import os
import time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from chorus import data
from chorus.common import run_dir, save_ckpt, load_ckpt, LossLog
from chorus.config import CONFIG, build
from chorus.evalset import train_specs
from chorus.text_encoder import log_mel
from chorus.tokenizer import tokenize_batch

p = argparse.ArgumentParser()
p.add_argument("--run", default="clap")
p.add_argument("--minutes", type=float, default=20)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--lr", type=float, default=5e-4)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--seed", type=int, default=3)
args = p.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)
d = run_dir(args.run)
specs = train_specs()


def targets(s):
    """[log2(f/440), log2(bpm/120), pan, loudness] and which of them apply."""
    f = s.get("freq") or (math.sqrt(s["f0"] * s["f1"]) if "f0" in s else None)
    y = [math.log2(f / 440) if f else 0, math.log2(s["bpm"] / 120) if "bpm" in s else 0,
         data.PLACEMENT[s.get("placement")] * 2 - 1, {"quiet": -1, None: 0, "loud": 1}[s.get("loudness")]]
    return y, [1.0 if f else 0.0, 1.0 if "bpm" in s else 0.0, 1.0, 1.0]


mel_path = f"{d}/mels.pt"
if os.path.exists(mel_path):
    mels = torch.load(mel_path)
else:
    mels = []
    t0 = time.time()
    for i, s in enumerate(specs):
        a = torch.from_numpy(data.render(s))[None]
        mels.append(log_mel(a)[0].half())
        if i % 500 == 0:
            print("mel", i, f"{time.time() - t0:.0f}s", flush=True)
    mels = torch.stack(mels)
    torch.save(mels, mel_path)
ids, mask, nums = (torch.from_numpy(a) for a in tokenize_batch([s["caption"] for s in specs], CONFIG["text"]["max_length"]))
tg = torch.tensor([targets(s)[0] for s in specs])
tm = torch.tensor([targets(s)[1] for s in specs])

nets = build()
text, audio = nets["text"], nets["audio"]
aux = nn.Linear(CONFIG["text"]["dim"], 4)
logit_scale = nn.Parameter(torch.tensor(math.log(10.0)))
params = list(text.parameters()) + list(audio.parameters()) + list(aux.parameters()) + [logit_scale]
opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
step = 0
ck = load_ckpt(f"{d}/ckpt.pt")
if ck:
    text.load_state_dict(ck["text"]), audio.load_state_dict(ck["audio"]), aux.load_state_dict(ck["aux"])
    logit_scale.data.fill_(ck["logit_scale"]), opt.load_state_dict(ck["opt"])
    step = ck["step"]
log = LossLog(f"{d}/loss.csv", ["loss", "contrastive", "aux", "acc"])
rng = np.random.default_rng(args.seed + step)
t_end, t_ck, t0 = time.time() + args.minutes * 60, time.time(), time.time()
n_val = 256
while time.time() < t_end:
    idx = torch.from_numpy(rng.integers(n_val, len(specs), args.batch))
    tmax = int(mask[idx].sum(1).max())             # trim shared padding: cheaper, same result
    bi, bm, bn = ids[idx, :tmax], mask[idx, :tmax], nums[idx, :tmax]
    states, mf = text.hidden(bi, bm, bn)
    te = text.clap_pool(states[-1], mf)
    ae = audio(mels[idx].float())
    logits = te @ ae.t() * logit_scale.exp().clamp(max=100)
    lab = torch.arange(len(idx))
    con = (F.cross_entropy(logits, lab) + F.cross_entropy(logits.t(), lab)) / 2
    feats = states[-2] * mf.unsqueeze(-1)
    m = mf.unsqueeze(-1)
    pooled = (feats * m).sum(1) / m.sum(1)
    auxl = ((aux(pooled) - tg[idx]) ** 2 * tm[idx]).sum() / tm[idx].sum()
    loss = con + auxl
    opt.zero_grad()
    loss.backward()
    opt.step()
    step += 1
    acc = (logits.argmax(1) == lab).float().mean().item()
    log.log(step, [loss.item(), con.item(), auxl.item(), acc])
    if step % 25 == 0:
        print(f"step {step} loss {loss.item():.3f} con {con.item():.3f} aux {auxl.item():.3f} acc {acc:.2f} "
              f"{(time.time() - t0) / 25:.2f}s/step", flush=True)
        t0 = time.time()
    if time.time() - t_ck > 180:
        save_ckpt(f"{d}/ckpt.pt", text=text.state_dict(), audio=audio.state_dict(), aux=aux.state_dict(),
                  logit_scale=logit_scale.item(), opt=opt.state_dict(), step=step)
        t_ck = time.time()
save_ckpt(f"{d}/ckpt.pt", text=text.state_dict(), audio=audio.state_dict(), aux=aux.state_dict(),
          logit_scale=logit_scale.item(), opt=opt.state_dict(), step=step)
print("done", step, flush=True)
