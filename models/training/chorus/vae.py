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
from chorus.data import SR

N_FFT, HOP = 2048, 512
PAD = (N_FFT - HOP) // 2
BINS = N_FFT // 2 + 1
# The pitch channel (last latent channel, see `VAE.pitch_track`): PITCH_GAIN · log2(f / 440 Hz) of the strongest
# partial in tonal frames, 0 elsewhere. With the latent scale (~9.4) the scaled channel has a std of about 1.5.
PITCH_GAIN = 14.0
PITCH_MAX_BIN = 128          # strongest partial searched below 2.76 kHz (tones reach 1 kHz, sweeps 2 kHz)


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
    def __init__(self, channels=2, latent_channels=32, width=192, stages=2, dilations=(1, 3), pitch_channel=False):
        super().__init__()
        self.channels, self.latent_channels = channels, latent_channels
        self.pitch_channel = pitch_channel
        learned = latent_channels - 1 if pitch_channel else latent_channels
        self.ratio = HOP * 2 ** stages
        self.stft, self.istft = STFT(), ISTFT()
        enc = [nn.Conv1d(channels * BINS, width, 1)]
        for _ in range(stages):
            enc += [ResidualUnit(width, d) for d in dilations] + [Snake(width), nn.Conv1d(width, width, 4, stride=2, padding=1)]
        enc += [ResidualUnit(width, 1), Snake(width), nn.Conv1d(width, 2 * learned, 3, padding=1)]
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
        # With the pitch channel: a per-bin gate (sigmoid; starts near 0, so nearly the old behaviour) that lets a
        # bin turn at the nearest harmonic of the channel's pitch instead of the estimate above (see `frequencies`).
        self.gate_head = nn.Conv1d(width, channels * BINS, 1) if pitch_channel else None
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
        if pitch_channel:
            nn.init.zeros_(self.gate_head.weight)
            nn.init.constant_(self.gate_head.bias, -4.0)
        self._register_load_state_dict_pre_hook(self._upgrade_old_checkpoint)

    def _upgrade_old_checkpoint(self, state_dict, prefix, *_):
        """Older checkpoints load with the old behaviour: a missing frequency head at zero; and, into a VAE with a pitch
        channel, a checkpoint made without one gets zero decoder weights for that input and the gate nearly shut."""
        for name, t in self.if_head.state_dict().items():
            state_dict.setdefault(f"{prefix}if_head.{name}", torch.zeros_like(t))
        if self.pitch_channel:
            for name, t in self.gate_head.state_dict().items():
                state_dict.setdefault(f"{prefix}gate_head.{name}", t.clone())
            key = f"{prefix}decoder_net.0.weight"
            w = state_dict.get(key)
            if w is not None and w.shape[1] == self.latent_channels - 1:
                state_dict[key] = torch.cat([w, torch.zeros_like(w[:, :1])], 1)

    def power(self, audio):
        """[B, C, N] → STFT power [B, C, BINS, N / HOP]: the one STFT the encoder's two inputs share."""
        B, C, N = audio.shape
        re, im = self.stft(audio.reshape(B * C, N))
        return (re * re + im * im).reshape(B, C, BINS, -1)

    def pitch_track(self, audio, power=None):
        """[B, 2, N] → [B, 1, N / ratio] (or from `power`, see `power`): the pitch channel, a fixed measurement rather than a learned code, so
        pitch lies along one latent direction (a learned encoder folded it: 440 Hz sat nearer 460 than 450).
        Per STFT frame: the strongest partial of L+R below PITCH_MAX_BIN, refined by a parabola through its
        log-power and its neighbours (exact to about 1 Hz for a Hann-windowed sine). A frame counts as tonal when
        that partial (±2 bins) holds over 35 % of the frame's power and the frame is not silent. Each latent frame
        takes the mean log2(f / 440) of its tonal STFT frames; it is 0 when fewer than a third are tonal."""
        p = (self.power(audio) if power is None else power).sum(1)             # [B, BINS, F]
        low = p[:, 2:PITCH_MAX_BIN]
        k = torch.argmax(low, dim=1, keepdim=True) + 2                          # [B, 1, F]
        offs = torch.arange(-2, 3).reshape(1, 5, 1)
        near = torch.gather(p, 1, k + offs)                                     # [B, 5, F]
        lp = torch.log(near[:, 1:4] + 1e-12)
        a, b, c = lp[:, 0:1], lp[:, 1:2], lp[:, 2:3]
        den = a - 2 * b + c
        delta = torch.clamp(0.5 * (a - c) / torch.where(den.abs() < 1e-9, torch.full_like(den, -1e-9), den), -0.5, 0.5)
        f = (k.to(torch.float32) + delta) * (SR / N_FFT)
        total = p.sum(1, keepdim=True)
        tonal = ((near.sum(1, keepdim=True) > 0.35 * total) & (total > 1.0)).to(torch.float32)
        octaves = torch.log(f / 440.0) / math.log(2.0)
        num = F.avg_pool1d(tonal * octaves, 4, 4)
        share = F.avg_pool1d(tonal, 4, 4)
        val = num / (share + 1e-6) * (share > 0.33).to(torch.float32)
        return PITCH_GAIN * val

    def features(self, audio, power=None):
        p = self.power(audio) if power is None else power
        B, C = p.shape[:2]
        mag = torch.sqrt(p + 1e-12)
        return ((torch.log(mag + 1e-4) + 4.0) / 4.0).reshape(B, C * BINS, -1)

    def encode_dist(self, audio):
        p = self.power(audio)
        mean, logvar = self.encoder(self.features(audio, p)).chunk(2, dim=1)
        logvar = (logvar - 8.0).clamp(-30, 10)   # start nearly deterministic
        if self.pitch_channel:
            pitch = self.pitch_track(audio, p)
            mean = torch.cat([mean, pitch], 1)
            logvar = torch.cat([logvar, torch.full_like(pitch, -30.0)], 1)
        return mean, logvar

    def decode_heads(self, z):
        """→ log-magnitude (before the −4 offset), frequency-correction and harmonic-gate maps, each
        [B, channels·BINS, F] (the gate is None without a pitch channel)."""
        h = self.decoder_net[:-1](z)
        gate = torch.sigmoid(self.gate_head(h)) if self.pitch_channel else None
        return self.decoder_net[-1](h), self.if_head(h), gate

    def pitch_bins(self, z):
        """The pitch channel of unscaled latents z → the pitch in bins per STFT frame, [B·channels, 1, 4·frames]."""
        hz = 440.0 * torch.exp(z[:, -1:] * (math.log(2.0) / PITCH_GAIN))
        up = F.interpolate(hz, scale_factor=float(self.ratio // HOP), mode="nearest") / (SR / N_FFT)
        B, _, Fn = up.shape
        return up.unsqueeze(1).expand(B, self.channels, 1, Fn).reshape(B * self.channels, 1, Fn)

    def frequencies(self, mag, correction, gate=None, f0=None):
        """Per-bin frequency in bins: the power-weighted mean frequency of the bin's ±2-bin neighbourhood
        (exact for a clean partial) plus the learned correction (2·tanh, so at most ±2 bins). With the pitch
        channel, a bin within 2.5 bins of a harmonic of the pitch `f0` turns at that harmonic as far as the gate
        is open: every bin of a smeared partial then turns at the measured pitch, whatever the smear's shape."""
        n, bins, Fn = mag.shape
        p = (mag * mag).transpose(1, 2).reshape(-1, 1, BINS)
        num = F.conv1d(p * self.bin_index, self.bin_window, padding=2)
        den = F.conv1d(p, self.bin_window, padding=2)
        est = (num / (den + 1e-12)).reshape(n, Fn, BINS).transpose(1, 2)
        base = est + 2.0 * torch.tanh(correction.reshape(n, BINS, Fn))
        if gate is None:
            return base
        k = self.bin_index.reshape(1, BINS, 1)
        target = torch.clamp(torch.round(k / f0), min=1.0) * f0
        s = gate.reshape(n, BINS, Fn) * ((target - k).abs() < 2.5).to(torch.float32)
        return s * target + (1.0 - s) * base

    def decode_parts(self, z):
        """→ audio [B,2,N] and predicted magnitudes [B·2, BINS, F].

        The network predicts log-magnitude STFT frames and a per-bin frequency correction; phase is rebuilt
        deterministically, phase-vocoder style: every bin advances by the hop phase of its frequency
        (`frequencies`), so a steady partial stays phase-coherent at its (sub-bin) frequency."""
        h, corr, gate = self.decode_heads(z)
        B, _, Fn = h.shape
        mag = torch.exp(torch.clamp(h.reshape(B * self.channels, BINS, Fn) - 4.0, max=6.3))   # ≈ a full-scale sine
        freq = self.frequencies(mag, corr, gate, self.pitch_bins(z) if self.pitch_channel else None)
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
