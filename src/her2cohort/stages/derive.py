"""Rule ``derive``: HER2 class, endpoints and derived variables (study/derive.py)."""

from __future__ import annotations


def main(*, in_parquet, out_parquet, **options) -> None:
    import pandas as pd

    from ..study.derive import derive
    from .common import write_parquet

    df = pd.read_parquet(in_parquet)
    write_parquet(derive(df, **options), out_parquet)
