"""Synthetic captioned audio: a caption grammar and the synthesiser that renders it.

A spec is a plain dict (JSON-able). `render(spec)` gives the model window [2, WINDOW] float32:
the clip (true length `seconds_total`) seen from `seconds_start`, then silence.
"""
import math
import numpy as np

SR = 44100
RATIO = 2048
WINDOW_FRAMES = 256
WINDOW = RATIO * WINDOW_FRAMES          # 524288 samples, 11.89 s
WINDOW_SECONDS = WINDOW / SR

WAVES = ["sine", "square", "sawtooth", "triangle"]
NOTE_NAMES = ["c", "c#", "d", "d#", "e", "f", "f#", "g", "g#", "a", "a#", "b"]
CHORDS = {"major": [0, 4, 7], "minor": [0, 3, 7], "seventh": [0, 4, 7, 10]}
NOISES = ["white", "pink", "brown"]
DRUMS = ["kick", "snare", "hi-hat"]
LOUDNESS = {"quiet": 0.07, None: 0.25, "loud": 0.7}
PLACEMENT = {"left": 0.08, None: 0.5, "centre": 0.5, "right": 0.92}   # pan position 0..1

TONE_RANGE = (100.0, 1000.0)
SWEEP_RANGE = (100.0, 2000.0)
BPM_RANGE = (60.0, 180.0)
# Held out of training: pitch / tempo bands and the exact eval prompts (see evaluate.py).
HELDOUT_PITCH_BANDS = [(438.0, 442.0), (600.0, 640.0), (255.0, 268.0)]
HELDOUT_BPM_BANDS = [(118.0, 122.0), (95.0, 99.0)]


def note_freq(name, octave):
    midi = 12 * (octave + 1) + NOTE_NAMES.index(name)
    return 440.0 * 2 ** ((midi - 69) / 12)


def in_bands(v, bands):
    """Whether v lies in any of the closed (lo, hi) bands."""
    return any(lo <= v <= hi for lo, hi in bands)


def _log_uniform(rng, lo, hi):
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def _fmt_hz(f, rng):
    return f"{f:.0f}" if rng.random() < 0.8 else f"{f:.1f}"


def _modifiers(rng, tonal):
    loud = rng.choice(["quiet", None, "loud"], p=[0.25, 0.5, 0.25])
    place = rng.choice(["left", None, "centre", "right"], p=[0.3, 0.25, 0.15, 0.3])
    env = rng.choice(["plucked", None, "sustained"], p=[0.3, 0.45, 0.25]) if tonal else None
    return loud, place, env


def _caption(rng, core, loud, place, env):
    words = []
    if loud:
        words.append(loud)
    if env:
        words.append(env)
    head = " ".join(words + [core])
    tail = []
    if place:
        tail.append(rng.choice([f"panned {place}", f"on the {place}", f"in the {place}"]) if place != "centre"
                    else rng.choice(["in the centre", "centred", "panned centre"]))
    caption = "a " + head if not head[0] in "aeiou" else "an " + head
    if tail:
        caption += rng.choice([", ", " "]) + tail[0]
    return caption


def sample_spec(rng, heldout=True):
    """Draws one random captioned clip description."""
    family = rng.choice(["tone", "chord", "noise", "drums", "sweep"], p=[0.36, 0.14, 0.14, 0.16, 0.20])
    spec = {"family": family}
    tonal = family in ("tone", "chord", "sweep")
    loud, place, env = _modifiers(rng, tonal)
    if family == "tone":
        wave = str(rng.choice(WAVES))
        if rng.random() < 0.25:
            name, octave = str(rng.choice(NOTE_NAMES)), int(rng.integers(2, 6))
            f = note_freq(name, octave)
            if not TONE_RANGE[0] * 0.9 <= f <= TONE_RANGE[1] * 1.1 or (heldout and in_bands(f, HELDOUT_PITCH_BANDS)):
                return sample_spec(rng, heldout)
            pitch_text = f"{name}{octave}"
        else:
            while True:
                f = _log_uniform(rng, *TONE_RANGE)
                if not (heldout and in_bands(f, HELDOUT_PITCH_BANDS)):
                    break
            pitch_text = _fmt_hz(f, rng) + " hz"
            f = float(pitch_text.split()[0])
        kind = rng.choice(["tone", "wave"])
        core = f"{wave} {kind} at {pitch_text}"
        spec.update(wave=wave, freq=f)
    elif family == "chord":
        quality = str(rng.choice(list(CHORDS)))
        name, octave = str(rng.choice(NOTE_NAMES)), int(rng.integers(3, 5))
        core = str(rng.choice([f"{quality} chord on {name}{octave}", f"{name}{octave} {quality} chord"]))
        spec.update(wave="triangle", freq=note_freq(name, octave), chord=quality)
    elif family == "noise":
        colour = str(rng.choice(NOISES))
        core = f"{colour} noise"
        spec.update(colour=colour)
    elif family == "drums":
        drum = str(rng.choice(DRUMS))
        while True:
            bpm = float(f"{rng.uniform(*BPM_RANGE):.0f}")
            if not (heldout and in_bands(bpm, HELDOUT_BPM_BANDS)):
                break
        core = str(rng.choice([f"{drum} drum at {bpm:.0f} bpm", f"{drum} pattern at {bpm:.0f} bpm"])) \
            if drum != "hi-hat" else str(rng.choice([f"hi-hat at {bpm:.0f} bpm", f"hi-hat pattern at {bpm:.0f} bpm"]))
        spec.update(drum=drum, bpm=bpm)
    else:
        direction = str(rng.choice(["rising", "falling"]))
        while True:
            a, b = sorted([_log_uniform(rng, *SWEEP_RANGE), _log_uniform(rng, *SWEEP_RANGE)])
            if b / a > 1.5:
                break
        a, b = float(f"{a:.0f}"), float(f"{b:.0f}")
        f0, f1 = (a, b) if direction == "rising" else (b, a)
        core = f"{direction} sweep from {f0:.0f} hz to {f1:.0f} hz"
        spec.update(wave="sine", f0=f0, f1=f1, direction=direction)
    spec.update(loudness=loud, placement=place, envelope=env if tonal else None)
    spec["caption"] = _caption(rng, core, loud, place, env)
    # Timing: a clip of true length seconds_total; sometimes a later crop of a longer render.
    if rng.random() < 0.75:
        total = float(rng.uniform(0.5, WINDOW_SECONDS - 0.3))
        start = 0.0
    else:
        total = float(rng.uniform(4.0, 30.0))
        start = float(rng.uniform(0.0, max(0.0, total - 0.5)))
    spec.update(seconds_total=round(total, 2), seconds_start=round(start, 2), seed=int(rng.integers(0, 2**31)))
    return spec


def make_dataset(n, seed, exclude_captions=(), heldout=True):
    rng = np.random.default_rng(seed)
    exclude = set(exclude_captions)
    specs = []
    while len(specs) < n:
        s = sample_spec(rng, heldout)
        if s["caption"] not in exclude:
            specs.append(s)
    return specs


# ---------------------------------------------------------------- synthesis
_TABLES = {}


def _wavetable(wave, f):
    """Band-limited single cycle (harmonics below 16 kHz), cached per (wave, harmonic count)."""
    n_harm = max(1, min(40, int(16000 // max(f, 1.0))))
    key = (wave, n_harm)
    if key not in _TABLES:
        ph = np.arange(4096) / 4096 * 2 * np.pi
        t = np.zeros(4096)
        for k in range(1, n_harm + 1):
            if wave == "sine":
                a = 1.0 if k == 1 else 0.0
            elif wave == "square":
                a = 1.0 / k if k % 2 else 0.0
            elif wave == "sawtooth":
                a = 1.0 / k
            else:  # triangle
                a = (1.0 / k ** 2) * (1 if (k // 2) % 2 == 0 else -1) if k % 2 else 0.0
            if a:
                t += a * np.sin(k * ph)
        t /= np.abs(t).max()
        _TABLES[key] = np.append(t, t[0]).astype(np.float64)
    return _TABLES[key]


def _osc(wave, phase_cycles, f_ref):
    table = _wavetable(wave, f_ref)
    pos = (phase_cycles % 1.0) * 4096
    i = pos.astype(np.int64)
    frac = pos - i
    return table[i] * (1 - frac) + table[i + 1] * frac


def _colour_noise(colour, n, rng):
    x = rng.standard_normal(n)
    if colour == "white":
        return x
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(n, 1 / SR)
    f[0] = f[1]
    spec *= (1 / np.sqrt(f)) if colour == "pink" else (1 / f)
    spec[f < 20] = 0
    y = np.fft.irfft(spec, n)
    return y / (y.std() + 1e-12)


def _drum_hit(drum, rng):
    n = int(0.25 * SR)
    t = np.arange(n) / SR
    if drum == "kick":
        f = 50 + 90 * np.exp(-t / 0.03)
        ph = np.cumsum(f) / SR
        return np.sin(2 * np.pi * ph) * np.exp(-t / 0.12)
    if drum == "snare":
        nz = rng.standard_normal(n)
        nz = np.diff(nz, prepend=0)  # brighter
        return (0.6 * nz * np.exp(-t / 0.06) + 0.5 * np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.05)) / 1.2
    nz = np.diff(np.diff(rng.standard_normal(n), prepend=0), prepend=0) / 2.0
    return nz * np.exp(-t / 0.025)


def render_clip(spec, t0, n, rng):
    """Mono clip samples for absolute times t0 + i/SR, i < n (before envelope end/pan/gain)."""
    t = t0 + np.arange(n) / SR
    fam = spec["family"]
    if fam == "tone":
        f = spec["freq"]
        y = _osc(spec["wave"], f * t + rng.random(), f)
    elif fam == "chord":
        y = np.zeros(n)
        for semis in CHORDS[spec["chord"]]:
            f = spec["freq"] * 2 ** (semis / 12)
            y += _osc(spec["wave"], f * t + rng.random(), f)
        y /= len(CHORDS[spec["chord"]]) ** 0.7
    elif fam == "sweep":
        T = spec["seconds_total"]
        r = spec["f1"] / spec["f0"]
        k = math.log(r) / T
        cyc = spec["f0"] * (np.exp(k * t) - 1) / k
        y = _osc("sine", cyc, max(spec["f0"], spec["f1"]))
    elif fam == "noise":
        y = _colour_noise(spec["colour"], n, rng) / 3.0
    else:
        period = 60.0 / spec["bpm"]
        y = np.zeros(n)
        k_first = int(math.ceil(t0 / period - 1e-9)) - 1
        k = max(k_first, 0)
        while k * period < t0 + n / SR:
            start = int(round((k * period - t0) * SR))
            hit = _drum_hit(spec["drum"], rng)
            a, b = max(start, 0), min(start + len(hit), n)
            if b > a:
                y[a:b] += hit[a - start:b - start]
            k += 1
    return y


def render(spec, n=WINDOW):
    """The model's window for this spec: [2, n] float32."""
    rng = np.random.default_rng(spec["seed"])
    s0, T = spec["seconds_start"], spec["seconds_total"]
    n_sound = int(max(0, min(n, round((T - s0) * SR))))
    out = np.zeros((2, n), dtype=np.float32)
    if n_sound == 0:
        return out
    y = render_clip(spec, s0, n_sound, rng)
    y = y / (np.abs(y).max() + 1e-9) if spec["family"] != "noise" else y
    t = s0 + np.arange(n_sound) / SR
    env = np.ones(n_sound)
    if spec.get("envelope") == "plucked":
        env = np.exp(-(t % max(T, 1e-3)) / max(0.15 * T, 0.2)) * 0.9 + 0.1
    env *= np.clip(t / 0.01, 0, 1) * np.clip((T - t) / 0.01, 0, 1)   # 10 ms in/out ramps
    y = y * env * LOUDNESS[spec.get("loudness")]
    p = PLACEMENT[spec.get("placement")]
    gl, gr = math.cos(p * math.pi / 2), math.sin(p * math.pi / 2)
    out[0, :n_sound] = y * gl * math.sqrt(2) * 0.75
    out[1, :n_sound] = y * gr * math.sqrt(2) * 0.75
    np.clip(out, -1, 1, out=out)
    return out
