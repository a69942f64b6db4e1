"""Stereo 44.1 kHz VAE: Snake conv stacks on STFT frames, iSTFT output head (Vocos-style).

Downsampling 2048 = STFT hop 512 × two stride-2 conv stages. The encoder reads log-magnitude
STFT frames of left and right; the decoder predicts log-magnitude and phase per bin and channel,
and a fixed inverse STFT (overlap-add) makes the waveform. In training the STFT/iSTFT are FFTs;
in the ONNX export they are the same transforms as fixed-weight Conv1d / ConvTranspose1d.
A waveform-domain Oobleck stack (strided convs at 44.1 kHz) learned far too slowly on the CPU
budget here (input-independent output after hundreds of steps), hence this layout.
"""
import math
import torch
import torch.nn as nn
import torch.nn.functional as F

N_FFT, HOP = 2048, 512
PAD = (N_FFT - HOP) // 2
BINS = N_FFT // 2 + 1


class Snake(nn.Module):
    """x + sin²(αx)/α with a learned per-channel α (stored as log α)."""

    def __init__(self, channels):
        super().__init__()
        self.log_alpha = nn.Parameter(torch.zeros(1, channels, 1))

    def forward(self, x):
        a = self.log_alpha.exp()
        return x + torch.sin(a * x).pow(2) / (a + 1e-9)


class ResidualUnit(nn.Module):
    def __init__(self, ch, dilation, kernel=3):
        super().__init__()
        self.block = nn.Sequential(
            Snake(ch), nn.Conv1d(ch, ch, kernel, dilation=dilation, padding=(kernel // 2) * dilation),
            Snake(ch), nn.Conv1d(ch, ch, 1))

    def forward(self, x):
        return x + self.block(x)


def dft_basis(inverse, n, k):
    """[2·BINS, 1, N_FFT] Hann-windowed (inverse) real-DFT basis built from integer ranges, so the ONNX
    graphs compute it at load instead of storing 16 MB of weights; k·n is reduced mod N_FFT in int64
    before the float angle so float32 stays exact."""
    ang = torch.remainder(k * n, N_FFT).to(torch.float32) * (2 * math.pi / N_FFT)
    w = 0.5 - 0.5 * torch.cos(n.to(torch.float32) * (2 * math.pi / N_FFT))
    if not inverse:
        return torch.cat([torch.cos(ang) * w, -torch.sin(ang) * w]).unsqueeze(1)
    c = torch.where((k == 0) | (k == BINS - 1), torch.ones(()), torch.full((), 2.0))
    return (torch.cat([c * torch.cos(ang), -c * torch.sin(ang)]) * w / (N_FFT * 1.5)).unsqueeze(1)


def hann(n):
    return 0.5 - 0.5 * torch.cos(2 * math.pi * torch.arange(n, dtype=torch.float64) / n)


class STFT(nn.Module):
    """[B, N] → real, imag [B, BINS, N/HOP]; zero padding of PAD each side so frames = N / HOP."""

    def __init__(self):
        super().__init__()
        w = hann(N_FFT)
        n = torch.arange(N_FFT, dtype=torch.float64)
        k = torch.arange(BINS, dtype=torch.float64)[:, None]
        ang = 2 * math.pi * k * n / N_FFT
        self.register_buffer("window", w.float())
        self.register_buffer("n_idx", torch.arange(N_FFT), persistent=False)
        self.register_buffer("k_idx", torch.arange(BINS).unsqueeze(1), persistent=False)
        self.onnx = False

    def forward(self, x):
        if self.onnx:
            z = x.shape[-1] * 0   # a graph value: keeps the exporter from folding the basis into 16 MB of weights
            s = F.conv1d(x.unsqueeze(1), dft_basis(False, self.n_idx + z, self.k_idx + z), stride=HOP, padding=PAD)
            return s[:, :BINS], s[:, BINS:]
        s = torch.stft(F.pad(x, (PAD, PAD)), N_FFT, HOP, window=self.window, center=False, return_complex=True)
        return s.real, s.imag


class ISTFT(nn.Module):
    """real, imag [B, BINS, F] → [B, F·HOP] by windowed overlap-add (Hann², hop N/4 sums to 1.5)."""

    def __init__(self):
        super().__init__()
        w = hann(N_FFT)
        n = torch.arange(N_FFT, dtype=torch.float64)
        k = torch.arange(BINS, dtype=torch.float64)[:, None]
        c = torch.full((BINS, 1), 2.0, dtype=torch.float64)
        c[0] = c[-1] = 1.0
        ang = 2 * math.pi * k * n / N_FFT
        basis = torch.cat([c * torch.cos(ang), -c * torch.sin(ang)]) * w / (N_FFT * 1.5)
        self.register_buffer("window", (w / 1.5).float())
        self.register_buffer("n_idx", torch.arange(N_FFT), persistent=False)
        self.register_buffer("k_idx", torch.arange(BINS).unsqueeze(1), persistent=False)
        self.onnx = False

    def forward(self, re, im):
        if self.onnx:
            z = re.shape[-1] * 0
            basis = dft_basis(True, self.n_idx + z, self.k_idx + z)
            return F.conv_transpose1d(torch.cat([re, im], 1), basis, stride=HOP, padding=PAD).squeeze(1)
        frames = torch.fft.irfft(torch.complex(re, im), n=N_FFT, dim=1) * self.window[:, None]
        Fn = frames.shape[-1]
        out = F.fold(frames, (1, (Fn - 1) * HOP + N_FFT), (1, N_FFT), stride=(1, HOP))
        return out.reshape(out.shape[0], -1)[:, PAD: PAD + Fn * HOP]


class VAE(nn.Module):
    def __init__(self, channels=2, latent_channels=32, width=192, stages=2, dilations=(1, 3)):
        super().__init__()
        self.channels, self.latent_channels = channels, latent_channels
        self.ratio = HOP * 2 ** stages
        self.stft, self.istft = STFT(), ISTFT()
        enc = [nn.Conv1d(channels * BINS, width, 1)]
        for _ in range(stages):
            enc += [ResidualUnit(width, d) for d in dilations] + [Snake(width), nn.Conv1d(width, width, 4, stride=2, padding=1)]
        enc += [ResidualUnit(width, 1), Snake(width), nn.Conv1d(width, 2 * latent_channels, 3, padding=1)]
        self.encoder = nn.Sequential(*enc)
        dec = [nn.Conv1d(latent_channels, width, 3, padding=1), ResidualUnit(width, 1)]
        for _ in range(stages):
            dec += [Snake(width), nn.ConvTranspose1d(width, width, 4, stride=2, padding=1)] + [ResidualUnit(width, d) for d in dilations]
        dec += [Snake(width), nn.Conv1d(width, channels * BINS, 1)]
        self.decoder_net = nn.Sequential(*dec)
        # Instantaneous-frequency correction per bin (in bins, ±2), read from the decoder's last hidden layer.
        # Zero-initialised: a decoder trained without it behaves exactly as before. With it, every bin of a
        # blurred partial can turn at the partial's true frequency, so pitch no longer hangs on the exact shape
        # of the predicted magnitudes (see decode_parts).
        self.if_head = nn.Conv1d(width, channels * BINS, 1)
        # Latent scaling to unit variance, measured after training and baked into the exports.
        self.register_buffer("latent_scale", torch.ones(()))
        self.register_buffer("bin_index", torch.arange(BINS, dtype=torch.float32)[None, None, :])
        self.register_buffer("bin_window", torch.ones(1, 1, 5))
        self.register_buffer("bin_phase", (math.pi * torch.arange(BINS) % (2 * math.pi)).float()[:, None], persistent=False)
        # Variance-preserving init: PyTorch's default shrinks the signal ~0.6× per conv, and a few
        # layers in the biases drown the input (the net starts input-independent and learns slowly).
        for m in self.modules():
            if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d)):
                fan_in = m.in_channels * m.kernel_size[0] // (m.stride[0] if isinstance(m, nn.ConvTranspose1d) else 1)
                nn.init.normal_(m.weight, std=1.0 / fan_in ** 0.5)
                nn.init.zeros_(m.bias)
        for m in self.modules():
            if isinstance(m, ResidualUnit):
                m.block[-1].weight.data.mul_(0.3)
        self.decoder_net[-1].weight.data.mul_(0.1)
        nn.init.zeros_(self.if_head.weight)
        nn.init.zeros_(self.if_head.bias)
        self._register_load_state_dict_pre_hook(self._zero_missing_if_head)

    def _zero_missing_if_head(self, state_dict, prefix, *_):
        """Checkpoints from before the frequency head load with it at zero (the old behaviour)."""
        for name, t in self.if_head.state_dict().items():
            state_dict.setdefault(f"{prefix}if_head.{name}", torch.zeros_like(t))

    def features(self, audio):
        B, C, N = audio.shape
        re, im = self.stft(audio.reshape(B * C, N))
        mag = torch.sqrt(re * re + im * im + 1e-12)
        return ((torch.log(mag + 1e-4) + 4.0) / 4.0).reshape(B, C * BINS, -1)

    def encode_dist(self, audio):
        mean, logvar = self.encoder(self.features(audio)).chunk(2, dim=1)
        return mean, (logvar - 8.0).clamp(-30, 10)   # start nearly deterministic

    def decode_heads(self, z):
        """→ log-magnitude (before the −4 offset) and frequency-correction maps, both [B, channels·BINS, F]."""
        h = self.decoder_net[:-1](z)
        return self.decoder_net[-1](h), self.if_head(h)

    def frequencies(self, mag, correction):
        """Per-bin frequency in bins: the power-weighted mean frequency of the bin's ±2-bin neighbourhood
        (exact for a clean partial) plus the learned correction (2·tanh, so at most ±2 bins)."""
        n, bins, Fn = mag.shape
        p = (mag * mag).transpose(1, 2).reshape(-1, 1, BINS)
        num = F.conv1d(p * self.bin_index, self.bin_window, padding=2)
        den = F.conv1d(p, self.bin_window, padding=2)
        est = (num / (den + 1e-12)).reshape(n, Fn, BINS).transpose(1, 2)
        return est + 2.0 * torch.tanh(correction.reshape(n, BINS, Fn))

    def decode_parts(self, z):
        """→ audio [B,2,N] and predicted magnitudes [B·2, BINS, F].

        The network predicts log-magnitude STFT frames and a per-bin frequency correction; phase is rebuilt
        deterministically, phase-vocoder style: every bin advances by the hop phase of its frequency
        (`frequencies`), so a steady partial stays phase-coherent at its (sub-bin) frequency."""
        h, corr = self.decode_heads(z)
        B, _, Fn = h.shape
        mag = torch.exp(torch.clamp(h.reshape(B * self.channels, BINS, Fn) - 4.0, max=6.3))   # ≈ a full-scale sine
        freq = self.frequencies(mag, corr)
        cycles = freq * (HOP / N_FFT)
        inc = 2 * math.pi * (cycles - torch.floor(cycles))          # wrapped, keeps float32 phase precise
        phase = torch.cumsum(inc, dim=-1) + self.bin_phase      # (−1)^k: neighbouring bins of one partial add up
        audio = self.istft(mag * torch.cos(phase), mag * torch.sin(phase))
        return audio.reshape(B, self.channels, -1), mag

    def true_frequencies(self, audio):
        """Instantaneous frequency (in bins) of every STFT bin from the phase advance between frames t−1 and t
        (frame 0 repeats frame 1), and the magnitudes: the targets of the frequency head."""
        B, C, N = audio.shape
        re, im = self.stft(audio.reshape(B * C, N))
        phase = torch.atan2(im, re)
        k = self.bin_index.reshape(1, BINS, 1)
        dev = phase[..., 1:] - phase[..., :-1] - 2 * math.pi * k * (HOP / N_FFT)
        dev = torch.remainder(dev + math.pi, 2 * math.pi) - math.pi
        inst = k + dev * (N_FFT / HOP) / (2 * math.pi)
        inst = torch.cat([inst[..., :1], inst], -1)
        return inst, torch.sqrt(re * re + im * im + 1e-12)

    def decoder(self, z):
        return self.decode_parts(z)[0]

    def target_mag(self, audio):
        B, C, N = audio.shape
        re, im = self.stft(audio.reshape(B * C, N))
        return torch.sqrt(re * re + im * im + 1e-12)

    def encode(self, audio):
        """Scaled latent (the mean), as the exported encoder gives it."""
        return self.encode_dist(audio)[0] / self.latent_scale

    def decode(self, latent):
        """Takes scaled latents, as the exported decoder does."""
        return self.decoder(latent * self.latent_scale)

    def set_onnx(self, on=True):
        self.stft.onnx = self.istft.onnx = on


class ScaledEncoder(nn.Module):
    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, audio):
        return self.vae.encode(audio)


class ScaledDecoder(nn.Module):
    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, latent):
        return self.vae.decode(latent)


def stft_mag(x, n_fft):
    w = torch.hann_window(n_fft, device=x.device)
    s = torch.stft(x.reshape(-1, x.shape[-1]), n_fft, hop_length=n_fft // 4, window=w, return_complex=True)
    return s.abs()


def multires_stft_loss(y, x, ffts=(2048, 512, 128)):
    """Log + linear magnitude distance over L, R, mid and side so placement and quiet sounds count."""
    def views(a):
        return torch.cat([a, (a[:, :1] + a[:, 1:]) / 2, (a[:, :1] - a[:, 1:]) / 2], 1)
    y, x = views(y), views(x)
    loss = 0.0
    for n in ffts:
        my, mx = stft_mag(y, n), stft_mag(x, n)
        loss = loss + (torch.log(my + 1e-5) - torch.log(mx + 1e-5)).abs().mean()
        loss = loss + (my - mx).norm() / (mx.norm() + 1e-5)
    return loss / len(ffts)
