"""Philox4x32-10 + Box-Muller, exactly as docs/model-contract.md ("Noise")."""
import numpy as np

M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
KEY_TAG = 0x43484F52  # "CHOR"
MASK32 = np.uint64(0xFFFFFFFF)


def philox4x32_10(counter, key):
    """counter: uint64 array [4, n] of 32-bit words; key: (k0, k1). Returns uint64 [4, n]."""
    c = [np.asarray(counter[i], dtype=np.uint64) & MASK32 for i in range(4)]
    k0, k1 = int(key[0]) & 0xFFFFFFFF, int(key[1]) & 0xFFFFFFFF
    for r in range(10):
        p0 = np.uint64(M0) * c[0]          # < 2^64, exact in uint64
        p1 = np.uint64(M1) * c[2]
        hi0, lo0 = p0 >> np.uint64(32), p0 & MASK32
        hi1, lo1 = p1 >> np.uint64(32), p1 & MASK32
        c = [hi1 ^ c[1] ^ np.uint64(k0), lo1, hi0 ^ c[3] ^ np.uint64(k1), lo0]
        k0 = (k0 + W0) & 0xFFFFFFFF
        k1 = (k1 + W1) & 0xFFFFFFFF
    return np.stack(c)


def philox_words(seed, stream, n_blocks):
    j = np.arange(n_blocks, dtype=np.uint64)
    zeros = np.zeros(n_blocks, dtype=np.uint64)
    counter = [j, zeros, np.full(n_blocks, stream, dtype=np.uint64), zeros]
    return philox4x32_10(counter, (seed, KEY_TAG))


def normals(seed, stream, n):
    """n standard normals (float64) for (seed, stream), row-major fill order."""
    n_blocks = (n + 3) // 4
    w = philox_words(seed, stream, n_blocks).astype(np.float64)  # [4, nb]
    out = np.empty((n_blocks, 4), dtype=np.float64)
    for a, b, col in ((0, 1, 0), (2, 3, 2)):
        u1 = (w[a] + 1.0) / 4294967296.0
        u2 = w[b] / 4294967296.0
        r = np.sqrt(-2.0 * np.log(u1))
        out[:, col] = r * np.cos(2.0 * np.pi * u2)
        out[:, col + 1] = r * np.sin(2.0 * np.pi * u2)
    return out.reshape(-1)[:n]


def noise(seed, stream, shape):
    """A float32 tensor of the given shape filled from (seed, stream)."""
    n = int(np.prod(shape))
    return normals(seed, stream, n).astype(np.float32).reshape(shape)
