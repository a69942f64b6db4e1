"""CLAP-style pair: a byte-level text transformer (with numeric features) and a log-mel audio encoder."""
import math
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from chorus.layers import attention, FourierFeatures


class TransformerLayer(nn.Module):
    def __init__(self, dim, heads, ff):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.ff = nn.Sequential(nn.Linear(dim, ff), nn.GELU(), nn.Linear(ff, dim))

    def forward(self, x, mask):
        q, k, v = self.qkv(self.ln1(x)).chunk(3, dim=-1)
        x = x + self.proj(attention(q, k, v, self.heads, mask))
        return x + self.ff(self.ln2(x))


class TextEncoder(nn.Module):
    """ids, mask, numbers [B,T] → penultimate-layer features [B,T,D] (zero at padding)."""

    def __init__(self, max_length=80, dim=256, layers=4, heads=4, ff=512, clap_dim=128):
        super().__init__()
        self.tok = nn.Embedding(257, dim)
        self.pos = nn.Parameter(torch.randn(1, max_length, dim) * 0.02)
        # Fourier features of log(v): pitches and tempos between seen values land between them.
        self.num_ff = FourierFeatures(24, 0.05, 12.0)
        self.num_proj = nn.Sequential(nn.Linear(49, dim), nn.GELU(), nn.Linear(dim, dim))
        self.layers = nn.ModuleList([TransformerLayer(dim, heads, ff) for _ in range(layers)])
        self.ln_out = nn.LayerNorm(dim)
        self.clap_proj = nn.Linear(dim, clap_dim)

    def hidden(self, ids, mask, numbers):
        m = mask.to(torch.float32)
        has_num = (numbers > 0).to(torch.float32).unsqueeze(-1)
        lognum = torch.log(numbers.clamp(min=1e-3))
        x = self.tok(ids) + self.pos[:, : ids.shape[1]] + has_num * self.num_proj(self.num_ff(lognum))
        states = []
        for layer in self.layers:
            x = layer(x, m)
            states.append(x)
        return states, m

    def forward(self, ids, mask, numbers):
        states, m = self.hidden(ids, mask, numbers)
        return states[-2] * m.unsqueeze(-1)

    def clap_embed(self, ids, mask, numbers):
        states, m = self.hidden(ids, mask, numbers)
        return self.clap_pool(states[-1], m)

    def clap_pool(self, last, m):
        h = self.ln_out(last)
        pooled = (h * m.unsqueeze(-1)).sum(1) / m.sum(1, keepdim=True).clamp(min=1)
        return F.normalize(self.clap_proj(pooled), dim=-1)


# ---------------------------------------------------------------- audio side (CLAP training only)
N_FFT, HOP, N_MELS = 2048, 1024, 64


def mel_filterbank(sr=44100, n_fft=N_FFT, n_mels=N_MELS, fmin=30.0, fmax=16000.0):
    def hz2mel(f):
        return 2595 * np.log10(1 + f / 700)

    def mel2hz(m):
        return 700 * (10 ** (m / 2595) - 1)
    pts = mel2hz(np.linspace(hz2mel(fmin), hz2mel(fmax), n_mels + 2))
    freqs = np.fft.rfftfreq(n_fft, 1 / sr)
    fb = np.zeros((n_mels, len(freqs)), dtype=np.float32)
    for i in range(n_mels):
        lo, c, hi = pts[i], pts[i + 1], pts[i + 2]
        fb[i] = np.clip(np.minimum((freqs - lo) / (c - lo), (hi - freqs) / (hi - c)), 0, None)
    return torch.from_numpy(fb)


_FB = None


def log_mel(audio):
    """audio [B,2,N] → [B, 3·N_MELS, frames]: log-mel of left, right and mid."""
    global _FB
    if _FB is None:
        _FB = mel_filterbank()
    x = torch.cat([audio, audio.mean(1, keepdim=True)], 1)
    B, C, N = x.shape
    s = torch.stft(x.reshape(B * C, N), N_FFT, HOP, window=torch.hann_window(N_FFT), return_complex=True).abs() ** 2
    mel = torch.matmul(_FB, s)
    return torch.log(mel + 1e-6).reshape(B, C * N_MELS, -1)


class AudioEncoder(nn.Module):
    def __init__(self, clap_dim=128, width=192):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(3 * N_MELS, width, 3, padding=1), nn.GELU(),
            nn.Conv1d(width, width, 3, padding=1, stride=2), nn.GELU(),
            nn.Conv1d(width, width, 3, padding=1, stride=2), nn.GELU())
        self.proj = nn.Linear(2 * width, clap_dim)

    def forward(self, mel):
        mel = F.avg_pool1d(mel, 4, ceil_mode=True)          # ~93 ms frames are enough here
        h = self.net((mel + 6.0) / 6.0)
        return F.normalize(self.proj(torch.cat([h.mean(-1), h.amax(-1)], -1)), dim=-1)
