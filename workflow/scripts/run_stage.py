"""Run the her2cohort stage of the same name as the Snakemake rule: the rule's named inputs
(``in_*``; other inputs only trigger reruns), named outputs and params become the stage's keyword
arguments. Output is written to the rule's log and to the console."""

import os
import sys
import time

try:
    import resource  # peak memory for benchmarks/ (not on Windows)
except ImportError:
    resource = None

_START = time.perf_counter()

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
    kwargs = {k: v for k, v in snakemake.input.items() if k.startswith("in_")}
    kwargs.update(snakemake.wildcards.items())  # e.g. the endpoint of rule survival
    kwargs.update(snakemake.output.items())
    kwargs.update((k, v) for k, v in snakemake.params.items() if not k.startswith("_"))
    try:
        status = run(snakemake.rule, **kwargs)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        if resource is not None:  # for benchmarks/ (in the log, not on the console)
            use = resource.getrusage(resource.RUSAGE_SELF)
            log.write(f"resources: {time.perf_counter() - _START:.2f} s wall, "
                      f"{use.ru_utime + use.ru_stime:.2f} s CPU, "
                      f"peak RSS {use.ru_maxrss / 1024:.0f} MB\n")
sys.exit(status)
