"""Checkpoint reading: safetensors read directly (no safetensors package) and Lightning `.ckpt` files.

safetensors layout: 8-byte little-endian header length N, N bytes of JSON
({name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}), then the raw little-endian tensors,
offsets relative to the end of the header.
"""

import json
import os
import struct

import torch

# safetensors dtype name -> torch dtype (the ones stable-audio-tools checkpoints use)
DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
NAMES = {dtype: name for name, dtype in DTYPES.items()}


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
    """All tensors of a safetensors file, by name. `device` is accepted for the safetensors.torch signature."""
    header, base = read_safetensors_header(path)
    size = os.path.getsize(path)
    tensors = {}
    with open(path, "rb") as f:
        for name, info in header.items():
            dtype = DTYPES.get(info.get("dtype"))
            if dtype is None:
                raise CheckpointError(
                    f"{path}: tensor {name} has dtype {info.get('dtype')}; supported: {', '.join(DTYPES)}")
            begin, end = info["data_offsets"]
            shape = list(info["shape"])
            count = 1
            for dim in shape:
                count *= dim
            if end - begin != count * torch.tensor([], dtype=dtype).element_size() or base + end > size:
                raise CheckpointError(f"{path}: tensor {name} {shape} {info['dtype']} does not fit its data offsets")
            f.seek(base + begin)
            raw = bytearray(f.read(end - begin))
            if dtype == torch.bfloat16:
                flat = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16) if raw else torch.empty(0, dtype=dtype)
            else:
                flat = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
            tensors[name] = flat.reshape(shape)
    return tensors


def write_safetensors(tensors, path, metadata=None):
    """Write tensors (F32/F16/BF16) as safetensors, in name order (used for fixtures)."""
    header = {}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        if t.dtype not in NAMES:
            raise CheckpointError(f"tensor {name} has dtype {t.dtype}; supported: {', '.join(DTYPES)}")
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


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
