"""model.json for an imported stable-audio-tools model (docs/model-contract.md). One function writes all of it."""

import json
import os

# Sampling defaults by objective, from upstream: the SAO 1.0 model card (v: dpmpp-3m-sde, 100 steps, cfg 7,
# sigma 0.3-500) and SAO Small (rf_denoiser: pingpong, 8 steps, cfg 1). Rectified-flow models sample through
# upstream's sample_rf, whose schedule is t = sigmoid(-linspace(logsnr_max, 2, steps + 1)), t[0] = sigma_max,
# t[-1] = 0, logsnr_max = -6 at sigma_max 1 (the config's distribution_shift_options are not applied there).
DEFAULTS = {
    "v": {"steps": 100, "sampler": "dpmpp-3m-sde", "cfg_scale": 7, "schedule": "polyexponential",
          "sigma_min": 0.3, "sigma_max": 500, "rho": 1},
    "rf_denoiser": {"steps": 8, "sampler": "pingpong", "cfg_scale": 1, "schedule": "rf_logsnr", "sigma_max": 1},
    # no published rectified_flow SAO: upstream generate_diffusion_cond's cfg 6, and Euler
    "rectified_flow": {"steps": 50, "sampler": "euler", "cfg_scale": 6, "schedule": "rf_logsnr", "sigma_max": 1},
}


def write_manifest(out_dir, spec, name, text_encoder, precision, dit_graph="dit.onnx", version="1.0.0", provenance=None):
    """Write out_dir/model.json. `text_encoder` is what export_text_encoder returned ({"dim", "tokenizer_file"});
    `dit_graph` what export_dit returned (`dit.onnx`, or `dit/dit.onnx` for a graph with external data)."""
    timing = {"file": "conditioners.onnx"}
    for key in spec.timing_inputs:
        timing[key] = {"min": spec.numbers[key]["min_val"], "max": spec.numbers[key]["max_val"]}
    timing["inputs"] = {key: key for key in spec.timing_inputs}
    timing["outputs"] = {"tokens": "timing_tokens", "global": "global_cond"}
    defaults = dict(DEFAULTS[spec.objective], cfg_rescale=0, cfg_interval=[0, 1])
    manifest = {
        "name": name,
        "version": version,
        "sample_rate": spec.sample_rate,
        "channels": spec.audio_channels,
        "latent_channels": spec.latent_channels,
        "downsampling_ratio": spec.downsampling_ratio,
        "window_frames": spec.window_frames,
        "tokenizer": {"kind": "hf", "file": text_encoder.get("tokenizer_file", "tokenizer.json"),
                      "max_length": spec.max_length},
        "text_encoder": {"file": "text_encoder.onnx", "dim": text_encoder.get("dim", spec.cond_dim),
                         "inputs": {"ids": "input_ids", "mask": "attention_mask"},
                         "outputs": {"features": "features"}},
        "timing": timing,
        "diffusion": {"file": dit_graph, "objective": spec.objective, "uncond": "zero_all_tokens",
                      "inputs": {"x": "x", "t": "t", "cross_attn_cond": "cross_attn_cond", "global_cond": "global_cond"},
                      "outputs": {"v": "v"}},
        "vae": {
            "decoder": {"file": "vae_decoder.onnx", "inputs": {"latent": "latent"}, "outputs": {"audio": "audio"}},
            "encoder": {"file": "vae_encoder.onnx", "inputs": {"audio": "audio"}, "outputs": {"latent": "latent"}},
        },
        "defaults": defaults,
        "provenance": dict({"importer": "stable-audio-tools", "precision": precision}, **(provenance or {})),
    }
    path = os.path.join(out_dir, "model.json")
    with open(path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return manifest
