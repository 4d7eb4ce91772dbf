"""How many students one hub machine holds: N students run one lesson at the same moment (``make hub-bench``).

    .venv/bin/python benchmarks/bench_hub.py                                   # lessons 05, 04, 02; N = 1, 2, 4, 8, 16
    .venv/bin/python benchmarks/bench_hub.py --lessons 05 --counts 1 2 4

A real JupyterHub on this machine (``tests/hubkit.py``, as ``make hub`` tests it); every simulated
student logs in and pulls the course with the nbgitpuller link first. Then, for each lesson and each
N, N students start Run All of that lesson at the same moment, each through their own server's kernel
API with the course kernel and PyTorch's default thread count, as JupyterLab runs it (after one
unmeasured run of the lesson, which fills the page cache as the first student in a class does). For each N it
records the median and worst completion time (and the ratio to one student alone), the machine's
peak memory in use above what it used before the round (``MemTotal - MemAvailable``, sampled every
0.2 s) in all and per student, and every lesson that failed or kernel that died. A heavier round is
not started once a round failed or its worst time passed ``--give-up`` seconds: from that N the
machine no longer holds the class. Writes ``outputs/bench/hub.json`` and ``outputs/bench/hub.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from hubkit import local_hub, login, open_link, run_notebook, user_headers  # noqa: E402


def used_bytes() -> int:
    info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    return (int(info["MemTotal"].split()[0]) - int(info["MemAvailable"].split()[0])) * 1024


class PeakMemory:
    """The machine's peak memory in use while the block runs (a sampling thread)."""

    def __enter__(self):
        self.baseline = self.peak = used_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, used_bytes())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def one_round(hub: dict, students: list[str], headers: dict, lesson: str, timeout: float) -> dict:
    path = f"dl-course/notebooks/{lesson}"
    start = threading.Barrier(len(students))

    def student(name: str) -> dict:
        start.wait()  # all at the same moment, as a class pressing Run All together
        began = time.monotonic()
        try:
            nb, results = run_notebook(hub, name, headers[name], path, timeout=timeout)
        except Exception as error:  # noqa: BLE001 - a failed request is a result here
            return {"seconds": time.monotonic() - began, "ok": False, "why": f"{type(error).__name__}: {error}"[:300]}
        cells = sum(c["cell_type"] == "code" for c in nb["cells"])
        bad = next((r for r in results if r["status"] != "ok"), None)
        ok = bad is None and len(results) == cells
        why = None if ok else (bad or {}).get("status", "stopped") + ": " + (bad or {}).get("text", "")[-200:]
        return {"seconds": time.monotonic() - began, "ok": ok, "why": why}

    with PeakMemory() as memory, ThreadPoolExecutor(len(students)) as pool:
        runs = list(pool.map(student, students))
    seconds = [r["seconds"] for r in runs]
    extra = memory.peak - memory.baseline
    return {"lesson": lesson, "n": len(students), "median_s": statistics.median(seconds), "worst_s": max(seconds),
            "peak_gib": extra / 2**30, "per_student_gib": extra / 2**30 / len(students),
            "failed": [r["why"] for r in runs if not r["ok"]]}


def table(rounds: list[dict]) -> str:
    alone = {r["lesson"]: r["median_s"] for r in rounds if r["n"] == 1}
    lines = ["| lesson | N | median s | worst s | worst / alone | peak memory GiB (per student) | failed |",
             "|---|---|---|---|---|---|---|"]
    for r in rounds:
        ratio = r["worst_s"] / alone[r["lesson"]] if r["lesson"] in alone else float("nan")
        lines.append(f"| {r['lesson'][:2]} | {r['n']} | {r['median_s']:.0f} | {r['worst_s']:.0f} | {ratio:.1f} | "
                     f"{r['peak_gib']:.2f} ({r['per_student_gib']:.2f}) | {len(r['failed']) or '-'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", nargs="+", default=["05", "04", "02"])
    parser.add_argument("--counts", nargs="+", type=int, default=[1, 2, 4, 8, 16])
    parser.add_argument("--give-up", type=float, default=600.0, help="no heavier round once the worst time passes this")
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "bench")
    args = parser.parse_args(argv)
    students = [f"s{i:02d}" for i in range(1, max(args.counts) + 1)]
    lessons = [next((ROOT / "notebooks").glob(f"{n}_*.ipynb")).name for n in args.lessons]
    rounds: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench-hub-") as base, local_hub(Path(base), students) as hub:
        headers = {}
        for name in students:  # every student logs in and pulls the course first (not timed)
            open_link(hub, login(hub, name), name, lessons[0])
            headers[name] = user_headers(hub, name)
        for lesson in lessons:
            # one unmeasured run first: the first kernel reads torch and the data from disk, later ones
            # (any student's, on one machine) from the page cache
            one_round(hub, students[:1], headers, lesson, timeout=args.give_up * 2)
            for n in args.counts:
                result = one_round(hub, students[:n], headers, lesson, timeout=args.give_up * 2)
                rounds.append(result)
                print(json.dumps(result, ensure_ascii=False), flush=True)
                if result["failed"] or result["worst_s"] > args.give_up:
                    break
    args.out.mkdir(parents=True, exist_ok=True)
    machine = {"cores": len(os.sched_getaffinity(0)),
               "memory_gib": round(int(Path("/proc/meminfo").read_text().split()[1]) / 2**20, 1)}
    (args.out / "hub.json").write_text(json.dumps({"machine": machine, "rounds": rounds}, indent=1), encoding="utf-8")
    (args.out / "hub.md").write_text(table(rounds) + "\n", encoding="utf-8")
    print(f"\n{machine}\n{table(rounds)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
