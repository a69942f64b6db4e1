"""The one description of chorus-tiny; every network is built from it (see `build`)."""
import os
from chorus import data

CONFIG = {
    "sample_rate": data.SR,
    "channels": 2,
    "latent_channels": 32,
    "downsampling_ratio": data.RATIO,
    "window_frames": data.WINDOW_FRAMES,
    "vae": {"kind": "stft-snake", "n_fft": 2048, "hop": 512, "width": 192, "stages": 2, "dilations": [1, 3], "pitch_channel": False},
    "text": {"max_length": 80, "dim": 256, "layers": 4, "heads": 4, "ff": 512, "clap_dim": 128},
    "timing": {"seconds_start": {"min": 0, "max": 32}, "seconds_total": {"min": 0, "max": 64}, "global_dim": 256},
    "unet": {"base": 64, "mults": [1, 2, 2], "blocks": 1, "attn_levels": [1, 2], "heads": 4, "emb_dim": 256},
}

# 0.4.0 (RUNS.md, "Sixth" and "Seventh training session"): a 33rd latent channel that measures pitch
# (chorus.vae.VAE.pitch_track) and a pitch head in the U-Net that sets it from the prompt (chorus.unet.PitchHead).
# CHORUS_PITCH_CHANNEL=0 builds 0.3.0's shapes instead (32 learned channels, no head), to read its checkpoints
# from git history.
if os.environ.get("CHORUS_PITCH_CHANNEL", "1") != "0":
    CONFIG["latent_channels"] = 33
    CONFIG["vae"]["pitch_channel"] = True
    CONFIG["unet"]["pitch_head"] = True


def build(cfg=CONFIG):
    from chorus.vae import VAE
    from chorus.text_encoder import TextEncoder, AudioEncoder
    from chorus.timing import TimingConditioner
    from chorus.unet import UNet1D
    t, u = cfg["text"], cfg["unet"]
    vae = VAE(cfg["channels"], cfg["latent_channels"], cfg["vae"]["width"], cfg["vae"]["stages"], tuple(cfg["vae"]["dilations"]),
              cfg["vae"].get("pitch_channel", False))
    assert vae.ratio == cfg["downsampling_ratio"]
    text = TextEncoder(t["max_length"], t["dim"], t["layers"], t["heads"], t["ff"], t["clap_dim"])
    audio = AudioEncoder(t["clap_dim"])
    timing = TimingConditioner(t["dim"], cfg["timing"]["global_dim"], cfg["timing"]["seconds_start"]["max"],
                               cfg["timing"]["seconds_total"]["max"])
    unet = UNet1D(cfg["latent_channels"], t["dim"], cfg["timing"]["global_dim"], u["base"], tuple(u["mults"]),
                  u["blocks"], tuple(u["attn_levels"]), u["heads"], u["emb_dim"], cfg["window_frames"],
                  cfg["sample_rate"] / cfg["downsampling_ratio"], u.get("pitch_head", False))
    return {"vae": vae, "text": text, "audio": audio, "timing": timing, "unet": unet}
