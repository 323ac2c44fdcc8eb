"""Rule ``ingest``: read every centre file through its mapping into one harmonized table."""

from __future__ import annotations

import os


def resolve_salt(salt_env: str, demo_salt: str, simulated: bool) -> str:
    """The pseudonymisation salt: from the environment if set, else the demo salt (demo only)."""
    from ..data.config import ConfigError

    value = os.environ.get(salt_env)
    if value:
        return value
    if not simulated:
        raise ConfigError(f"set the environment variable {salt_env} to a secret salt: real "
                          "data must not be pseudonymised with the public demo salt")
    return demo_salt


def main(*, out_parquet, out_problems, centres, data_dirs, salt_env, demo_salt, simulated,
         regimens, qc_actions, required) -> None:
    from ..data.ingest import ingest
    from ..data.problems import (
        format_report,
        quarantine_reasons,
        raise_if_failing,
        resolve_actions,
        to_frame,
    )
    from .common import write_parquet, write_problems

    df, problems = ingest(centres, salt=resolve_salt(salt_env, demo_salt, simulated),
                          vocabularies={"regimen": list(regimens)}, required=required,
                          data_dirs=data_dirs)
    resolve_actions(problems, qc_actions)
    print(format_report(problems, "ingest"))
    write_problems(to_frame(problems), out_problems, any(p.action == "fail" for p in problems))
    raise_if_failing(problems, "ingest")
    reasons = quarantine_reasons(problems)
    if reasons:  # a cell could not be read; the row goes to quarantine with its reason
        keys = zip(df["source_file"].astype(str), df["source_row"].astype(int))
        df["_ingest_reason"] = [";".join(reasons.get(k, [])) for k in keys]
    write_parquet(df, out_parquet)
    print(f"ingest: {len(df)} records from {df['centre'].nunique()} centre(s) -> {out_parquet}")
