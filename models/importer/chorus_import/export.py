"""ONNX export of the conditioners and one DiT step (torch.onnx.export, opset 17, batch a dynamic axis).

Graphs whose protobuf would pass 2 GB are written by torch with ONNX external data (one file per tensor, beside the
graph, named after the tensor); onnxruntime reads them from the graph's folder. So a DiT whose weights pass 2 GB
goes into its own subfolder, `dit/dit.onnx`, with its weight files.
`--precision fp16` stores the weights as float16 and casts them to float32 inside the graph (a Cast per weight), so
inputs, outputs and arithmetic stay float32 and the files are half the size.
"""

import os

import torch
from torch import nn
from torch.nn.utils import parametrize

OPSET = 17
PRECISIONS = ("fp32", "fp16")


class _Upcast(nn.Module):
    def forward(self, weight):
        return weight.float()


def store_half(module):
    """Keep every parameter as float16 and hand the layers float32 copies (traced as Cast nodes)."""
    for mod in list(module.modules()):
        for name, param in list(mod.named_parameters(recurse=False)):
            setattr(mod, name, nn.Parameter(param.detach().half(), requires_grad=False))
            parametrize.register_parametrization(mod, name, _Upcast(), unsafe=True)
    return module


def export_graph(module, args, input_names, output_names, out_path, precision="fp32"):
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r} is not supported; supported: {', '.join(PRECISIONS)}")
    if precision == "fp16":
        store_half(module)
    module.eval()
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    dynamic = {name: {0: "batch"} for name in list(input_names) + list(output_names)}
    with torch.no_grad():
        torch.onnx.export(module, tuple(args), out_path, input_names=list(input_names), output_names=list(output_names),
                          dynamic_axes=dynamic, opset_version=OPSET,
                          # folding would turn each float16 weight and its Cast back into a float32 constant
                          do_constant_folding=precision == "fp32")
    return out_path


def export_conditioners(module, out_path, precision="fp32", batch=2):
    """seconds_start [B] (when the model has it), seconds_total [B] -> timing_tokens [B,k,D], global_cond [B,G]."""
    args = [torch.linspace(0.0, 30.0, batch) for _ in module.inputs]
    return export_graph(module, args, module.inputs, ["timing_tokens", "global_cond"], out_path, precision)


def dit_example(spec, batch=2):
    tokens = spec.max_length + len([k for k in spec.cross_ids if k in spec.numbers])
    generator = torch.Generator().manual_seed(0)
    return (torch.randn(batch, spec.latent_channels, spec.window_frames, generator=generator),
            torch.rand(batch, generator=generator),
            torch.randn(batch, tokens, spec.cond_dim, generator=generator),
            torch.randn(batch, spec.dit["global_cond_dim"], generator=generator))


EXTERNAL_DATA_BYTES = 2 * 1024**3 - 64 * 1024**2  # protobuf's 2 GB limit, less room for the graph itself


def dit_file(module, precision):
    """The DiT graph's path inside the model folder: `dit.onnx`, or `dit/dit.onnx` when its weights need external data."""
    size = sum(p.numel() for p in module.parameters()) * (2 if precision == "fp16" else 4)
    return "dit/dit.onnx" if size > EXTERNAL_DATA_BYTES else "dit.onnx"


def export_dit(module, spec, out_dir, precision="fp32"):
    """x [B,C,L], t [B], cross_attn_cond [B,S,D], global_cond [B,G] -> v [B,C,L]; L = the model's window.

    Returns the graph's path relative to out_dir (see dit_file)."""
    name = dit_file(module, precision)
    export_graph(module, dit_example(spec), ["x", "t", "cross_attn_cond", "global_cond"], ["v"],
                 os.path.join(out_dir, name), precision)
    return name
