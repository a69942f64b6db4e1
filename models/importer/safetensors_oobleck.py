"""safetensors read and write for the Oobleck fixture and export tool (no `safetensors` package here).

The format: 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}}, then raw
little-endian tensor bytes. sao-py's chorus_import/checkpoint.py reads real checkpoints; this file only serves the
Oobleck tools until the two meet at merge.
"""
import json
import struct
from typing import Dict

import numpy as np
import torch

DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": None, "F64": np.float64}


def read_safetensors(path: str) -> Dict[str, torch.Tensor]:
    with open(path, "rb") as f:
        (header_length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_length))
        body = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        raw = body[start:end]
        if info["dtype"] == "BF16":
            # bfloat16 is the top half of a float32.
            halves = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            array = halves.view(np.float32)
        elif info["dtype"] in DTYPES:
            array = np.frombuffer(raw, dtype=np.dtype(DTYPES[info["dtype"]]).newbyteorder("<"))
        else:
            raise ValueError(f"{path}: tensor {name} has dtype {info['dtype']}; supported: F32, F16, BF16, F64")
        tensors[name] = torch.from_numpy(array.reshape(info["shape"]).astype(np.float32))
    return tensors


def write_safetensors(path: str, tensors: Dict[str, torch.Tensor], metadata: Dict[str, str]) -> None:
    header = {"__metadata__": metadata}
    chunks = []
    offset = 0
    for name in sorted(tensors):
        data = tensors[name].detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for chunk in chunks:
            f.write(chunk)
