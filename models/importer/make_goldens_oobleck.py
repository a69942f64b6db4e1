"""Writes the Oobleck VAE fixture and goldens from UPSTREAM stable-audio-tools (fetched into .upstream/, see OOBLECK.md).

  /usr/bin/python3 models/importer/make_goldens_oobleck.py

- fixtures/oobleck-reduced.json          a reduced SAO VAE config (channels 8, the real c_mults, strides and latent 64)
- fixtures/oobleck-reduced.safetensors   its random weights, keyed `pretransform.model.{encoder,decoder}.*` as a checkpoint is
- golden/oobleck-*.npy                   fixed inputs and what upstream's AutoencoderPretransform makes of them
- golden/oobleck.json                    what each golden file is
- golden/oobleck-layout.json             every tensor name and shape of upstream's VAE at Stable Audio Open 1.0's size
"""
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import upstream_shims_vae  # noqa: E402
from chorus_import.checkpoint import write_safetensors  # noqa: E402

FIXTURES = HERE / "fixtures"
GOLDEN = HERE / "golden"
SAMPLE_RATE = 44100
FRAMES = 8  # latent frames of the fixture's graphs: 16384 samples
BATCH = 2

# Stable Audio Open 1.0's `model.pretransform` (SAO Small uses the same VAE), as in its model_config.json.
SAO_PRETRANSFORM = {
    "type": "autoencoder",
    "iterate_batch": True,
    "config": {
        "encoder": {
            "type": "oobleck",
            "requires_grad": False,
            "config": {"in_channels": 2, "channels": 128, "c_mults": [1, 2, 4, 8, 16], "strides": [2, 4, 4, 8, 8], "latent_dim": 128, "use_snake": True},
        },
        "decoder": {
            "type": "oobleck",
            "config": {"out_channels": 2, "channels": 128, "c_mults": [1, 2, 4, 8, 16], "strides": [2, 4, 4, 8, 8], "latent_dim": 64, "use_snake": True, "final_tanh": False},
        },
        "bottleneck": {"type": "vae"},
        "latent_dim": 64,
        "downsampling_ratio": 2048,
        "io_channels": 2,
    },
}


def reduced_pretransform() -> dict:
    """SAO's VAE with channels 128 -> 8; scale 1.25 (SAO has none, i.e. 1) so the graphs prove where the scale goes."""
    config = json.loads(json.dumps(SAO_PRETRANSFORM))
    config["config"]["encoder"]["config"]["channels"] = 8
    config["config"]["decoder"]["config"]["channels"] = 8
    config["scale"] = 1.25
    return config


def upstream_commit() -> str:
    mirror = HERE / ".upstream" / "stable-audio-tools"
    stamp = mirror / "COMMIT"
    return stamp.read_text().strip() if stamp.exists() else "unknown"


def randomize(model: torch.nn.Module, generator: torch.Generator) -> None:
    """Upstream's init gives g = |v| and alpha = beta = 0 (Snake's α = β = 1); spread them so folding and Snake are tested."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("weight_g"):
                p.mul_(0.5 + torch.rand(p.shape, generator=generator))
            elif name.endswith(".alpha") or name.endswith(".beta"):
                p.copy_(0.3 * torch.randn(p.shape, generator=generator))
            elif name.endswith(".bias"):
                p.copy_(0.05 * torch.randn(p.shape, generator=generator))


def test_audio(generator: torch.Generator) -> torch.Tensor:
    """Two stereo clips: tones with an envelope plus a little noise, the kind of signal the encoder sees."""
    n = FRAMES * 2048
    t = torch.arange(n, dtype=torch.float64) / SAMPLE_RATE
    clips = []
    for freqs in ([220.0, 331.0], [440.0, 1250.0]):
        left = 0.4 * torch.sin(2 * math.pi * freqs[0] * t) * torch.exp(-3 * t)
        right = 0.3 * torch.sin(2 * math.pi * freqs[1] * t + 0.5)
        clips.append(torch.stack([left, right]))
    audio = torch.stack(clips).to(torch.float32)
    return audio + 0.02 * torch.randn(audio.shape, generator=generator)


def save(name: str, tensor: torch.Tensor) -> str:
    np.save(GOLDEN / name, tensor.detach().to(torch.float32).numpy())
    return name


def make_fixture_and_goldens() -> None:
    generator = torch.Generator().manual_seed(17)
    torch.manual_seed(17)
    pretransform_config = reduced_pretransform()
    pretransform = upstream_shims_vae.upstream_pretransform(pretransform_config, SAMPLE_RATE)
    randomize(pretransform.model, generator)
    pretransform.eval()

    state = {f"pretransform.model.{k}": v for k, v in pretransform.model.state_dict().items()}
    FIXTURES.mkdir(exist_ok=True)
    GOLDEN.mkdir(exist_ok=True)
    (FIXTURES / "oobleck-reduced.json").write_text(
        json.dumps({"sample_rate": SAMPLE_RATE, "model": {"pretransform": pretransform_config}}, indent=2) + "\n"
    )
    write_safetensors(
        state,
        str(FIXTURES / "oobleck-reduced.safetensors"),
        {"made_by": "models/importer/make_goldens_oobleck.py", "upstream": f"stable-audio-tools {upstream_commit()}"},
    )

    audio = test_audio(generator)
    latent_in = torch.randn(BATCH, 64, FRAMES, generator=generator)
    with torch.no_grad():
        # Upstream's VAE bottleneck samples mean + std·randn; with the noise at zero it yields the posterior mean,
        # which is what our encoder graph outputs. Everything else is upstream's pretransform path as written.
        randn_like = torch.randn_like
        torch.randn_like = lambda t, **kwargs: torch.zeros_like(t)
        try:
            latent_mean = pretransform.encode(audio)
        finally:
            torch.randn_like = randn_like
        decoded = pretransform.decode(latent_in)
        roundtrip = pretransform.decode(latent_mean)
    cases = {
        "upstream": f"stable-audio-tools {upstream_commit()}",
        "config": "fixtures/oobleck-reduced.json",
        "checkpoint": "fixtures/oobleck-reduced.safetensors",
        "frames": FRAMES,
        "encoder": {"input": save("oobleck-encoder-audio.npy", audio), "output": save("oobleck-encoder-latent.npy", latent_mean),
                    "what": "AutoencoderPretransform.encode with the bottleneck's noise zeroed: posterior mean / scale"},
        "decoder": {"input": save("oobleck-decoder-latent.npy", latent_in), "output": save("oobleck-decoder-audio.npy", decoded),
                    "what": "AutoencoderPretransform.decode(latent)"},
        "roundtrip": {"input": "oobleck-encoder-audio.npy", "output": save("oobleck-roundtrip-audio.npy", roundtrip),
                      "what": "decode(encode(audio)), the encode as above"},
    }
    (GOLDEN / "oobleck.json").write_text(json.dumps(cases, indent=2) + "\n")
    for name in ("encoder", "decoder", "roundtrip"):
        out = np.load(GOLDEN / cases[name]["output"])
        print(f"{name}: shape {list(out.shape)}, max |x| {np.abs(out).max():.4g}, rms {np.sqrt((out ** 2).mean()):.4g}")


def make_layout() -> None:
    pretransform = upstream_shims_vae.upstream_pretransform(SAO_PRETRANSFORM, SAMPLE_RATE)
    tensors = {f"pretransform.model.{k}": list(v.shape) for k, v in pretransform.model.state_dict().items()}
    layout = {
        "what": "every tensor of upstream's Oobleck VAE at Stable Audio Open 1.0's size (SAO Small's is the same), "
                "as a checkpoint stores it; made by models/importer/make_goldens_oobleck.py",
        "upstream": f"stable-audio-tools {upstream_commit()}",
        "pretransform": SAO_PRETRANSFORM,
        "parameters": sum(math.prod(s) for s in tensors.values()),
        "tensors": tensors,
    }
    (GOLDEN / "oobleck-layout.json").write_text(json.dumps(layout, indent=1) + "\n")
    print(f"layout: {len(tensors)} tensors, {layout['parameters']} parameters")


if __name__ == "__main__":
    make_fixture_and_goldens()
    make_layout()
