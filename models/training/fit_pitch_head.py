"""Fits the U-Net's pitch head (chorus.unet.PitchHead) alone, on the cached latents, and writes it into a U-Net run.

  /usr/bin/python3 fit_pitch_head.py --run unet_h [--latents latents] [--minutes 8]
The head maps the prompt's text tokens (frozen text encoder) to the pitch channel's clean value. Its target is
each training clip's mean pitch-channel value over its tonal frames (chorus.unet.pitch_target).
Fitted on those alone (about 4,300 captions) it learns the captions by heart: 2 % median error on captions it did
not see. So it also sees --extra-tones more tone captions drawn from the same grammar (another seed, the same
held-out bands), whose target is known without rendering: a tone's strongest partial is its fundamental, which
the pitch channel reads to within 1 Hz (test_reference.py). It is small and its inputs are fixed, so it fits in
minutes here, where inside train_unet.py it learns only at the U-Net's pace. Prints the error per family on the last 10 % of clips (not fitted) and on the held-out eval prompts,
then replaces pitch_head.* in the run's unet and ema weights (the rest of the checkpoint is kept).
"""
import argparse
import glob
import math
import time
import torch
from chorus.common import load_ckpt, save_ckpt
from chorus import data
from chorus.config import CONFIG, build
from chorus.evalset import EVAL_CAPTIONS, EVAL_PROMPTS, TRAIN_SEED, train_specs
from chorus.tokenizer import tokenize_batch
from chorus.unet import pitch_target
from chorus.vae import PITCH_GAIN

p = argparse.ArgumentParser()
p.add_argument("--run", default="unet")
p.add_argument("--latents", default="latents")
p.add_argument("--minutes", type=float, default=8)
p.add_argument("--lr", type=float, default=1e-3)
p.add_argument("--batch", type=int, default=256)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--extra-tones", type=int, default=20000)
args = p.parse_args()
assert CONFIG["unet"].get("pitch_head"), "the pitch head needs the pitch channel (CHORUS_PITCH_CHANNEL is 0)"
torch.set_num_threads(args.threads)
torch.manual_seed(0)
nets = build()
text, unet = nets["text"], nets["unet"]
text.load_state_dict(load_ckpt("runs/clap/ckpt.pt")["text"])
path = f"runs/{args.run}/ckpt.pt"
ck = load_ckpt(path)
unet.load_state_dict(ck["ema"])
head = unet.pitch_head
scale = load_ckpt(f"runs/{args.latents}/scale.pt")["scale"]
T = CONFIG["text"]["max_length"]


def cond(captions):
    ids, mask, nums = (torch.from_numpy(a) for a in tokenize_batch(captions, T))
    with torch.no_grad():
        f = torch.cat([text(ids[i:i + 256], mask[i:i + 256], nums[i:i + 256]) for i in range(0, len(captions), 256)])
    return f, mask.float()


specs = train_specs()
targets, index = [], []
for f in sorted(glob.glob(f"runs/{args.latents}/chunk_*.pt")):
    c = torch.load(f)
    xp = c["latents"][:, -1].float() / scale
    mean, keep = pitch_target(xp)
    targets.append(mean[keep])
    index.append(c["index"][keep])
target, index = torch.cat(targets), torch.cat(index)
sp = [specs[i] for i in index.tolist()]
n_fit = int(len(sp) * 0.9)
extra = []
if args.extra_tones:
    extra = [s for s in data.make_dataset(int(args.extra_tones / 0.36), TRAIN_SEED + 1000, exclude_captions=EVAL_CAPTIONS)
             if s["family"] == "tone"][: args.extra_tones]
extra_target = torch.tensor([PITCH_GAIN * math.log2(s["freq"] / 440.0) / scale for s in extra])
# unfitted (last 10 % of the cached clips) stay at the end
sp = sp[:n_fit] + extra + sp[n_fit:]
target = torch.cat([target[:n_fit], extra_target, target[n_fit:]])
x, m = cond([s["caption"] for s in sp])
x = x.half()
n_fit += len(extra)
print(f"{len(sp)} captions with a pitch ({len(extra)} extra tones); fitting on {n_fit}", flush=True)

opt = torch.optim.AdamW(head.parameters(), lr=args.lr, weight_decay=0.01)
g = torch.Generator().manual_seed(1)
t_end, step, t0 = time.time() + args.minutes * 60, 0, time.time()
while time.time() < t_end:
    j = torch.randint(0, n_fit, (args.batch,), generator=g)
    loss = ((head(x[j].float(), m[j])[:, 0] - target[j]) ** 2).mean()
    lr = args.lr * (1.0 - min(1.0, (time.time() - t0) / (args.minutes * 60))) + 1e-5
    for pg in opt.param_groups:
        pg["lr"] = lr
    opt.zero_grad()
    loss.backward()
    opt.step()
    step += 1
    if step % 500 == 0:
        print(f"step {step} rmse {loss.item() ** 0.5:.4f}", flush=True)


def percent(pred, tgt):
    return (torch.pow(2.0, (pred - tgt) * scale / PITCH_GAIN) - 1).abs() * 100


with torch.no_grad():
    err = percent(head(x[n_fit:].float(), m[n_fit:])[:, 0], target[n_fit:])
for fam in sorted({s["family"] for s in sp[n_fit:]}):
    e = torch.tensor([v for v, s in zip(err.tolist(), sp[n_fit:]) if s["family"] == fam])
    print(f"unfitted clips, {fam}: {len(e)}, median error {e.median():.2f} %, within 3 % {(e < 3).sum()}/{len(e)}")
asked = [q for q in EVAL_PROMPTS if q["family"] == "tone"]
xe, me = cond([q["caption"] for q in asked])
with torch.no_grad():
    hz = 440 * torch.pow(2.0, head(xe, me)[:, 0] * scale / PITCH_GAIN)
for q, h in zip(asked, hz.tolist()):
    print(f"eval prompt {q['caption']!r}: head {h:.1f} Hz, asked {q['freq']:.1f} ({(h / q['freq'] - 1) * 100:+.1f} %)")
fitted = {f"pitch_head.{k}": v for k, v in head.state_dict().items()}
for key in ("unet", "ema"):
    ck[key].update({k: v.clone() for k, v in fitted.items()})
save_ckpt(path, **ck)
print(f"wrote the fitted head into {path} (unet and ema), step {ck['step']}")
