"""One Snakemake job of a stage (``workflow/scripts/run_stage.py``): the stage's output goes to
the rule's log, the console gets only what needs the user: problem lines ([fail],
[quarantine], [warn]) with their counts, warnings, and everything written to stderr (errors).
HER2COHORT_VERBOSE=1 sends all of it to the console. The same function runs in the job's own
process or in a process forked for it by the warm starter (``stages/warm.py``)."""

from __future__ import annotations

import os
import re
import sys
import time

try:
    import resource  # peak memory for benchmarks/ (not on Windows)
except ImportError:
    resource = None

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


def run_job(rule: str, kwargs: dict, log_path: str, start: float | None = None,
            forked: bool = False) -> int:
    """Run stage ``rule`` with ``kwargs`` (the rule's named inputs, wildcards, outputs and
    params), its output to ``log_path`` and the console; the exit status. ``start``: when the
    job began (``time.perf_counter()``), for the resources line that ends the log;
    ``forked``: the process was forked by the run's warm starter (said on that line; its
    peak RSS then counts the memory it shares with the starter)."""
    from . import run  # looked up at each call: tests put a stand-in there

    start = time.perf_counter() if start is None else start
    verbose = os.environ.get("HER2COHORT_VERBOSE", "") not in ("", "0")
    with open(log_path, "w", encoding="utf-8") as log:
        sys.stdout = _Tee(sys.__stdout__ if verbose else _Console(sys.__stdout__), log)
        sys.stderr = _Tee(sys.__stderr__, log)
        try:
            if os.environ.get("HER2COHORT_PROFILE"):  # benchmarks/: a cProfile of each job
                import cProfile

                prof = cProfile.Profile()
                status = prof.runcall(run, rule, **kwargs)
                os.makedirs(os.environ["HER2COHORT_PROFILE"], exist_ok=True)
                prof.dump_stats(os.path.join(os.environ["HER2COHORT_PROFILE"],
                                             os.path.basename(log_path) + ".prof"))
            else:
                status = run(rule, **kwargs)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
            if resource is not None:  # for benchmarks/ (in the log, not on the console)
                use = resource.getrusage(resource.RUSAGE_SELF)
                log.write(f"resources: {time.perf_counter() - start:.2f} s wall, "
                          f"{use.ru_utime + use.ru_stime:.2f} s CPU, "
                          f"peak RSS {use.ru_maxrss / 1024:.0f} MB"
                          f"{' (forked by the warm starter)' if forked else ''}\n")
    if status:
        print(f"rule {rule} stopped (exit status {status}); its full output: {log_path}",
              file=sys.stderr)
    return status
