"""The T5 text encoder (Hugging Face `t5-base` layout) as our own torch module, and its ONNX export.

Stable Audio Open conditions on `T5EncoderModel(...).last_hidden_state × attention_mask` (stable-audio-tools'
T5Conditioner). This module computes the same from a Hugging Face T5 folder (`config.json`, `model.safetensors` or
`pytorch_model.bin`, `tokenizer.json`), with parameter names equal to HF's T5EncoderModel state dict so a real
checkpoint loads strictly. Proven against transformers' own T5EncoderModel (make_goldens_t5.py, t5.test.ts).
"""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from chorus_import import checkpoint

# HF's T5 configs name the feed-forward as `feed_forward_proj`; these are the ones transformers 4.19 (our reference)
# implements: "relu" (t5-base) and "gated-gelu" (T5 v1.1, flan-t5; GELU in its tanh form, HF's "gelu_new").
FEED_FORWARDS = ("relu", "gated-gelu")
PRECISIONS = ("fp32", "fp16")
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
# Checkpoint tensors an encoder does not use; HF's T5EncoderModel drops them on load too.
UNUSED_PREFIXES = ("decoder.", "lm_head.")

class T5FolderError(ValueError):
    """A T5 folder we cannot use; the message is one line naming what to provide."""


class T5Config:
    """The fields of a Hugging Face T5 config.json that the encoder reads (HF's defaults where optional)."""

    def __init__(self, raw: dict, where: str):
        if not isinstance(raw, dict):
            raise T5FolderError(f"{where}: not a T5 config (expected a JSON object, as in Hugging Face t5-base)")

        def positive_int(key: str, default: int | None = None) -> int:
            value = raw.get(key, default)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise T5FolderError(f"{where}: '{key}' must be a positive integer (t5-base's config.json has it)")
            return value

        self.vocab_size = positive_int("vocab_size")
        self.d_model = positive_int("d_model")
        self.d_kv = positive_int("d_kv")
        self.d_ff = positive_int("d_ff")
        self.num_layers = positive_int("num_layers")
        self.num_heads = positive_int("num_heads")
        self.num_buckets = positive_int("relative_attention_num_buckets", 32)
        self.max_distance = positive_int("relative_attention_max_distance", 128)
        eps = raw.get("layer_norm_epsilon", 1e-6)
        if not isinstance(eps, (int, float)) or isinstance(eps, bool) or eps <= 0:
            raise T5FolderError(f"{where}: 'layer_norm_epsilon' must be a positive number (t5-base's is 1e-06)")
        self.eps = float(eps)
        self.feed_forward = raw.get("feed_forward_proj", "relu")
        if self.feed_forward not in FEED_FORWARDS:
            raise T5FolderError(
                f"{where}: feed_forward_proj '{self.feed_forward}' is not supported; supported: {', '.join(FEED_FORWARDS)}"
            )


class T5LayerNorm(nn.Module):
    """RMS norm: no mean subtraction, no bias; the mean square is taken in float32 as HF does."""

    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        variance = x.pow(2).mean(-1, keepdim=True)
        return _float32(self.weight) * (x * torch.rsqrt(variance + self.eps))


class T5Attention(nn.Module):
    """Multi-head self-attention without 1/√d scaling (folded into T5's initialisation); bias added to the scores."""

    def __init__(self, c: T5Config, has_relative_attention_bias: bool):
        super().__init__()
        self.heads, self.d_kv = c.num_heads, c.d_kv
        inner = c.num_heads * c.d_kv
        self.q = nn.Linear(c.d_model, inner, bias=False)
        self.k = nn.Linear(c.d_model, inner, bias=False)
        self.v = nn.Linear(c.d_model, inner, bias=False)
        self.o = nn.Linear(inner, c.d_model, bias=False)
        if has_relative_attention_bias:
            self.relative_attention_bias = nn.Embedding(c.num_buckets, c.num_heads)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        split = lambda y: y.view(b, t, self.heads, self.d_kv).transpose(1, 2)  # noqa: E731
        q, k, v = split(_linear(self.q, x)), split(_linear(self.k, x)), split(_linear(self.v, x))
        weights = torch.softmax(torch.matmul(q, k.transpose(2, 3)) + bias, dim=-1)
        out = torch.matmul(weights, v).transpose(1, 2).reshape(b, t, self.heads * self.d_kv)
        return _linear(self.o, out)


class T5DenseReluDense(nn.Module):
    def __init__(self, c: T5Config):
        super().__init__()
        self.wi = nn.Linear(c.d_model, c.d_ff, bias=False)
        self.wo = nn.Linear(c.d_ff, c.d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _linear(self.wo, torch.relu(_linear(self.wi, x)))


class T5DenseGatedGeluDense(nn.Module):
    def __init__(self, c: T5Config):
        super().__init__()
        self.wi_0 = nn.Linear(c.d_model, c.d_ff, bias=False)
        self.wi_1 = nn.Linear(c.d_model, c.d_ff, bias=False)
        self.wo = nn.Linear(c.d_ff, c.d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = _linear(self.wi_0, x)
        gelu = 0.5 * gate * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (gate + 0.044715 * torch.pow(gate, 3.0))))
        return _linear(self.wo, gelu * _linear(self.wi_1, x))


class T5LayerSelfAttention(nn.Module):
    def __init__(self, c: T5Config, has_relative_attention_bias: bool):
        super().__init__()
        self.SelfAttention = T5Attention(c, has_relative_attention_bias)
        self.layer_norm = T5LayerNorm(c.d_model, c.eps)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return x + self.SelfAttention(self.layer_norm(x), bias)


class T5LayerFF(nn.Module):
    def __init__(self, c: T5Config):
        super().__init__()
        self.DenseReluDense = T5DenseReluDense(c) if c.feed_forward == "relu" else T5DenseGatedGeluDense(c)
        self.layer_norm = T5LayerNorm(c.d_model, c.eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.DenseReluDense(self.layer_norm(x))


class T5Block(nn.Module):
    def __init__(self, c: T5Config, has_relative_attention_bias: bool):
        super().__init__()
        self.layer = nn.ModuleList([T5LayerSelfAttention(c, has_relative_attention_bias), T5LayerFF(c)])

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return self.layer[1](self.layer[0](x, bias))


class T5Stack(nn.Module):
    def __init__(self, c: T5Config, shared: nn.Embedding):
        super().__init__()
        self.embed_tokens = shared  # tied, as in HF: the state dict carries it under both names
        # Only the first block owns the relative position bias; every block reuses it.
        self.block = nn.ModuleList([T5Block(c, has_relative_attention_bias=i == 0) for i in range(c.num_layers)])
        self.final_layer_norm = T5LayerNorm(c.d_model, c.eps)


class T5Encoder(nn.Module):
    """input_ids, attention_mask (int64 [B,T]) -> last_hidden_state × mask (float32 [B,T,d_model])."""

    def __init__(self, c: T5Config):
        super().__init__()
        self.config = c
        self.shared = nn.Embedding(c.vocab_size, c.d_model)
        self.encoder = T5Stack(c, self.shared)

    def buckets(self, length: int) -> torch.Tensor:
        """[T, T] int64: the bucket of each (key − query) distance."""
        position = torch.arange(length)
        return relative_position_bucket(position[None, :] - position[:, None], self.config.num_buckets, self.config.max_distance)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.encode(input_ids, attention_mask, self.buckets(input_ids.shape[1]))

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, buckets: torch.Tensor) -> torch.Tensor:
        mask = attention_mask.to(torch.float32)
        table = self.encoder.block[0].layer[0].SelfAttention.relative_attention_bias.weight
        # [1, heads, T, T]; padding keys also get the most negative float, as HF does, so they take no attention.
        bias = _float32(table[buckets]).permute(2, 0, 1).unsqueeze(0)
        bias = bias + (1.0 - mask)[:, None, None, :] * torch.finfo(torch.float32).min
        x = _float32(self.shared.weight[input_ids])
        for block in self.encoder.block:
            x = block(x, bias)
        return self.encoder.final_layer_norm(x) * mask.unsqueeze(-1)


class FixedLengthT5Encoder(nn.Module):
    """The encoder for exactly `length` tokens: the position buckets become a constant of the graph."""

    def __init__(self, model: T5Encoder, length: int):
        super().__init__()
        self.model = model
        self.register_buffer("position_buckets", model.buckets(length))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model.encode(input_ids, attention_mask, self.position_buckets)


def relative_position_bucket(relative_position: torch.Tensor, num_buckets: int, max_distance: int) -> torch.Tensor:
    """Mesh TensorFlow's bidirectional buckets: half per direction; exact below num_buckets/4, log-spaced to max_distance."""
    half = num_buckets // 2
    buckets = (relative_position > 0).long() * half
    distance = relative_position.abs()
    exact = half // 2
    log_bucket = exact + (
        torch.log(distance.float().clamp(min=1) / exact) / math.log(max_distance / exact) * (half - exact)
    ).long()
    log_bucket = log_bucket.clamp(max=half - 1)
    return buckets + torch.where(distance < exact, distance, log_bucket)


def _linear(layer: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    return F.linear(x, _float32(layer.weight))


def _float32(t: torch.Tensor) -> torch.Tensor:
    # Weights may be stored in fp16 (--precision fp16); the arithmetic stays float32 (see export_text_encoder).
    # No Cast when already float32: torch 1.13's exporter drops a no-op Cast but leaves its output referenced.
    return t if t.dtype == torch.float32 else t.float()


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """The file's tensors through the importer's one safetensors reader (memory-mapped; checkpoint.py), its refusals
    as T5FolderError."""
    try:
        return checkpoint.read_safetensors(str(path))
    except checkpoint.CheckpointError as error:
        raise T5FolderError(str(error)) from None


def _read_weights(folder: Path) -> dict[str, torch.Tensor]:
    for name in WEIGHT_FILES:
        path = folder / name
        if path.is_file():
            if name.endswith(".safetensors"):
                return read_safetensors(path)
            state = torch.load(path, map_location="cpu")
            return state.get("state_dict", state) if isinstance(state, dict) else state
    raise T5FolderError(f"{folder}: no T5 weights; provide {' or '.join(WEIGHT_FILES)} (as in Hugging Face t5-base)")


def check_t5_folder(t5_dir: str) -> T5Config:
    """The folder's config, once it has config.json (valid), weights and tokenizer.json; else one line naming what to
    provide. Cheap (reads no weights), so the importer can call it before any other work."""
    folder = Path(t5_dir)
    if not folder.is_dir():
        raise T5FolderError(
            f"{t5_dir}: no such T5 folder; provide a Hugging Face t5-base folder (config.json, model.safetensors, tokenizer.json)"
        )
    for name in ("config.json", "tokenizer.json"):
        if not (folder / name).is_file():
            raise T5FolderError(f"{folder}: missing {name}; provide the {name} of Hugging Face t5-base")
    if not any((folder / name).is_file() for name in WEIGHT_FILES):
        raise T5FolderError(f"{folder}: no T5 weights; provide {' or '.join(WEIGHT_FILES)} (as in Hugging Face t5-base)")
    path = folder / "config.json"
    try:
        raw = json.loads(path.read_text())
    except ValueError as error:
        raise T5FolderError(f"{path}: not valid JSON ({error})") from None
    return T5Config(raw, str(path))


def load_t5(t5_dir: str) -> T5Encoder:
    """Our T5 encoder with the folder's weights, loaded strictly (every tensor present, none left over)."""
    config = check_t5_folder(t5_dir)
    folder = Path(t5_dir)
    state = {k: v for k, v in _read_weights(folder).items() if not k.startswith(UNUSED_PREFIXES)}
    # HF ties encoder.embed_tokens to shared; a checkpoint may carry either name or both (then `shared` wins, as in HF).
    shared = state.get("shared.weight", state.get("encoder.embed_tokens.weight"))
    if shared is not None:
        state["shared.weight"] = state["encoder.embed_tokens.weight"] = shared
    model = T5Encoder(config)
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        what = f"missing tensor {missing[0]}" if missing else f"unexpected tensor {unexpected[0]}"
        raise T5FolderError(
            f"{folder}: weights do not match config.json ({what}; {len(missing)} missing, {len(unexpected)} unexpected)"
        )
    for name, tensor in expected.items():
        if tuple(state[name].shape) != tuple(tensor.shape):
            raise T5FolderError(
                f"{folder}: tensor {name} has shape {list(state[name].shape)}, config.json implies {list(tensor.shape)}"
            )
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    return model.eval()


def export_text_encoder(t5_dir: str, out_path: str, max_length: int, precision: str) -> dict:
    """Writes the ONNX text encoder: input_ids, attention_mask int64 [B, max_length] -> features float32 [B, T, d_model].

    Copies T5_DIR/tokenizer.json beside out_path. `fp16` stores the weights in half precision (half the file) and
    computes in float32 (each weight is Cast when used; onnxruntime folds those casts at session start, so memory at
    run time is float32's). Why not float16 arithmetic: t5-base's feed-forward activations overflow float16 (HF's
    T5Block clamps them to ±(65504 − 1000) when they do), and torch 1.13 cannot trace float16 matmuls on CPU.
    """
    if precision not in PRECISIONS:
        raise T5FolderError(f"precision '{precision}' is not supported; supported: {', '.join(PRECISIONS)}")
    if not isinstance(max_length, int) or max_length < 1:
        raise T5FolderError(f"max_length {max_length!r} must be a positive integer (the tokenizer's padded length)")
    model = load_t5(t5_dir)
    if precision == "fp16":
        model.half()
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    ids = torch.zeros(2, max_length, dtype=torch.int64)
    mask = torch.ones(2, max_length, dtype=torch.int64)
    with torch.no_grad():
        torch.onnx.export(
            FixedLengthT5Encoder(model, max_length),
            (ids, mask),
            str(out),
            input_names=["input_ids", "attention_mask"],
            output_names=["features"],
            dynamic_axes={"input_ids": {0: "batch"}, "attention_mask": {0: "batch"}, "features": {0: "batch"}},
            opset_version=17,
            # Folding would turn the fp16 weights' Cast into float32 constants and undo the halving.
            do_constant_folding=precision == "fp32",
        )
    tokenizer = out.parent / "tokenizer.json"
    source = Path(t5_dir) / "tokenizer.json"
    if source.resolve() != tokenizer.resolve():
        shutil.copyfile(source, tokenizer)
    return {"dim": model.config.d_model, "tokenizer_file": "tokenizer.json"}
