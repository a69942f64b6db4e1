"""Load upstream stable-audio-tools' Oobleck VAE modules on Debian's torch 1.13, for goldens and the layout list only.

Upstream (fetched into the git-ignored models/importer/.upstream/, never committed) targets torch >= 2.5 and pulls in
much more than the VAE. What this file does, and why each is safe for the VAE:
- `stable_audio_tools` and `stable_audio_tools.{models,inference}` become bare packages (their `__init__` is not run),
  so importing `models/factory.py` does not import the whole project (k-diffusion, transformers, gradio, ...).
- `models/autoencoders.py` imports names the Oobleck path never calls; these modules are stand-ins whose names raise
  if used: `torchaudio` (Resample, only for resampling input audio), `alias_free_torch` (Activation1d, only for
  antialiased activations, which SAO does not use), `stable_audio_tools.inference.{sampling,utils}` (diffusion
  sampling, audio padding), `stable_audio_tools.models.{diffusion,transformer}` (other model families),
  `safetensors.torch` (checkpoint loading in `models/utils.py`; we build modules from configs, not files).
- `einops` is the real package, fetched from its GitHub source into .upstream/einops-src (pure Python).
No upstream function is replaced: the Oobleck encoder/decoder, SnakeBeta, the VAE bottleneck and the autoencoder
pretransform run as written.
"""
import sys
import types
from pathlib import Path

UPSTREAM = Path(__file__).resolve().parent / ".upstream"
SAT_ROOT = UPSTREAM / "stable-audio-tools" / "stable_audio_tools"
EINOPS_ROOT = UPSTREAM / "einops-src"


class _Unavailable:
    """Stands in for an upstream name the Oobleck path imports but never calls."""

    def __init__(self, *args, **kwargs):
        raise RuntimeError(f"{type(self).__name__} is a stand-in from upstream_shims_vae.py; the Oobleck VAE does not use it")


def _stub(name: str, **attrs) -> types.ModuleType:
    module = types.ModuleType(name)
    for key, value in attrs.items():
        setattr(module, key, value)
    sys.modules[name] = module
    return module


def _unavailable(name: str) -> type:
    return type(name, (_Unavailable,), {})


def _bare_package(name: str, path: Path) -> None:
    package = types.ModuleType(name)
    package.__path__ = [str(path)]
    sys.modules[name] = package


def install() -> None:
    """Makes `import stable_audio_tools.models.factory` (and autoencoders, bottleneck, pretransforms) work here."""
    if not (SAT_ROOT / "models" / "autoencoders.py").exists():
        raise SystemExit(
            f"upstream stable-audio-tools not found at {SAT_ROOT}: fetch github:Stability-AI/stable-audio-tools into "
            "models/importer/.upstream/stable-audio-tools (see OOBLECK.md)"
        )
    if not (EINOPS_ROOT / "einops" / "__init__.py").exists():
        raise SystemExit(f"einops not found at {EINOPS_ROOT}: fetch github:arogozhnikov/einops there (see OOBLECK.md)")
    if str(EINOPS_ROOT) not in sys.path:
        sys.path.insert(0, str(EINOPS_ROOT))

    _bare_package("stable_audio_tools", SAT_ROOT)
    _bare_package("stable_audio_tools.models", SAT_ROOT / "models")
    _bare_package("stable_audio_tools.inference", SAT_ROOT / "inference")

    transforms = _stub("torchaudio.transforms", Resample=_unavailable("Resample"))
    _stub("torchaudio", transforms=transforms)
    _stub("alias_free_torch", Activation1d=_unavailable("Activation1d"))

    def _load_file(*args, **kwargs):
        raise RuntimeError("safetensors.torch.load_file is a stand-in from upstream_shims_vae.py")

    safetensors_torch = _stub("safetensors.torch", load_file=_load_file)
    _stub("safetensors", torch=safetensors_torch)

    def _unused_function(name):
        def unused(*args, **kwargs):
            raise RuntimeError(f"{name} is a stand-in from upstream_shims_vae.py; the Oobleck VAE does not use it")

        return unused

    _stub("stable_audio_tools.inference.sampling", sample=_unused_function("sample"))
    _stub("stable_audio_tools.inference.utils", prepare_audio=_unused_function("prepare_audio"))
    _stub(
        "stable_audio_tools.models.diffusion",
        **{n: _unavailable(n) for n in ["ConditionedDiffusionModel", "DAU1DCondWrapper", "UNet1DCondWrapper", "DiTWrapper"]},
    )
    _stub(
        "stable_audio_tools.models.transformer",
        **{n: _unavailable(n) for n in ["ContinuousTransformer", "TransformerBlock", "RotaryEmbedding"]},
    )


def upstream_pretransform(pretransform_config: dict, sample_rate: int):
    """Upstream's own factory: `create_pretransform_from_config` -> AutoencoderPretransform(AudioAutoencoder(...))."""
    install()
    from stable_audio_tools.models.factory import create_pretransform_from_config

    return create_pretransform_from_config(pretransform_config, sample_rate)
