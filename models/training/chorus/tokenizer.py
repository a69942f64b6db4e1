"""Byte tokenizer with numeric features (docs/model-contract.md, "Tokenizer")."""
import re
import numpy as np

NUMBER = re.compile(rb"[0-9]+(\.[0-9]+)?")


def tokenize(prompt, max_length):
    """Returns (ids int64 [T], mask int64 [T], numbers float32 [T])."""
    lowered = "".join(chr(ord(ch) + 32) if "A" <= ch <= "Z" else ch for ch in prompt)
    data = lowered.encode("utf-8")[:max_length]
    ids = np.zeros(max_length, dtype=np.int64)
    mask = np.zeros(max_length, dtype=np.int64)
    numbers = np.zeros(max_length, dtype=np.float32)
    for i, b in enumerate(data):
        ids[i] = b + 1
        mask[i] = 1
    for m in NUMBER.finditer(data):
        numbers[m.start():m.end()] = float(m.group(0).decode("ascii"))
    return ids, mask, numbers


def tokenize_batch(prompts, max_length):
    rows = [tokenize(p, max_length) for p in prompts]
    return tuple(np.stack([r[k] for r in rows]) for k in range(3))
