"""1-D U-Net for v-prediction: residual blocks with FiLM, self- and cross-attention."""
import math
import torch
import torch.nn as nn
import torch.nn.functional as F
from chorus.layers import attention, FourierFeatures


TIMING_TOKENS = 2      # seconds_start and seconds_total, appended after the text tokens (chorus.timing)


def norm(ch):
    return nn.GroupNorm(8, ch)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, emb_dim):
        super().__init__()
        self.n1, self.c1 = norm(cin), nn.Conv1d(cin, cout, 3, padding=1)
        self.film = nn.Linear(emb_dim, 2 * cout)
        self.n2, self.c2 = norm(cout), nn.Conv1d(cout, cout, 3, padding=1)
        self.skip = nn.Conv1d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, emb):
        h = self.c1(F.silu(self.n1(x)))
        scale, shift = self.film(emb).unsqueeze(-1).chunk(2, dim=1)
        h = self.n2(h) * (1 + scale) + shift
        h = self.c2(F.silu(h))
        return self.skip(x) + h


class AttnBlock(nn.Module):
    """Self-attention over frames, then cross-attention to text + timing tokens."""

    def __init__(self, ch, cond_dim, heads):
        super().__init__()
        self.heads = heads
        self.n1, self.qkv, self.o1 = norm(ch), nn.Linear(ch, 3 * ch), nn.Linear(ch, ch)
        self.n2, self.q, self.kv, self.o2 = norm(ch), nn.Linear(ch, ch), nn.Linear(cond_dim, 2 * ch), nn.Linear(ch, ch)

    def forward(self, x, cond, cond_mask):
        h = self.n1(x).transpose(1, 2)
        q, k, v = self.qkv(h).chunk(3, dim=-1)
        x = x + self.o1(attention(q, k, v, self.heads)).transpose(1, 2)
        h = self.n2(x).transpose(1, 2)
        k, v = self.kv(cond).chunk(2, dim=-1)
        return x + self.o2(attention(self.q(h), k, v, self.heads, cond_mask)).transpose(1, 2)


def pitch_target(pitch, min_frames=4):
    """The pitch head's training target from clean pitch channels [B, L] (or [B, 1, L]): each clip's mean over its
    tonal frames (the channel is 0 elsewhere), and whether the clip has at least `min_frames` of them → ([B], [B])."""
    pitch = pitch.reshape(pitch.shape[0], -1)
    tonal = (pitch.abs() > 1e-6).to(pitch.dtype)
    n = tonal.sum(1)
    return (pitch * tonal).sum(1) / n.clamp(min=1), n >= min_frames


class PitchHead(nn.Module):
    """The pitch channel's clean value from the prompt alone: an attention pool over the text tokens (not the timing
    ones: a pitch does not depend on the clip's seconds), then an MLP → [B, 1]. A tone's pitch is fixed by its
    prompt, so it need not be diffused at all; left to the U-Net, it took its offset from the starting noise
    (RUNS.md, sixth training session)."""

    def __init__(self, cond_dim, heads=4, head_dim=64, hidden=256):
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        self.score = nn.Linear(cond_dim, heads)
        self.value = nn.Linear(cond_dim, heads * head_dim)
        self.mlp = nn.Sequential(nn.Linear(heads * head_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
                                 nn.Linear(hidden, 1))

    def forward(self, cond, mask):
        B, T, _ = cond.shape
        a = torch.softmax(self.score(cond) + (1.0 - mask).unsqueeze(-1) * -1e9, dim=1)          # [B, T, H]
        v = self.value(cond).reshape(B, T, self.heads, self.head_dim)
        return self.mlp((a.unsqueeze(-1) * v).sum(1).reshape(B, self.heads * self.head_dim))


class UNet1D(nn.Module):
    def __init__(self, in_ch=32, cond_dim=256, global_dim=256, base=96, mults=(1, 2, 3), blocks=2,
                 attn_levels=(1, 2), heads=4, emb_dim=256, window=256, frames_per_second=44100 / 2048,
                 pitch_head=False):
        super().__init__()
        self.frames_per_second = frames_per_second
        self.time_ff = FourierFeatures(32, 0.5, 200.0)
        self.time_mlp = nn.Sequential(nn.Linear(65, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.global_mlp = nn.Sequential(nn.Linear(global_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.text_mlp = nn.Sequential(nn.Linear(cond_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.register_buffer("frame_index", torch.arange(window, dtype=torch.float32))
        self.pos = nn.Parameter(torch.zeros(1, base, window))
        self.inp = nn.Conv1d(in_ch + 1, base, 3, padding=1)
        chans = [base * m for m in mults]
        self.down, self.downsample = nn.ModuleList(), nn.ModuleList()
        skips = [base]
        c = base
        for lvl, ch in enumerate(chans):
            level = nn.ModuleList()
            for _ in range(blocks):
                level.append(nn.ModuleList([ResBlock(c, ch, emb_dim),
                                            AttnBlock(ch, cond_dim, heads) if lvl in attn_levels else nn.Identity()]))
                c = ch
                skips.append(c)
            self.down.append(level)
            self.downsample.append(nn.Conv1d(c, c, 3, stride=2, padding=1) if lvl < len(chans) - 1 else nn.Identity())
            if lvl < len(chans) - 1:
                skips.append(c)
        self.mid1, self.mid_attn, self.mid2 = ResBlock(c, c, emb_dim), AttnBlock(c, cond_dim, heads), ResBlock(c, c, emb_dim)
        self.up, self.upsample = nn.ModuleList(), nn.ModuleList()
        for lvl in reversed(range(len(chans))):
            ch = chans[lvl]
            level = nn.ModuleList()
            for _ in range(blocks + 1):
                level.append(nn.ModuleList([ResBlock(c + skips.pop(), ch, emb_dim),
                                            AttnBlock(ch, cond_dim, heads) if lvl in attn_levels else nn.Identity()]))
                c = ch
            self.up.append(level)
            self.upsample.append(nn.Conv1d(c, c, 3, padding=1) if lvl > 0 else nn.Identity())
        self.out = nn.Sequential(norm(c), nn.SiLU(), nn.Conv1d(c, in_ch, 3, padding=1))
        nn.init.zeros_(self.out[-1].weight)
        nn.init.zeros_(self.out[-1].bias)
        self.in_ch = in_ch
        # With the VAE's pitch channel (the last one): its clean value is gate · PitchHead(prompt) + (1 − gate) · the
        # U-Net's own estimate, with a per-frame gate from the last features ("this frame sounds the prompt's pitch").
        self.pitch_head = PitchHead(cond_dim) if pitch_head else None
        self.pitch_gate = nn.Conv1d(c, 1, 3, padding=1) if pitch_head else None
        if pitch_head:
            nn.init.zeros_(self.pitch_gate.weight)
            nn.init.constant_(self.pitch_gate.bias, -4.0)      # starts shut: the network as it was
        self._register_load_state_dict_pre_hook(self._add_latent_channel)
        self._register_load_state_dict_pre_hook(self._add_pitch_head)

    def _add_pitch_head(self, state_dict, prefix, *_):
        """A checkpoint without the pitch head loads with this network's freshly initialised head and a shut gate."""
        for k, v in self.state_dict().items():
            if k.startswith(("pitch_head.", "pitch_gate.")) and f"{prefix}{k}" not in state_dict:
                state_dict[f"{prefix}{k}"] = v.clone()

    def _add_latent_channel(self, state_dict, prefix, *_):
        """A checkpoint with one latent channel fewer (before the VAE's pitch channel) loads with the new channel's
        input weights and output row at zero, so it starts as the old network and learns the channel."""
        w = state_dict.get(f"{prefix}inp.weight")
        if w is None or w.shape[1] != self.in_ch:      # old: in_ch − 1 latent channels + the ramp
            return
        state_dict[f"{prefix}inp.weight"] = torch.cat([w[:, :-1], torch.zeros_like(w[:, :1]), w[:, -1:]], 1)
        ow, ob = state_dict[f"{prefix}out.2.weight"], state_dict[f"{prefix}out.2.bias"]
        state_dict[f"{prefix}out.2.weight"] = torch.cat([ow, torch.zeros_like(ow[:1])], 0)
        state_dict[f"{prefix}out.2.bias"] = torch.cat([ob, torch.zeros_like(ob[:1])], 0)

    def forward(self, x, t, cross_attn_cond, cross_attn_mask, global_cond, return_pitch=False):
        """x: the variance-preserving noisy latent at time t (α = cos(πt/2), σ = sin(πt/2)) → v. With the pitch head,
        `return_pitch=True` also gives (the pitch channel's clean estimate [B, 1, L], the head's value [B, 1], the
        gate [B, 1, L]) for the training losses."""
        m = cross_attn_mask.to(x.dtype)
        pooled = (cross_attn_cond * m.unsqueeze(-1)).sum(1) / m.sum(1, keepdim=True).clamp(min=1.0)
        emb = self.time_mlp(self.time_ff(t)) + self.global_mlp(global_cond) + self.text_mlp(pooled)
        # Frames left before the clip ends (from the raw seconds in global_cond), as an input channel.
        end_frame = (global_cond[:, -1:] - global_cond[:, -2:-1]) * self.frames_per_second
        ramp = torch.clamp((end_frame - self.frame_index) / 4.0, -1.0, 1.0).unsqueeze(1)
        h = self.inp(torch.cat([x, ramp], 1)) + self.pos
        hs = [h]
        for level, down in zip(self.down, self.downsample):
            for res, attn in level:
                h = res(h, emb)
                h = attn(h, cross_attn_cond, m) if isinstance(attn, AttnBlock) else h
                hs.append(h)
            if not isinstance(down, nn.Identity):
                h = down(h)
                hs.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, emb), cross_attn_cond, m), emb)
        for level, up in zip(self.up, self.upsample):
            for res, attn in level:
                h = res(torch.cat([h, hs.pop()], 1), emb)
                h = attn(h, cross_attn_cond, m) if isinstance(attn, AttnBlock) else h
            if not isinstance(up, nn.Identity):
                h = up(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        hn = self.out[1](self.out[0](h))
        v = self.out[2](hn)
        if self.pitch_head is None:
            return v
        p = self.pitch_head(cross_attn_cond[:, :-TIMING_TOKENS], m[:, :-TIMING_TOKENS])        # [B, 1]
        gate = torch.sigmoid(self.pitch_gate(hn))                                      # [B, 1, L]
        # α and σ from t. With Cos/Sin over the bare [B] tensor, onnxruntime gave this channel's v one ulp apart for
        # 2 rows and for 4 (measured at t = 0.818), so a batched item's pitch drifted from the same item alone; with
        # each t spread over 16 lanes first, batch sizes agree bit for bit (presumably one vectorised path for all).
        half_pi_t = (t * (math.pi / 2)).unsqueeze(-1).expand(-1, 16)
        a = torch.cos(half_pi_t)[:, :1].unsqueeze(-1)
        s = torch.clamp(torch.sin(half_pi_t)[:, :1], min=1e-3).unsqueeze(-1)
        xp, vp = x[:, -1:], v[:, -1:]
        # v of a clean estimate c is (α·x − c) / σ; the gate mixes the head's and the network's own (α·x − σ·v).
        v = torch.cat([v[:, :-1], gate * (a * xp - p.unsqueeze(-1)) / s + (1.0 - gate) * vp], 1)
        if not return_pitch:
            return v
        return v, gate * p.unsqueeze(-1) + (1.0 - gate) * (a * xp - s * vp), p, gate
