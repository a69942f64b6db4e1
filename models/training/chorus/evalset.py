"""Held-out evaluation prompts. Their exact captions are excluded from the training set. Most of their pitches and
tempos lie in data.HELDOUT_*_BANDS, which training never samples; a few (180 and 800 Hz, 150 bpm, the A3 chord) ask
for values training does sample, and evaluate.py names them in EVAL.md."""
import os

# (caption, what is asked) — seconds_total chosen per prompt; seconds_start 0
EVAL_PROMPTS = [
    {"caption": "a sine tone at 440 hz", "family": "tone", "freq": 440.0, "seconds_total": 4.0},
    {"caption": "a sine tone at 440 Hz", "family": "tone", "freq": 440.0, "seconds_total": 8.0},
    {"caption": "a square wave at 620 hz", "family": "tone", "freq": 620.0, "seconds_total": 6.0},
    {"caption": "a sawtooth tone at 262 hz", "family": "tone", "freq": 262.0, "seconds_total": 5.0},
    {"caption": "a triangle tone at 435 hz, panned right", "family": "tone", "freq": 435.0, "placement": "right", "seconds_total": 6.0},
    {"caption": "a quiet sine wave at 610 hz on the left", "family": "tone", "freq": 610.0, "placement": "left", "seconds_total": 3.0},
    {"caption": "a loud plucked sine tone at 450 hz", "family": "tone", "freq": 450.0, "seconds_total": 7.0},
    {"caption": "a sine tone at a4", "family": "tone", "freq": 440.0, "seconds_total": 5.0},
    {"caption": "a square tone at c4", "family": "tone", "freq": 261.63, "seconds_total": 5.0},
    {"caption": "a sine tone at 180 hz, panned left", "family": "tone", "freq": 180.0, "placement": "left", "seconds_total": 9.0},
    {"caption": "a sawtooth wave at 800 hz in the right", "family": "tone", "freq": 800.0, "placement": "right", "seconds_total": 2.5},
    {"caption": "a kick drum at 120 bpm", "family": "drums", "bpm": 120.0, "seconds_total": 8.0},
    {"caption": "a snare pattern at 97 bpm, panned left", "family": "drums", "bpm": 97.0, "placement": "left", "seconds_total": 10.0},
    {"caption": "hi-hat at 121 bpm", "family": "drums", "bpm": 121.0, "seconds_total": 6.0},
    {"caption": "a kick pattern at 150 bpm on the right", "family": "drums", "bpm": 150.0, "placement": "right", "seconds_total": 8.0},
    {"caption": "a white noise in the centre", "family": "noise", "colour": "white", "seconds_total": 5.0},
    {"caption": "a pink noise, panned right", "family": "noise", "colour": "pink", "placement": "right", "seconds_total": 5.0},
    {"caption": "a quiet brown noise on the left", "family": "noise", "colour": "brown", "placement": "left", "seconds_total": 5.0},
    {"caption": "a rising sweep from 300 hz to 1200 hz", "family": "sweep", "f0": 300.0, "f1": 1200.0, "seconds_total": 6.0},
    {"caption": "a falling sweep from 1500 hz to 250 hz, panned left", "family": "sweep", "f0": 1500.0, "f1": 250.0, "placement": "left", "seconds_total": 6.0},
    {"caption": "an a3 minor chord", "family": "chord", "freq": 220.0, "seconds_total": 6.0},
    {"caption": "a c4 major chord, panned right", "family": "chord", "freq": 261.63, "placement": "right", "seconds_total": 4.0},
]
EVAL_CAPTIONS = {p["caption"].lower() for p in EVAL_PROMPTS}
TRAIN_SEED = 7
# Every shipped part (0.3.0) trained on the first 3000. CHORUS_TRAIN_SIZE=9000 (third session) and 6000 with a
# narrower band around 440 Hz (fourth session) were tried for the U-Net and not shipped (RUNS.md).
# make_dataset draws specs one after another from one seeded generator, so a larger size keeps the smaller set as
# its prefix, and cache_latents.py only encodes the windows it has not cached yet.
TRAIN_SIZE = int(os.environ.get("CHORUS_TRAIN_SIZE", "3000"))


def train_specs():
    from chorus import data
    return data.make_dataset(TRAIN_SIZE, TRAIN_SEED, exclude_captions=EVAL_CAPTIONS)
