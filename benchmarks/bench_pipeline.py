"""Benchmark: the whole default pipeline on registry-sized SIMULATED deliveries, beside a plain
R script of the same statistics (benchmarks/reference.R) on the same analysed patients.

Not a test: it prints a table. Run from the project folder:

    python benchmarks/bench_pipeline.py                 # 1,000 and 10,000 patients
    python benchmarks/bench_pipeline.py 100000 --format parquet --cores 2

For each N: ``her2cohort simulate --patients N --centres 4`` (into data/bench/, reused when
present), a cold ``snakemake --cores 2`` of every rule, then the seconds and peak RSS of each
rule (written by workflow/scripts/run_stage.py at the end of each rule's log), the R script's
time on the exported analysed rows (``statistics`` and ``mice`` separately) and the ratio
pipeline / R.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RES = re.compile(r"resources: ([\d.]+) s wall, ([\d.]+) s CPU, peak RSS (\d+) MB")


def run_pipeline(n: int, fmt: str, cores: int) -> dict:
    folder = ROOT / "data/bench" / f"registry_{n}_{fmt}"
    cfg = folder / "config.yaml"
    if not cfg.exists():
        subprocess.run([sys.executable, "-m", "her2cohort.cli", "simulate", "--patients",
                        str(n), "--centres", "4", "--format", fmt, "--outdir", str(folder)],
                       cwd=ROOT, check=True, capture_output=True)
    sid = f"registry-{n}"
    for d in (ROOT / "results" / sid, ROOT / "data/processed" / sid):
        shutil.rmtree(d, ignore_errors=True)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    start = time.time()
    t0 = time.perf_counter()
    res = subprocess.run(["snakemake", "--cores", str(cores), "--configfile", str(cfg)],
                         cwd=ROOT, env=env, capture_output=True, text=True)
    total = time.perf_counter() - t0
    if res.returncode != 0:
        print(res.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"pipeline failed at N = {n}")
    per_rule: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for log in (ROOT / "logs").glob("*.log"):
        if log.stat().st_mtime < start:
            continue
        m = RES.search(log.read_text("utf-8", errors="replace"))
        if m:
            rule = log.stem  # one job per variant or endpoint: summed under its rule
            for many in ("sensitivity", "survival"):
                if rule.startswith(f"{many}_") and rule != "sensitivity_table":
                    rule = many
            per_rule[rule][0] += float(m.group(1))
            per_rule[rule][1] = max(per_rule[rule][1], float(m.group(3)))
    return {"total": total, "rules": dict(per_rule),
            "analysis": ROOT / "data/processed" / sid / "analysis.parquet"}


def run_r(analysis: Path, m: int) -> dict | None:
    if not shutil.which("Rscript"):
        return None
    import pandas as pd

    csv = analysis.with_suffix(".csv")
    pd.read_parquet(analysis).to_csv(csv, index=False)
    t0 = time.perf_counter()
    res = subprocess.run(["Rscript", str(ROOT / "benchmarks/reference.R"), str(csv), str(m)],
                         capture_output=True, text=True)
    total = time.perf_counter() - t0
    csv.unlink()
    if res.returncode != 0:
        print(res.stderr[-2000:], file=sys.stderr)
        return None
    parts = dict(re.findall(r"^(statistics|mice) ([\d.]+)$", res.stdout, re.M))
    return {"total": total, **{k: float(v) for k, v in parts.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sizes", nargs="*", type=int, default=[1000, 10000])
    ap.add_argument("--format", choices=("csv", "parquet"), default="csv")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--m", type=int, default=20, help="imputations in the R script (config: 20)")
    ap.add_argument("--no-r", action="store_true")
    args = ap.parse_args()
    import pandas as pd

    rows, rules = [], []
    for n in args.sizes:
        p = run_pipeline(n, args.format, args.cores)
        r = None if args.no_r else run_r(p["analysis"], args.m)
        peak = max((v[1] for v in p["rules"].values()), default=float("nan"))
        rows.append({"patients": n, "pipeline_s": round(p["total"], 1),
                     "max_rule_rss_mb": peak,
                     "R_stats_s": r and r.get("statistics"), "R_mice_s": r and r.get("mice"),
                     "R_total_s": r and round(r["total"], 1),
                     "pipeline/R": r and round(p["total"] / r["total"], 2)})
        for rule, (sec, rss) in sorted(p["rules"].items()):
            rules.append({"patients": n, "rule": rule, "seconds": round(sec, 1),
                          "peak_rss_mb": rss})
    print(pd.DataFrame(rules).pivot_table(index="rule", columns="patients",
                                          values=["seconds", "peak_rss_mb"]).to_string())
    print()
    print(pd.DataFrame(rows).to_string(index=False))
    print("(seconds of each rule summed over its jobs, and the largest peak RSS of its jobs; "
          f"{args.cores} cores; R: benchmarks/reference.R on the analysed patients, "
          f"m = {args.m})")


if __name__ == "__main__":
    main()
