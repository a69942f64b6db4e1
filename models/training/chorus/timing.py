"""seconds_start / seconds_total → one learned embedding each (Fourier features + MLP)."""
import torch
import torch.nn as nn
from chorus.layers import FourierFeatures


class NumberEmbedder(nn.Module):
    def __init__(self, dim, max_value):
        super().__init__()
        self.max_value = float(max_value)
        self.ff = FourierFeatures(16, 0.5, 128.0)
        self.mlp = nn.Sequential(nn.Linear(33, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, v):
        return self.mlp(self.ff((v / self.max_value).clamp(0.0, 1.0)))


class TimingConditioner(nn.Module):
    """→ timing_tokens [B,2,D] and global_cond [B,G].

    global_cond = [MLP(start_emb, total_emb) (G−2 dims), seconds_start, seconds_total]: the raw
    seconds ride along so the U-Net can place the end of the sound on its frame axis exactly.
    """

    def __init__(self, dim, global_dim, start_max, total_max):
        super().__init__()
        self.start = NumberEmbedder(dim, start_max)
        self.total = NumberEmbedder(dim, total_max)
        self.pool = nn.Sequential(nn.Linear(2 * dim, global_dim), nn.SiLU(), nn.Linear(global_dim, global_dim - 2))

    def forward(self, seconds_start, seconds_total):
        s, t = self.start(seconds_start), self.total(seconds_total)
        tokens = torch.stack([s, t], dim=1)
        g = torch.cat([self.pool(torch.cat([s, t], -1)), seconds_start.unsqueeze(-1), seconds_total.unsqueeze(-1)], -1)
        return tokens, g
