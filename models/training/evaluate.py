"""Measures what chorus-tiny does and writes models/chorus-tiny/EVAL.md (+ spectrogram PNGs).

  /usr/bin/python3 evaluate.py [--steps 50] [--seeds 2]
Generation uses the PyTorch reference sampler with the same weights export.py writes to ONNX.
"""
import argparse
import datetime
import json
import math
import os
import time
import numpy as np
import torch
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from chorus import data  # noqa: E402
from chorus.common import RUNS  # noqa: E402
from chorus.config import CONFIG  # noqa: E402
from chorus.evalset import EVAL_PROMPTS, EVAL_CAPTIONS, train_specs  # noqa: E402
from chorus.sampling import generate_latents  # noqa: E402
from chorus.text_encoder import log_mel  # noqa: E402
from chorus.tokenizer import tokenize_batch  # noqa: E402
from export import load_nets, DEFAULTS  # noqa: E402

SR = data.SR
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "chorus-tiny")


# ---------------------------------------------------------------- measures
def dominant_freq(x, fmin=50, fmax=5000):
    """Strongest spectral peak of a mono signal (Hann, zero-padded FFT, parabolic interpolation)."""
    x = x[: SR * 4] if len(x) > SR * 4 else x
    n = 1 << int(math.ceil(math.log2(len(x) * 4)))
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)), n))
    f = np.fft.rfftfreq(n, 1 / SR)
    band = (f >= fmin) & (f <= fmax)
    k = np.flatnonzero(band)[np.argmax(spec[band])]
    a, b, c = np.log(spec[k - 1: k + 2] + 1e-12)
    p = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) != 0 else 0
    return float((k + p) * SR / n)


def track_freq(x, seconds=0.25):
    """Dominant frequency of the first and last `seconds` of a clip (for sweeps)."""
    n = int(seconds * SR)
    return dominant_freq(x[:n]), dominant_freq(x[-n:])


def lr_ratio_db(a):
    el, er = float((a[0] ** 2).sum()), float((a[1] ** 2).sum())
    return 10 * math.log10((el + 1e-12) / (er + 1e-12))


def tempo_bpm(x):
    """Tempo from the autocorrelation of the onset envelope (half-wave-rectified RMS derivative)."""
    hop = 441
    n = len(x) // hop
    env = np.sqrt((x[: n * hop].reshape(n, hop) ** 2).mean(1) + 1e-12)
    env = np.log(env + 1e-4)
    flux = np.maximum(np.diff(env), 0)
    flux -= flux.mean()
    ac = np.correlate(flux, flux, "full")[len(flux) - 1:]
    lags = np.arange(len(ac))
    lo, hi = int(60 / 240 * 100), int(60 / 40 * 100)
    k = lo + int(np.argmax(ac[lo:hi]))
    return 60 * 100 / k


def onset_rate(x):
    """Onsets per second: peaks of the onset envelope above an adaptive threshold, ≥ 80 ms apart."""
    hop = 441
    n = len(x) // hop
    env = np.log(np.sqrt((x[: n * hop].reshape(n, hop) ** 2).mean(1) + 1e-12) + 1e-4)
    flux = np.maximum(np.diff(env), 0)
    thr = flux.mean() + 1.5 * flux.std()
    peaks, last = 0, -100
    for i in range(1, len(flux) - 1):
        if flux[i] > thr and flux[i] >= flux[i - 1] and flux[i] >= flux[i + 1] and i - last >= 8:
            peaks, last = peaks + 1, i
    return peaks / (len(x) / SR)


def flatness_and_slope(x):
    """Spectral flatness (geometric/arithmetic mean of power, 50 Hz–16 kHz) and slope in dB/octave."""
    nper = 4096
    segs = len(x) // nper
    P = np.mean([np.abs(np.fft.rfft(x[i * nper:(i + 1) * nper] * np.hanning(nper))) ** 2 for i in range(segs)], 0)
    f = np.fft.rfftfreq(nper, 1 / SR)
    band = (f >= 50) & (f <= 16000)
    p = P[band] + 1e-20
    flat = float(np.exp(np.mean(np.log(p))) / np.mean(p))
    slope = np.polyfit(np.log2(f[band]), 10 * np.log10(p), 1)[0]
    return flat, float(slope)


def rms_db(x):
    return 10 * math.log10(float((x ** 2).mean()) + 1e-20)


def measure(prompt, audio):
    """All measures that apply to this prompt, on the full window `audio` [2, N]."""
    T = prompt["seconds_total"]
    n = int(round(T * SR))
    clip = audio[:, :n]
    mono = clip.mean(0)
    side_loud = np.abs(clip).max(1).argmax()
    r = {"caption": prompt["caption"], "family": prompt["family"], "seconds_total": T}
    r["rms_before_db"] = rms_db(clip)
    r["rms_after_db"] = rms_db(audio[:, n:]) if n < audio.shape[1] - SR // 10 else None
    r["after_minus_before_db"] = None if r["rms_after_db"] is None else r["rms_after_db"] - r["rms_before_db"]
    # length of the sound actually heard: last 50 ms block within 30 dB of the clip's loudest block
    blk = SR // 20
    nb = audio.shape[1] // blk
    e = 10 * np.log10((audio[:, : nb * blk].reshape(2, nb, blk) ** 2).mean((0, 2)) + 1e-20)
    loud = np.flatnonzero(e > e.max() - 30)
    r["heard_seconds"] = float((loud[-1] + 1) * blk / SR) if len(loud) else 0.0
    r["lr_db"] = lr_ratio_db(clip)
    if "placement" in prompt or prompt["family"] in ("tone", "noise", "drums", "sweep", "chord"):
        want = prompt.get("placement", "centre")
        ok = r["lr_db"] > 6 if want == "left" else r["lr_db"] < -6 if want == "right" else abs(r["lr_db"]) < 3
        r["placement"], r["placement_ok"] = want, bool(ok)
    if prompt["family"] == "tone":
        f = dominant_freq(mono)
        r["asked_hz"], r["got_hz"] = prompt["freq"], f
        r["pitch_err_pct"] = 100 * (f - prompt["freq"]) / prompt["freq"]
        r["pitch_ok"] = abs(r["pitch_err_pct"]) <= 3
    elif prompt["family"] == "chord":
        f = dominant_freq(mono)
        tones = [prompt["freq"] * 2 ** (s / 12) for s in (0, 3, 4, 7, 10)] + [prompt["freq"] * 2]
        near = min(tones, key=lambda t: abs(math.log(f / t)))
        r["asked_hz"], r["got_hz"] = prompt["freq"], f
        r["pitch_err_pct"] = 100 * (f - near) / near
        r["pitch_ok"] = abs(r["pitch_err_pct"]) <= 3
    elif prompt["family"] == "sweep":
        a, b = track_freq(mono)
        r["sweep_start_hz"], r["sweep_end_hz"] = a, b
        r["direction_ok"] = bool((b > a) == (prompt["f1"] > prompt["f0"]))
        r["pitch_err_pct"] = 100 * (math.sqrt(a * b) - math.sqrt(prompt["f0"] * prompt["f1"])) / math.sqrt(prompt["f0"] * prompt["f1"])
    elif prompt["family"] == "drums":
        r["asked_bpm"] = prompt["bpm"]
        r["tempo_bpm"] = tempo_bpm(mono)
        r["onsets_per_s"], r["asked_onsets_per_s"] = onset_rate(mono), prompt["bpm"] / 60
        ratio = r["tempo_bpm"] / prompt["bpm"]
        r["tempo_ok"] = bool(abs(ratio - 1) <= 0.05)
    elif prompt["family"] == "noise":
        r["flatness"], r["slope_db_per_oct"] = flatness_and_slope(mono)
        want = {"white": 0.0, "pink": -3.0, "brown": -6.0}[prompt["colour"]]
        r["colour_ok"] = bool(abs(r["slope_db_per_oct"] - want) <= 1.5)
    return r


def spec_to_prompt(s):
    p = {"caption": s["caption"], "family": s["family"], "seconds_total": s["seconds_total"]}
    for k in ("freq", "bpm", "colour", "f0", "f1"):
        if k in s:
            p[k] = s[k]
    if s.get("placement"):
        p["placement"] = s["placement"]
    return p


def spectrogram_png(audio, title, path):
    mono = audio.mean(0)
    plt.figure(figsize=(8, 3))
    plt.specgram(mono + 1e-7, NFFT=2048, Fs=SR, noverlap=1024, cmap="magma", vmin=-140)
    plt.ylim(0, 4000)
    plt.title(title, fontsize=9)
    plt.xlabel("s")
    plt.ylabel("Hz")
    plt.tight_layout()
    plt.savefig(path, dpi=80)
    plt.close()


# ---------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=DEFAULTS["steps"])
    ap.add_argument("--sampler", default=DEFAULTS["sampler"])
    ap.add_argument("--cfg", type=float, default=DEFAULTS["cfg_scale"])
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="skip CLAP/VAE sections")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t_start = time.time()
    nets, used = load_nets()
    vae = nets["vae"]
    os.makedirs(os.path.join(OUT, "plots"), exist_ok=True)
    wav_dir = os.path.join(RUNS, "eval")
    os.makedirs(wav_dir, exist_ok=True)
    # 1. generations for held-out prompts
    prompts = [p for p in EVAL_PROMPTS for _ in range(args.seeds)]
    seeds = [1000 + i for i in range(len(prompts))]
    lat, _ = generate_latents(nets, CONFIG, [p["caption"] for p in prompts], seeds, [0.0] * len(prompts),
                              [p["seconds_total"] for p in prompts], args.steps, args.sampler, args.cfg, None,
                              DEFAULTS["schedule"], DEFAULTS["sigma_min"], DEFAULTS["sigma_max"], DEFAULTS["rho"])
    gen_rows = []
    with torch.no_grad():
        for i, p in enumerate(prompts):
            audio = vae.decode(lat[i:i + 1])[0].clamp(-1, 1).numpy()
            r = measure(p, audio)
            r["seed"] = seeds[i]
            gen_rows.append(r)
            if i % args.seeds == 0 and i // args.seeds in (0, 2, 11, 16, 18, 21):
                spectrogram_png(audio, f"generated: {p['caption']} (seconds_total {p['seconds_total']}, seed {seeds[i]})",
                                os.path.join(OUT, "plots", f"gen_{i // args.seeds:02d}.png"))
            np.save(os.path.join(wav_dir, f"gen_{i:02d}.npy"), audio.astype(np.float16))
    print("generation done", f"{time.time() - t_start:.0f}s", flush=True)
    # 2. the same measures on the synthesiser's own renders and on their VAE reconstructions (measure sanity + VAE share)
    ref_rows, rec_rows = [], []
    rng = np.random.default_rng(99)
    with torch.no_grad():
        for p in EVAL_PROMPTS:
            spec = {**p, "seconds_start": 0.0, "seed": int(rng.integers(1 << 30)), "loudness": None, "envelope": None,
                    "wave": next((w for w in data.WAVES if w in p["caption"]), "triangle"),
                    "drum": next((d for d in data.DRUMS if d.split("-")[0] in p["caption"]), "kick"),
                    "chord": next((c for c in data.CHORDS if c in p["caption"]), "major")}
            if p["family"] == "sweep":
                spec["wave"] = "sine"
            if "quiet" in p["caption"]:
                spec["loudness"] = "quiet"
            if "loud " in p["caption"]:
                spec["loudness"] = "loud"
            if "plucked" in p["caption"]:
                spec["envelope"] = "plucked"
            x = data.render(spec)
            ref_rows.append(measure(p, x))
            y = vae.decode(vae.encode(torch.from_numpy(x)[None]))[0].clamp(-1, 1).numpy()
            rec_rows.append(measure(p, y))
    print("reference done", f"{time.time() - t_start:.0f}s", flush=True)
    vae_rows, clap = [], {}
    if not args.quick:
        # 3. VAE reconstruction on held-out random windows
        held = data.make_dataset(40, seed=4242, exclude_captions=EVAL_CAPTIONS)
        with torch.no_grad():
            for s in held:
                x = data.render(s)
                n = max(int(round((s["seconds_total"] - s["seconds_start"]) * SR)), SR // 2)
                n = min(n, data.WINDOW)
                y = vae.decode(vae.encode(torch.from_numpy(x)[None]))[0].numpy()
                err = y[:, :n] - x[:, :n]
                snr = 10 * math.log10(float((x[:, :n] ** 2).sum()) / float((err ** 2).sum() + 1e-20) + 1e-20)
                X, Y = (np.abs(np.fft.rfft(a[:, : n].mean(0))) + 1e-9 for a in (x, y))
                lsd = float(np.sqrt(np.mean((20 * np.log10(Y / X)) ** 2)))
                vae_rows.append({"family": s["family"], "snr_db": snr, "lsd_db": lsd, "l1": float(np.abs(err).mean()),
                                 "lr_db_in": lr_ratio_db(x[:, :n]), "lr_db_out": lr_ratio_db(y[:, :n])})
        # 4. CLAP text→audio retrieval on 200 held-out clips
        text, audio_enc = nets["text"], nets.get("audio")
        from chorus.common import load_ckpt
        ck = load_ckpt(os.path.join(RUNS, "clap", "ckpt.pt"))
        if ck:
            nets["text"].load_state_dict(ck["text"])
            audio_enc.load_state_dict(ck["audio"])
            audio_enc.eval()
            held = data.make_dataset(200, seed=777, exclude_captions=EVAL_CAPTIONS)
            train_caps = {s["caption"] for s in train_specs()}
            with torch.no_grad():
                mels = torch.cat([log_mel(torch.from_numpy(data.render(s))[None]) for s in held])
                ids, mask, nums = (torch.from_numpy(a) for a in tokenize_batch([s["caption"] for s in held], CONFIG["text"]["max_length"]))
                te = text.clap_embed(ids, mask, nums)
                ae = audio_enc(mels)
                sim = te @ ae.t()
                rank = (sim > sim.diag()[:, None]).sum(1)
            fams = np.array([s["family"] for s in held])
            clap = {"n": len(held), "top1": float((rank == 0).float().mean()), "top5": float((rank < 5).float().mean()),
                    "chance_top1": 1 / len(held), "seen_captions": int(sum(s["caption"] in train_caps for s in held)),
                    "per_family_top1": {f: float((rank[torch.from_numpy(fams == f)] == 0).float().mean()) for f in sorted(set(fams))},
                    "step": ck["step"]}
    write_eval(args, used, gen_rows, ref_rows, rec_rows, vae_rows, clap, time.time() - t_start)
    with open(os.path.join(RUNS, "eval", "eval.json"), "w") as f:
        json.dump({"gen": gen_rows, "ref": ref_rows, "rec": rec_rows, "vae": vae_rows, "clap": clap}, f, indent=1)


def fmt(v, nd=1):
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "**no**"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def in_range_note():
    """Names the eval prompts whose pitch or tempo is *not* in a held-out band (only their caption is unseen)."""
    def held(p):
        return any(data.in_bands(p[k], data.HELDOUT_PITCH_BANDS if k == "freq" else data.HELDOUT_BPM_BANDS)
                   for k in ("freq", "bpm") if k in p)
    valued = [p for p in EVAL_PROMPTS if "freq" in p or "bpm" in p]
    inside = [p["caption"] for p in valued if not held(p)]
    return (f"{len(valued) - len(inside)} of the {len(valued)} prompts with a pitch or tempo ask for a value inside "
            f"those bands. The other {len(inside)} ask for a value training does sample, in a caption it never saw: "
            + "; ".join(f"\"{c}\"" for c in inside) + ".")


def write_eval(args, used, gen, ref, rec, vae_rows, clap, secs):
    L = []
    L.append("# chorus-tiny: evaluation\n")
    L.append(f"Written by `models/training/evaluate.py` on {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC in {secs / 60:.1f} min. "
             f"Weights: {json.dumps({k: str(v) for k, v in used.items()})}. Generation: PyTorch reference sampler "
             f"(same weights as the ONNX graphs), sampler `{args.sampler}`, {args.steps} steps, cfg {args.cfg}, "
             f"polyexponential σ {DEFAULTS['sigma_min']}–{DEFAULTS['sigma_max']}, {args.seeds} seeds per prompt, "
             f"seconds_start 0. Every prompt is held out: its exact caption is excluded from training. Pitches and tempos "
             f"in these bands are never sampled in training: Hz {data.HELDOUT_PITCH_BANDS}, bpm {data.HELDOUT_BPM_BANDS}. "
             f"{in_range_note()}\n")
    # summary
    def rate(rows, key):
        v = [r[key] for r in rows if key in r and r[key] is not None]
        return (sum(bool(x) for x in v), len(v))
    L.append("## Summary (generated audio, held-out prompts)\n")
    L.append("| measure | generated | synth reference | synth → VAE → decoder |\n|---|---|---|---|")
    for key, name in [("pitch_ok", "tone/chord pitch within 3 %"), ("placement_ok", "placement (L/R > 6 dB, centre < 3 dB)"),
                      ("tempo_ok", "tempo within 5 %"), ("colour_ok", "noise colour (slope within 1.5 dB/oct)"),
                      ("direction_ok", "sweep direction")]:
        a, b, c = rate(gen, key), rate(ref, key), rate(rec, key)
        L.append(f"| {name} | {a[0]}/{a[1]} | {b[0]}/{b[1]} | {c[0]}/{c[1]} |")
    after = [r["after_minus_before_db"] for r in gen if r["after_minus_before_db"] is not None]
    if after:
        L.append(f"| RMS after seconds_total − before (dB), median / worst | {np.median(after):.1f} / {max(after):.1f} | "
                 f"{np.median([r['after_minus_before_db'] for r in ref if r['after_minus_before_db'] is not None]):.1f} | "
                 f"{np.median([r['after_minus_before_db'] for r in rec if r['after_minus_before_db'] is not None]):.1f} |")
        L.append(f"| share of generations with after − before ≤ −20 dB | {sum(a <= -20 for a in after)}/{len(after)} | | |")
    L.append("")
    L.append("## Every generation\n")
    L.append("| caption | seed | s_total | heard s | after−before dB | L/R dB | asked | got | err % | ok |\n|---|---|---|---|---|---|---|---|---|---|")
    for r in gen:
        asked, got, err, ok = "", "", "", []
        if "asked_hz" in r:
            asked, got, err = f"{r['asked_hz']:.1f} Hz", f"{r['got_hz']:.1f} Hz", fmt(r["pitch_err_pct"])
            ok.append("pitch " + fmt(r["pitch_ok"]))
        if "asked_bpm" in r:
            asked, got = f"{r['asked_bpm']:.0f} bpm ({r['asked_onsets_per_s']:.2f} onsets/s)", f"{r['tempo_bpm']:.1f} bpm ({r['onsets_per_s']:.2f} onsets/s)"
            err = fmt(100 * (r["tempo_bpm"] / r["asked_bpm"] - 1))
            ok.append("tempo " + fmt(r["tempo_ok"]))
        if "flatness" in r:
            asked, got = r["caption"].split()[1] if r["caption"].split()[1] in ("white", "pink", "brown") else r["caption"].split()[2], \
                f"flatness {r['flatness']:.3f}, slope {r['slope_db_per_oct']:.1f} dB/oct"
            ok.append("colour " + fmt(r["colour_ok"]))
        if "sweep_start_hz" in r:
            asked, got = "sweep", f"{r['sweep_start_hz']:.0f} → {r['sweep_end_hz']:.0f} Hz"
            err = fmt(r["pitch_err_pct"])
            ok.append("direction " + fmt(r["direction_ok"]))
        if "placement_ok" in r:
            ok.append(f"{r['placement']} " + fmt(r["placement_ok"]))
        L.append(f"| {r['caption']} | {r['seed']} | {r['seconds_total']} | {fmt(r['heard_seconds'])} | {fmt(r['after_minus_before_db'])} | "
                 f"{fmt(r['lr_db'])} | {asked} | {got} | {err} | {', '.join(ok)} |")
    L.append("")
    L.append("## The same measures on the synthesiser's own render and on its VAE round trip\n")
    L.append("Checks the measures themselves (reference column) and how much the VAE alone loses.\n")
    L.append("| caption | ref: got | ref: L/R dB | VAE: got | VAE: L/R dB | VAE: after−before dB |\n|---|---|---|---|---|---|")
    for a, b in zip(ref, rec):
        def got(r):
            if "got_hz" in r:
                return f"{r['got_hz']:.1f} Hz"
            if "tempo_bpm" in r:
                return f"{r['tempo_bpm']:.1f} bpm"
            if "flatness" in r:
                return f"flat {r['flatness']:.3f}, {r['slope_db_per_oct']:.1f} dB/oct"
            if "sweep_start_hz" in r:
                return f"{r['sweep_start_hz']:.0f} → {r['sweep_end_hz']:.0f} Hz"
            return ""
        L.append(f"| {a['caption']} | {got(a)} | {fmt(a['lr_db'])} | {got(b)} | {fmt(b['lr_db'])} | {fmt(b['after_minus_before_db'])} |")
    L.append("")
    if vae_rows:
        L.append("## VAE reconstruction (40 held-out random windows, active part)\n")
        L.append("| family | n | SNR dB (mean) | log-spectral distance dB | L1 | |L/R in − L/R out| dB |\n|---|---|---|---|---|---|")
        for fam in sorted(set(r["family"] for r in vae_rows)) + ["all"]:
            rows = [r for r in vae_rows if fam == "all" or r["family"] == fam]
            L.append(f"| {fam} | {len(rows)} | {np.mean([r['snr_db'] for r in rows]):.1f} | {np.mean([r['lsd_db'] for r in rows]):.1f} | "
                     f"{np.mean([r['l1'] for r in rows]):.4f} | {np.mean([abs(r['lr_db_in'] - r['lr_db_out']) for r in rows]):.1f} |")
        L.append("\nWaveform SNR is low for noise by nature (phase is not reproducible); the spectral distance is the fairer number there.\n")
    if clap:
        L.append("## CLAP text → audio retrieval\n")
        L.append(f"{clap['n']} held-out clips (synth renders; {clap['seen_captions']} of their captions also occur in training, "
                 f"pitch/tempo values differ), text encoder + log-mel audio encoder after {clap['step']} steps: "
                 f"top-1 {100 * clap['top1']:.1f} %, top-5 {100 * clap['top5']:.1f} % (chance top-1 {100 * clap['chance_top1']:.1f} %).\n")
        L.append("| family | top-1 |\n|---|---|")
        for f, v in clap["per_family_top1"].items():
            L.append(f"| {f} | {100 * v:.1f} % |")
        L.append("\nMany held-out captions differ only in a number (e.g. two sine tones 3 % apart), which a log-mel encoder cannot "
                 "always separate; top-1 is a strict measure here.\n")
    L.append("## Spectrograms (generated, full window)\n")
    for fn in sorted(os.listdir(os.path.join(OUT, "plots"))):
        if fn.startswith("gen_"):
            L.append(f"![{fn}](plots/{fn})")
    L.append("")
    with open(os.path.join(OUT, "EVAL.md"), "w") as f:
        f.write("\n".join(L) + "\n")
    print("\n".join(L[:20]))


if __name__ == "__main__":
    main()
