"""Benchmark: the demo's start-up costs against their yardsticks (issue targets: a cold run of
the whole demo <= 3x one import of the scientific stack; a run with nothing to do <= 1.3x
``snakemake --version``).

Not a test: it prints a table. Run from the project folder:

    python benchmarks/bench_demo.py            # 15 paired runs
    python benchmarks/bench_demo.py --runs 31

The project's tracked files (``git ls-files``, with their working-tree contents) are copied
into two temporary folders; in one the demo runs once from nothing with every job in its own
process (``HER2COHORT_WARM=0``), in the other as by default (jobs forked from the warm
starter, her2cohort.stages.warm), both timed; in the latter ``snakemake --cores 2 -q``
(nothing to do) and ``snakemake --version`` then run in turn, so that the ratio of each pair
is taken while the machine runs at one speed; the median of the pair ratios is quoted. The stack import is
``python -c "import numpy, pandas, scipy.stats, matplotlib.pyplot, statsmodels.api"``, median
of ``--runs`` runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STACK = "import numpy, pandas, scipy.stats, matplotlib.pyplot, statsmodels.api"


def timed(cmd: list[str], cwd: Path, env: dict) -> float:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed (exit {res.returncode}):\n{res.stderr[-2000:]}")
    return wall


def copy_tracked(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--cores", type=int, default=2)
    args = ap.parse_args()
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    # the Snakemake of this Python's environment (not another one on the PATH)
    here = Path(sys.executable).with_name("snakemake")
    snakemake = str(here) if here.exists() else (shutil.which("snakemake") or "snakemake")
    with tempfile.TemporaryDirectory(prefix="her2cohort-demo-") as tmp:
        # the cold run with every job in its own process (no warm starter,
        # her2cohort.stages.warm) in one copy, then the default in another
        work, own = Path(tmp) / "warm", Path(tmp) / "own"
        copy_tracked(work)
        copy_tracked(own)
        cold_own = timed([snakemake, "--cores", str(args.cores), "-q"], own,
                         {**env, "HER2COHORT_WARM": "0"})
        cold = timed([snakemake, "--cores", str(args.cores), "-q"], work, env)
        noop, version, ratios = [], [], []
        for _ in range(args.runs):
            a = timed([snakemake, "--cores", str(args.cores), "-q"], work, env)
            b = timed([snakemake, "--version"], work, env)
            noop.append(a)
            version.append(b)
            ratios.append(a / b)
    stack = statistics.median(timed([sys.executable, "-c", STACK], ROOT, env)
                              for _ in range(args.runs))
    rows = [
        ("cold demo run (s)", f"{cold:.2f}"),
        ("  the same, each job in its own process (HER2COHORT_WARM=0)", f"{cold_own:.2f}"),
        ("one stack import, median (s)", f"{stack:.2f}"),
        ("cold run / stack import (target <= 3)", f"{cold / stack:.1f}"),
        ("run with nothing to do, median (s)", f"{statistics.median(noop):.3f}"),
        ("snakemake --version, median (s)", f"{statistics.median(version):.3f}"),
        ("nothing to do / --version, median of "
         f"{args.runs} pairs (target <= 1.3)", f"{statistics.median(ratios):.2f}"),
        ("  pair ratios min .. max", f"{min(ratios):.2f} .. {max(ratios):.2f}"),
    ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    print(f"({args.cores} cores; {args.runs} runs of each; stack: {STACK})")


if __name__ == "__main__":
    main()
