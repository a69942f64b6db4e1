"""THE one way the shipped model is made: models/chorus-tiny/{model.json, *.onnx, golden/}.

  /usr/bin/python3 export.py [--out ../chorus-tiny] [--untrained]

Weights come from the newest checkpoints in runs/: the decoder run named by $CHORUS_VAE_RUN (default vae_dec),
clap, and the EMA of the U-Net run named by $CHORUS_UNET_RUN (default unet). A part that runs/ lacks (a fresh clone:
runs/ is git-ignored) comes from the committed weights-only checkpoint, checkpoints/chorus-tiny-weights-fp16.pt;
only --untrained exports the seeded init.
"""
import argparse
import json
import os
import shutil
import numpy as np
import torch
from chorus import prng
from chorus.common import RUNS, load_ckpt
from chorus.config import CONFIG, build
from chorus.sampling import generate_latents, schedule, unguided_channels
from chorus.tokenizer import tokenize, tokenize_batch
from chorus.vae import ScaledDecoder, ScaledEncoder

VERSION = "0.4.0"
DEFAULTS = {"steps": 30, "sampler": "dpmpp-3m-sde", "cfg_scale": 1.5, "schedule": "polyexponential",
            "sigma_min": 0.03, "sigma_max": 80.0, "rho": 1.0}


COMMITTED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "checkpoints", "chorus-tiny-weights-fp16.pt")


def load_vae_run(run, scale=None):
    """The VAE of runs/<run>/ckpt.pt (its EMA weights, else its model), in eval mode; with `scale`, the latent scale
    the exported graphs bake in. Returns (vae, step)."""
    ck = load_ckpt(os.path.join(RUNS, run, "ckpt.pt"))
    if ck is None:
        raise SystemExit(f"no checkpoint at runs/{run}/ckpt.pt")
    vae = build()["vae"]
    vae.load_state_dict({k: v.float() for k, v in ck.get("ema", ck["model"]).items() if not k.endswith(".basis")})
    if scale is not None:
        vae.latent_scale.fill_(scale)
    return vae.eval(), ck.get("step")


def load_nets(untrained=False):
    torch.manual_seed(0)
    nets = build()
    used = {}
    if not untrained:
        vae_run = os.environ.get("CHORUS_VAE_RUN", "vae_dec")
        unet_run = os.environ.get("CHORUS_UNET_RUN", "unet")
        for part, run, key in [("vae", vae_run, "ema"), ("vae", vae_run, "model"), ("text", "clap", "text"),
                               ("unet", unet_run, "ema"), ("timing", unet_run, "timing_ema")]:
            if part in used:
                continue
            ck = load_ckpt(os.path.join(RUNS, run, "ckpt.pt"))
            if ck and key in ck:
                state = {k: v for k, v in ck[key].items() if not k.endswith(".basis")}   # older VAE checkpoints
                nets[part].load_state_dict(state)
                used[part] = f"{run} step {ck.get('step')}"
        scale = load_ckpt(os.path.join(RUNS, "latents", "scale.pt"))
        if scale is not None and "vae" in used:
            nets["vae"].latent_scale.fill_(float(scale["scale"]))
            used["latent_scale"] = float(scale["scale"])
        committed = load_ckpt(COMMITTED) if len(used) < 5 else None
        if committed:
            f32 = lambda sd: {k: v.float() if v.is_floating_point() else v for k, v in sd.items()}
            step = committed.get("unet_step")
            for part, key in [("vae", "vae"), ("text", "text"), ("unet", "unet_ema"), ("timing", "timing_ema")]:
                if part not in used:
                    nets[part].load_state_dict(f32(committed[key]))
                    used[part] = f"checkpoints/chorus-tiny-weights-fp16.pt ({key}, unet step {step})"
            if "latent_scale" not in used:
                nets["vae"].latent_scale.fill_(float(committed["latent_scale"]))
                used["latent_scale"] = float(committed["latent_scale"])
    if "unet" not in used:
        # zero-initialised output layer would make v ≡ 0; small random weights keep golden tests meaningful
        torch.nn.init.normal_(nets["unet"].out[-1].weight, std=0.02)
    for n in nets.values():
        n.eval()
    return nets, used


def manifest():
    c = CONFIG
    return {
        "name": "chorus-tiny",
        "version": VERSION,
        "sample_rate": c["sample_rate"],
        "channels": c["channels"],
        "latent_channels": c["latent_channels"],
        "downsampling_ratio": c["downsampling_ratio"],
        "window_frames": c["window_frames"],
        "tokenizer": {"kind": "byte", "file": None, "max_length": c["text"]["max_length"], "numeric_features": True},
        "text_encoder": {"file": "text_encoder.onnx", "dim": c["text"]["dim"],
                         "inputs": {"ids": "input_ids", "mask": "attention_mask", "numbers": "numbers"},
                         "outputs": {"features": "features"}},
        "timing": {"file": "timing.onnx", "seconds_start": c["timing"]["seconds_start"],
                   "seconds_total": c["timing"]["seconds_total"], "global_dim": c["timing"]["global_dim"],
                   "inputs": {"seconds_start": "seconds_start", "seconds_total": "seconds_total"},
                   "outputs": {"tokens": "timing_tokens", "global": "global_cond"}},
        "diffusion": {"file": "unet.onnx", "objective": "v",
                      "inputs": {"x": "x", "t": "t", "cross_attn_cond": "cross_attn_cond",
                                 "cross_attn_mask": "cross_attn_mask", "global_cond": "global_cond"},
                      "outputs": {"v": "v"}, **({"unguided_channels": unguided_channels(c)} if unguided_channels(c) else {})},
        # lookahead_frames: latent frames right of a sample that reach it (the decoder's receptive field: a 3-tap conv,
        # two stride-2 transposed convs with dilated residual units, then the 2048/512 iSTFT); min_frames: the
        # shortest partial decode that onnxruntime's CPU kernels reproduce within 1e-4 (libs/inference pipeline.spec).
        "vae": {"decoder": {"file": "vae_decoder.onnx", "inputs": {"latent": "latent"}, "outputs": {"audio": "audio"},
                            "lookahead_frames": 8, "min_frames": 65},
                "encoder": {"file": "vae_encoder.onnx", "inputs": {"audio": "audio"}, "outputs": {"latent": "latent"}}},
        "defaults": DEFAULTS,
    }


def export_onnx(nets, out):
    c = CONFIG
    T, D, C, L = c["text"]["max_length"], c["text"]["dim"], c["latent_channels"], c["window_frames"]
    B = 2
    ids, mask, nums = (torch.from_numpy(a) for a in tokenize_batch(["a sine tone at 440 hz", "white noise"], T))
    jobs = [
        ("text_encoder.onnx", nets["text"], (ids, mask, nums), ["input_ids", "attention_mask", "numbers"], ["features"],
         {"input_ids": {0: "batch"}, "attention_mask": {0: "batch"}, "numbers": {0: "batch"}, "features": {0: "batch"}}),
        ("timing.onnx", nets["timing"], (torch.tensor([0.0, 1.0]), torch.tensor([4.0, 10.0])),
         ["seconds_start", "seconds_total"], ["timing_tokens", "global_cond"],
         {"seconds_start": {0: "batch"}, "seconds_total": {0: "batch"}, "timing_tokens": {0: "batch"}, "global_cond": {0: "batch"}}),
        ("unet.onnx", nets["unet"], (torch.randn(B, C, L), torch.rand(B), torch.randn(B, T + 2, D), torch.ones(B, T + 2),
                                     torch.randn(B, c["timing"]["global_dim"])),
         ["x", "t", "cross_attn_cond", "cross_attn_mask", "global_cond"], ["v"],
         {k: {0: "batch"} for k in ["x", "t", "cross_attn_cond", "cross_attn_mask", "global_cond", "v"]}),
        ("vae_decoder.onnx", ScaledDecoder(nets["vae"]).eval(), (torch.randn(1, C, 8),), ["latent"], ["audio"],
         {"latent": {0: "batch", 2: "frames"}, "audio": {0: "batch", 2: "samples"}}),
        ("vae_encoder.onnx", ScaledEncoder(nets["vae"]).eval(), (torch.randn(1, 2, 8 * c["downsampling_ratio"]),), ["audio"], ["latent"],
         {"audio": {0: "batch", 2: "samples"}, "latent": {0: "batch", 2: "frames"}}),
    ]
    nets["vae"].set_onnx(True)       # STFT / iSTFT as fixed-weight convolutions inside the graphs
    for name, mod, args, inames, onames, axes in jobs:
        # VAE graphs: no constant folding, so the DFT bases stay small Range/Cos subgraphs instead of 16 MB weights
        torch.onnx.export(mod, args, os.path.join(out, name), input_names=inames, output_names=onames,
                          dynamic_axes=axes, opset_version=17, do_constant_folding=not name.startswith("vae_"))
    nets["vae"].set_onnx(False)


GOLDEN_CASES = [
    {"name": "sine440_euler", "prompt": "a sine tone at 440 Hz", "negative_prompt": "", "seconds_start": 0.0,
     "seconds_total": 4.0, "seed": 42, "sampler": "euler", "steps": 6, "cfg_scale": 6.0, "schedule": "polyexponential"},
    {"name": "chord_dpmpp2m_negative", "prompt": "a loud c4 major chord, panned left", "negative_prompt": "white noise",
     "seconds_start": 0.0, "seconds_total": 7.5, "seed": 7, "sampler": "dpmpp-2m", "steps": 8, "cfg_scale": 4.0,
     "schedule": "polyexponential"},
    {"name": "drums_3msde", "prompt": "a kick drum at 120 bpm", "negative_prompt": "", "seconds_start": 2.0,
     "seconds_total": 10.0, "seed": 4294967295, "sampler": "dpmpp-3m-sde", "steps": 8, "cfg_scale": 6.0,
     "schedule": "polyexponential"},
    {"name": "noise_3msde_karras", "prompt": "pink noise in the right", "negative_prompt": "", "seconds_start": 0.0,
     "seconds_total": 3.0, "seed": 123456, "sampler": "dpmpp-3m-sde", "steps": 5, "cfg_scale": 3.0,
     "schedule": "karras", "rho": 7.0},
]
# one batched case: two items in one batch must equal the same items run alone (per-item generators)
GOLDEN_BATCH = {"name": "batch2_dpmpp2m", "prompts": ["a square wave at 220 hz", "a rising sweep from 200 hz to 800 hz"],
                "negative_prompt": "", "seconds_start": [0.0, 0.0], "seconds_total": [2.0, 6.0], "seeds": [1, 2],
                "sampler": "dpmpp-2m", "steps": 4, "cfg_scale": 5.0, "schedule": "polyexponential"}
TOKENIZER_CASES = ["a sine tone at 440 Hz", "A Loud C#4 Major Chord, panned LEFT", "kick at 120.5 bpm then 3 and 4.25.",
                   "", "ünïcode 12 ✓", "x" * 100 + " 99"]


def write_golden(nets, out):
    g = os.path.join(out, "golden")
    os.makedirs(g, exist_ok=True)
    c = CONFIG
    T = c["text"]["max_length"]
    d = DEFAULTS
    cases = []
    for case in GOLDEN_CASES:
        lat, sig = generate_latents(nets, c, [case["prompt"]], [case["seed"]], [case["seconds_start"]],
                                    [case["seconds_total"]], case["steps"], case["sampler"], case["cfg_scale"],
                                    [case["negative_prompt"]], case["schedule"], d["sigma_min"], d["sigma_max"],
                                    case.get("rho", 1.0))
        fname = f"{case['name']}.latent.npy"
        np.save(os.path.join(g, fname), lat[0].numpy().astype(np.float32))
        cases.append({**case, "sigma_min": d["sigma_min"], "sigma_max": d["sigma_max"], "rho": case.get("rho", 1.0),
                      "sigmas": [float(s) for s in sig], "latent_file": fname, "latent_shape": list(lat[0].shape),
                      "latent_first8": [float(v) for v in lat[0].reshape(-1)[:8]],
                      "latent_mean_abs": float(lat.abs().mean())})
    b = GOLDEN_BATCH
    lat, sig = generate_latents(nets, c, b["prompts"], b["seeds"], b["seconds_start"], b["seconds_total"], b["steps"],
                                b["sampler"], b["cfg_scale"], [b["negative_prompt"]] * 2, b["schedule"],
                                d["sigma_min"], d["sigma_max"], 1.0)
    np.save(os.path.join(g, f"{b['name']}.latent.npy"), lat.numpy().astype(np.float32))
    batch = {**b, "sigma_min": d["sigma_min"], "sigma_max": d["sigma_max"], "rho": 1.0, "sigmas": [float(s) for s in sig],
             "latent_file": f"{b['name']}.latent.npy", "latent_shape": list(lat.shape)}
    # conditioning intermediates of case 0, to debug the graphs one at a time
    c0 = GOLDEN_CASES[0]
    ids, mask, nums = (torch.from_numpy(a[None]) for a in tokenize(c0["prompt"], T))
    with torch.no_grad():
        feats = nets["text"](ids, mask, nums)
        tok, glob = nets["timing"](torch.tensor([c0["seconds_start"]]), torch.tensor([c0["seconds_total"]]))
        x = torch.from_numpy(prng.noise(c0["seed"], 0, (c["latent_channels"], c["window_frames"])))[None]
        cross = torch.cat([feats, tok], 1)
        cmask = torch.cat([mask.float(), torch.ones(1, 2)], 1)
        v = nets["unet"](x, torch.tensor([0.5]), cross, cmask, glob)
        audio = nets["vae"].decode(x[:, :, :4])
    for name, arr in [("case0.text_features", feats[0]), ("case0.timing_tokens", tok[0]), ("case0.global_cond", glob[0]),
                      ("case0.unet_v_at_t0.5_x_stream0", v[0]), ("case0.vae_decode_first4frames_of_x", audio[0])]:
        np.save(os.path.join(g, f"{name}.npy"), arr.numpy().astype(np.float32))
    toks = []
    for p in TOKENIZER_CASES:
        i, m, n = tokenize(p, T)
        toks.append({"prompt": p, "input_ids": i.tolist(), "attention_mask": m.tolist(), "numbers": n.tolist()})
    noise = [{"seed": s, "stream": st, "first": [float(v) for v in prng.normals(s, st, 12).astype(np.float32)],
              "words_block0": [int(w[0]) for w in prng.philox_words(s, st, 1)]}
             for s in (0, 1, 42, 4294967295) for st in (0, 1, 7)]
    doc = {
        "about": "Golden vectors from the PyTorch reference sampler (models/training/chorus/sampling.py) on the PyTorch "
                 "model; the ONNX graphs + TypeScript sampler must reproduce latents within 1e-4.",
        "cases": cases, "batch_case": batch,
        "intermediates": {"case": c0["name"], "unet_input": "x = noise(seed, stream 0), t = 0.5, cond/mask/global of case 0",
                          "files": ["case0.text_features.npy", "case0.timing_tokens.npy", "case0.global_cond.npy",
                                    "case0.unet_v_at_t0.5_x_stream0.npy", "case0.vae_decode_first4frames_of_x.npy"]},
        "tokenizer": toks,
        "philox_kat": {"counter": [0, 0, 0, 0], "key": [0, 0], "words": ["6627e8d5", "e169c58d", "bc57ac4c", "9b00dbd8"]},
        "noise": noise,
    }
    with open(os.path.join(g, "golden.json"), "w") as f:
        json.dump(doc, f, indent=1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "chorus-tiny"))
    p.add_argument("--untrained", action="store_true")
    p.add_argument("--no-golden", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(1)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    nets, used = load_nets(args.untrained)
    print("weights:", used or "untrained")
    m = manifest()
    m["provenance"] = {k: str(v) for k, v in used.items()} or {"weights": "untrained (seeded init)"}
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(m, f, indent=2)
    export_onnx(nets, out)
    if not args.no_golden:
        if os.path.isdir(os.path.join(out, "golden")):
            shutil.rmtree(os.path.join(out, "golden"))
        write_golden(nets, out)
    for fn in sorted(os.listdir(out)):
        pth = os.path.join(out, fn)
        if os.path.isfile(pth):
            print(f"{fn:24s} {os.path.getsize(pth) / 1e6:7.2f} MB")


if __name__ == "__main__":
    main()
