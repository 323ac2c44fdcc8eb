"""Run R reference computations from the tests.

Usage (typically inside a ``scope="module"`` fixture, one Rscript start per
module)::

    from rref import run_r

    out = run_r(
        '''
        d <- rref_in("sim")
        fit <- survfit(Surv(time, event) ~ arm, data = d, conf.type = "log-log")
        rref_out(data.frame(time = fit$time, surv = fit$surv), "km")
        ''',
        inputs={"sim": sim_df},
    )
    out["km"]  # -> pandas DataFrame

Inside the R code two helpers exist:

* ``rref_in(name)`` reads the DataFrame passed as ``inputs[name]``;
* ``rref_out(df, name)`` writes a data.frame that is returned as
  ``out[name]``.  Numbers are written with ``%.17g`` so doubles round-trip
  exactly; NA/NaN come back as NaN.

If ``Rscript`` (or a requested R package) is missing, the calling test is
skipped with a clear reason, except when the ``CI`` environment variable is
set (CI installs R, so a missing R there is an error): then the test fails.
An R error always fails the test, with R's stderr in the message.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import pytest

_MISSING_PKG_MARK = "RREF_MISSING_PACKAGE:"

_PRELUDE = r"""
options(warn = 1)
.rref_dir <- "{dir}"
for (.p in c({packages})) {{
  if (!requireNamespace(.p, quietly = TRUE)) {{
    cat("{mark}", .p, "\n", file = stderr())
    quit(save = "no", status = 3)
  }}
  suppressPackageStartupMessages(library(.p, character.only = TRUE))
}}
rref_in <- function(name) {{
  read.csv(file.path(.rref_dir, paste0(name, ".in.csv")), stringsAsFactors = FALSE)
}}
rref_out <- function(df, name) {{
  df <- as.data.frame(df, stringsAsFactors = FALSE)
  num <- vapply(df, is.numeric, logical(1))
  for (j in seq_along(df)) {{
    if (is.factor(df[[j]])) df[[j]] <- as.character(df[[j]])
    if (num[j]) {{
      x <- as.numeric(df[[j]])
      df[[j]] <- ifelse(is.na(x), NA_character_, sprintf("%.17g", x))
    }}
  }}
  write.csv(df, file.path(.rref_dir, paste0(name, ".out.csv")),
            row.names = FALSE, na = "NA", quote = which(!num))
}}
"""


def ci_requires_r() -> bool:
    """True when running under CI (env var ``CI`` set and not 'false'/'0')."""
    value = os.environ.get("CI")
    return value is not None and value.strip().lower() not in ("", "0", "false", "no")


def _unavailable(reason: str) -> None:
    if ci_requires_r():
        pytest.fail(f"{reason} (CI is set: R reference checks are mandatory)", pytrace=False)
    pytest.skip(reason)


def rscript() -> str:
    """Path of Rscript, or skip/fail the test if it is not installed."""
    path = shutil.which("Rscript")
    if path is None:
        _unavailable("Rscript not found on PATH: R reference checks need R with 'survival'")
    return path  # type: ignore[return-value]


def run_r(
    code: str,
    inputs: Mapping[str, pd.DataFrame] | None = None,
    packages: Sequence[str] = ("survival",),
    timeout: float = 300,
) -> dict[str, pd.DataFrame]:
    """Run ``code`` with Rscript and return every ``rref_out`` table by name."""
    exe = rscript()
    with tempfile.TemporaryDirectory(prefix="rref_") as tmp:
        tmpdir = Path(tmp)
        for name, frame in (inputs or {}).items():
            frame.to_csv(tmpdir / f"{name}.in.csv", index=False)
        prelude = _PRELUDE.format(
            dir=tmpdir.as_posix(),
            packages=", ".join(f'"{p}"' for p in packages),
            mark=_MISSING_PKG_MARK,
        )
        script = tmpdir / "script.R"
        script.write_text(prelude + "\n" + code + "\n", encoding="utf-8")
        proc = subprocess.run(
            [exe, "--vanilla", str(script)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            if _MISSING_PKG_MARK in proc.stderr:
                missing = proc.stderr.split(_MISSING_PKG_MARK, 1)[1].split()[0]
                _unavailable(f"R package '{missing}' is not installed")
            pytest.fail(
                f"Rscript failed (exit {proc.returncode}).\n--- stderr ---\n{proc.stderr}"
                f"\n--- stdout ---\n{proc.stdout}",
                pytrace=False,
            )
        return {
            p.name[: -len(".out.csv")]: pd.read_csv(p, keep_default_na=True)
            for p in sorted(tmpdir.glob("*.out.csv"))
        }


def assert_same_as_stored(out_dir: Path, fixtures: Path, names: Sequence[str] | None = None,
                          atol: float = 1e-14) -> None:
    """Every CSV an R script wrote into ``out_dir`` (or those ``names``) equals the one stored
    under ``fixtures``: the same columns, numbers to 1e-9 (relative; ``atol`` absolute), text
    exactly."""
    import numpy as np

    for name in names if names is not None else sorted(p.name for p in
                                                       Path(out_dir).glob("*.csv")):
        new, old = pd.read_csv(Path(out_dir) / name), pd.read_csv(Path(fixtures) / name)
        assert list(new.columns) == list(old.columns), name
        for c in new.columns:
            if pd.api.types.is_numeric_dtype(old[c]):
                np.testing.assert_allclose(new[c], old[c], rtol=1e-9, atol=atol,
                                           err_msg=f"{name}:{c}")
            else:
                assert new[c].equals(old[c]), f"{name}:{c}"
