"""Shims that let upstream stable-audio-tools modules run on Debian's torch 1.13, for goldens and layout lists only.

Nothing here is upstream code: the upstream sources are fetched into the git-ignored `.upstream/` folder
(see README.md, "Upstream sources"). The importer itself never imports this file.

Shims (each stands in for a torch >= 2 name or a package that is not installed here):
- `F.scaled_dot_product_attention`: the textbook softmax(Q·Kᵀ/√d)·V (plus the causal mask), as torch 2 documents it.
- `torch.compile`: identity (upstream only compiles when ENABLE_TORCH_COMPILE=1 anyway).
- `torch.backends.cuda.sdp_kernel`: a no-op context manager (it only picks CUDA kernels).
- `torch.nn.attention.flex_attention`: a module whose `flex_attention` raises; upstream calls it only with a block mask
  or score mod, which the SAO models never pass.
- `torch.utils.checkpoint.checkpoint`: calls the function (activation checkpointing changes no forward value, and
  1.13's version does not accept every keyword upstream passes).
- `safetensors.torch`: `load_file`/`save_file` through our own reader (chorus_import.checkpoint); imported by upstream
  `models/utils.py` at module level.
- `torchaudio`: a package whose `transforms.Resample` raises; imported at module level by files the number conditioner
  does not use (pretransforms.py, inference/utils.py, data/utils.py).
- `tqdm`, `k_diffusion`, `alias_free_torch`: stand-ins imported at module level by sampling.py and autoencoders.py,
  which make_fixtures.py imports only to build an upstream Oobleck pretransform for its state-dict layout (snake
  Oobleck uses no anti-aliased activation; `tqdm`/`trange` pass their iterable through; k_diffusion is empty).
Packages put on sys.path from `.upstream/`: einops (arogozhnikov/einops) and einops_exts (lucidrains/einops-exts).
Upstream's package `__init__` files are skipped (bare packages) so importing one module does not pull in everything.
"""

import contextlib
import importlib
import math
import os
import sys
import types

import torch
import torch.nn.functional as F
import torch.utils.checkpoint as torch_checkpoint

HERE = os.path.dirname(os.path.abspath(__file__))
UPSTREAM = os.path.join(HERE, ".upstream")
SAT_ROOT = os.path.join(UPSTREAM, "stable-audio-tools")


def _sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = torch.matmul(q, k.transpose(-2, -1)) * scale
    if is_causal:
        n, m = q.shape[-2], k.shape[-2]
        causal = torch.ones(n, m, dtype=torch.bool, device=q.device).tril(m - n)
        scores = scores.masked_fill(~causal, float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            scores = scores.masked_fill(~attn_mask, float("-inf"))
        else:
            scores = scores + attn_mask
    return torch.matmul(scores.softmax(dim=-1), v)


def _module(name, **attrs):
    mod = types.ModuleType(name)
    for key, value in attrs.items():
        setattr(mod, key, value)
    sys.modules[name] = mod
    return mod


def _refuse(what):
    def fail(*args, **kwargs):
        raise RuntimeError(f"{what} is shimmed out on torch 1.13 (upstream_shims.py)")
    return fail


def _bare_package(name, path):
    mod = types.ModuleType(name)
    mod.__path__ = [path]
    sys.modules[name] = mod
    return mod


def install():
    """Install the shims once; returns the path of the fetched stable-audio-tools checkout."""
    if getattr(install, "done", False):
        return SAT_ROOT
    if not os.path.isdir(SAT_ROOT):
        raise SystemExit(f"upstream sources missing: fetch stable-audio-tools into {SAT_ROOT} (see README.md)")
    for src in ("einops-src", "einops-exts-src"):
        sys.path.insert(0, os.path.join(UPSTREAM, src))
    sys.path.insert(0, HERE)

    if not hasattr(F, "scaled_dot_product_attention"):
        F.scaled_dot_product_attention = _sdpa
    torch.compile = lambda fn=None, *args, **kwargs: fn if fn is not None else (lambda f: f)
    if not hasattr(torch.backends.cuda, "sdp_kernel"):
        torch.backends.cuda.sdp_kernel = lambda *args, **kwargs: contextlib.nullcontext()
    torch_checkpoint.checkpoint = lambda function, *args, use_reentrant=None, **kwargs: function(*args, **kwargs)

    if "torch.nn.attention" not in sys.modules:
        attention = _module("torch.nn.attention")
        flex = _module("torch.nn.attention.flex_attention", flex_attention=_refuse("flex_attention"))
        attention.flex_attention = flex
        torch.nn.attention = attention

    from chorus_import import checkpoint as ours
    safetensors = _module("safetensors")
    safetensors.torch = _module("safetensors.torch", load_file=ours.read_safetensors, save_file=ours.write_safetensors)

    torchaudio = _module("torchaudio")
    torchaudio.transforms = _module("torchaudio.transforms", Resample=_refuse("torchaudio.transforms.Resample"))

    _module("tqdm", tqdm=lambda it=None, *a, **k: it, trange=lambda *a, **k: range(*a))
    _module("k_diffusion")
    _module("alias_free_torch", Activation1d=_refuse("alias_free_torch.Activation1d"))

    _bare_package("stable_audio_tools", os.path.join(SAT_ROOT, "stable_audio_tools"))
    for sub in ("models", "inference", "data"):
        _bare_package(f"stable_audio_tools.{sub}", os.path.join(SAT_ROOT, "stable_audio_tools", sub))
    install.done = True
    return SAT_ROOT


def upstream(module):
    """Import `stable_audio_tools.<module>` (e.g. "models.dit") with the shims installed."""
    install()
    return importlib.import_module(f"stable_audio_tools.{module}")
