"""Run one her2cohort stage for a Snakemake rule: named inputs and outputs become the stage's
keyword arguments. Output is written to the rule's log and to the console."""

import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

from her2cohort.stages import run


class _Tee:
    def __init__(self, *streams):
        self.streams = streams

    def write(self, text):
        for s in self.streams:
            s.write(text)

    def flush(self):
        for s in self.streams:
            s.flush()


snakemake = globals()["snakemake"]  # injected by Snakemake's script directive
with open(snakemake.log[0], "w", encoding="utf-8") as log:
    sys.stdout = _Tee(sys.__stdout__, log)
    sys.stderr = _Tee(sys.__stderr__, log)
    paths = {k: snakemake.input[k] for k in snakemake.params.inputs}
    paths.update(dict(snakemake.output.items()))
    try:
        status = run(snakemake.params.stage, snakemake.config, **paths)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
sys.exit(status)
