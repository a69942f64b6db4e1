"""Run directories, checkpoints and loss logs shared by the training scripts."""
import csv
import os
import time
import torch

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = os.path.join(HERE, "runs")


def run_dir(name):
    d = os.path.join(RUNS, name)
    os.makedirs(d, exist_ok=True)
    return d


def save_ckpt(path, **state):
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_ckpt(path):
    return torch.load(path, map_location="cpu") if os.path.exists(path) else None


class LossLog:
    def __init__(self, path, fields):
        self.path, self.fields = path, fields
        new = not os.path.exists(path)
        self.f = open(path, "a", newline="")
        self.w = csv.writer(self.f)
        if new:
            self.w.writerow(["step", "time"] + fields)

    def log(self, step, values):
        self.w.writerow([step, f"{time.time():.1f}"] + [f"{v:.6g}" for v in values])
        self.f.flush()
