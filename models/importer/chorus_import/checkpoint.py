"""Checkpoint reading: safetensors read directly (no safetensors package) and Lightning `.ckpt` files.

The project's one safetensors reader and writer: the importer's checkpoint, the T5 folder (t5.py), the Oobleck tools
(export_oobleck.py) and the fixture/golden scripts all use it.

safetensors layout: 8-byte little-endian header length N, N bytes of JSON
({name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}), then the raw little-endian tensors,
offsets relative to the end of the header.
"""

import json
import math
import os
import struct

import numpy as np
import torch

# safetensors dtype name -> torch dtype (the ones stable-audio-tools and Hugging Face T5 checkpoints use)
DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64}
NAMES = {dtype: name for name, dtype in DTYPES.items()}
NUMPY_VIEW = {torch.float32: np.float32, torch.float16: np.float16, torch.bfloat16: np.int16, torch.float64: np.float64}


class CheckpointError(ValueError):
    """A checkpoint that cannot be read; the message is one line naming what is wrong."""


def read_safetensors_header(path):
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) != 8:
            raise CheckpointError(f"{path}: not a safetensors file (shorter than its 8-byte header length)")
        (length,) = struct.unpack("<Q", head)
        if length > os.path.getsize(path) - 8:
            raise CheckpointError(f"{path}: not a safetensors file (header length {length} past the end of the file)")
        try:
            header = json.loads(f.read(length))
        except ValueError as err:
            raise CheckpointError(f"{path}: safetensors header is not JSON ({err})") from None
    header.pop("__metadata__", None)
    return header, 8 + length


def read_safetensors(path, device="cpu"):
    """All tensors of a safetensors file, by name. `device` is accepted for the safetensors.torch signature.

    The file is memory-mapped copy-on-write: a tensor's pages are read when used, and a multi-GB checkpoint costs
    page cache rather than a second copy in memory.
    """
    header, base = read_safetensors_header(path)
    size = os.path.getsize(path)
    data = np.memmap(path, dtype=np.uint8, mode="c") if size > base else np.zeros(0, dtype=np.uint8)
    tensors = {}
    for name, info in header.items():
        dtype = DTYPES.get(info.get("dtype"))
        if dtype is None:
            raise CheckpointError(f"{path}: tensor {name} has dtype {info.get('dtype')}; supported: {', '.join(DTYPES)}")
        begin, end = info["data_offsets"]
        shape = list(info["shape"])
        itemsize = torch.tensor([], dtype=dtype).element_size()
        if end - begin != math.prod(shape) * itemsize or base + end > size:
            raise CheckpointError(f"{path}: tensor {name} {shape} {info['dtype']} does not fit its data offsets")
        raw = data[base + begin: base + end]
        if (base + begin) % itemsize:
            raw = raw.copy()  # an unaligned tensor: torch needs aligned storage
        flat = torch.from_numpy(raw.view(NUMPY_VIEW[dtype]))
        if dtype == torch.bfloat16:
            flat = flat.view(torch.bfloat16)
        tensors[name] = flat.reshape(shape)
    return tensors


def write_safetensors(tensors, path, metadata=None):
    """Write tensors (F32/F16/BF16/F64) as safetensors, in name order, one tensor at a time (fixtures, random models)."""
    names = sorted(tensors)
    header = {}
    offset = 0
    for name in names:
        t = tensors[name]
        if t.dtype not in NAMES:
            raise CheckpointError(f"tensor {name} has dtype {t.dtype}; supported: {', '.join(DTYPES)}")
        length = t.numel() * t.element_size()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + length]}
        offset += length
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name in names:
            t = tensors[name].detach().contiguous().cpu()
            f.write((t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes())


def read_ckpt(path):
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(f"{path}: cannot be read as a torch checkpoint ({str(err).splitlines()[0]})") from None
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise CheckpointError(f"{path}: a .ckpt must hold a dict with a 'state_dict' entry, as stable-audio-tools saves it")
    return dict(ckpt["state_dict"])


def load_state_dict(path):
    """The checkpoint's tensors by name: `.safetensors` read directly, anything else as a `.ckpt`."""
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint {path} not found: give model.safetensors or model.ckpt")
    if path.endswith(".safetensors"):
        return read_safetensors(path)
    return read_ckpt(path)
