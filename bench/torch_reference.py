"""The PyTorch reference for `npm run bench`: the same model, sampler, steps and batch sizes as the
ONNX run, through models/training's own sampler (chorus.sampling.generate_latents) and VAE.

  /usr/bin/python3 bench/torch_reference.py --batches 1,2,4,8 --steps 10 --threads 2

Prints one JSON object on stdout. Weights come from models/training/runs (as export.py loads them);
the timing does not depend on their values, only on the shapes, which are checked against
models/chorus-tiny/model.json by the caller.
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "models", "training"))

import torch  # noqa: E402
from chorus.config import CONFIG  # noqa: E402
from chorus.sampling import generate_latents  # noqa: E402
from export import load_nets  # noqa: E402


def count_unet_flops(unet, cfg):
    """Multiply-adds ×2 of every Conv1d and Linear in one U-Net forward for ONE row, counted with hooks
    on the real module shapes. Attention score/value products are added from the hooked shapes below."""
    flops = [0]

    def conv_hook(m, inp, out):
        b, cout, lout = out.shape
        flops[0] += 2 * b * cout * (m.in_channels // m.groups) * m.kernel_size[0] * lout

    def linear_hook(m, inp, out):
        rows = out.numel() // out.shape[-1]
        flops[0] += 2 * rows * m.in_features * m.out_features

    handles = []
    for mod in unet.modules():
        if isinstance(mod, torch.nn.Conv1d):
            handles.append(mod.register_forward_hook(conv_hook))
        elif isinstance(mod, torch.nn.Linear):
            handles.append(mod.register_forward_hook(linear_hook))
    t_len = cfg["text"]["max_length"] + 2
    with torch.no_grad():
        unet(torch.zeros(1, cfg["latent_channels"], cfg["window_frames"]), torch.zeros(1),
             torch.zeros(1, t_len, cfg["text"]["dim"]), torch.ones(1, t_len),
             torch.zeros(1, cfg["timing"]["global_dim"]))
    for h in handles:
        h.remove()
    return flops[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="1,2,4,8")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sampler", default="dpmpp-3m-sde")
    ap.add_argument("--cfg-scale", type=float, default=5.0)
    ap.add_argument("--seconds-total", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    nets, used = load_nets()
    unet_params = sum(p.numel() for p in nets["unet"].parameters())
    vae_params = sum(p.numel() for p in nets["vae"].parameters())
    flops_per_row = count_unet_flops(nets["unet"], CONFIG)

    def run(batch, steps):
        prompts = [f"a warm analog pad in C minor, take {i}" for i in range(batch)]
        seeds = list(range(1, batch + 1))
        t0 = time.perf_counter()
        with torch.no_grad():
            lat, _ = generate_latents(nets, CONFIG, prompts, seeds, [0.0] * batch, [args.seconds_total] * batch,
                                      steps, args.sampler, args.cfg_scale)
            t1 = time.perf_counter()
            nets["vae"].decode(lat)
        t2 = time.perf_counter()
        return t1 - t0, t2 - t1

    run(1, 2)  # warm-up: allocator, thread pool
    results = []
    for b in [int(x) for x in args.batches.split(",")]:
        best = None
        for _ in range(args.repeats):
            sampling, decoding = run(b, args.steps)
            if best is None or sampling + decoding < best[0] + best[1]:
                best = (sampling, decoding)
        results.append({"batch": b, "sampling_s": best[0], "decoding_s": best[1], "wall_s": best[0] + best[1]})
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "weights": used,
        "latent_channels": CONFIG["latent_channels"],
        "window_frames": CONFIG["window_frames"],
        "unet_params": unet_params,
        "vae_params": vae_params,
        "unet_flops_per_row": flops_per_row,
        "results": results,
    }))


if __name__ == "__main__":
    main()
