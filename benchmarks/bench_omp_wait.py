"""OpenMP wait policy and PyTorch speed on a small CPU: spinning vs sleeping threads.

Run: ``.venv/bin/python benchmarks/bench_omp_wait.py``

Each measurement runs in a fresh child process (the policy is read once, when OpenMP
starts), once on a quiet machine and once while a busy-loop process occupies one core,
as a browser or a second notebook does on a student's laptop. Reported side by side as
ratios to the default policy on the quiet machine, all in one run.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import subprocess
import sys
import time

CHILD = r"""
import json, time, numpy as np, torch
from PIL import Image
from torchvision import transforms as T
from helpers.models import load_efficientnet_lite0
img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (224, 224, 3), dtype=np.uint8))
prep = T.Compose([T.ToTensor(), T.Normalize((0.5,) * 3, (0.5,) * 3)])
prep(img)
t = time.perf_counter()
for _ in range(50):
    prep(img)
transform_ms = (time.perf_counter() - t) / 50 * 1000
model = load_efficientnet_lite0().train()
x = torch.randn(8, 3, 160, 160)
model(x).sum().backward()
t = time.perf_counter()
for _ in range(3):
    model(x).sum().backward()
step_ms = (time.perf_counter() - t) / 3 * 1000
print(json.dumps({"transform_ms": transform_ms, "train_step_ms": step_ms}))
"""


def _spin(stop_at: float) -> None:
    while time.time() < stop_at:
        pass


SETTINGS = {  # name -> environment for the child
    "default (spin)": {},
    "PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"},
    "SPINCOUNT=10k": {"GOMP_SPINCOUNT": "10000"},
}


def measure(setting: str, busy: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env.update(SETTINGS[setting])
    spinner = None
    if busy:
        spinner = mp.Process(target=_spin, args=(time.time() + 600,), daemon=True)
        spinner.start()
    try:
        out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    finally:
        if spinner is not None:
            spinner.terminate()
            spinner.join()
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    results = {(setting, busy): measure(setting, busy) for busy in (False, True) for setting in SETTINGS}
    ref = results[("default (spin)", False)]
    print(f"cores: {os.cpu_count()}; ratios are to the default policy on a quiet machine")
    print(f"{'setting':15s} {'machine':7s} {'ToTensor+Normalize':>19s} {'ratio':>6s} {'train step (8 img)':>19s} {'ratio':>6s}")
    for (setting, busy), r in results.items():
        print(f"{setting:15s} {'busy' if busy else 'quiet':7s} {r['transform_ms']:16.2f} ms {r['transform_ms'] / ref['transform_ms']:6.1f}"
              f" {r['train_step_ms']:16.0f} ms {r['train_step_ms'] / ref['train_step_ms']:6.1f}")


if __name__ == "__main__":
    main()
