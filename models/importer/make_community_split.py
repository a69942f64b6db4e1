#!/usr/bin/env python3
"""A tiny stand-in for a community ONNX split of SAO Small (such as Arm's, split into text model, conditioners,
DiT and autoencoder), with graph file names and input/output names that are not the ones our importer writes.
libs/inference/src/community-split.spec.ts runs it through the pipeline with a hand-written model.json.

The graphs are small random networks with the SAO Small interfaces (T5-like features × mask; a seconds_total-only
conditioner giving one cross-attention token and a global vector; a DiT step with no mask input; a decoder), so the
test exercises names and shapes, not audio quality. Weights are seeded, the files are a few KB and committed.

Usage: /usr/bin/python3 models/importer/make_community_split.py [--out models/importer/fixtures/community-split]
"""
import argparse
from pathlib import Path

import torch
from torch import nn

C, L, D, G, T, RATIO = 4, 32, 8, 6, 16, 64  # latent channels, window frames, token dim, global dim, text tokens, VAE ratio


class TextModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(257, D)

    def forward(self, ids_in, mask_in):
        return self.embed(ids_in) * mask_in.unsqueeze(-1).to(torch.float32)


class Conditioners(nn.Module):
    def __init__(self):
        super().__init__()
        self.token = nn.Linear(1, D)
        self.vector = nn.Linear(1, G)

    def forward(self, sec_total):
        s = (sec_total.clamp(0, 1) / 1.0).unsqueeze(-1)
        return self.token(s).unsqueeze(1), self.vector(s)


class Dit(nn.Module):
    def __init__(self):
        super().__init__()
        self.mix = nn.Conv1d(C, C, 3, padding=1)
        self.tokens = nn.Linear(D, C)
        self.vector = nn.Linear(G, C)
        self.time = nn.Parameter(torch.randn(C))

    def forward(self, latents, timestep, encoder_states, global_embedding):
        context = self.tokens(encoder_states).mean(dim=1)
        h = self.mix(latents) + context[:, :, None] + self.vector(global_embedding)[:, :, None] + timestep[:, None, None] * self.time[None, :, None]
        return torch.tanh(h)


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose1d(C, 2, RATIO, stride=RATIO)

    def forward(self, z):
        return torch.tanh(self.up(z))


def export(module, args, path, inputs, outputs, dynamic):
    torch.onnx.export(module.eval(), args, str(path), input_names=inputs, output_names=outputs, dynamic_axes=dynamic, opset_version=17)


def build_modules():
    """The four networks, seeded: make_sampler_goldens.py builds the same ones to run upstream's sampler on them."""
    torch.manual_seed(2026)
    return {"text": TextModel().eval(), "conditioners": Conditioners().eval(), "dit": Dit().eval(), "decoder": Decoder().eval()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "fixtures" / "community-split"))
    out = Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    m = build_modules()
    b = {0: "batch"}
    export(m["text"], (torch.ones(1, T, dtype=torch.long), torch.ones(1, T, dtype=torch.long)), out / "text_model_float32.onnx",
           ["ids_in", "mask_in"], ["last_hidden"], {"ids_in": b, "mask_in": b, "last_hidden": b})
    export(m["conditioners"], (torch.ones(1),), out / "conditioners_float32.onnx", ["sec_total"], ["cross_tokens", "global_vec"],
           {"sec_total": b, "cross_tokens": b, "global_vec": b})
    export(m["dit"], (torch.zeros(1, C, L), torch.zeros(1), torch.zeros(1, T + 1, D), torch.zeros(1, G)), out / "dit_model_float32.onnx",
           ["latents", "timestep", "encoder_states", "global_embedding"], ["velocity"],
           {"latents": b, "timestep": b, "encoder_states": b, "global_embedding": b, "velocity": b})
    export(m["decoder"], (torch.zeros(1, C, L),), out / "autoencoder_float32.onnx", ["z"], ["waveform"],
           {"z": {0: "batch", 2: "frames"}, "waveform": {0: "batch", 2: "samples"}})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
