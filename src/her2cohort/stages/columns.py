"""Reading a patient-level Parquet file with only the columns a stage reads.

The analysis-ready table has some 90 columns, most of them text; read whole into pandas at
registry scale (10^6 patients) it takes ~3 GB before a stage copies any of it. A stage that
reads a few of them asks for the columns its configuration names (:func:`named_in`: every
text anywhere in its params, so a covariate, confounder, stratum, subgroup or criterion column
is kept whatever the study calls it), its endpoints' columns (``<id>_*``) and the canonical
fields its own code names. A name that is no column of the file is ignored, as the whole
file would not have had it either; a column that is kept is read exactly as before (same
dtype, same values, same order of columns and rows), so the stage computes the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from ..study.endpoints import ENDPOINT_SPEC_FIELDS  # noqa: F401 (the stages take it from here)

# canonical fields the analysis stages' own code reads whatever the configuration says
PCR_FIELDS = ("pcr", "pcr_source", "her2_loss")
CLUSTER_DEFAULT = ("centre",)  # survival.cox.cluster when the config does not name one
# what identifies a record in the criteria's accounting (dispositions, quarantine)
RECORD_KEYS = ("centre", "source_file", "source_row", "patient_key")


def named_in(*values) -> set[str]:
    """Every text in ``values`` (nested dicts, lists, tuples; dict keys too)."""
    out: set[str] = set()
    stack = list(values)
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            out.add(v)
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, (list, tuple, set, frozenset)):
            stack.extend(v)
    return out


def endpoint_prefixes(endpoints: dict | None) -> tuple[str, ...]:
    """``<id>_`` of each endpoint of the study: its time, event, source and event-type
    columns (derived and recorded)."""
    return tuple(f"{eid}_" for eid in (endpoints or {}))


def parquet_columns(path: str | Path) -> list[str]:
    """The column names of the Parquet file at ``path`` (its schema only, no data read)."""
    import pyarrow.parquet as pq

    return list(pq.read_schema(path).names)


def read_columns(path: str | Path, want: Iterable[str] = (), prefixes: Iterable[str] = ()
                 ) -> pd.DataFrame:
    """The columns of the Parquet file at ``path`` that are in ``want`` or start with one of
    ``prefixes``, in the file's order."""
    want, prefixes = set(want), tuple(prefixes)
    names = parquet_columns(path)
    keep = [c for c in names if c in want or (prefixes and c.startswith(prefixes))]
    return pd.read_parquet(path, columns=keep)


def take_rows(path: str | Path, rows, out: str | Path) -> None:
    """Write the rows ``rows`` (positions, in that order) of the Parquet file at ``path`` to
    ``out``, every column as it is (the file's pandas metadata too): the same file that
    ``common.write_parquet`` writes of those rows read into pandas, without the whole table
    in pandas."""
    import numpy as np
    import pyarrow.parquet as pq

    table = pq.read_table(path).take(np.asarray(rows, dtype=np.int64))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out)


def stage_params_of(arguments: dict) -> dict:
    """A stage's configuration values among its keyword arguments (not its in_/out_ paths)."""
    return {k: v for k, v in arguments.items() if not k.startswith(("in_", "out_"))}


def read_analysis(path: str | Path, params: dict, *extra: str) -> pd.DataFrame:
    """The analysis-ready table with the columns a stage with these ``params`` (its keyword
    arguments from ``stages.params``) reads: every column its params name (the grouping
    column among them), its endpoints' columns and ``extra`` (canonical fields the stage's
    code names)."""
    endpoints = params.get("endpoints")
    if endpoints is None and isinstance(params.get("study"), dict):
        endpoints = params["study"].get("endpoints")
    want = named_in(*params.values()) | set(extra)
    return read_columns(path, want, endpoint_prefixes(endpoints))
