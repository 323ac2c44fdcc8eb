"""Run the her2cohort stage of the same name as the Snakemake rule: the rule's named inputs
(``in_*``; other inputs only trigger reruns), named outputs and params become the stage's keyword
arguments. Everything the stage prints goes to the rule's log; the console gets only what needs
the user: problem lines ([fail], [quarantine], [warn]) with their counts, warnings, and
everything written to stderr (errors). HER2COHORT_VERBOSE=1 sends all of it to the console
(her2cohort.stages.job).

In a local run the job is handed to the run's warm starter (her2cohort.stages.warm), which
has the scientific stack imported already and forks a process for it; without one (cluster
jobs, HER2COHORT_WARM=0) the stage runs here."""

import gc
import os
import sys
import time

_START = time.perf_counter()

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


def _plain(value):
    """A rule's file names and params as plain Python values (Snakemake's own str and list
    subclasses would need Snakemake imported wherever they are unpickled)."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


snakemake = globals()["snakemake"]  # injected by Snakemake's script directive
kwargs = {k: v for k, v in snakemake.input.items() if k.startswith("in_")}
kwargs.update(snakemake.wildcards.items())  # e.g. the endpoint of rule survival
kwargs.update(snakemake.output.items())
kwargs.update((k, v) for k, v in snakemake.params.items() if not k.startswith("_"))
kwargs = _plain(kwargs)
log = str(snakemake.log[0])

from her2cohort.stages import warm

try:
    status = warm.submit(snakemake.rule, kwargs, log, start=_START)
    if status is None:  # no warm starter: the stage runs in this process
        from her2cohort.stages.job import run_job

        status = run_job(snakemake.rule, kwargs, log, start=_START)
except KeyboardInterrupt:
    # Ctrl-C: Snakemake says which jobs were interrupted ("died with SIGINT"); a traceback of
    # wherever the stage was adds nothing. End as interrupted by the signal, as Python would.
    if __name__ != "__main__":  # run in a caller's process (tests): not ours to end
        raise
    import signal

    sys.stdout.flush()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)
    sys.exit(128 + signal.SIGINT)  # not reached: the signal ends the process
# The stage is done and its files are closed: the interpreter's teardown need not walk the
# objects of every library the stage imported (about 0.4 s of each job's exit). Only as the
# job's own process (Snakemake runs the script as __main__): a caller running it in its
# process (tests, through runpy) would keep all its objects from the collector for good.
if __name__ == "__main__":
    gc.freeze()
sys.exit(status)
