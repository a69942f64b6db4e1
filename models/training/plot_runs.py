"""Loss curves of every run in runs/ → plots/<run>.png (committed; the runs themselves are not)."""
import csv
import os
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from chorus.common import RUNS, HERE  # noqa: E402

out = os.path.join(HERE, "plots")
os.makedirs(out, exist_ok=True)
for run in sorted(os.listdir(RUNS)):
    path = os.path.join(RUNS, run, "loss.csv")
    if not os.path.exists(path):
        continue
    rows = list(csv.DictReader(open(path)))
    if not rows:
        continue
    keys = [k for k in rows[0] if k not in ("step", "time", "lr")]
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3))
    axes = axes if len(keys) > 1 else [axes]
    steps = [int(r["step"]) for r in rows]
    for ax, k in zip(axes, keys):
        v = [float(r[k]) for r in rows]
        w = max(1, len(v) // 100)
        sm = [sum(v[max(0, i - w):i + 1]) / len(v[max(0, i - w):i + 1]) for i in range(len(v))]
        ax.plot(steps, v, alpha=0.25, lw=0.6)
        ax.plot(steps, sm, lw=1.2)
        ax.set_title(f"{run}: {k}")
        ax.set_xlabel("step")
        if k not in ("acc",) and min(v) > 0:
            ax.set_yscale("log")
    fig.tight_layout()
    fig.savefig(os.path.join(out, f"{run}.png"), dpi=70)
    plt.close(fig)
    print(run, len(rows), "steps")
