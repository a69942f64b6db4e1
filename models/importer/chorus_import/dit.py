"""The Stable Audio Open diffusion transformer (one network evaluation), written for export.

Same parameter names and shapes as stable-audio-tools' `DiffusionTransformer` (models/dit.py + models/transformer.py)
for the configurations SAO 1.0 and SAO Small use, so a real checkpoint's `model.model.*` tensors load with
`strict=True`: continuous transformer, `prepend` global conditioning, timestep as a global embedding, patch size 1,
RoPE on self-attention, SwiGLU feed-forward, optional LayerNorm on q/k (`attn_kwargs.qk_norm = "ln"`).
No masks: upstream disables the cross-attention mask, and T5 padding enters as zero tokens.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn


class FourierFeatures(nn.Module):
    def __init__(self, in_features, out_features, device=None):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_features // 2, in_features, device=device))

    def forward(self, x):
        f = 2 * math.pi * x @ self.weight.T
        return torch.cat([f.cos(), f.sin()], dim=-1)


class LayerNorm(nn.Module):
    """Bias-less LayerNorm: learned `gamma`, a `beta` buffer of zeros (kept in the state dict, as upstream)."""

    def __init__(self, dim, eps=1e-5, device=None):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(dim, device=device))
        self.register_buffer("beta", torch.zeros(dim, device=device))
        self.dim = dim
        self.eps = eps

    def forward(self, x):
        return F.layer_norm(x, (self.dim,), weight=self.gamma, bias=self.beta, eps=self.eps)


class RotaryEmbedding(nn.Module):
    """`inv_freq` is a persistent buffer, as upstream: a checkpoint that carries it supplies it (see load_dit)."""

    def __init__(self, dim, base=10000, device=None):
        super().__init__()
        self.register_buffer("inv_freq", rotary_inv_freq(dim, base).to(device))

    def forward(self, seq_len):
        t = torch.arange(seq_len, dtype=torch.float32, device=self.inv_freq.device)
        freqs = t[:, None] * self.inv_freq.float()[None, :]
        return torch.cat((freqs, freqs), dim=-1)


def rotary_inv_freq(dim, base=10000):
    return 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary(t, freqs):
    """Rotate the first freqs.shape[-1] features of each head (partial rotary), the rest pass through."""
    rot = freqs.shape[-1]
    head, tail = t[..., :rot], t[..., rot:]
    head = head * freqs.cos() + rotate_half(head) * freqs.sin()
    return torch.cat((head, tail), dim=-1)


class Attention(nn.Module):
    def __init__(self, dim, dim_heads, dim_context=None, qk_norm="none", device=None):
        super().__init__()
        self.num_heads = dim // dim_heads
        self.kv_heads = (dim_context if dim_context is not None else dim) // dim_heads
        if dim_context is not None:
            self.to_q = nn.Linear(dim, dim, bias=False, device=device)
            self.to_kv = nn.Linear(dim_context, dim_context * 2, bias=False, device=device)
        else:
            self.to_qkv = nn.Linear(dim, dim * 3, bias=False, device=device)
        self.to_out = nn.Linear(dim, dim, bias=False, device=device)
        self.qk_norm = qk_norm
        if qk_norm == "ln":
            self.q_norm = nn.LayerNorm(dim_heads, elementwise_affine=True, eps=1.0e-6, device=device)
            self.k_norm = nn.LayerNorm(dim_heads, elementwise_affine=True, eps=1.0e-6, device=device)

    def heads(self, x, count):
        b, n, _ = x.shape
        return x.reshape(b, n, count, -1).transpose(1, 2)

    def forward(self, x, context=None, rotary=None):
        if context is not None:
            q = self.heads(self.to_q(x), self.num_heads)
            k, v = self.to_kv(context).chunk(2, dim=-1)
            k, v = self.heads(k, self.kv_heads), self.heads(v, self.kv_heads)
        else:
            q, k, v = self.to_qkv(x).chunk(3, dim=-1)
            q, k, v = (self.heads(a, self.num_heads) for a in (q, k, v))
        if self.qk_norm == "ln":
            q, k = self.q_norm(q), self.k_norm(k)
        if rotary is not None:
            q, k = apply_rotary(q, rotary), apply_rotary(k, rotary)
        if self.kv_heads != self.num_heads:
            # grouped-query attention: each key/value head serves num_heads / kv_heads query heads, in order (upstream's
            # repeat_interleave); a constant-index gather, because the traced repeat_interleave fixes the batch size
            index = torch.arange(self.num_heads) // (self.num_heads // self.kv_heads)
            k, v = k.index_select(1, index), v.index_select(1, index)
        scores = torch.matmul(q, k.transpose(-2, -1)) * (q.shape[-1] ** -0.5)
        out = torch.matmul(scores.softmax(dim=-1), v)
        b, h, n, d = out.shape
        return self.to_out(out.transpose(1, 2).reshape(b, n, h * d))


class GLU(nn.Module):
    def __init__(self, dim_in, dim_out, device=None):
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out * 2, device=device)

    def forward(self, x):
        x, gate = self.proj(x).chunk(2, dim=-1)
        return x * F.silu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim, mult=4, device=None):
        super().__init__()
        inner = int(dim * mult)
        # indices 1 and 3 are upstream's Identity placeholders, so the Linear keeps the key `ff.2`
        self.ff = nn.Sequential(
            GLU(dim, inner, device=device), nn.Identity(), nn.Linear(inner, dim, device=device), nn.Identity())

    def forward(self, x):
        return self.ff(x)


class TransformerBlock(nn.Module):
    def __init__(self, dim, dim_heads, dim_context, qk_norm, device=None):
        super().__init__()
        self.pre_norm = LayerNorm(dim, device=device)
        self.self_attn = Attention(dim, dim_heads, qk_norm=qk_norm, device=device)
        self.cross_attend_norm = LayerNorm(dim, device=device)
        self.cross_attn = Attention(dim, dim_heads, dim_context=dim_context, qk_norm=qk_norm, device=device)
        self.ff_norm = LayerNorm(dim, device=device)
        self.ff = FeedForward(dim, device=device)

    def forward(self, x, context, rotary):
        x = x + self.self_attn(self.pre_norm(x), rotary=rotary)
        x = x + self.cross_attn(self.cross_attend_norm(x), context=context)
        return x + self.ff(self.ff_norm(x))


class ContinuousTransformer(nn.Module):
    def __init__(self, dim, depth, dim_heads, dim_in, dim_out, dim_context, qk_norm, device=None):
        super().__init__()
        self.project_in = nn.Linear(dim_in, dim, bias=False, device=device)
        self.project_out = nn.Linear(dim, dim_out, bias=False, device=device)
        # upstream: RotaryEmbedding(max(dim_heads // 2, 32))
        self.rotary_pos_emb = RotaryEmbedding(max(dim_heads // 2, 32), device=device)
        self.layers = nn.ModuleList(
            [TransformerBlock(dim, dim_heads, dim_context, qk_norm, device=device) for _ in range(depth)])

    def forward(self, x, prepend, context):
        x = torch.cat((prepend, self.project_in(x)), dim=-2)
        rotary = self.rotary_pos_emb(x.shape[1])
        for layer in self.layers:
            x = layer(x, context, rotary)
        return self.project_out(x)


class DiffusionTransformer(nn.Module):
    """forward(x [B,C,L], t [B], cross_attn_cond [B,S,cond_token_dim], global_cond [B,global_cond_dim]) -> [B,C,L]."""

    def __init__(self, io_channels, embed_dim, depth, num_heads, cond_token_dim, global_cond_dim,
                 project_cond_tokens=True, project_global_cond=True, qk_norm="none", device=None):
        super().__init__()
        d = dict(device=device)
        self.timestep_features = FourierFeatures(1, 256, **d)
        self.to_timestep_embed = nn.Sequential(
            nn.Linear(256, embed_dim, bias=True, **d), nn.SiLU(), nn.Linear(embed_dim, embed_dim, bias=True, **d))
        cond_embed_dim = embed_dim if project_cond_tokens else cond_token_dim
        self.to_cond_embed = nn.Sequential(
            nn.Linear(cond_token_dim, cond_embed_dim, bias=False, **d), nn.SiLU(),
            nn.Linear(cond_embed_dim, cond_embed_dim, bias=False, **d))
        global_embed_dim = embed_dim if project_global_cond else global_cond_dim
        self.to_global_embed = nn.Sequential(
            nn.Linear(global_cond_dim, global_embed_dim, bias=False, **d), nn.SiLU(),
            nn.Linear(global_embed_dim, global_embed_dim, bias=False, **d))
        self.transformer = ContinuousTransformer(
            embed_dim, depth, embed_dim // num_heads, io_channels, io_channels, cond_embed_dim, qk_norm, **d)
        self.preprocess_conv = nn.Conv1d(io_channels, io_channels, 1, bias=False, **d)
        self.postprocess_conv = nn.Conv1d(io_channels, io_channels, 1, bias=False, **d)

    def forward(self, x, t, cross_attn_cond, global_cond):
        context = self.to_cond_embed(cross_attn_cond)
        # the timestep embedding is added to the projected global conditioning; with `prepend` the sum is one token
        global_embed = self.to_global_embed(global_cond) + self.to_timestep_embed(self.timestep_features(t[:, None]))
        x = self.preprocess_conv(x) + x
        out = self.transformer(x.transpose(1, 2), global_embed[:, None, :], context)
        out = out.transpose(1, 2)[:, :, 1:]
        return self.postprocess_conv(out) + out


def dit_kwargs(diffusion_config):
    """Constructor arguments from model_config.json's model.diffusion.config (validated by config.py)."""
    cfg = diffusion_config
    return dict(
        io_channels=cfg["io_channels"], embed_dim=cfg["embed_dim"], depth=cfg["depth"], num_heads=cfg["num_heads"],
        cond_token_dim=cfg["cond_token_dim"], global_cond_dim=cfg["global_cond_dim"],
        project_cond_tokens=cfg.get("project_cond_tokens", True),
        project_global_cond=cfg.get("project_global_cond", True),
        qk_norm=cfg.get("attn_kwargs", {}).get("qk_norm", "none"))


def load_dit(diffusion_config, state_dict):
    """Our DiT with the checkpoint's `model.model.*` tensors (prefix removed), loaded with strict=True.

    `transformer.rotary_pos_emb.inv_freq` is a persistent buffer upstream, so current checkpoints carry it and it is
    loaded from them like any tensor. A checkpoint without it gets the value upstream computes (base 10000).
    """
    kwargs = dit_kwargs(diffusion_config)
    # built on the meta device (no allocation, no random init), then given storage and filled by the strict load
    model = DiffusionTransformer(**kwargs, device="meta").to_empty(device="cpu")
    tensors = dict(state_dict)
    key = "transformer.rotary_pos_emb.inv_freq"
    if key not in tensors:
        tensors[key] = rotary_inv_freq(model.transformer.rotary_pos_emb.inv_freq.shape[0] * 2)
    model.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=True)
    return model.eval()


def dit_layout(diffusion_config):
    """{tensor name: shape} of our DiT at this config, built on the meta device (nothing allocated)."""
    model = DiffusionTransformer(**dit_kwargs(diffusion_config), device="meta")
    return {k: list(v.shape) for k, v in model.state_dict().items()}
