"""Oobleck/DAC-style stereo VAE: strided convs, dilated residual units, Snake activations."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Snake(nn.Module):
    """x + sin²(αx)/α with a learned per-channel α (stored as log α)."""

    def __init__(self, channels):
        super().__init__()
        self.log_alpha = nn.Parameter(torch.zeros(1, channels, 1))

    def forward(self, x):
        a = self.log_alpha.exp()
        return x + torch.sin(a * x).pow(2) / (a + 1e-9)


class ResidualUnit(nn.Module):
    def __init__(self, ch, dilation):
        super().__init__()
        self.block = nn.Sequential(
            Snake(ch), nn.Conv1d(ch, ch, 7, dilation=dilation, padding=3 * dilation),
            Snake(ch), nn.Conv1d(ch, ch, 1))

    def forward(self, x):
        return x + self.block(x)


class EncoderBlock(nn.Sequential):
    def __init__(self, cin, cout, stride, dilations):
        super().__init__(*[ResidualUnit(cin, d) for d in dilations], Snake(cin),
                         nn.Conv1d(cin, cout, 2 * stride, stride=stride, padding=stride // 2))


class DecoderBlock(nn.Sequential):
    def __init__(self, cin, cout, stride, dilations):
        super().__init__(Snake(cin), nn.ConvTranspose1d(cin, cout, 2 * stride, stride=stride, padding=stride // 2),
                         *[ResidualUnit(cout, d) for d in dilations])


class VAE(nn.Module):
    def __init__(self, channels=2, latent_channels=32, widths=(8, 16, 32, 64, 128, 256),
                 strides=(2, 4, 4, 8, 8), dilations=(1, 3)):
        super().__init__()
        assert len(widths) == len(strides) + 1
        self.latent_channels = latent_channels
        self.ratio = 1
        for s in strides:
            self.ratio *= s
        enc = [nn.Conv1d(channels, widths[0], 7, padding=3)]
        for i, s in enumerate(strides):
            enc.append(EncoderBlock(widths[i], widths[i + 1], s, dilations))
        enc += [Snake(widths[-1]), nn.Conv1d(widths[-1], 2 * latent_channels, 3, padding=1)]
        self.encoder = nn.Sequential(*enc)
        dec = [nn.Conv1d(latent_channels, widths[-1], 7, padding=3)]
        for i in reversed(range(len(strides))):
            dec.append(DecoderBlock(widths[i + 1], widths[i], strides[i], dilations))
        dec += [Snake(widths[0]), nn.Conv1d(widths[0], channels, 7, padding=3)]
        self.decoder = nn.Sequential(*dec)
        # Latent scaling to unit variance, measured after training and baked into the exports.
        self.register_buffer("latent_scale", torch.ones(()))

    def encode_dist(self, audio):
        mean, logvar = self.encoder(audio).chunk(2, dim=1)
        return mean, logvar.clamp(-30, 10)

    def encode(self, audio):
        """Scaled latent (the mean), as the exported encoder gives it."""
        return self.encode_dist(audio)[0] / self.latent_scale

    def decode(self, latent):
        """Takes scaled latents, as the exported decoder does."""
        return self.decoder(latent * self.latent_scale)


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
