"""Pipeline stages: one module per Snakemake rule (``workflow/rules/<name>.smk`` ->
``stages/<name>.py``), each with ``main(**kwargs)``: the rule's named inputs (``in_*``),
outputs (``out_*``) and the configuration values it declares (``params.py``). A stage reads,
calls the layers below and writes; statistics live in ``stats/``, domain rules in ``study/``.

Private, patient-level intermediates (Parquet, pseudonymous keys) go to ``data/processed/``;
``results/`` receives aggregates and the QC reports.

This module stays light (no pandas): the Snakefile imports ``stages.params`` at parse time.
"""

from __future__ import annotations

import importlib
import os
import sys

STAGES = ("ingest", "validate", "derive", "cohort", "table1", "response", "her2_loss",
          "survival",
          "run_config", "provenance", "sensitivity", "sensitivity_table", "summary",
          "paper",
          "invitro_plates", "invitro_fit")

#: Stages that keep pandas' default text columns (Python objects). Every other stage holds
#: them in Arrow (``string[pyarrow]``): missing-value masks, comparisons and set membership on a
#: million rows run 10-20x faster, and Parquet columns load without a copy per value. Kept out:
#: the stages that parse raw text with regular expressions (``ingest``, ``invitro_plates``),
#: whose ``\w`` and ``\d`` are Unicode in Python and ASCII in Arrow's RE2, and the stages
#: that do not load pandas at all.
PYTHON_TEXT_STAGES = frozenset({"ingest", "invitro_plates", "run_config", "provenance",
                                "paper"})


def _text_storage(stage: str):
    """The text storage of ``stage`` (:data:`PYTHON_TEXT_STAGES`), for this call only: a
    caller in the same process (``her2cohort check``, tests) keeps its own."""
    import contextlib

    if stage in PYTHON_TEXT_STAGES:
        return contextlib.nullcontext()
    import pandas as pd

    return pd.option_context("mode.string_storage", "pyarrow")


def run(stage: str, **kwargs) -> int:
    """Run one stage; data problems end with a plain message and exit status 1, a configuration
    error with status 2; no traceback (set HER2COHORT_DEBUG=1 to see one)."""
    from ..data.config import ConfigError
    from ..data.mapping import MappingError
    from ..data.problems import InputError

    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
    try:
        with _text_storage(stage):
            importlib.import_module(f".{stage}", __name__).main(**kwargs)
    except InputError as e:  # the stage has already printed its report
        print(f"\n{e.stage}: stopped because of the problem(s) marked [fail] above. Fix the data "
              "or the centre mapping, or change the rule's action under qc: actions: in "
              "config/config.yaml.", file=sys.stderr)
        return 1
    except (ConfigError, MappingError) as e:
        print(f"configuration error: {e}", file=sys.stderr)
        return 2
    except ValueError as e:  # a schema or statistics precondition failed: say it plainly
        if os.environ.get("HER2COHORT_DEBUG"):
            raise
        from ..data.safety import redact_quoted

        # a library's ValueError may quote a cell: quoted literals by their shape (logs/)
        print(f"{stage}: {redact_quoted(str(e))}\n(set HER2COHORT_DEBUG=1 to see the "
              "traceback)", file=sys.stderr)
        return 1
    except Exception as e:  # a defect of ours: still no traceback, but say it is one
        if os.environ.get("HER2COHORT_DEBUG"):
            raise
        from ..data.safety import redact_quoted

        # a library's error may quote a cell: quoted literals by their shape (logs/)
        print(f"{stage}: internal error ({type(e).__name__}: "
              f"{redact_quoted(str(e))}). This is a defect of her2cohort, not of your "
              "data: please report it with the log (set HER2COHORT_DEBUG=1 to see the "
              "traceback).", file=sys.stderr)
        return 1
    return 0


def run_with_config(stage: str, cfg: dict, **paths) -> int:
    """Run a stage outside Snakemake (CLI, tests): the config values it reads are taken from
    ``cfg`` exactly as the rule's ``params`` take them."""
    from .params import stage_params

    return run(stage, **paths, **stage_params(cfg, stage))
