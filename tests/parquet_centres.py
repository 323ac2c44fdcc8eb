"""Building blocks of the ingestion tests: a SIMULATED Parquet centre file with its mapping,
and ingestion with the problems' actions resolved (tests/test_parquet_dates.py,
tests/test_parquet_adversarial.py, tests/test_ingest_sites.py)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from her2cohort.data.ingest import ingest
from her2cohort.data.problems import resolve_actions


def parquet_centre(tmp_path, table: pa.Table | None, columns: dict, *, code: str = "PQ",
                   write=None, **options) -> str:
    """A Parquet centre file (``write(path)`` when given, else ``table``) and its mapping
    (``columns`` and the mapping ``options``); returns the mapping's path."""
    f = tmp_path / f"{code}.parquet"
    if write is not None:
        write(f)
    else:
        pq.write_table(table, f)
    m = {"centre": code, "file": str(f), "format": "parquet", "columns": columns, **options}
    path = tmp_path / f"{code}.yaml"
    path.write_text(yaml.safe_dump(m, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return str(path)


def ingest_resolved(paths: list[str]):
    """(harmonized records, problems with their actions) of the centre mappings ``paths``."""
    df, problems = ingest(paths, salt="test-salt")
    resolve_actions(problems)
    return df, problems
