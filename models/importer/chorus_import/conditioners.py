"""The number conditioners (`seconds_start`, `seconds_total`) and how their outputs are assembled.

Same parameter names as stable-audio-tools' `NumberConditioner` (models/conditioners.py, whose embedder is
adp.py's `NumberEmbedder`): under `conditioner.conditioners.<id>.` the keys are `embedder.embedding.0.weights`
[dim/2 = 128] and `embedder.embedding.1.{weight,bias}` [output_dim, 257].
Embedding: x = (clamp(s, min, max) − min)/(max − min); f = 2π·x·w; Linear([x, sin f, cos f]).
"""

import math

import torch
from torch import nn


class LearnedPositionalEmbedding(nn.Module):
    def __init__(self, dim, device=None):
        super().__init__()
        self.weights = nn.Parameter(torch.empty(dim // 2, device=device))

    def forward(self, x):
        x = x[:, None]
        freqs = x * self.weights[None, :] * 2 * math.pi
        return torch.cat((x, freqs.sin(), freqs.cos()), dim=-1)


class NumberEmbedder(nn.Module):
    def __init__(self, features, dim=256, device=None):
        super().__init__()
        self.embedding = nn.Sequential(
            LearnedPositionalEmbedding(dim, device=device), nn.Linear(dim + 1, features, device=device))

    def forward(self, x):
        return self.embedding(x)


class NumberConditioner(nn.Module):
    """seconds [B] -> embedding [B, 1, output_dim]."""

    def __init__(self, output_dim, min_val=0.0, max_val=1.0, device=None):
        super().__init__()
        self.min_val = float(min_val)
        self.max_val = float(max_val)
        self.embedder = NumberEmbedder(features=output_dim, device=device)

    def forward(self, seconds):
        x = seconds.float().clamp(self.min_val, self.max_val)
        x = (x - self.min_val) / (self.max_val - self.min_val)
        return self.embedder(x)[:, None, :]


class TimingConditioners(nn.Module):
    """The model's number conditioners as one graph.

    forward(*seconds in `inputs` order) -> (timing_tokens [B, k, D]: the number conditioners named in
    cross_attention_cond_ids, in that order; global_cond [B, G]: the global_cond_ids embeddings concatenated on the
    feature axis, as upstream's get_conditioning_inputs does).
    """

    def __init__(self, numbers, cross_ids, global_ids, cond_dim, device=None):
        super().__init__()
        self.inputs = list(numbers)
        self.conditioners = nn.ModuleDict({
            key: NumberConditioner(cond_dim, cfg.get("min_val", 0), cfg.get("max_val", 1), device=device)
            for key, cfg in numbers.items()})
        self.cross_ids = [key for key in cross_ids if key in numbers]
        self.global_ids = list(global_ids)

    def forward(self, *seconds):
        embeds = {key: self.conditioners[key](value) for key, value in zip(self.inputs, seconds)}
        tokens = torch.cat([embeds[key] for key in self.cross_ids], dim=1)
        global_cond = torch.cat([embeds[key] for key in self.global_ids], dim=-1).squeeze(1)
        return tokens, global_cond


def build_conditioners(conditioning, cross_ids, global_ids, device=None):
    numbers = {c["id"]: c.get("config", {}) for c in conditioning["configs"] if c["type"] == "number"}
    return TimingConditioners(numbers, cross_ids, global_ids, conditioning["cond_dim"], device=device)


def load_conditioners(conditioning, cross_ids, global_ids, state_dict):
    """Our conditioners with the checkpoint's `conditioner.conditioners.*` tensors (prefix removed), strict=True."""
    model = build_conditioners(conditioning, cross_ids, global_ids, device="meta").to_empty(device="cpu")
    model.conditioners.load_state_dict({k: v.float() for k, v in state_dict.items()}, strict=True)
    return model.eval()


def conditioners_layout(conditioning, cross_ids, global_ids):
    """{tensor name under conditioner.conditioners.: shape}, built on the meta device."""
    model = build_conditioners(conditioning, cross_ids, global_ids, device="meta")
    return {k: list(v.shape) for k, v in model.conditioners.state_dict().items()}
