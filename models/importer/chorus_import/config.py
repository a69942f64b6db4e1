"""model_config.json validation: what the importer can serve, refused in one line before any work.

Serves stable-audio-tools `diffusion_cond` models with a `dit` diffusion network (continuous transformer, prepend
global conditioning), objectives v / rectified_flow / rf_denoiser, a T5 prompt conditioner plus `number`
conditioners named seconds_start / seconds_total, and an Oobleck autoencoder pretransform with a VAE bottleneck:
the Stable Audio Open 1.0 and Small layouts.
"""

import math
from dataclasses import dataclass

OBJECTIVES = ("v", "rectified_flow", "rf_denoiser")
TIMING_IDS = ("seconds_start", "seconds_total")
# model.diffusion.config keys, with the value a key must have when it is not one our DiT takes as a size
DIT_SIZE_KEYS = ("io_channels", "embed_dim", "depth", "num_heads", "cond_token_dim", "global_cond_dim",
                 "project_cond_tokens", "project_global_cond", "attn_kwargs")
DIT_FIXED = {"transformer_type": "continuous_transformer", "global_cond_type": "prepend",
             "timestep_cond_type": "global", "patch_size": 1, "input_concat_dim": 0, "prepend_cond_dim": 0}
QK_NORMS = ("none", "ln")

DIT_PREFIX = "model.model."
COND_PREFIX = "conditioner.conditioners."
VAE_PREFIX = "pretransform.model."


class ConfigError(ValueError):
    """A config or checkpoint the importer cannot serve; the message is one line naming the field or tensor."""


@dataclass
class ModelSpec:
    config: dict
    sample_rate: int
    sample_size: int
    audio_channels: int
    latent_channels: int
    downsampling_ratio: int
    window_frames: int
    objective: str
    dit: dict                # model.diffusion.config
    cond_dim: int
    prompt_id: str
    t5_model_name: str
    max_length: int
    numbers: dict            # {id: {"min_val", "max_val"}} in config order
    cross_ids: list          # cross_attention_cond_ids
    global_ids: list         # global_cond_ids
    vae: dict                # model.pretransform (type, config, ...), as oobleck.build_oobleck takes it

    @property
    def timing_inputs(self):
        """The conditioners graph's inputs, in order."""
        return [key for key in TIMING_IDS if key in self.numbers]


def _get(cfg, path, kind=None):
    node = cfg
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ConfigError(f"model_config.json: {path} is missing")
        node = node[part]
    if kind is not None and not isinstance(node, kind) or (kind is int and isinstance(node, bool)):
        raise ConfigError(f"model_config.json: {path} must be {kind.__name__ if kind is not int else 'an integer'}")
    return node


def _refuse(field, value, supported):
    raise ConfigError(f"model_config.json: {field} {value!r} is not supported; supported: {supported}")


def validate_config(cfg):
    """The ModelSpec of a config we can serve, or ConfigError naming the first field we cannot."""
    if not isinstance(cfg, dict):
        raise ConfigError("model_config.json: must be a JSON object")
    model_type = cfg.get("model_type")
    if model_type != "diffusion_cond":
        _refuse("model_type", model_type, "'diffusion_cond' (text-to-audio)")
    sample_rate = _get(cfg, "sample_rate", int)
    sample_size = _get(cfg, "sample_size", int)
    audio_channels = cfg.get("audio_channels", 2)
    if audio_channels != 2:
        _refuse("audio_channels", audio_channels, "2 (stereo)")

    diffusion = _get(cfg, "model.diffusion", dict)
    if diffusion.get("type") != "dit":
        _refuse("model.diffusion.type", diffusion.get("type"), "'dit'")
    objective = diffusion.get("diffusion_objective", "v")
    if objective not in OBJECTIVES:
        _refuse("model.diffusion.diffusion_objective", objective, ", ".join(OBJECTIVES))
    for key in ("input_concat_ids", "prepend_cond_ids"):
        if diffusion.get(key):
            _refuse(f"model.diffusion.{key}", diffusion[key], "none (empty)")
    dit = _get(cfg, "model.diffusion.config", dict)
    for key, value in dit.items():
        if key in DIT_FIXED:
            if value != DIT_FIXED[key]:
                _refuse(f"model.diffusion.config.{key}", value, repr(DIT_FIXED[key]))
        elif key not in DIT_SIZE_KEYS:
            raise ConfigError(f"model_config.json: model.diffusion.config.{key} is not supported; supported keys: "
                              f"{', '.join(DIT_SIZE_KEYS + tuple(DIT_FIXED))}")
    for key in ("io_channels", "embed_dim", "depth", "num_heads", "cond_token_dim", "global_cond_dim"):
        value = _get(cfg, f"model.diffusion.config.{key}", int)
        if value <= 0:
            raise ConfigError(f"model_config.json: model.diffusion.config.{key} must be positive (got {value})")
    attn = dit.get("attn_kwargs", {})
    if not isinstance(attn, dict) or set(attn) - {"qk_norm"}:
        _refuse("model.diffusion.config.attn_kwargs", attn, "{} or {\"qk_norm\": \"none\" | \"ln\"}")
    if attn.get("qk_norm", "none") not in QK_NORMS:
        _refuse("model.diffusion.config.attn_kwargs.qk_norm", attn["qk_norm"], ", ".join(QK_NORMS))
    embed, heads = dit["embed_dim"], dit["num_heads"]
    if embed % heads:
        raise ConfigError(f"model_config.json: model.diffusion.config.embed_dim {embed} is not a multiple of num_heads {heads}")
    head_dim = embed // heads
    context = embed if dit.get("project_cond_tokens", True) else dit["cond_token_dim"]
    if context % head_dim or heads % (context // head_dim):
        raise ConfigError(f"model_config.json: model.diffusion.config.cond_token_dim {dit['cond_token_dim']} must give "
                          f"a whole number of {head_dim}-wide key/value heads that divides num_heads {heads}")

    conditioning = _get(cfg, "model.conditioning", dict)
    cond_dim = _get(cfg, "model.conditioning.cond_dim", int)
    configs = _get(cfg, "model.conditioning.configs", list)
    prompts, numbers = [], {}
    for i, c in enumerate(configs):
        kind, cid = c.get("type"), c.get("id")
        if kind == "t5":
            prompts.append(c)
        elif kind == "number":
            if cid not in TIMING_IDS:
                _refuse(f"model.conditioning.configs[{i}].id", cid, "number conditioners named " + " and ".join(TIMING_IDS))
            ncfg = c.get("config", {})
            lo, hi = ncfg.get("min_val", 0), ncfg.get("max_val", 1)
            if not hi > lo:
                raise ConfigError(f"model_config.json: model.conditioning.configs[{i}].config needs max_val > min_val")
            numbers[cid] = {"min_val": lo, "max_val": hi}
        else:
            _refuse(f"model.conditioning.configs[{i}].type", kind, "'t5' (one) and 'number'")
    if len(prompts) != 1:
        raise ConfigError(f"model_config.json: model.conditioning.configs has {len(prompts)} t5 conditioners; supported: exactly one")
    prompt = prompts[0]
    pcfg = prompt.get("config", {})
    if pcfg.get("project_out"):
        _refuse("model.conditioning.configs[prompt].config.project_out", True, "false (T5 features used as they are)")
    if "seconds_total" not in numbers:
        raise ConfigError("model_config.json: model.conditioning.configs has no 'seconds_total' number conditioner; it is required")

    cross_ids = _get(cfg, "model.diffusion.cross_attention_cond_ids", list)
    global_ids = diffusion.get("global_cond_ids", [])
    if not cross_ids or cross_ids[0] != prompt["id"] or any(k not in numbers for k in cross_ids[1:]):
        _refuse("model.diffusion.cross_attention_cond_ids", cross_ids,
                f"the t5 conditioner '{prompt['id']}' first, then number conditioners")
    if not global_ids or any(k not in numbers for k in global_ids):
        _refuse("model.diffusion.global_cond_ids", global_ids, "one or more number conditioners")
    if dit["cond_token_dim"] != cond_dim:
        raise ConfigError(f"model_config.json: model.diffusion.config.cond_token_dim {dit['cond_token_dim']} differs from "
                          f"model.conditioning.cond_dim {cond_dim}; they must be equal")
    if dit["global_cond_dim"] != cond_dim * len(global_ids):
        raise ConfigError(f"model_config.json: model.diffusion.config.global_cond_dim {dit['global_cond_dim']} must be "
                          f"cond_dim × len(global_cond_ids) = {cond_dim * len(global_ids)}")

    pretransform = _get(cfg, "model.pretransform", dict)
    if pretransform.get("type") != "autoencoder":
        _refuse("model.pretransform.type", pretransform.get("type"), "'autoencoder' (Oobleck)")
    vae = _get(cfg, "model.pretransform.config", dict)
    for part in ("encoder", "decoder"):
        kind = _get(cfg, f"model.pretransform.config.{part}", dict).get("type")
        if kind != "oobleck":
            _refuse(f"model.pretransform.config.{part}.type", kind, "'oobleck'")
    bottleneck = (vae.get("bottleneck") or {}).get("type")
    if bottleneck != "vae":
        _refuse("model.pretransform.config.bottleneck.type", bottleneck, "'vae'")
    latent = _get(cfg, "model.pretransform.config.latent_dim", int)
    ratio = _get(cfg, "model.pretransform.config.downsampling_ratio", int)
    if vae.get("io_channels", 2) != 2:
        _refuse("model.pretransform.config.io_channels", vae.get("io_channels"), "2 (stereo)")
    strides = vae["decoder"].get("config", {}).get("strides")
    if isinstance(strides, list) and math.prod(strides) != ratio:
        raise ConfigError(f"model_config.json: model.pretransform.config.downsampling_ratio {ratio} differs from the "
                          f"product of the decoder strides {strides} ({math.prod(strides)})")
    if dit["io_channels"] != latent:
        raise ConfigError(f"model_config.json: model.diffusion.config.io_channels {dit['io_channels']} differs from "
                          f"model.pretransform.config.latent_dim {latent}; they must be equal")
    if sample_size % ratio:
        raise ConfigError(f"model_config.json: sample_size {sample_size} is not a multiple of downsampling_ratio {ratio}")

    return ModelSpec(
        config=cfg, sample_rate=sample_rate, sample_size=sample_size, audio_channels=2, latent_channels=latent,
        downsampling_ratio=ratio, window_frames=sample_size // ratio, objective=objective, dit=dit, cond_dim=cond_dim,
        prompt_id=prompt["id"], t5_model_name=pcfg.get("t5_model_name", "t5-base"),
        max_length=int(pcfg.get("max_length", 128)), numbers=numbers, cross_ids=list(cross_ids),
        global_ids=list(global_ids), vae=pretransform)


def split_state_dict(state_dict):
    """The checkpoint's tensors by part, prefixes removed: {"dit", "conditioners", "vae"}; other keys are ignored."""
    parts = {"dit": {}, "conditioners": {}, "vae": {}}
    for key, value in state_dict.items():
        for part, prefix in (("dit", DIT_PREFIX), ("conditioners", COND_PREFIX), ("vae", VAE_PREFIX)):
            if key.startswith(prefix):
                parts[part][key[len(prefix):]] = value
    return parts


def check_tensors(prefix, expected, tensors, what, optional=()):
    """Refuse, in one line, the first missing, unexpected or wrongly shaped tensor of one part."""
    for name, shape in expected.items():
        if name not in tensors:
            if name in optional:
                continue
            raise ConfigError(f"checkpoint: tensor {prefix}{name} is missing ({what} needs it, shape {list(shape)})")
        got = list(tensors[name].shape)
        if got != list(shape):
            raise ConfigError(f"checkpoint: tensor {prefix}{name} has shape {got}; {what} needs {list(shape)}")
    for name in tensors:
        if name not in expected:
            raise ConfigError(f"checkpoint: tensor {prefix}{name} is not part of {what}; "
                              f"a checkpoint for a different architecture?")
