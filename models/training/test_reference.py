"""Plain-assert checks of the reference pieces: /usr/bin/python3 models/training/test_reference.py"""
import math
import os
import sys
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chorus import prng, sampling, tokenizer  # noqa: E402


def u32(*xs):
    return [np.array([x], dtype=np.uint64) for x in xs]


def test_philox_known_answers():
    # Random123 kat_vectors, philox4x32 10 rounds
    w = prng.philox4x32_10(u32(0, 0, 0, 0), (0, 0))
    assert [int(x[0]) for x in w] == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]
    w = prng.philox4x32_10(u32(0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF))
    assert [int(x[0]) for x in w] == [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]
    w = prng.philox4x32_10(u32(0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0))
    assert [int(x[0]) for x in w] == [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]


def test_stream_layout_and_box_muller():
    seed, stream = 42, 3
    w = prng.philox_words(seed, stream, 2)
    ref = prng.philox4x32_10(u32(1, 0, stream, 0), (seed, 0x43484F52))
    assert [int(x) for x in w[:, 1]] == [int(x[0]) for x in ref]
    wa, wb = float(w[0, 0]), float(w[1, 0])
    u1, u2 = (wa + 1) / 2 ** 32, wb / 2 ** 32
    r = math.sqrt(-2 * math.log(u1))
    z = prng.normals(seed, stream, 6)
    assert abs(z[0] - r * math.cos(2 * math.pi * u2)) < 1e-12
    assert abs(z[1] - r * math.sin(2 * math.pi * u2)) < 1e-12
    # the fill order is row-major and does not depend on the requested length
    assert np.array_equal(prng.normals(seed, stream, 5), prng.normals(seed, stream, 9)[:5])
    big = prng.normals(7, 0, 200000)
    assert abs(big.mean()) < 0.01 and abs(big.std() - 1) < 0.01
    assert prng.noise(1, 0, (2, 3)).dtype == np.float32


def test_schedules():
    s = sampling.polyexponential(5, 0.03, 80.0, 1.0)
    assert len(s) == 6 and s[-1] == 0
    assert abs(s[0] - 80.0) < 1e-9 and abs(s[4] - 0.03) < 1e-12
    assert np.allclose(np.diff(np.log(s[:5])), math.log(0.03 / 80) / 4)
    s2 = sampling.polyexponential(5, 0.03, 80.0, 2.0)
    assert abs(math.log(s2[1]) - (math.log(0.03) + 0.75 ** 2 * (math.log(80) - math.log(0.03)))) < 1e-12
    assert np.allclose(sampling.polyexponential(1, 0.03, 80.0, 1.0), [80.0, 0.0], rtol=1e-12)
    assert list(sampling.karras(1, 0.03, 80.0, 7.0))[1] == 0.0 and abs(sampling.karras(1, 0.03, 80.0, 7.0)[0] - 80) < 1e-9
    k = sampling.karras(4, 0.1, 10.0, 7.0)
    assert abs(k[0] - 10.0) < 1e-9 and abs(k[3] - 0.1) < 1e-12 and k[4] == 0
    mid = (10 ** (1 / 7) + (1 / 3) * (0.1 ** (1 / 7) - 10 ** (1 / 7))) ** 7
    assert abs(k[1] - mid) < 1e-12


def test_v_scalings():
    c_skip, c_out, c_in = sampling.v_scalings(2.0)
    assert abs(c_skip - 0.2) < 1e-12 and abs(c_out + 2 / math.sqrt(5)) < 1e-12 and abs(c_in - 1 / math.sqrt(5)) < 1e-12
    assert abs(sampling.sigma_to_t(1.0) - 0.5) < 1e-12


def test_tokenizer():
    ids, mask, nums = tokenizer.tokenize("A Sine at 440 Hz", 20)
    assert list(ids[:4]) == [ord("a") + 1, ord(" ") + 1, ord("s") + 1, ord("i") + 1]
    assert mask.sum() == 16 and ids[16] == 0
    assert list(nums[10:13]) == [440, 440, 440] and nums[9] == 0 and nums[13] == 0
    _, _, nums = tokenizer.tokenize("at 120.5 bpm 3.", 20)
    assert list(nums[3:8]) == [120.5] * 5 and nums[13] == 3 and nums[14] == 0
    ids, mask, _ = tokenizer.tokenize("x" * 30, 8)
    assert mask.sum() == 8
    ids, _, _ = tokenizer.tokenize("É", 4)   # only ASCII A-Z is lowercased
    assert list(ids[:2]) == [0xC3 + 1, 0x89 + 1]


def test_samplers_exact_on_gaussian():
    # For data x0 ~ N(0, s²) the ideal denoiser is linear; every sampler must land close to x0-distribution scale.
    import torch
    s2 = 0.25

    def denoiser(x, sigma):
        return x * (s2 / (s2 + sigma ** 2))
    sig = sampling.polyexponential(60, 0.01, 80.0, 1.0)
    x = torch.from_numpy(prng.noise(3, 0, (1, 4, 4096))) * sig[0]
    for name, fn in sampling.SAMPLERS.items():
        out = fn(denoiser, x.clone(), sig, [3])
        std = out.std().item()
        assert abs(std - math.sqrt(s2)) < 0.05, (name, std)


def test_pitch_channel():
    # The VAE's last latent channel measures the strongest partial: within 1 Hz for sines and sawtooths,
    # 0 for silence and white noise; an old checkpoint (no pitch channel) loads and decodes nearly as before
    # (the harmonic gate starts at sigmoid(−4) = 0.018, not 0, hence the 5 % tolerance).
    import torch
    from chorus.vae import VAE, PITCH_GAIN
    torch.manual_seed(0)
    vae = VAE(latent_channels=5, width=16, pitch_channel=True).eval()
    t = torch.arange(44100) / 44100.0
    for f in (110.0, 261.6, 440.0, 987.0):
        for x in (0.25 * torch.sin(2 * math.pi * f * t),
                  0.15 * sum(torch.sin(2 * math.pi * f * h * t) / h for h in range(1, 12))):
            ch = vae.pitch_track(torch.stack([x, 0.3 * x])[None])[0, 0, 2:-2]
            hz = 440.0 * 2 ** (ch / PITCH_GAIN)
            assert (hz - f).abs().max() < 1.0, (f, hz)
    noise = torch.randn(2, 44100, generator=torch.Generator().manual_seed(1)) * 0.1
    for x in (torch.zeros(2, 44100), noise):
        assert vae.pitch_track(x[None]).abs().max() == 0
    old = VAE(latent_channels=4, width=16)
    vae.load_state_dict(old.state_dict())           # 4 learned channels + the pitch channel
    z = torch.randn(1, 4, 6)
    with torch.no_grad():
        a = old.decoder(z)
        b = vae.decoder(torch.cat([z, torch.zeros(1, 1, 6)], 1))
    assert (a - b).abs().max() < 0.05 * a.abs().max(), float((a - b).abs().max())


def test_pitch_head():
    # With the gate shut, the U-Net with a pitch head gives the v of the network it was loaded from (to the gate's
    # sigmoid(−4) = 0.018 share); with the gate open, the sampler's clean estimate of the pitch channel,
    # α·x − σ·v, is the head's value whatever the noise.
    import torch
    from chorus.unet import UNet1D
    torch.manual_seed(0)
    kw = dict(in_ch=5, cond_dim=32, global_dim=16, base=16, mults=(1, 2), blocks=1, attn_levels=(1,), heads=2,
              emb_dim=32, window=16)
    old, new = UNet1D(**kw).eval(), UNet1D(**kw, pitch_head=True).eval()
    torch.nn.init.normal_(old.out[-1].weight, std=0.1)
    new.load_state_dict(old.state_dict())
    B = 3
    x, t = torch.randn(B, 5, 16), torch.tensor([0.2, 0.5, 0.9])
    cond, mask, glob = torch.randn(B, 6, 32), torch.ones(B, 6), torch.rand(B, 16) * 8
    with torch.no_grad():
        a, b = old(x, t, cond, mask, glob), new(x, t, cond, mask, glob)
        assert (a[:, :-1] - b[:, :-1]).abs().max() < 1e-6
        alpha, sigma = torch.cos(t * math.pi / 2)[:, None], torch.sin(t * math.pi / 2)[:, None]
        own, mixed = alpha * x[:, -1] - sigma * a[:, -1], alpha * x[:, -1] - sigma * b[:, -1]
        head = new.pitch_head(cond[:, :-2], mask[:, :-2])
        assert (mixed - (0.018 * head + 0.982 * own)).abs().max() < 1e-3 * (1 + own.abs().max())
        new.pitch_gate.bias.fill_(30.0)                 # gate open
        for seed in (1, 2):
            xs = torch.randn(B, 5, 16, generator=torch.Generator().manual_seed(seed))
            v = new(xs, t, cond, mask, glob)
            clean = alpha * xs[:, -1] - sigma * v[:, -1]
            assert (clean - head).abs().max() < 1e-4, float((clean - head).abs().max())


if __name__ == "__main__":
    for name, fn in list(globals().items()):
        if name.startswith("test_") and callable(fn):
            fn()
            print("ok", name)
