"""Attention and Fourier features written out plainly so they export to ONNX opset 17."""
import math
import torch
import torch.nn as nn


def attention(q, k, v, heads, key_mask=None):
    """q [B,Tq,C], k/v [B,Tk,C], key_mask [B,Tk] (1 keep, 0 ignore)."""
    B, Tq, C = q.shape
    Tk = k.shape[1]
    h = heads
    q = q.reshape(B, Tq, h, C // h).transpose(1, 2)
    k = k.reshape(B, Tk, h, C // h).transpose(1, 2)
    v = v.reshape(B, Tk, h, C // h).transpose(1, 2)
    s = torch.matmul(q, k.transpose(2, 3)) * (1.0 / math.sqrt(C // h))
    if key_mask is not None:
        s = s + (1.0 - key_mask.to(s.dtype))[:, None, None, :] * -1e9
    a = torch.softmax(s, dim=-1)
    return torch.matmul(a, v).transpose(1, 2).reshape(B, Tq, C)


class FourierFeatures(nn.Module):
    """[..] → [.., 2·n + 1]: sin/cos at fixed geometric frequencies plus the value itself."""

    def __init__(self, n, f_min, f_max):
        super().__init__()
        freqs = torch.exp(torch.linspace(math.log(f_min), math.log(f_max), n)) * 2 * math.pi
        self.register_buffer("freqs", freqs)

    def forward(self, x):
        a = x.unsqueeze(-1) * self.freqs
        return torch.cat([torch.sin(a), torch.cos(a), x.unsqueeze(-1)], dim=-1)
