"""Run the her2cohort stage of the same name as the Snakemake rule: the rule's named inputs
(``in_*``; other inputs only trigger reruns), named outputs and params become the stage's keyword
arguments. Everything the stage prints goes to the rule's log; the console gets only what needs
the user: problem lines ([fail], [quarantine], [warn]) with their counts, warnings, and
everything written to stderr (errors). HER2COHORT_VERBOSE=1 sends all of it to the console."""

import gc
import os
import re
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

# a line of a stage's standard output that reaches the console: a problem, the count of problems
# per rule, where the full list is, a guessed date format, a warning
CONSOLE = re.compile(
    r"^\s*\[(fail|quarantine|warn|blank)\]|problem\(s\) found|^\s*\d+ x \S+ \["
    r"|^\s*\.\.\. and \d+ more|^\s*Every row of the groups|^Dates of |^Values that may be "
    r"|full problems table|(?i:\bwarn(ing)?\b)"
)


class _Tee:
    def __init__(self, *streams):
        self.streams = streams

    def write(self, text):
        for s in self.streams:
            s.write(text)

    def flush(self):
        for s in self.streams:
            s.flush()


class _Console:
    """The console side of a stage's standard output: whole lines matching CONSOLE only."""

    def __init__(self, stream, keep=CONSOLE):
        self.stream, self.keep, self.buf = stream, keep, ""

    def write(self, text):
        self.buf += text
        *lines, self.buf = self.buf.split("\n")
        for line in lines:
            if self.keep.search(line):
                self.stream.write(line + "\n")
        return len(text)

    def flush(self):
        if self.buf and self.keep.search(self.buf):
            self.stream.write(self.buf)
        self.buf = ""
        self.stream.flush()


snakemake = globals()["snakemake"]  # injected by Snakemake's script directive
verbose = os.environ.get("HER2COHORT_VERBOSE", "") not in ("", "0")
with open(snakemake.log[0], "w", encoding="utf-8") as log:
    sys.stdout = _Tee(sys.__stdout__ if verbose else _Console(sys.__stdout__), log)
    sys.stderr = _Tee(sys.__stderr__, log)
    kwargs = {k: v for k, v in snakemake.input.items() if k.startswith("in_")}
    kwargs.update(snakemake.wildcards.items())  # e.g. the endpoint of rule survival
    kwargs.update(snakemake.output.items())
    kwargs.update((k, v) for k, v in snakemake.params.items() if not k.startswith("_"))
    try:
        if os.environ.get("HER2COHORT_PROFILE"):  # benchmarks/: a cProfile of each job
            import cProfile

            prof = cProfile.Profile()
            status = prof.runcall(run, snakemake.rule, **kwargs)
            os.makedirs(os.environ["HER2COHORT_PROFILE"], exist_ok=True)
            prof.dump_stats(os.path.join(os.environ["HER2COHORT_PROFILE"],
                                         os.path.basename(snakemake.log[0]) + ".prof"))
        else:
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
if status:
    print(f"rule {snakemake.rule} stopped (exit status {status}); its full output: "
          f"{snakemake.log[0]}", file=sys.stderr)
# The stage is done and its files are closed: the interpreter's teardown need not walk the
# objects of every library the stage imported (about 0.4 s of each job's exit). Only as the
# job's own process (Snakemake runs the script as __main__): a caller running it in its
# process (tests, through runpy) would keep all its objects from the collector for good.
if __name__ == "__main__":
    gc.freeze()
sys.exit(status)
