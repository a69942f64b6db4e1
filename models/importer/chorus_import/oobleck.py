"""The Oobleck VAE of stable-audio-tools (Stable Audio Open 1.0 and Small), written here, loaded strictly, exported to ONNX.

Our modules mirror upstream `stable_audio_tools/models/autoencoders.py` (OobleckEncoder/Decoder, EncoderBlock,
DecoderBlock, ResidualUnit), `blocks.py` (SnakeBeta with log-scale alpha/beta) and `bottleneck.py` (VAEBottleneck)
layer for layer, so a checkpoint's `pretransform.model.{encoder,decoder}.*` tensors load with strict=True. Convolutions
carry torch's weight norm (`weight_g`, `weight_v`) as upstream does; after loading it is folded into a plain `weight`
with torch's own `_weight_norm`, the function upstream's forward calls, so the exported weights are those upstream uses.

The graphs (upstream `AutoencoderPretransform.encode/decode` with the VAE bottleneck):
- encoder: audio [B, io_channels, frames*ratio] -> latent [B, latent_dim, frames] = posterior mean / pretransform scale.
  Upstream *samples* (mean + softplus(scale)+1e-4 times fresh noise); our graph returns the mean, deterministically.
- decoder: latent [B, latent_dim, frames] -> audio [B, io_channels, frames*ratio] = decoder(latent * scale)
  (then tanh when the autoencoder config asks for `soft_clip`).
"""
import math
from typing import Dict, Literal, Optional

import torch
from torch import nn
from torch.nn.utils import remove_weight_norm, weight_norm

Part = Literal["encoder", "decoder"]

ENCODER_KEYS = {"in_channels", "channels", "latent_dim", "c_mults", "strides", "use_snake", "antialias_activation"}
DECODER_KEYS = {
    "out_channels", "channels", "latent_dim", "c_mults", "strides", "use_snake", "antialias_activation",
    "use_nearest_upsample", "final_tanh",
}
# The fields of an Oobleck autoencoder config (`model.pretransform.config`); in/out_channels only steer upstream's input padding.
AUTOENCODER_KEYS = {"encoder", "decoder", "bottleneck", "latent_dim", "downsampling_ratio", "io_channels", "in_channels", "out_channels"}
# Pretransform keys that only say how upstream runs it (half precision, one item at a time, in chunks), not what it computes.
PRETRANSFORM_KEYS = {"type", "config", "scale", "model_half", "iterate_batch", "chunked", "enable_grad"}


class SnakeBeta(nn.Module):
    """x + 1/(β + 1e-9) · sin²(α·x), α = exp(alpha), β = exp(beta) (upstream's alpha_logscale=True, the only form it builds)."""

    def __init__(self, channels: int):
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        alpha = torch.exp(self.alpha).unsqueeze(0).unsqueeze(-1)
        beta = torch.exp(self.beta).unsqueeze(0).unsqueeze(-1)
        return x + (1.0 / (beta + 0.000000001)) * torch.pow(torch.sin(x * alpha), 2)


def activation(use_snake: bool, channels: int) -> nn.Module:
    return SnakeBeta(channels) if use_snake else nn.ELU()


def wn_conv(in_channels: int, out_channels: int, kernel_size: int, **kwargs) -> nn.Module:
    return weight_norm(nn.Conv1d(in_channels, out_channels, kernel_size, **kwargs))


def wn_conv_transpose(in_channels: int, out_channels: int, kernel_size: int, **kwargs) -> nn.Module:
    return weight_norm(nn.ConvTranspose1d(in_channels, out_channels, kernel_size, **kwargs))


class ResidualUnit(nn.Module):
    def __init__(self, channels: int, dilation: int, use_snake: bool):
        super().__init__()
        self.layers = nn.Sequential(
            activation(use_snake, channels),
            wn_conv(channels, channels, 7, dilation=dilation, padding=(dilation * 6) // 2),
            activation(use_snake, channels),
            wn_conv(channels, channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.layers(x)


class EncoderBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int, use_snake: bool):
        super().__init__()
        self.layers = nn.Sequential(
            ResidualUnit(in_channels, 1, use_snake),
            ResidualUnit(in_channels, 3, use_snake),
            ResidualUnit(in_channels, 9, use_snake),
            activation(use_snake, in_channels),
            wn_conv(in_channels, out_channels, 2 * stride, stride=stride, padding=math.ceil(stride / 2)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class DecoderBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int, use_snake: bool):
        super().__init__()
        self.layers = nn.Sequential(
            activation(use_snake, in_channels),
            wn_conv_transpose(in_channels, out_channels, 2 * stride, stride=stride, padding=math.ceil(stride / 2)),
            ResidualUnit(out_channels, 1, use_snake),
            ResidualUnit(out_channels, 3, use_snake),
            ResidualUnit(out_channels, 9, use_snake),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class OobleckEncoder(nn.Module):
    def __init__(self, in_channels=2, channels=128, latent_dim=32, c_mults=(1, 2, 4, 8), strides=(2, 4, 8, 8),
                 use_snake=False, antialias_activation=False):
        super().__init__()
        widths = [channels * m for m in [1, *c_mults]]
        layers = [wn_conv(in_channels, widths[0], 7, padding=3)]
        layers += [EncoderBlock(widths[i], widths[i + 1], strides[i], use_snake) for i in range(len(c_mults))]
        layers += [activation(use_snake, widths[-1]), wn_conv(widths[-1], latent_dim, 3, padding=1)]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class OobleckDecoder(nn.Module):
    def __init__(self, out_channels=2, channels=128, latent_dim=32, c_mults=(1, 2, 4, 8), strides=(2, 4, 8, 8),
                 use_snake=False, antialias_activation=False, use_nearest_upsample=False, final_tanh=True):
        super().__init__()
        widths = [channels * m for m in [1, *c_mults]]
        layers = [wn_conv(latent_dim, widths[-1], 7, padding=3)]
        layers += [DecoderBlock(widths[i], widths[i - 1], strides[i - 1], use_snake) for i in range(len(c_mults), 0, -1)]
        layers += [
            activation(use_snake, widths[0]),
            wn_conv(widths[0], out_channels, 7, padding=3, bias=False),
            nn.Tanh() if final_tanh else nn.Identity(),
        ]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class OobleckEncoderGraph(nn.Module):
    """audio -> posterior mean / pretransform scale (upstream: encoder, VAE bottleneck, AutoencoderPretransform.encode)."""

    def __init__(self, encoder: OobleckEncoder, latent_dim: int, vae_bottleneck: bool, scale: float):
        super().__init__()
        self.encoder = encoder
        self.latent_dim = latent_dim
        self.vae_bottleneck = vae_bottleneck
        self.scale = scale

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        latents = self.encoder(audio)
        if self.vae_bottleneck:
            latents = latents[:, : self.latent_dim]  # upstream: mean, scale = x.chunk(2, dim=1)
        return latents / self.scale


class OobleckDecoderGraph(nn.Module):
    """latent -> audio (upstream: AutoencoderPretransform.decode multiplies by scale; the VAE bottleneck decodes as identity)."""

    def __init__(self, decoder: OobleckDecoder, scale: float, soft_clip: bool):
        super().__init__()
        self.decoder = decoder
        self.scale = scale
        self.soft_clip = soft_clip

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        audio = self.decoder(latent * self.scale)
        return torch.tanh(audio) if self.soft_clip else audio


def _refuse(message: str) -> None:
    raise ValueError(message)


def check_vae_config(vae_config: dict) -> dict:
    """Validates `model.pretransform` of a stable-audio-tools config; returns the numbers the graphs need. One-line refusals."""
    if not isinstance(vae_config, dict) or vae_config.get("type") != "autoencoder":
        _refuse(f"model.pretransform.type: {vae_config.get('type') if isinstance(vae_config, dict) else vae_config!r} is not supported; only 'autoencoder' (the Oobleck VAE)")
    for key in vae_config:
        if key not in PRETRANSFORM_KEYS:
            _refuse(f"model.pretransform.{key}: unknown field; supported: {', '.join(sorted(PRETRANSFORM_KEYS))}")
    ae = vae_config.get("config")
    if not isinstance(ae, dict):
        _refuse("model.pretransform.config: missing; it must hold the autoencoder's encoder, decoder, bottleneck, latent_dim, downsampling_ratio, io_channels")
    for key in ae:
        if key not in AUTOENCODER_KEYS:
            _refuse(f"model.pretransform.config.{key}: not supported (a nested pretransform or other extra); supported: {', '.join(sorted(AUTOENCODER_KEYS))}")
    for key in ("latent_dim", "downsampling_ratio", "io_channels"):
        if not isinstance(ae.get(key), int) or ae[key] <= 0:
            _refuse(f"model.pretransform.config.{key}: must be a positive integer, got {ae.get(key)!r}")
    bottleneck = ae.get("bottleneck")
    bottleneck_type = bottleneck.get("type") if isinstance(bottleneck, dict) else bottleneck
    if bottleneck_type not in (None, "vae"):
        _refuse(f"model.pretransform.config.bottleneck.type: {bottleneck_type!r} is not supported; only 'vae' (or no bottleneck)")
    vae_bottleneck = bottleneck_type == "vae"
    latent_dim = ae["latent_dim"]

    parts = {}
    for part, allowed in (("encoder", ENCODER_KEYS), ("decoder", DECODER_KEYS)):
        spec = ae.get(part)
        where = f"model.pretransform.config.{part}"
        if not isinstance(spec, dict) or spec.get("type") != "oobleck":
            _refuse(f"{where}.type: {spec.get('type') if isinstance(spec, dict) else spec!r} is not supported; only 'oobleck'")
        extra = set(spec) - {"type", "config", "requires_grad", "soft_clip"}
        if extra:
            _refuse(f"{where}.{sorted(extra)[0]}: unknown field; supported: type, config, requires_grad, soft_clip")
        config = dict(spec.get("config", {}))
        for key in config:
            if key not in allowed:
                _refuse(f"{where}.config.{key}: unknown field; supported: {', '.join(sorted(allowed))}")
        if config.get("antialias_activation"):
            _refuse(f"{where}.config.antialias_activation: true is not supported (Stable Audio Open uses plain Snake); use false")
        if config.get("use_nearest_upsample"):
            _refuse(f"{where}.config.use_nearest_upsample: true is not supported (Stable Audio Open upsamples with transposed convolutions); use false")
        strides = config.get("strides", [2, 4, 8, 8])
        c_mults = config.get("c_mults", [1, 2, 4, 8])
        if len(strides) != len(c_mults):
            _refuse(f"{where}.config: strides ({len(strides)}) and c_mults ({len(c_mults)}) must have the same length")
        if math.prod(strides) != ae["downsampling_ratio"]:
            _refuse(f"{where}.config.strides: their product {math.prod(strides)} must equal downsampling_ratio {ae['downsampling_ratio']}")
        parts[part] = config

    want_encoder_dim = 2 * latent_dim if vae_bottleneck else latent_dim
    if parts["encoder"].get("latent_dim", 32) != want_encoder_dim:
        _refuse(f"model.pretransform.config.encoder.config.latent_dim: {parts['encoder'].get('latent_dim', 32)} must be {want_encoder_dim} (latent_dim {latent_dim}{' × 2 for the VAE mean and scale' if vae_bottleneck else ''})")
    if parts["decoder"].get("latent_dim", 32) != latent_dim:
        _refuse(f"model.pretransform.config.decoder.config.latent_dim: {parts['decoder'].get('latent_dim', 32)} must equal latent_dim {latent_dim}")
    if parts["encoder"].get("in_channels", 2) != ae["io_channels"] or parts["decoder"].get("out_channels", 2) != ae["io_channels"]:
        _refuse(f"model.pretransform.config: the encoder's in_channels and the decoder's out_channels must equal io_channels {ae['io_channels']}")
    scale = vae_config.get("scale", 1.0)
    if not isinstance(scale, (int, float)) or not scale > 0:
        _refuse(f"model.pretransform.scale: must be a positive number, got {scale!r}")
    return {
        "encoder": parts["encoder"],
        "decoder": parts["decoder"],
        "soft_clip": bool(ae["decoder"].get("soft_clip", False)),
        "vae_bottleneck": vae_bottleneck,
        "latent_dim": latent_dim,
        "io_channels": ae["io_channels"],
        "downsampling_ratio": ae["downsampling_ratio"],
        "scale": float(scale),
    }


def oobleck_graph_module(vae_config: dict, part: Part) -> nn.Module:
    """The graph module with fresh weights, weight norm not yet folded (its state_dict has upstream's names under `part.`)."""
    spec = check_vae_config(vae_config)
    if part == "encoder":
        return OobleckEncoderGraph(OobleckEncoder(**spec["encoder"]), spec["latent_dim"], spec["vae_bottleneck"], spec["scale"])
    if part == "decoder":
        return OobleckDecoderGraph(OobleckDecoder(**spec["decoder"]), spec["scale"], spec["soft_clip"])
    raise ValueError(f"part: {part!r} is not supported; use 'encoder' or 'decoder'")


def _weight_norm_tensors(state_dict: Dict[str, torch.Tensor], prefix: str) -> Dict[str, torch.Tensor]:
    """The `part.` tensors in upstream's stored form: `weight_g`/`weight_v` as torch.nn.utils.weight_norm keeps them.

    Also accepted: torch >= 2.1's parametrized form (`parametrizations.weight.original0`/`original1`, the same g and v).
    """
    out = {}
    for key, tensor in state_dict.items():
        if not key.startswith(("encoder.", "decoder.")):
            _refuse(f"checkpoint: pretransform.model.{key} is not part of an Oobleck VAE (its tensors are under encoder. and decoder.)")
        if not key.startswith(prefix):
            continue
        key = key[len(prefix):]
        if key.endswith(".parametrizations.weight.original0"):
            key = key[: -len("parametrizations.weight.original0")] + "weight_g"
        elif key.endswith(".parametrizations.weight.original1"):
            key = key[: -len("parametrizations.weight.original1")] + "weight_v"
        out[key] = tensor
    return out


def build_oobleck(vae_config: dict, state_dict: Dict[str, torch.Tensor], part: Part) -> nn.Module:
    """Our encoder or decoder graph with the checkpoint's weights, weight norm folded, in eval mode.

    vae_config: the `model.pretransform` object of a stable-audio-tools model config.
    state_dict: the checkpoint's tensors under `pretransform.model.` with that prefix removed (`encoder.*`, `decoder.*`).
    Loading is strict: a missing, unexpected or wrongly shaped tensor of this part is refused in one line naming it.
    """
    module = oobleck_graph_module(vae_config, part)
    tensors = _weight_norm_tensors(state_dict, f"{part}.")
    expected_inner = {k[len(part) + 1:]: v for k, v in module.state_dict().items()}
    # An already folded plain `weight` is accepted too: v = weight and g = its norm fold back to it.
    for key, tensor in list(tensors.items()):
        if key.endswith(".weight") and key not in expected_inner and f"{key}_v" in expected_inner:
            base = key[: -len("weight")]
            tensors[base + "weight_v"] = tensor
            tensors[base + "weight_g"] = torch.norm_except_dim(tensor, 2, 0)
            del tensors[key]
    missing = sorted(set(expected_inner) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected_inner))
    if missing:
        _refuse(f"checkpoint: pretransform.model.{part}.{missing[0]} is missing ({len(missing)} {part} tensors missing); the config's {part} needs it")
    if unexpected:
        _refuse(f"checkpoint: pretransform.model.{part}.{unexpected[0]} is not part of the configured Oobleck {part} ({len(unexpected)} unexpected); check the config's channels, c_mults and strides")
    for key, tensor in tensors.items():
        if tuple(tensor.shape) != tuple(expected_inner[key].shape):
            _refuse(f"checkpoint: pretransform.model.{part}.{key} has shape {list(tensor.shape)}, the config needs {list(expected_inner[key].shape)}")
    inner = getattr(module, part)
    inner.load_state_dict({k: t.to(torch.float32) for k, t in tensors.items()}, strict=True)
    fold_weight_norm(module)
    return module.eval().requires_grad_(False)


def fold_weight_norm(module: nn.Module) -> None:
    """Replaces every conv's weight_g/weight_v by the plain weight upstream's forward computes from them."""
    for sub in module.modules():
        if isinstance(sub, (nn.Conv1d, nn.ConvTranspose1d)) and hasattr(sub, "weight_g"):
            remove_weight_norm(sub)


# With no fixed length, the graph is traced this short: convolutions carry no length, so any length then works.
DYNAMIC_TRACE_FRAMES = 4


def export_oobleck(module: nn.Module, part: Part, out_path: str, frames: Optional[int], precision: str = "fp32") -> dict:
    """Writes the ONNX graph (opset 17, batch dynamic, length fixed to `frames` latent frames). Returns its io description.

    encoder: input `audio` float32 [B, io_channels, frames*ratio] -> output `latent` float32 [B, latent_dim, frames].
    decoder: input `latent` float32 [B, latent_dim, frames] -> output `audio` float32 [B, io_channels, frames*ratio].
    frames None: the length axis is dynamic too (`frames` / `samples`, audio a multiple of the ratio). The ops are the
    same; only the declared shapes differ. Tracing then runs a 4-frame forward instead of a full window (at 1024
    frames that forward took most of a 19-minute export here).
    precision 'fp16' is accepted and writes the float32 graph: Debian's torch 1.13 cannot run float16 convolutions on
    the CPU, which tracing needs, and upstream keeps this VAE in float32 too (its `model_half` is off for SAO).
    """
    if precision not in ("fp32", "fp16"):
        raise ValueError(f"precision: {precision!r} is not supported; use fp32 or fp16")
    if frames is not None and (not isinstance(frames, int) or frames <= 0):
        raise ValueError(f"frames: must be a positive integer or None (dynamic length), got {frames!r}")
    trace_frames = frames or DYNAMIC_TRACE_FRAMES
    if part == "encoder":
        inner = module.encoder
        ratio = _downsampling_ratio(inner)
        example = torch.zeros(1, inner.layers[0].in_channels, trace_frames * ratio)
        names = ("audio", "latent")
        length_names = ("samples", "frames")
        shapes = ([None, example.shape[1], frames and frames * ratio], [None, module.latent_dim, frames])
    elif part == "decoder":
        inner = module.decoder
        ratio = _downsampling_ratio(inner)
        example = torch.zeros(1, inner.layers[0].in_channels, trace_frames)
        names = ("latent", "audio")
        length_names = ("frames", "samples")
        shapes = ([None, example.shape[1], frames], [None, _last_conv(inner).out_channels, frames and frames * ratio])
    else:
        raise ValueError(f"part: {part!r} is not supported; use 'encoder' or 'decoder'")
    if any(hasattr(m, "weight_g") for m in module.modules()):
        raise ValueError("export_oobleck: fold the weight norm first (build_oobleck does)")
    axes = [{0: "batch"}, {0: "batch"}]
    if frames is None:
        axes = [{0: "batch", 2: length_names[0]}, {0: "batch", 2: length_names[1]}]
    with torch.no_grad():
        torch.onnx.export(
            module.eval(),
            (example,),
            out_path,
            opset_version=17,
            input_names=[names[0]],
            output_names=[names[1]],
            dynamic_axes={names[0]: axes[0], names[1]: axes[1]},
            do_constant_folding=True,
        )
    return {
        "inputs": {names[0]: shapes[0]},
        "outputs": {names[1]: shapes[1]},
        "frames": frames,
        "downsampling_ratio": ratio,
        "precision": "fp32",
    }


def _downsampling_ratio(inner: nn.Module) -> int:
    ratio = 1
    for sub in inner.modules():
        if isinstance(sub, (nn.Conv1d, nn.ConvTranspose1d)):
            ratio *= sub.stride[0]
    return ratio


def _last_conv(inner: nn.Module) -> nn.Module:
    return [m for m in inner.modules() if isinstance(m, nn.Conv1d)][-1]
