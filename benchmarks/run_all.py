"""The course's speed and memory figures, in one run: ``make bench``.

    .venv/bin/python benchmarks/run_all.py                      # parts 1-3, every lesson
    .venv/bin/python benchmarks/run_all.py --lessons 04 05      # part 3 on two lessons
    .venv/bin/python benchmarks/run_all.py --parts settings contention  # CPU defaults tried

Prints each table as it is measured and writes them all to ``outputs/bench/results.md``
(and ``results.json``) at the end (``$COURSE_OUTPUT_DIR/bench``). Parts:

1. ``tutorial``   the PyTorch transfer-learning tutorial's loop (batch 4, SGD momentum 0.9,
                  frozen backbone run every epoch on augmented images) against the helpers'
                  cached features (``helpers.features``), same backbone, data and epochs:
                  seconds per epoch, the ratio, validation accuracy of each.
2. ``throughput`` the backbone's forward speed (images/s, GFLOP/s counted with
                  ``FlopCounterMode``) as a fraction of this machine's matrix-multiply GFLOP/s.
3. ``lessons``    every lesson under nbval on a quiet machine and beside one busy process
                  (``while True: pass``): wall time, busy/quiet ratio, peak resident memory.
                  Lessons run in a kernel started with this process's environment minus
                  ``OMP_WAIT_POLICY``: what the helpers do must hold without the Makefile.
4. ``settings``   (not in the default run) CPU settings tried for a frozen backbone:
                  inference mode, channels_last, threads, batch size, decoded images in memory.
5. ``contention`` (not in the default run) OpenMP waiting policy and thread count, quiet and
                  beside a busy process, each in a fresh child process.

Times depend on what else runs on the machine; run it on a quiet one. Ratios measured in
one run (interleaved rounds) are what to compare across machines.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import helpers  # noqa: E402,F401  (before torch: the OpenMP policy)
import torch  # noqa: E402
from torch import nn  # noqa: E402

from helpers.paths import output_dir  # noqa: E402

DEFAULT_PARTS = ("tutorial", "throughput", "lessons")
BUSY_CODE = "while True: pass"


# --- shared pieces -------------------------------------------------------------------------


def _table(title: str, header: list[str], rows: list[list]) -> str:
    def cell(v):
        return f"{v:.3g}" if isinstance(v, float) else str(v)

    lines = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


class Busy:
    """One competing busy process (a browser tab, a second notebook) for the ``with`` block."""

    def __init__(self, active: bool = True):
        self.active, self.proc = active, None

    def __enter__(self):
        if self.active:
            self.proc = subprocess.Popen([sys.executable, "-c", BUSY_CODE])
            time.sleep(0.3)
        return self

    def __exit__(self, *exc):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()


def _median_time(fn, rounds: int = 3, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _backbone():
    from helpers.models import load_pretrained

    return load_pretrained("efficientnet_lite0", verbose=False)


# --- 1. tutorial loop vs cached features ------------------------------------------------------


def tutorial_epoch(model, loaders, criterion, optimizer, device) -> float:
    """One epoch written as the PyTorch transfer-learning tutorial does; returns val accuracy."""
    val_acc = 0.0
    for phase in ("train", "val"):
        model.train() if phase == "train" else model.eval()
        correct, seen = 0, 0
        for inputs, labels in loaders[phase]:
            inputs, labels = inputs.to(device), labels.to(device)
            optimizer.zero_grad()
            with torch.set_grad_enabled(phase == "train"):
                outputs = model(inputs)
                loss = criterion(outputs, labels)
                if phase == "train":
                    loss.backward()
                    optimizer.step()
            correct += (outputs.argmax(1) == labels).sum().item()
            seen += labels.numel()
        val_acc = correct / seen
    return val_acc


def part_tutorial(args) -> dict:
    from helpers.data import dataset_dir, make_loaders
    from helpers.features import feature_loaders
    from helpers.models import replace_head, set_parameter_requires_grad
    from helpers.train import fit, seed_everything

    device = torch.device("cpu")
    data = dataset_dir("animals")
    results = {}
    for name in ("tutorial", "cached"):
        seed_everything(0)
        pre = _backbone()
        model = pre.model
        set_parameter_requires_grad(model)  # frozen backbone
        loaders, class_names = make_loaders(data, pre.preprocess, batch_size=4, seed=0, verify=False)
        head = replace_head(model, len(class_names))
        optimizer = torch.optim.SGD(head.parameters(), lr=args.lr, momentum=0.9)
        criterion = nn.CrossEntropyLoss()
        if name == "tutorial":
            seconds, acc = [], 0.0
            for _ in range(args.epochs):
                start = time.perf_counter()
                acc = tutorial_epoch(model, loaders, criterion, optimizer, device)
                seconds.append(time.perf_counter() - start)
            results[name] = {"seconds_per_epoch": statistics.median(seconds), "val_acc": acc, "setup_s": 0.0}
        else:
            start = time.perf_counter()
            floaders = feature_loaders(model, loaders, batch_size=4, seed=0)  # backbone once per split
            setup = time.perf_counter() - start
            history = fit(head, floaders, criterion, optimizer, epochs=args.epochs, device=device, progress=False)
            results[name] = {"seconds_per_epoch": statistics.median(history.seconds),
                             "val_acc": history.val_acc[-1], "setup_s": setup}
    ratio = results["tutorial"]["seconds_per_epoch"] / results["cached"]["seconds_per_epoch"]
    rows = [[name, r["seconds_per_epoch"], r["val_acc"], r["setup_s"],
             r["setup_s"] + args.epochs * r["seconds_per_epoch"]] for name, r in results.items()]
    text = _table(f"1. Tutorial loop vs cached features (EfficientNet-Lite0, data/animals, {args.epochs} epochs, "
                  f"batch 4, SGD lr={args.lr} momentum 0.9)",
                  ["path", "s/epoch", "val acc (last epoch)", "one-time extraction s", f"total s ({args.epochs} ep.)"],
                  rows)
    text += f"\nCached is **{ratio:.0f}x** faster per epoch (target >= 20x at equal or better val acc).\n"
    return {"text": text, "data": {**results, "ratio": ratio, "epochs": args.epochs}}


# --- 2. backbone throughput vs matmul ---------------------------------------------------------


def matmul_gflops(n: int = 1024, seconds: float = 1.0) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    reps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        reps += 1
    return 2 * n ** 3 * reps / (time.perf_counter() - start) / 1e9


def backbone_flops(model: nn.Module, x: torch.Tensor) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        model(x)
    return counter.get_total_flops()


def part_throughput(args) -> dict:
    pre = _backbone()
    model = pre.model.eval()
    batch = args.batch
    x = torch.randn(batch, 3, pre.preprocess.crop, pre.preprocess.crop)
    flops_per_image = backbone_flops(model, x) / batch

    def forward():
        with torch.inference_mode():
            model(x)

    from helpers.features import EXTRACT_BATCH_SIZE

    x_cl = x[:EXTRACT_BATCH_SIZE].contiguous(memory_format=torch.channels_last)

    def forward_helpers():  # what helpers.features.extract_features does
        model.to(memory_format=torch.channels_last)
        with torch.inference_mode():
            model(x_cl)
        model.to(memory_format=torch.contiguous_format)

    seconds = _median_time(forward, rounds=args.rounds)
    images_s = batch / seconds
    gflops = images_s * flops_per_image / 1e9
    images_s_cl = EXTRACT_BATCH_SIZE / _median_time(forward_helpers, rounds=args.rounds)
    gflops_cl = images_s_cl * flops_per_image / 1e9
    peak = max(matmul_gflops() for _ in range(2))
    rows = [[f"EfficientNet-Lite0 forward (eval, inference_mode, batch {batch})", images_s, flops_per_image / 1e9,
             gflops, gflops / peak],
            [f"same, channels_last, batch {EXTRACT_BATCH_SIZE} (helpers.features)", images_s_cl,
             flops_per_image / 1e9, gflops_cl, gflops_cl / peak],
            ["matrix multiply 1024x1024 float32", "", "", peak, 1.0]]
    text = _table(f"2. Backbone forward throughput ({pre.preprocess.crop} px, {torch.get_num_threads()} threads)",
                  ["what", "images/s", "GFLOP/image", "GFLOP/s", "fraction of matmul"], rows)
    return {"text": text, "data": {"images_per_s": images_s, "gflop_per_image": flops_per_image / 1e9,
                                   "gflops": gflops, "matmul_gflops": peak, "fraction": gflops / peak,
                                   "helpers_images_per_s": images_s_cl, "helpers_fraction": gflops_cl / peak}}


# --- 3. lessons under nbval ------------------------------------------------------------------

RUN_ONE = r"""
import json, resource, subprocess, sys, time
start = time.perf_counter()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
wall = time.perf_counter() - start
print(json.dumps({"rc": rc, "wall_s": wall,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def lesson_env() -> dict:
    """This environment minus what the Makefile sets: the helpers must cope on their own."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env["MPLBACKEND"] = "Agg"
    return env


def run_lesson(notebook: Path, busy: bool) -> dict:
    """Time one lesson under nbval in a fresh child (its RUSAGE_CHILDREN is this lesson's only)."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
           "--nbval-current-env", str(notebook)]
    with Busy(busy):
        out = subprocess.run([sys.executable, "-c", RUN_ONE, *cmd], env=lesson_env(), cwd=ROOT,
                             capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def part_lessons(args) -> dict:
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.lessons:
        notebooks = [nb for nb in notebooks if nb.name[:2] in args.lessons]
    notebooks = [nb for nb in notebooks if nb.name[:2] not in args.skip_lessons]
    rows, data = [], {}
    for nb in notebooks:
        quiet = run_lesson(nb, busy=False)
        busy = run_lesson(nb, busy=True) if not args.no_busy else None
        data[nb.name] = {"quiet": quiet, "busy": busy}
        ratio = busy["wall_s"] / quiet["wall_s"] if busy else float("nan")
        peak = max(quiet["peak_rss_mib"], busy["peak_rss_mib"] if busy else 0) / 1024
        ok = "ok" if quiet["rc"] == 0 and (busy is None or busy["rc"] == 0) else "FAILED"
        rows.append([nb.stem, quiet["wall_s"], busy["wall_s"] if busy else "", ratio, peak, ok])
        print(f"  {nb.stem}: quiet {quiet['wall_s']:.1f} s, busy {busy['wall_s'] if busy else float('nan'):.1f} s, "
              f"peak {peak:.2f} GiB, {ok}", flush=True)
    total_q = sum(d["quiet"]["wall_s"] for d in data.values())
    total_b = sum(d["busy"]["wall_s"] for d in data.values() if d["busy"])
    rows.append(["**total**", total_q, total_b if not args.no_busy else "",
                 total_b / total_q if total_q and not args.no_busy else "", "", ""])
    text = _table("3. Lessons under nbval (kernel without the Makefile's OMP_WAIT_POLICY)",
                  ["lesson", "quiet s", "1 busy process s", "busy/quiet", "peak RSS GiB", "result"], rows)
    text += "\nTargets: each lesson < 90 s quiet, all < 5 min, busy/quiet <= 2, peak <= 1.5 GiB.\n"
    return {"text": text, "data": {"lessons": data, "total_quiet_s": total_q, "total_busy_s": total_b}}


# --- 4. CPU defaults tried -------------------------------------------------------------------

CHILD_STEP = r"""
import json, sys, time
import torch
threads = int(sys.argv[1])
if threads:
    torch.set_num_threads(threads)
from helpers.models import load_pretrained
model = load_pretrained("efficientnet_lite0", verbose=False).model.train()
x = torch.randn(8, 3, 224, 224)
model(x).sum().backward()
start = time.perf_counter()
for _ in range(3):
    model(x).sum().backward()
print(json.dumps({"step_s": (time.perf_counter() - start) / 3}))
"""


def _child_step(policy: str | None, threads: int, busy: bool) -> float:
    env = lesson_env()
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    # torch imported BEFORE helpers here, so helpers cannot set the policy: the child gets
    # exactly the policy in its environment.
    with Busy(busy):
        out = subprocess.run([sys.executable, "-c", CHILD_STEP, str(threads)], env=env, cwd=ROOT,
                             capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["step_s"]


def _interleaved(cases: dict, rounds: int) -> dict[str, float]:
    """Median seconds of each case, rounds interleaved so background load hits every case alike."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for fn in cases.values():  # warm-up
        fn()
    for _ in range(rounds):
        for name, fn in cases.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def part_settings(args) -> dict:
    from helpers.data import dataset_dir, make_datasets
    from helpers.images import load_image

    pre = _backbone()
    model = pre.model.eval()
    threads = torch.get_num_threads()
    n = 16
    inputs = {b: torch.randn(b, 3, 224, 224) for b in (4, 16, 32)}

    def forward(ctx=torch.inference_mode, batch=16, channels_last=False, n_threads=threads):
        x = inputs[batch]
        fmt = torch.channels_last if channels_last else torch.contiguous_format

        def run():
            torch.set_num_threads(n_threads)
            model.to(memory_format=fmt)
            try:
                with ctx():
                    for _ in range(n // batch if batch < n else 1):
                        model(x.contiguous(memory_format=fmt))
            finally:
                torch.set_num_threads(threads)
                model.to(memory_format=torch.contiguous_format)
        return run

    train = make_datasets(dataset_dir("animals"), pre.preprocess, verify=False)["train"]
    decoded = [load_image(p) for p, _ in train.samples]
    cases = {
        "no_grad, batch 16": forward(torch.no_grad),
        "inference_mode, batch 16": forward(),
        "inference_mode + channels_last": forward(channels_last=True),
        "inference_mode, 1 thread": forward(n_threads=1),
        "inference_mode, batch 4 (x4)": forward(batch=4),
        "inference_mode, batch 32 (per 16)": forward(batch=32),
        f"data-only epoch, decode from disk ({len(train)} images)": lambda: [train[i] for i in range(len(train))],
        "data-only epoch, decoded images in memory": lambda: [train.transform(im) for im in decoded],
    }
    medians = _interleaved(cases, args.rounds)
    medians["inference_mode, batch 32 (per 16)"] /= 2
    base = medians["no_grad, batch 16"]
    disk = medians[f"data-only epoch, decode from disk ({len(train)} images)"]
    rows = []
    for name, seconds in medians.items():
        ref = disk if name.startswith("data-only") else base
        rows.append([name, seconds, ref / seconds])
    text = _table(f"4a. Frozen-backbone forward of 16 images (EfficientNet-Lite0, 224 px, {threads} threads), "
                  f"median of {args.rounds} interleaved rounds",
                  ["setting", "seconds", "speed-up (vs no_grad batch 16 / vs decode from disk)"], rows)
    return {"text": text, "data": medians}


def part_contention(args) -> dict:
    default_threads = torch.get_num_threads()
    rows, ref = [], None
    for policy in (None, "PASSIVE"):
        for threads in (0, 1):
            quiet, busy = _child_step(policy, threads, False), _child_step(policy, threads, True)
            ref = ref or quiet
            rows.append([policy or "unset (spin)", threads or default_threads, quiet, busy, busy / quiet, quiet / ref])
    text = _table("4b. Training step (EfficientNet-Lite0, batch 8, 224 px), quiet vs one busy process",
                  ["OMP_WAIT_POLICY", "threads", "quiet s", "busy s", "busy/quiet", "quiet vs first row"], rows)
    return {"text": text, "data": rows}


# --- main ------------------------------------------------------------------------------------


PARTS = {"tutorial": part_tutorial, "throughput": part_throughput, "lessons": part_lessons,
         "settings": part_settings, "contention": part_contention}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", nargs="+", choices=list(PARTS), default=list(DEFAULT_PARTS))
    parser.add_argument("--lessons", nargs="*", default=[], help="lesson numbers, e.g. 04 05 (default: all)")
    parser.add_argument("--skip-lessons", nargs="*", default=[], help="lesson numbers to leave out")
    parser.add_argument("--no-busy", action="store_true", help="part 3 without the busy-process runs")
    parser.add_argument("--epochs", type=int, default=5, help="part 1 epochs (same for both paths)")
    parser.add_argument("--lr", type=float, default=0.01, help="part 1 learning rate (same for both paths)")
    parser.add_argument("--batch", type=int, default=16, help="part 2 batch size")
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds (median)")
    parser.add_argument("--out", type=Path, default=None, help="folder for results.md/json (default outputs/bench)")
    args = parser.parse_args(argv)

    header = (f"# Benchmark {time.strftime('%Y-%m-%d %H:%M')}\n\n"
              f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, "
              f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
              f"load average before: {', '.join(f'{v:.1f}' for v in os.getloadavg())}\n")
    print(header, flush=True)
    sections, data = [header], {"cpus": os.cpu_count(), "torch": torch.__version__,
                                "loadavg_before": os.getloadavg()}
    for name in args.parts:
        print(f"== {name} ...", flush=True)
        result = PARTS[name](args)
        print(result["text"], flush=True)
        sections.append(result["text"])
        data[name] = result["data"]
    data["loadavg_after"] = os.getloadavg()
    folder = args.out or output_dir("bench")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.md").write_text("\n".join(sections), encoding="utf-8")
    (folder / "results.json").write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    print(f"written: {folder / 'results.md'} and results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
