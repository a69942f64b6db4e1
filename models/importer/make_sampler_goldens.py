#!/usr/bin/env python3
"""Goldens for the TypeScript samplers and guidance, made by UPSTREAM code, not ours.

Runs, from a stable-audio-tools checkout (and a k-diffusion checkout) fetched into models/importer/.upstream/
(git-ignored, never committed):
  - stable_audio_tools/inference/sampling.py: `sample_rf` with sampler_type "pingpong" and "euler" (the logSNR
    schedule it builds, as generate_diffusion_cond runs SAO Small), and `sample_flow_pingpong` called without sigmas
    with a `DistributionShift` (the linspace schedule and its shift);
  - `sample_k` with "dpmpp-2m" (k-diffusion's VDenoiser, get_sigmas_polyexponential, sample_dpmpp_2m: SAO 1.0's path);
  - stable_audio_tools/models/dit.py: `DiffusionTransformer.forward`'s classifier-free guidance, with the network
    (`_forward`) replaced by a small deterministic toy.
The network is a toy, `toy_v` below, that libs/inference/src/upstream-sampler.spec.ts implements again. Random draws
are recorded: `torch.randn_like` is patched to hand out pre-drawn tensors, saved beside the trajectories.

Shims (torch 1.13 here, no PyPI): `tqdm`, `einops`, `scipy`, `torchdiffeq`, `torchsde`, `PIL`, `safetensors` and
`torchvision` are stand-in modules (nothing this script calls uses them); the upstream packages are imported as bare
packages so their `__init__` does not pull in everything; DiT submodules `.blocks`/`.transformer` are stand-ins
(forward's guidance code does not touch them).

Usage: /usr/bin/python3 models/importer/make_sampler_goldens.py [--upstream models/importer/.upstream]
Writes models/importer/golden/sampler/*.npy and index.json.
"""
import argparse
import importlib.util
import json
import math
import sys
import types
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
OUT = HERE / "golden" / "sampler"

C, L = 4, 16  # toy latent: channels, frames
S, D, G = 5, 3, 2  # toy cross-attention tokens, token dim, global dim


class _Anything(types.ModuleType):
    """A stand-in module: any attribute is a do-nothing callable/class."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Anything(name)

    def __call__(self, *args, **kwargs):
        return args[0] if args else None


def install_shims():
    tqdm = types.ModuleType("tqdm")
    tqdm.trange = lambda n, *a, **k: range(n)
    tqdm.tqdm = lambda it=None, *a, **k: it
    tqdm.auto = tqdm
    sys.modules["tqdm"] = tqdm
    sys.modules["tqdm.auto"] = tqdm
    for name in ["einops", "scipy", "scipy.integrate", "torchdiffeq", "torchsde", "PIL", "PIL.Image", "safetensors",
                 "safetensors.torch", "torchvision", "torchvision.transforms", "torchvision.transforms.functional"]:
        sys.modules[name] = _Anything(name)


def bare_package(name, path):
    pkg = types.ModuleType(name)
    pkg.__path__ = [str(path)]
    sys.modules[name] = pkg
    return pkg


def load(name, file):
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_upstream(root: Path):
    install_shims()
    kd = root / "k-diffusion" / "k_diffusion"
    bare_package("k_diffusion", kd)
    load("k_diffusion.utils", kd / "utils.py")
    k_sampling = load("k_diffusion.sampling", kd / "sampling.py")
    k_external = load("k_diffusion.external", kd / "external.py")
    sys.modules["k_diffusion"].sampling = k_sampling
    sys.modules["k_diffusion"].external = k_external
    sys.modules["k_diffusion"].utils = sys.modules["k_diffusion.utils"]

    sat = root / "stable_audio_tools"
    bare_package("stable_audio_tools", sat)
    bare_package("stable_audio_tools.inference", sat / "inference")
    bare_package("stable_audio_tools.models", sat / "models")
    blocks = types.ModuleType("stable_audio_tools.models.blocks")
    blocks.FourierFeatures = object
    transformer = types.ModuleType("stable_audio_tools.models.transformer")
    transformer.ContinuousTransformer = object
    sys.modules[blocks.__name__] = blocks
    sys.modules[transformer.__name__] = transformer
    sampling = load("stable_audio_tools.inference.sampling", sat / "inference" / "sampling.py")
    dit = load("stable_audio_tools.models.dit", sat / "models" / "dit.py")
    return sampling, dit


def toy_v(x, t):
    """The toy network, v[b,c,l] = tanh(0.8·x[b,c,l] + 0.3·x[b,(c+1)%C,l]) + 0.5·sin(3t + 0.7c + 0.2l) · (1 − 0.5t)."""
    c = torch.arange(x.shape[1], dtype=torch.float64)[None, :, None]
    l = torch.arange(x.shape[2], dtype=torch.float64)[None, None, :]
    tt = t.to(torch.float64)[:, None, None]
    xd = x.to(torch.float64)
    out = torch.tanh(0.8 * xd + 0.3 * torch.roll(xd, -1, dims=1)) + 0.5 * torch.sin(3 * tt + 0.7 * c + 0.2 * l) * (1 - 0.5 * tt)
    return out.to(torch.float32)


class RecordedNoise:
    """Patches torch.randn_like to hand out draws it records, one per call, in order."""

    def __init__(self, seed):
        self.gen = torch.Generator().manual_seed(seed)
        self.draws = []
        self._orig = torch.randn_like

    def __enter__(self):
        def randn_like(x, *a, **k):
            z = torch.randn(x.shape, generator=self.gen, dtype=x.dtype)
            self.draws.append(z.clone())
            return z

        torch.randn_like = randn_like
        return self

    def __exit__(self, *exc):
        torch.randn_like = self._orig


def trajectory_of(run, start=None):
    """x at the start of every step and the result: [steps + 1, B, C, L]. Most upstream samplers call back before
    their update; `sample_discrete_euler` calls back after it, so for it pass `start` (the first x)."""
    xs, ts = [], []

    def callback(info):
        xs.append(info["x"].clone())
        ts.append(float(info["sigma"]))

    final = run(callback)
    if start is None:
        return torch.stack(xs + [final]), ts
    assert torch.equal(xs[-1], final)
    return torch.stack([start] + xs), ts


def save(name, array):
    np.save(OUT / f"{name}.npy", np.ascontiguousarray(array.detach().numpy().astype(np.float32)))
    return f"{name}.npy"


def sampler_cases(sampling):
    cases = []
    torch.manual_seed(1234)
    noise = torch.randn([2, C, L])

    def model(x, t, **extra):
        return toy_v(x, t)

    # SAO Small's path: generate_diffusion_cond → sample_rf(..., sampler_type="pingpong"), logSNR times.
    for sampler_type, steps, sigma_max in [("pingpong", 8, 1.0), ("euler", 6, 1.0), ("pingpong", 5, 0.7)]:
        with RecordedNoise(99) as rec:
            traj, ts = trajectory_of(lambda cb: sampling.sample_rf(model, noise, steps=steps, sampler_type=sampler_type,
                                                                    sigma_max=sigma_max, device="cpu", callback=cb),
                                     start=noise if sampler_type == "euler" else None)
        name = f"rf_{sampler_type}_{steps}_{sigma_max}"
        entry = {"name": name, "kind": "sample_rf", "sampler": sampler_type, "steps": steps, "sigma_max": sigma_max,
                 "schedule": "rf_logsnr", "times": ts + [0.0], "start": save(f"{name}.start", noise),
                 "trajectory": save(f"{name}.trajectory", traj)}
        if rec.draws:
            entry["noise"] = save(f"{name}.noise", torch.stack(rec.draws))
        cases.append(entry)

    # sample_flow_pingpong without sigmas: linspace(sigma_max, 0, steps + 1), then the distribution shift.
    shift = {"base_shift": 0.5, "max_shift": 1.15, "min_length": 8, "max_length": 64, "use_sine": False}
    dist = sampling.DistributionShift(**shift)
    with RecordedNoise(7) as rec:
        traj, ts = trajectory_of(lambda cb: sampling.sample_flow_pingpong(model, noise.clone(), steps=8, sigma_max=1,
                                                                           dist_shift=dist, callback=cb))
    name = "rf_linear_shift_pingpong_8"
    cases.append({"name": name, "kind": "sample_flow_pingpong", "sampler": "pingpong", "steps": 8, "sigma_max": 1.0,
                  "schedule": "rf_linear", "dist_shift": shift, "latent_length": L, "times": ts + [0.0],
                  "start": save(f"{name}.start", noise), "trajectory": save(f"{name}.trajectory", traj),
                  "noise": save(f"{name}.noise", torch.stack(rec.draws))})

    # SAO 1.0's path: sample_k → VDenoiser + get_sigmas_polyexponential + dpmpp-2m (deterministic).
    steps, sigma_min, sigma_max = 10, 0.3, 500.0
    traj, sigmas = trajectory_of(lambda cb: sampling.sample_k(model, noise, steps=steps, sampler_type="dpmpp-2m",
                                                              sigma_min=sigma_min, sigma_max=sigma_max, rho=1.0,
                                                              device="cpu", callback=cb))
    name = "v_dpmpp-2m_10"
    cases.append({"name": name, "kind": "sample_k", "sampler": "dpmpp-2m", "steps": steps, "sigma_min": sigma_min,
                  "sigma_max": sigma_max, "rho": 1.0, "schedule": "polyexponential", "times": sigmas + [0.0],
                  "start": save(f"{name}.start", noise), "trajectory": save(f"{name}.trajectory", traj)})
    return cases


def toy_forward_weights():
    g = torch.Generator().manual_seed(5)
    # Drawn in float32 (the values the .npy files hold), used in float64.
    return {k: torch.randn(shape, generator=g).double() for k, shape in [("w", [S, D]), ("p", [C]), ("u", [G]), ("q", [L])]}


def make_toy_forward(weights, calls):
    """A DiT-shaped toy for `_forward`: every cross-attention token, the global vector, x and t move the output.
    out[b,c,l] = tanh(x[b,c,l]·(1 + 0.1c) + s_b·p_c + g_b·q_l + t_b), s_b = Σ w[s,d]·cond[b,s,d], g_b = Σ u_d·global[b,d]."""

    def _forward(x, t, cross_attn_cond=None, global_embed=None, **kwargs):
        calls.append(int(x.shape[0]))
        xd = x.to(torch.float64)
        c = torch.arange(x.shape[1], dtype=torch.float64)[None, :, None]
        s = (cross_attn_cond.to(torch.float64) * weights["w"][None]).sum(dim=(1, 2))
        gv = (global_embed.to(torch.float64) * weights["u"][None]).sum(dim=1)
        out = torch.tanh(xd * (1 + 0.1 * c) + s[:, None, None] * weights["p"][None, :, None]
                         + gv[:, None, None] * weights["q"][None, None, :] + t.to(torch.float64)[:, None, None])
        return out.to(torch.float32)

    return _forward


def guidance_cases(dit):
    weights = toy_forward_weights()
    g = torch.Generator().manual_seed(11)
    b = 2
    x = torch.randn([b, C, L], generator=g)
    cond = torch.randn([b, S, D], generator=g)
    neg = torch.randn([b, S, D], generator=g)
    # The last two tokens are timing tokens. Upstream's callers condition the negative prompt on the same seconds
    # (interface/interfaces/diffusion_cond.py: {"prompt": negative_prompt, "seconds_start": …, "seconds_total": …}),
    # so the negative branch carries the same timing tokens.
    neg[:, S - 2:] = cond[:, S - 2:]
    neg_mask = torch.tensor([[1, 1, 0, 1, 1], [1, 0, 0, 1, 1]], dtype=torch.bool)  # padding at 2 (and 1); timing tokens last
    glob = torch.randn([b, G], generator=g)
    inputs = {"x": save("cfg.x", x), "cross_attn_cond": save("cfg.cross_attn_cond", cond),
              "negative_cross_attn_cond": save("cfg.negative_cross_attn_cond", neg),
              "negative_cross_attn_mask": save("cfg.negative_cross_attn_mask", neg_mask.float()),
              "global_cond": save("cfg.global_cond", glob)}
    for k, v in weights.items():
        inputs[f"toy_{k}"] = save(f"cfg.toy_{k}", v)

    cases = []
    settings = [
        ("zero_all_tokens", "v", 0.5, {"cfg_scale": 7.0}),
        ("negative_prompt", "v", 0.5, {"cfg_scale": 7.0, "negative": True}),
        ("rescale", "v", 0.5, {"cfg_scale": 7.0, "scale_phi": 0.75}),
        ("rescale_negative_rf", "rf_denoiser", 0.4, {"cfg_scale": 4.0, "scale_phi": 0.5, "negative": True}),
        ("interval_outside_v", "v", 0.8, {"cfg_scale": 7.0, "cfg_interval": (0.2, 0.9)}),  # sin(0.4π)=0.951 > 0.9
        ("interval_inside_v", "v", 0.6, {"cfg_scale": 7.0, "cfg_interval": (0.2, 0.9)}),  # sin(0.3π)=0.809
        ("interval_outside_rf", "rf_denoiser", 0.95, {"cfg_scale": 3.0, "cfg_interval": (0.0, 0.9)}),
        ("cfg_one", "rf_denoiser", 0.5, {"cfg_scale": 1.0, "scale_phi": 0.5}),
    ]
    for name, objective, t_value, s in settings:
        calls = []
        model = dit.DiffusionTransformer.__new__(dit.DiffusionTransformer)
        torch.nn.Module.__init__(model)
        model.register_parameter("anchor", torch.nn.Parameter(torch.zeros(1)))
        model.diffusion_objective = objective
        model.transformer_type = "continuous_transformer"
        model._forward = make_toy_forward(weights, calls)
        kwargs = {"cfg_scale": s["cfg_scale"], "scale_phi": s.get("scale_phi", 0.0), "cfg_interval": s.get("cfg_interval", (0, 1))}
        if s.get("negative"):
            kwargs["negative_cross_attn_cond"] = neg
            kwargs["negative_cross_attn_mask"] = neg_mask
        t = torch.full([b], t_value)
        with torch.no_grad():
            out = dit.DiffusionTransformer.forward(model, x, t, cross_attn_cond=cond, global_embed=glob, **kwargs)
        cases.append({"name": name, "objective": objective, "t": t_value, "cfg_scale": s["cfg_scale"],
                      "cfg_rescale": kwargs["scale_phi"], "cfg_interval": list(kwargs["cfg_interval"]),
                      "negative": bool(s.get("negative")), "network_rows": calls, "output": save(f"cfg.{name}", out)})
    return {"inputs": inputs, "shape": {"B": b, "C": C, "L": L, "S": S, "D": D, "G": G}, "cases": cases}


def byte_tokens(prompt, max_length):
    """docs/model-contract.md's byte tokenizer (no numeric features): ASCII-lowercased UTF-8 bytes + 1, padded with 0."""
    data = prompt.translate({c: c + 32 for c in range(65, 91)}).encode("utf-8")[:max_length]
    ids = torch.zeros(1, max_length, dtype=torch.long)
    ids[0, :len(data)] = torch.tensor(list(data), dtype=torch.long) + 1
    return ids, (ids > 0).long()


def pipeline_cases(sampling, dit):
    """Upstream's sampler and DiT guidance driving the community split's networks (the same seeded modules its ONNX
    graphs were exported from), with our Philox noise (models/training/chorus/prng.py): what the pipeline must give
    for the same requests (libs/inference/src/community-split.spec.ts)."""
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(HERE.parent / "training"))
    from chorus.prng import noise as philox_noise
    import make_community_split as split

    m = split.build_modules()
    shape = [1, split.C, split.L]

    def conditioning(prompt, seconds_total):
        ids, mask = byte_tokens(prompt, split.T)
        features = m["text"](ids, mask)
        tokens, global_vec = m["conditioners"](torch.tensor([seconds_total], dtype=torch.float32))
        return torch.cat([features, tokens], dim=1), torch.cat([mask, torch.ones(1, tokens.shape[1], dtype=torch.long)], dim=1), global_vec

    def run(req, sampler_type, steps, scale_phi, cfg_interval):
        cond, _, global_vec = conditioning(req["prompt"], req["seconds_total"])
        extra = {"cross_attn_cond": cond, "global_embed": global_vec, "cfg_scale": req["cfg_scale"], "scale_phi": scale_phi,
                 "cfg_interval": tuple(cfg_interval)}
        if req.get("negative_prompt"):
            neg, neg_mask, _ = conditioning(req["negative_prompt"], req["seconds_total"])
            extra.update(negative_cross_attn_cond=neg, negative_cross_attn_mask=neg_mask)
        model = dit.DiffusionTransformer.__new__(dit.DiffusionTransformer)
        torch.nn.Module.__init__(model)
        model.register_parameter("anchor", torch.nn.Parameter(torch.zeros(1)))
        model.diffusion_objective = "rf_denoiser"
        model.transformer_type = "continuous_transformer"
        model._forward = lambda x, t, cross_attn_cond=None, global_embed=None, **kw: m["dit"](x, t, cross_attn_cond, global_embed)
        step = iter(range(1, 1000))
        original = torch.randn_like
        torch.randn_like = lambda x, *a, **k: torch.from_numpy(philox_noise(req["seed"], next(step), list(x.shape)))
        try:
            start = torch.from_numpy(philox_noise(req["seed"], 0, shape))
            return sampling.sample_rf(lambda x, t, **kw: dit.DiffusionTransformer.forward(model, x, t, **kw), start, steps=steps,
                                      sampler_type=sampler_type, sigma_max=1, device="cpu", **extra)
        finally:
            torch.randn_like = original

    cases = []
    batches = [
        ("pingpong_batch", "pingpong", 8, 0.5, [0, 0.9], [
            {"prompt": "A kick drum", "negative_prompt": "hiss", "seconds_total": 0.5, "cfg_scale": 7, "seed": 3},
            {"prompt": "a pad", "seconds_total": 0.75, "cfg_scale": 1, "seed": 4},
            {"prompt": "a snare", "seconds_total": 1, "cfg_scale": 3, "seed": 5},
        ]),
        ("euler_plain", "euler", 6, 0, [0, 1], [{"prompt": "a bell", "seconds_total": 0.25, "cfg_scale": 4, "seed": 6}]),
    ]
    with torch.no_grad():
        for name, sampler_type, steps, scale_phi, interval, requests in batches:
            latents = torch.cat([run(r, sampler_type, steps, scale_phi, interval) for r in requests])
            cases.append({"name": name, "sampler": sampler_type, "steps": steps, "cfg_rescale": scale_phi, "cfg_interval": interval,
                          "requests": requests, "latents": save(f"pipeline.{name}", latents)})
    return cases


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--upstream", default=str(HERE / ".upstream"), help="folder holding stable_audio_tools/ and k-diffusion/")
    args = parser.parse_args()
    root = Path(args.upstream)
    for need in [root / "stable_audio_tools" / "inference" / "sampling.py", root / "k-diffusion" / "k_diffusion" / "sampling.py"]:
        if not need.is_file():
            sys.exit(f"make_sampler_goldens: {need} is missing; fetch Stability-AI/stable-audio-tools and crowsonkb/k-diffusion into {root}")
    sampling, dit = load_upstream(root)
    OUT.mkdir(parents=True, exist_ok=True)
    index = {"toy": "toy_v in make_sampler_goldens.py", "shape": {"C": C, "L": L},
             "samplers": sampler_cases(sampling), "guidance": guidance_cases(dit), "pipeline": pipeline_cases(sampling, dit)}
    (OUT / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
