"""Reference sampler (docs/model-contract.md): schedules, v-denoiser, CFG, euler / dpmpp-2m / dpmpp-3m-sde.

Update rules follow k-diffusion's sampling.py equations; every random draw comes from our Philox
streams (stream 0 initial noise, stream 1+i the SDE noise of step i), one generator per batch item.
"""
import math
import numpy as np
import torch
from chorus import prng


def polyexponential(n, sigma_min, sigma_max, rho=1.0):
    """σ_i = exp(ln σ_min + (1 − i/(n−1))^ρ · (ln σ_max − ln σ_min)), then a final 0 (k-diffusion's form)."""
    i = np.arange(n, dtype=np.float64)
    ramp = (1.0 - i / max(n - 1, 1)) ** rho
    s = np.exp(math.log(sigma_min) + ramp * (math.log(sigma_max) - math.log(sigma_min)))
    return np.append(s, 0.0)


def karras(n, sigma_min, sigma_max, rho=7.0):
    ramp = np.linspace(0, 1, n)
    a, b = sigma_max ** (1 / rho), sigma_min ** (1 / rho)
    return np.append((a + ramp * (b - a)) ** rho, 0.0)


def schedule(kind, n, sigma_min, sigma_max, rho):
    return polyexponential(n, sigma_min, sigma_max, rho) if kind == "polyexponential" else karras(n, sigma_min, sigma_max, rho)


def v_scalings(sigma):
    c_skip = 1.0 / (sigma ** 2 + 1.0)
    c_out = -sigma / math.sqrt(sigma ** 2 + 1.0)
    c_in = 1.0 / math.sqrt(sigma ** 2 + 1.0)
    return c_skip, c_out, c_in


def sigma_to_t(sigma):
    return math.atan(sigma) * 2.0 / math.pi


def unguided_channels(cfg):
    """Latent channels that skip classifier-free guidance (model.json diffusion.unguided_channels): the pitch
    channel, when the U-Net sets it from the prompt with its pitch head. Guidance would push it away from the
    unconditional branch, which follows the noisy latent instead: d = 6·head − 5·x at cfg 6, which feeds every
    rounding error in x back about fivefold per step."""
    return [cfg["latent_channels"] - 1] if cfg["unet"].get("pitch_head") else []


class GuidedDenoiser:
    """denoised(x, σ) with cond and uncond batched as 2B rows (cond first) and CFG on the denoised."""

    def __init__(self, unet, cond, cond_mask, uncond, uncond_mask, global_cond, cfg_scale, unguided=()):
        self.unet, self.cfg_scale, self.unguided = unet, cfg_scale, list(unguided)
        self.cross = torch.cat([cond, uncond], 0)
        self.mask = torch.cat([cond_mask, uncond_mask], 0)
        self.glob = torch.cat([global_cond, global_cond], 0)

    @torch.no_grad()
    def __call__(self, x, sigma):
        c_skip, c_out, c_in = v_scalings(sigma)
        x2 = torch.cat([x, x], 0)
        t = torch.full((x2.shape[0],), sigma_to_t(sigma), dtype=torch.float32)
        v = self.unet(x2 * c_in, t, self.cross, self.mask, self.glob)
        d = x2 * c_skip + v * c_out
        d_cond, d_uncond = d.chunk(2, 0)
        out = d_uncond + (d_cond - d_uncond) * self.cfg_scale
        if self.unguided:      # channels set from the prompt directly take the conditional estimate
            out[:, self.unguided] = d_cond[:, self.unguided]
        return out


def batch_noise(seeds, stream, shape):
    return torch.from_numpy(np.stack([prng.noise(s, stream, shape) for s in seeds]))


@torch.no_grad()
def sample_euler(model, x, sigmas, seeds):
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        d = (x - denoised) / sigmas[i]
        x = x + d * (sigmas[i + 1] - sigmas[i])
    return x


@torch.no_grad()
def sample_dpmpp_2m(model, x, sigmas, seeds):
    old = None
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        if sigmas[i + 1] == 0:
            x = denoised
        else:
            t, t_next = -math.log(sigmas[i]), -math.log(sigmas[i + 1])
            h = t_next - t
            if old is None:
                d = denoised
            else:
                r = (t - (-math.log(sigmas[i - 1]))) / h
                d = denoised * (1 + 1 / (2 * r)) - old * (1 / (2 * r))
            x = x * (sigmas[i + 1] / sigmas[i]) - d * math.expm1(-h)
        old = denoised
    return x


@torch.no_grad()
def sample_dpmpp_3m_sde(model, x, sigmas, seeds, eta=1.0, s_noise=1.0):
    d1, d2, h1, h2 = None, None, None, None
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        if sigmas[i + 1] == 0:
            x = denoised
        else:
            h = math.log(sigmas[i]) - math.log(sigmas[i + 1])
            h_eta = h * (eta + 1)
            x = x * math.exp(-h_eta) + denoised * (-math.expm1(-h_eta))
            if h2 is not None:
                r0, r1 = h1 / h, h2 / h
                d1_0 = (denoised - d1) / r0
                d1_1 = (d1 - d2) / r1
                dd1 = d1_0 + (d1_0 - d1_1) * (r0 / (r0 + r1))
                dd2 = (d1_0 - d1_1) / (r0 + r1)
                phi_2 = math.expm1(-h_eta) / h_eta + 1
                phi_3 = phi_2 / h_eta - 0.5
                x = x + dd1 * phi_2 - dd2 * phi_3
            elif h1 is not None:
                r = h1 / h
                dd = (denoised - d1) / r
                phi_2 = math.expm1(-h_eta) / h_eta + 1
                x = x + dd * phi_2
            if eta:
                z = batch_noise(seeds, 1 + i, tuple(x.shape[1:]))
                x = x + z * (sigmas[i + 1] * math.sqrt(-math.expm1(-2 * h * eta)) * s_noise)
            h1, h2 = h, h1
        d1, d2 = denoised, d1
    return x


SAMPLERS = {"euler": sample_euler, "dpmpp-2m": sample_dpmpp_2m, "dpmpp-3m-sde": sample_dpmpp_3m_sde}


@torch.no_grad()
def generate_latents(nets, cfg, prompts, seeds, seconds_start, seconds_total, steps, sampler, cfg_scale,
                     negative_prompts=None, sched="polyexponential", sigma_min=0.03, sigma_max=80.0, rho=1.0):
    """Full conditioning + sampling in PyTorch. Returns (latents [B,C,L], sigmas)."""
    from chorus.tokenizer import tokenize_batch
    T = cfg["text"]["max_length"]
    B = len(prompts)
    ids, mask, nums = (torch.from_numpy(a) for a in tokenize_batch(prompts, T))
    feats = nets["text"](ids, mask, nums)
    tok, glob = nets["timing"](torch.tensor(seconds_start, dtype=torch.float32), torch.tensor(seconds_total, dtype=torch.float32))
    two = torch.ones(B, 2)
    cond = torch.cat([feats, tok], 1)
    cond_mask = torch.cat([mask.float(), two], 1)
    if negative_prompts and any(negative_prompts):
        nids, nmask, nnums = (torch.from_numpy(a) for a in tokenize_batch(negative_prompts, T))
        nfeats = nets["text"](nids, nmask, nnums)
    else:
        nfeats, nmask = torch.zeros_like(feats), torch.zeros_like(mask)
    uncond = torch.cat([nfeats, tok], 1)
    uncond_mask = torch.cat([nmask.float(), two], 1)
    model = GuidedDenoiser(nets["unet"], cond, cond_mask, uncond, uncond_mask, glob, cfg_scale, unguided_channels(cfg))
    sigmas = schedule(sched, steps, sigma_min, sigma_max, rho)
    shape = (cfg["latent_channels"], cfg["window_frames"])
    x = batch_noise(seeds, 0, shape) * sigmas[0]
    return SAMPLERS[sampler](model, x, sigmas, seeds), sigmas
