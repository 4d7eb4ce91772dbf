"""The claims sweep: does every claim a lesson asserts hold where students run it? (``make claims``)

Every lesson, with its solutions, top to bottom, at seeds 0-9 with one thread and with PyTorch's
default thread count on the pinned torch (``.venv``), and at seeds 0-2 on the floor torch
(``.venv-floor``, default threads, as Colab's older torch runs it); two lessons at a time.
A lesson's seed is its ``SEED = 0`` line (set to each seed; a lesson without one runs the same
code each time, which still tests the thread count and the torch version).

Each run records every ``helpers.selfcheck.claim`` (``COURSE_CLAIMS_LOG``): its measured value,
bound and **margin**, how far it is from failing in the claim's own unit. The table
(``benchmarks/claims_sweep.md``, committed) gives, per claim and setting, the smallest margin and
how many runs passed; a claim counted in photos (unit "장") whose smallest margin is below 1 photo
is marked: one photo the other way would fail it, which is a coin, not a finding.

    .venv/bin/python benchmarks/claims_sweep.py                      # everything (about 2 hours on 2 cores)
    .venv/bin/python benchmarks/claims_sweep.py --lessons 02 --seeds 0-2 --settings pinned-1
    .venv/bin/python benchmarks/claims_sweep.py --merge outputs/sweep/*.json   # one table from several runs
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from helpers.selfcheck import SELF_CHECK_PASSED  # noqa: E402

SEED_LINE = re.compile(r"^SEED = \d+\s*$", re.M)
SETTINGS = {  # name: (python, OMP_NUM_THREADS or None for PyTorch's default, seeds)
    "pinned-1": (ROOT / ".venv/bin/python", "1", range(10)),
    "pinned-all": (ROOT / ".venv/bin/python", None, range(10)),
    "floor-all": (ROOT / ".venv-floor/bin/python", None, range(3)),
}
PHOTO_UNIT = "장"


def run_one(lesson: Path, seed: int, threads: str | None, python: Path, workdir: Path) -> dict:
    """Execute ``lesson`` (instructor edition, CPU) at ``seed`` in a fresh kernel of ``python``'s
    environment; what passed and the claims it logged."""
    import nbformat

    nb = nbformat.read(lesson, as_version=4)
    seeded = False
    for cell in nb.cells:
        if cell.cell_type == "code" and SEED_LINE.search(cell.source) and not seeded:
            cell.source = SEED_LINE.sub(f"SEED = {seed}", cell.source, count=1)
            seeded = True
    tag = f"{lesson.name[:2]}-{seed}-{threads or 'all'}-{python.parent.parent.name}"
    run_dir = workdir / tag
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / lesson.name
    nbformat.write(nb, path)
    log = run_dir / "claims.jsonl"
    env = dict(os.environ, MPLBACKEND="Agg", COURSE_CLAIMS_LOG=str(log), COURSE_OUTPUT_DIR=str(run_dir / "outputs"))
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.pop(name, None)
    if threads:
        env["OMP_NUM_THREADS"] = threads
    start = time.perf_counter()
    done = subprocess.run([str(python), "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--inplace",
                           "--ExecutePreprocessor.kernel_name=dl-course", "--ExecutePreprocessor.timeout=900",
                           str(path)], cwd=ROOT / "notebooks", env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    printed = ""
    if path.exists():
        executed = nbformat.read(path, as_version=4)
        printed = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", []))
    claims = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []
    error = "" if done.returncode == 0 else (done.stderr.strip().splitlines() or ["?"])[-1][:300]
    return {"lesson": lesson.name[:2], "seed": seed, "threads": threads or "all", "python": python.parent.parent.name,
            "passed": done.returncode == 0 and SELF_CHECK_PASSED in printed, "error": error, "claims": claims,
            "seconds": round(seconds, 1)}


def table(results: list[dict]) -> str:
    """The committed markdown table: per lesson and claim, per setting, smallest margin and runs passed."""
    settings = list(dict.fromkeys(r["setting"] for r in results))
    lines = ["# Claims sweep", "",
             f"Produced by `benchmarks/claims_sweep.py` ({time.strftime('%Y-%m-%d')}). Per setting: the smallest "
             "margin over the runs (how far the measured value is from failing, in the claim's unit) and how many "
             f"runs passed. A claim counted in photos whose smallest margin is below 1 is marked ✗.", "",
             "Seeds run per setting (pinned = the torch of requirements.txt, floor = the oldest supported; 1 = one "
             "thread, all = PyTorch's default thread count): "
             + "; ".join(f"{setting} {_ranges(sorted({r['seed'] for r in results if r['setting'] == setting}))}"
                         for setting in settings) + ".", "",
             "| lesson | claim | unit | " + " | ".join(settings) + " |",
             "|---|---|---|" + "---|" * len(settings)]
    for lesson in sorted({r["lesson"] for r in results}):
        runs = [r for r in results if r["lesson"] == lesson]
        cells = []
        for setting in settings:
            mine = [r for r in runs if r["setting"] == setting]
            cells.append(f"{sum(r['passed'] for r in mine)}/{len(mine)} passed" if mine else "-")
        lines.append(f"| {lesson} | **whole self-check** | runs | " + " | ".join(cells) + " |")
        names = list(dict.fromkeys(c["claim"] for r in runs for c in r["claims"]))
        for name in names:
            unit = next(c["unit"] for r in runs for c in r["claims"] if c["claim"] == name)
            cells = []
            for setting in settings:
                found = [c for r in runs if r["setting"] == setting for c in r["claims"] if c["claim"] == name]
                if not found:
                    cells.append("-")
                    continue
                low = min(c["margin"] for c in found)
                mark = "✗" if (low < 0 or (unit == PHOTO_UNIT and low < 1)) else "✔"
                cells.append(f"{mark} {low:.4g} ({sum(c['passed'] for c in found)}/{len(found)})")
            lines.append(f"| {lesson} | {name} | {unit or '-'} | " + " | ".join(cells) + " |")
    failed = [r for r in results if not r["passed"]]
    lines += ["", f"Runs: {len(results)}; failed: {len(failed)}; lesson time (s) per run: "
              + ", ".join(f"{lesson} {min(r['seconds'] for r in results if r['lesson'] == lesson):.0f}-"
                          f"{max(r['seconds'] for r in results if r['lesson'] == lesson):.0f}"
                          for lesson in sorted({r['lesson'] for r in results}))]
    for r in failed:
        lines.append(f"- FAILED {r['lesson']} seed {r['seed']} {r['setting']}: {r['error']}")
    return "\n".join(lines) + "\n"


def _ranges(seeds: list[int]) -> str:
    """``[0, 1, 2, 5]`` -> ``"0-2, 5"``."""
    parts, start = [], None
    for i, seed in enumerate(seeds):
        start = seed if start is None else start
        if i + 1 == len(seeds) or seeds[i + 1] != seed + 1:
            parts.append(f"{start}-{seed}" if seed != start else f"{seed}")
            start = None
    return ", ".join(parts)


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", nargs="*", default=[])
    parser.add_argument("--settings", nargs="*", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--seeds", help="e.g. 0-2 (default: each setting's own seeds)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "claims_sweep.md")
    parser.add_argument("--merge", type=Path, nargs="*", default=[],
                        help="no runs: the table from earlier runs' JSON files (written beside each --out)")
    args = parser.parse_args()
    if args.merge:
        results = [r for path in args.merge for r in json.loads(path.read_text(encoding="utf-8"))]
        args.out.with_suffix(".json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
        args.out.write_text(table(results), encoding="utf-8")
        print(f"wrote {args.out}")
        return 0 if all(r["passed"] for r in results) else 1
    lessons = [p for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
               if not args.lessons or p.name[:2] in {n.zfill(2) for n in args.lessons}]
    jobs = []
    for setting in args.settings:
        python, threads, seeds = SETTINGS[setting]
        if not python.exists():
            print(f"{setting}: {python} 이(가) 없습니다. 먼저 `make setup` / `make floor`로 환경을 만드세요.", file=sys.stderr)
            return 2
        for seed in (_seeds(args.seeds) if args.seeds else seeds):
            jobs.extend((lesson, seed, threads, python, setting) for lesson in lessons)
    jobs.sort(key=lambda j: -{"02": 6, "07": 5, "03": 5, "01": 4, "08": 2, "06": 2}.get(j[0].name[:2], 1))  # long first
    results = []
    with tempfile.TemporaryDirectory(prefix="claims-sweep-") as work, ThreadPoolExecutor(args.jobs) as pool:
        futures = [(job, pool.submit(run_one, job[0], job[1], job[2], job[3], Path(work))) for job in jobs]
        for (lesson, seed, threads, python, setting), future in futures:
            result = dict(future.result(), setting=setting)
            results.append(result)
            print(f"{result['lesson']} seed {seed} {setting}: {'passed' if result['passed'] else 'FAILED ' + result['error']}"
                  f" ({result['seconds']:.0f} s)", flush=True)
    (args.out.with_suffix(".json")).write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    args.out.write_text(table(results), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0 if all(r["passed"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
