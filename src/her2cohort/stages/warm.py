"""A warm start for the jobs of one local run.

Each Snakemake job is a Python process of its own, and importing the scientific stack there
(numpy, pandas, SciPy, matplotlib, statsmodels, python-docx: about 2 s on the reference
2-core machine) was a third of the demo's CPU time and most of a small job's. So a local run
that has jobs to do starts one *starter* process (the Snakefile's ``onstart``: :func:`start`),
which imports those libraries once. Each job's process (``workflow/scripts/run_stage.py``)
then hands the starter its standard output and error, its working folder, environment and
arguments (:func:`submit`); the starter forks, and the forked process runs the stage exactly
as the job's own process would (:func:`her2cohort.stages.job.run_job`) and returns the exit
status, which the job's process exits with. Snakemake still sees one process per job, with
its log, exit status and resources; our own code (``her2cohort``) is imported in the forked
process, not in the starter.

Where there is no starter, the job runs in its own process as before: cluster jobs
(``start`` is only called for a local run), systems other than Linux,
``HER2COHORT_WARM=0``, software deployed by Snakemake (``--sdm conda``, ``apptainer``: a
job's Python is its rule's, not the starter's), the first jobs of a run while the starter is
still importing, a starter with more than one thread after its imports (no safe fork), and a
starter that could not start.

Safety: the socket lives in a folder only this user can open (``tempfile.mkdtemp``); a job's
process that ends for any reason (killed, interrupted) ends the process running its stage;
the starter ends with the run (``onsuccess``/``onerror``: :func:`stop`) and on its own when
the Snakemake process that started it is gone; the folder of a run killed together with its
starter is removed by the next run's :func:`start`.
"""

from __future__ import annotations

import os
import socket
import struct
import sys

#: where a job's process finds the starter (set for the jobs by :func:`start`)
ENV = "HER2COHORT_WARM_SOCKET"

#: the libraries the stages import, imported once by the starter (a name that fails to import
#: is skipped: the stage imports it itself, or reports why it cannot)
PRELOAD = (
    "numpy", "pandas", "pyarrow", "pyarrow.compute", "pyarrow.parquet", "pyarrow.dataset", "pyarrow.csv",
    "scipy.stats", "scipy.optimize", "scipy.special", "scipy.interpolate", "scipy.integrate",
    "statsmodels.api", "formulaic", "pandera.pandas",
    "matplotlib", "matplotlib.pyplot", "matplotlib.backends.backend_agg",
    "matplotlib.backends.backend_pdf", "fontTools.subset", "PIL.Image", "PIL.PngImagePlugin",
    "docx", "openpyxl", "yaml", "jsonschema", "lxml.html", "jinja2",
)

_HEADER = struct.Struct("!Q")  # the length of a request
_STATUS = struct.Struct("!i")  # a job's exit status
_STARTED = b"+"  # the forked process has the job

_starter = None  # in the Snakemake process: (the starter's Popen, its folder)


def enabled() -> bool:
    """Whether jobs may run through a starter on this system and in this environment."""
    # Linux only: on macOS a process forked after some system libraries have started may crash
    return (sys.platform.startswith("linux") and hasattr(socket, "send_fds")
            and os.environ.get("HER2COHORT_WARM", "1").strip() not in ("0", ""))


def start(local: bool, deployment=()) -> None:
    """Start the starter for the jobs of this run (the Snakefile's ``onstart``); ``local``:
    the jobs run on this machine (Snakemake's ``workflow.local_exec``); ``deployment``: how
    Snakemake deploys the rules' software (``workflow.deployment_settings.deployment_method``:
    ``--sdm conda``, ``apptainer``, ``env-modules``)."""
    global _starter
    # With deployed software each job runs the Python of its rule's environment (conda env,
    # container): a starter of the Snakemake process's Python would run the stage with other
    # libraries than the rule declares. Those jobs run in their own process.
    if _starter is not None or not local or deployment or not enabled():
        return
    import subprocess
    import tempfile

    _sweep(tempfile.gettempdir())
    # named after this (the Snakemake) process: a later run can tell it is left over
    folder = tempfile.mkdtemp(prefix=f"her2cohort-{os.getpid()}-")
    path = os.path.join(folder, "jobs")
    quiet = None if os.environ.get("HER2COHORT_DEBUG") else subprocess.DEVNULL
    # -P: not the working folder (the project's) first on sys.path, where a statistics.py or
    # yaml.py of the user's would be imported instead of the library (a job's own process runs
    # its script from .snakemake/scripts/)
    proc = subprocess.Popen([sys.executable, "-P", "-m", __name__, path, str(os.getpid())],
                            stdin=subprocess.DEVNULL, stdout=quiet, stderr=quiet)
    _starter = proc, folder
    os.environ[ENV] = path


def _sweep(tmp: str) -> None:
    """Remove this user's starter folders in ``tmp`` whose Snakemake process is gone: a run
    killed with its starter at once (SIGKILL to the process group: a power cut, the OOM
    killer) leaves its folder and socket behind."""
    import glob
    import shutil

    for folder in glob.glob(os.path.join(glob.escape(tmp), "her2cohort-*-*")):
        pid = os.path.basename(folder).split("-")[1]
        try:
            if not pid.isdigit() or os.stat(folder).st_uid != os.getuid():
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:  # its run has ended
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:  # gone already, or a process of another user's (still running)
            continue


def stop() -> None:
    """End the starter (the Snakefile's ``onsuccess`` and ``onerror``)."""
    global _starter
    if _starter is None:
        return
    import shutil
    import subprocess

    proc, folder = _starter
    _starter = None
    os.environ.pop(ENV, None)
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    shutil.rmtree(folder, ignore_errors=True)


def _python() -> tuple[str, str]:
    """The interpreter and environment (virtualenv, conda env) of this process: a job runs in
    the starter's fork only when both have the same ones."""
    return os.path.realpath(sys.prefix), sys.version


def _recv_exact(conn: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def submit(rule: str, kwargs: dict, log_path: str, start: float | None = None) -> int | None:
    """Run stage ``rule`` in a process forked by the run's starter, with this process's
    standard output and error, working folder and environment; its exit status, or None when
    there is no starter to take the job (the caller runs it itself). ``start``: when the job's
    process began (``time.perf_counter()``), for the resources line of its log."""
    path = os.environ.get(ENV)
    if not path or not enabled():
        return None
    import pickle

    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with conn:
        try:
            conn.connect(path)
            request = pickle.dumps((_python(), rule, kwargs, log_path, start, os.getcwd(),
                                    dict(os.environ)), protocol=pickle.HIGHEST_PROTOCOL)
            sys.stdout.flush()
            sys.stderr.flush()
            socket.send_fds(conn, [_HEADER.pack(len(request))],
                            [sys.stdout.fileno(), sys.stderr.fileno()])
            conn.sendall(request)
            started = _recv_exact(conn, len(_STARTED))
        except OSError:  # no starter (yet), or it is ending: nothing has run
            return None
        if started != _STARTED:
            return None
        try:
            status = _recv_exact(conn, _STATUS.size)
        except OSError:
            status = None
    if status is None:
        print(f"rule {rule}: the process running it ended without an exit status (killed?); "
              f"its output so far: {log_path}", file=sys.stderr)
        return 1
    return _STATUS.unpack(status)[0]


def _run_forked(conn: socket.socket) -> int:
    """In the forked process: take the job from ``conn``, run it, send its exit status."""
    import pickle
    import signal
    import threading
    import time

    begun = time.perf_counter()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # a stage's own subprocesses are its own
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    header, fds, _, _ = socket.recv_fds(conn, _HEADER.size, 2, socket.MSG_WAITALL)
    request = _recv_exact(conn, _HEADER.unpack(header)[0]) if len(header) == _HEADER.size \
        else None
    if request is None or len(fds) != 2:
        return 1
    python, rule, kwargs, log_path, start, cwd, env = pickle.loads(request)
    if python != _python():  # another interpreter or environment: the job runs it itself
        return 1
    for fd, target in zip(fds, (1, 2)):
        os.dup2(fd, target)
        os.close(fd)
    # Python chose the starter's stdout buffering for the starter's own stdout (not a
    # terminal): on a terminal a job's stdout is line-buffered, so that the stage's problem
    # lines and its errors (stderr) reach the console in the order written
    if os.isatty(1):
        sys.stdout.reconfigure(line_buffering=True)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    time.tzset()
    conn.sendall(_STARTED)

    def _watch():  # the job's process has ended (killed, interrupted): so does its stage
        try:
            conn.recv(1)
        except OSError:
            pass
        os._exit(1)

    threading.Thread(target=_watch, daemon=True).start()
    from .job import run_job

    try:
        # the job's time from its own process's start (the monotonic clock is the machine's),
        # as when it runs there: the resources line compares across the two ways
        status = run_job(rule, kwargs, log_path, start=begun if start is None else start,
                         forked=True)
    except SystemExit as e:  # as the job's own process would end
        status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if e.code is not None and not isinstance(e.code, int):  # sys.exit("why"): said
            print(e.code, file=sys.stderr)
    except KeyboardInterrupt:  # Ctrl-C: the job's process ends as interrupted, and says so
        status = 128 + signal.SIGINT
    except BaseException:
        import traceback

        traceback.print_exc()
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    conn.sendall(_STATUS.pack(status))
    return status


def serve(path: str, parent: int, preload: tuple[str, ...] = PRELOAD) -> None:
    """The starter: import ``preload``, then fork a process for each job that connects to
    ``path``, until process ``parent`` (Snakemake) is gone or the starter is told to end."""
    import importlib
    import select
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    # pyarrow's jemalloc starts a background thread when it loads (Arrow allocates with
    # mimalloc here; the thread only returns jemalloc's free pages to the system)
    os.environ.setdefault("JE_ARROW_MALLOC_CONF", "background_thread:false")
    for name in preload:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the stage will import it itself, or say why not
            pass
    # The imported libraries' objects stay out of the garbage collector's passes: a forked
    # job's collections then neither walk them (time) nor touch their pages (which would be
    # copied into the job's memory)
    import gc

    gc.collect()
    gc.freeze()
    # A process forked while another thread holds a lock (of the allocator, of a library)
    # finds it held for good: a job that hangs. With threads, no jobs are taken; they run in
    # their own processes (said on the starter's stderr, shown with HER2COHORT_DEBUG=1).
    threads = len(os.listdir("/proc/self/task"))
    if threads > 1:
        print(f"her2cohort warm starter: {threads} threads after the imports; not forking "
              "jobs from it", file=sys.stderr)
        try:
            os.rmdir(os.path.dirname(path))  # its folder, if empty
        except OSError:
            pass
        return
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ready = path + ".new"
    try:
        # bound and listening before it has its name: a job never waits for the imports
        listener.bind(ready)
        listener.listen(64)
        os.replace(ready, path)
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forked jobs need no waiting for
        while os.getppid() == parent:
            if not select.select([listener], [], [], 0.5)[0]:
                continue
            conn, _ = listener.accept()
            if os.fork() == 0:
                status = 1
                try:
                    listener.close()
                    status = _run_forked(conn)
                finally:
                    os._exit(status)
            conn.close()
    finally:
        listener.close()
        for remove, name in ((os.unlink, path), (os.unlink, ready),
                             (os.rmdir, os.path.dirname(path))):  # its folder, if empty
            try:
                remove(name)
            except OSError:
                pass


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
