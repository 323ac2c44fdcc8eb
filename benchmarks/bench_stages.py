"""Benchmark: time and peak memory of each data stage as the cohort grows.

Not a test: it prints a table. Run from the project folder:

    python benchmarks/bench_stages.py            # 10k and 100k records
    python benchmarks/bench_stages.py 1000000    # registry-sized
    python benchmarks/bench_stages.py --ingest-only 100000   # ingestion alone

Besides wall-clock seconds per stage, ``ingest_cpu`` is the CPU time of ingestion (user +
system, ``time.process_time``): on a shared machine it varies far less than wall time, so it is
the number to compare before and after a change.

The input is the SIMULATED JS01 file (semicolon CSV, decimal commas, dd/mm/yyyy) replicated to
N rows with new patient IDs and shifted birth dates, so that nothing is a duplicate.
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pandas as pd

from her2cohort.data.config import data_lock, load_config, salt, vocabularies
from her2cohort.data.ingest import ingest
from her2cohort.data.mapping import load_mapping
from her2cohort.data.validate import validate
from her2cohort.stats.survival import cox, km_table, logrank
from her2cohort.study.cohort import apply_criteria
from her2cohort.study.derive import derive

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "data/demo/raw/JS01_SIMULATED_neoadjuvant_her2.csv"


def scaled_file(n: int, folder: Path) -> Path:
    lines = SRC.read_text("utf-8-sig").splitlines()
    header, body = lines[0], lines[1:]
    out = [header]
    for i in range(n):
        cells = body[i % len(body)].split(";")
        cells[0] = f"B{i:09d}"
        d, m, y = cells[1].split("/")
        birth = dt.date(int(y), int(m), int(d)) - dt.timedelta(days=i // len(body))
        cells[1] = birth.strftime("%d/%m/%Y")
        out.append(";".join(cells))
    path = folder / "bench.csv"
    path.write_text("\ufeff" + "\r\n".join(out) + "\r\n", "utf-8")
    return path


def main(sizes: list[int], ingest_only: bool = False) -> None:
    cfg = load_config(ROOT / "config/config.yaml")
    rows = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = scaled_file(n, Path(tmp))
            m = load_mapping(ROOT / "config/centres/JS01.yaml")
            mp = Path(tmp) / "bench.yaml"
            import yaml

            m.pop("_path")
            m["file"] = str(path)
            mp.write_text(yaml.safe_dump(m, allow_unicode=True), "utf-8")
            t = {}
            t0, c0 = time.perf_counter(), time.process_time()
            df, _ = ingest([mp], salt=salt(cfg), vocabularies=vocabularies(cfg), base_dir="/")
            t["ingest"] = time.perf_counter() - t0
            cpu = time.process_time() - c0
            if ingest_only:
                peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                rows.append({"records": n, "ingest": round(t["ingest"], 2),
                             "ingest_cpu": round(cpu, 2), "peak_rss_mb": round(peak_mb)})
                continue
            t0 = time.perf_counter()
            clean, quarantined, _ = validate(df, columns_by_centre={"JS01": m["columns"]},
                                             vocabularies=vocabularies(cfg),
                                             data_lock=data_lock(cfg))
            t["validate"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            der = derive(clean, cfg)
            t["derive"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            ana, _, _ = apply_criteria(der, quarantined, cfg["criteria"])
            t["cohort"] = time.perf_counter() - t0
            ana = ana.assign(dfs_event=ana["dfs_event"].astype(int),
                             pcr_int=ana["pcr"].astype(int))
            t0 = time.perf_counter()
            km_table(ana, "dfs_months", "dfs_event", "her2_class")
            logrank(ana, "dfs_months", "dfs_event", "her2_class")
            cox(ana, "dfs_months", "dfs_event", ["her2_class", "pcr_int"],
                categorical={"her2_class": ["3+", "2+/ISH+"]})
            t["survival"] = time.perf_counter() - t0
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            rows.append({"records": n, **{k: round(v, 2) for k, v in t.items()},
                         "ingest_cpu": round(cpu, 2),
                         "total_s": round(sum(t.values()), 2), "peak_rss_mb": round(peak_mb)})
    print(pd.DataFrame(rows).to_string(index=False))
    print("(seconds per stage; peak RSS of this process so far, in MB)")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--ingest-only"]
    main([int(a) for a in args] or [10_000, 100_000], ingest_only="--ingest-only" in sys.argv)
