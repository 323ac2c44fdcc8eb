"""The warm starter (her2cohort.stages.warm): a job handed to it runs as in its own process (same
log, console, exit status, working folder, environment), ends when the job's process ends, and
a job without a starter runs itself. The starter here runs a stand-in for the stages and imports
nothing ahead (the whole-pipeline tests run the real one)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the warm start is for Linux")

# the starter of these tests: her2cohort.stages.run is replaced by `fake`, then serve() as usual
STARTER = textwrap.dedent("""
    import os, sys, time
    import her2cohort.stages as stages

    def fake(stage, **kw):
        if stage == "validate":  # chatter, problem lines, an error, files; status 3
            print("validate: 2 problem(s) found (1 quarantine, 1 warn).")
            print("  [quarantine] f.csv, row 3, column 'ER %', value '150': outside 0-100%")
            print("chatter that stays in the log")
            print("validate: stopped", file=sys.stderr)
            with open(kw["out_where"], "w") as f:
                f.write(f"{os.getcwd()}\\n{os.environ.get('WARM_TEST_VALUE')}\\n{os.getpid()}")
            return 3
        if stage == "ingest":  # runs until it is ended
            with open(kw["out_pid"], "w") as f:
                f.write(str(os.getpid()))
            time.sleep(120)
            return 0
        if stage == "derive":  # killed with no exit status
            os.kill(os.getpid(), 9)
        if stage == "cohort":
            sys.exit(4)
        if stage == "paper":
            sys.exit("paper: stopped with a message")
        if stage == "response":  # problem lines and an error, in this order
            print("  [warn] first")
            print("response: an error", file=sys.stderr)
            print("  [warn] second")
        return 0

    stages.run = fake
    from her2cohort.stages.warm import serve
    serve(sys.argv[1], int(sys.argv[2]), preload=())
""")


def _wait_for(cond, seconds=20.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie has ended too
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] != "Z"
    except OSError:
        return True


@pytest.fixture(scope="module")
def starter(tmp_path_factory):
    folder = tmp_path_factory.mktemp("starter")
    path = str(folder / "jobs")
    proc = subprocess.Popen([sys.executable, "-c", STARTER, path, str(os.getpid())])
    assert _wait_for(lambda: os.path.exists(path)), "the starter did not start"
    yield path, proc
    proc.terminate()
    proc.wait(10)


def test_a_job_runs_in_a_forked_process_as_in_its_own(starter, tmp_path, capfd, monkeypatch):
    from her2cohort.stages import warm

    path, proc = starter
    monkeypatch.setenv(warm.ENV, path)
    monkeypatch.setenv("WARM_TEST_VALUE", "set after the starter started")
    monkeypatch.delenv("HER2COHORT_VERBOSE", raising=False)
    monkeypatch.chdir(tmp_path)
    log = tmp_path / "validate.log"
    # the job's process began 100 s ago: its resources line counts from then (as it does when
    # the stage runs in that process)
    status = warm.submit("validate", {"out_where": "where.txt"}, str(log),
                         start=time.perf_counter() - 100)
    assert status == 3
    cwd, value, pid = (tmp_path / "where.txt").read_text().splitlines()
    assert cwd == str(tmp_path) and value == "set after the starter started"
    assert int(pid) not in (os.getpid(), proc.pid)
    out, err = capfd.readouterr()
    assert out.splitlines() == [
        "validate: 2 problem(s) found (1 quarantine, 1 warn).",
        "  [quarantine] f.csv, row 3, column 'ER %', value '150': outside 0-100%"]
    assert err.splitlines() == [
        "validate: stopped", f"rule validate stopped (exit status 3); its full output: {log}"]
    text = log.read_text("utf-8").splitlines()
    assert text[:4] == ["validate: 2 problem(s) found (1 quarantine, 1 warn).",
                        "  [quarantine] f.csv, row 3, column 'ER %', value '150': outside "
                        "0-100%", "chatter that stays in the log", "validate: stopped"]
    assert text[4].startswith("resources: ") and text[4].endswith("(forked by the warm starter)")
    assert 100 <= float(text[4].split()[1]) < 160
    assert _wait_for(lambda: not _alive(int(pid)), 5), "the forked process was not reaped"


def test_a_stage_that_exits_or_is_killed(starter, tmp_path, capfd, monkeypatch):
    from her2cohort.stages import warm

    monkeypatch.setenv(warm.ENV, starter[0])
    assert warm.submit("cohort", {}, str(tmp_path / "cohort.log")) == 4
    # as Python ends a process: the message on stderr, exit status 1
    assert warm.submit("paper", {}, str(tmp_path / "paper.log")) == 1
    assert capfd.readouterr().err.splitlines() == ["paper: stopped with a message"]
    assert warm.submit("derive", {}, str(tmp_path / "derive.log")) == 1
    assert "rule derive: the process running it ended without an exit status (killed?)" \
        in capfd.readouterr().err
    assert warm.submit("table1", {}, str(tmp_path / "table1.log")) == 0  # the starter goes on


def test_the_stage_ends_when_the_jobs_process_ends(starter, tmp_path):
    job = subprocess.Popen([sys.executable, "-c", (
        "import sys; from her2cohort.stages import warm; "
        "sys.exit(warm.submit('ingest', {'out_pid': sys.argv[1]}, sys.argv[2]))"),
        str(tmp_path / "pid"), str(tmp_path / "ingest.log")],
        env={**os.environ, "HER2COHORT_WARM_SOCKET": starter[0]})
    assert _wait_for(lambda: (tmp_path / "pid").exists() and (tmp_path / "pid").read_text())
    pid = int((tmp_path / "pid").read_text())
    assert _alive(pid)
    job.send_signal(signal.SIGKILL)  # as a job is killed: no chance to say anything
    job.wait(10)
    assert _wait_for(lambda: not _alive(pid), 10), "the stage outlived its job's process"


def test_without_a_starter_the_job_runs_itself(starter, tmp_path, monkeypatch):
    from her2cohort.stages import warm

    monkeypatch.delenv(warm.ENV, raising=False)
    assert warm.submit("validate", {"out_where": str(tmp_path / "w")}, str(tmp_path / "l")) \
        is None
    monkeypatch.setenv(warm.ENV, str(tmp_path / "no-such-socket"))
    assert warm.submit("validate", {"out_where": str(tmp_path / "w")}, str(tmp_path / "l")) \
        is None
    monkeypatch.setenv(warm.ENV, starter[0])
    monkeypatch.setenv("HER2COHORT_WARM", "0")
    assert warm.submit("validate", {"out_where": str(tmp_path / "w")}, str(tmp_path / "l")) \
        is None
    assert not (tmp_path / "w").exists() and not (tmp_path / "l").exists()


def test_the_starter_ends_with_the_process_that_started_it(tmp_path):
    path = str(tmp_path / "jobs")
    # a parent that starts the starter and ends at once, as a Snakemake process that died
    parent = subprocess.run([sys.executable, "-c", (
        "import os, subprocess, sys; "
        "p = subprocess.Popen([sys.executable, '-c', sys.argv[1], sys.argv[2], "
        "str(os.getpid())]); print(p.pid)"), STARTER, path], capture_output=True, text=True,
        check=True)
    pid = int(parent.stdout)
    assert _wait_for(lambda: not _alive(pid), 10), "the starter outlived its parent"
    assert not os.path.exists(path)


def test_start_and_stop(monkeypatch):
    from her2cohort.stages import warm

    monkeypatch.delenv(warm.ENV, raising=False)
    monkeypatch.delenv("HER2COHORT_WARM", raising=False)
    warm.start(local=False)  # cluster jobs run elsewhere: no starter
    assert warm.ENV not in os.environ and warm._starter is None
    warm.start(local=True)
    try:
        proc, folder = warm._starter
        path = os.environ[warm.ENV]
        assert Path(path).parent == Path(folder) and oct(os.stat(folder).st_mode & 0o777) \
            == "0o700"
        assert _wait_for(lambda: os.path.exists(path), 60), "the starter did not start"
    finally:
        warm.stop()
    assert proc.poll() is not None and not os.path.exists(folder)
    assert warm.ENV not in os.environ and warm._starter is None


def test_a_job_of_another_python_runs_itself(starter, tmp_path, monkeypatch):
    """A job run by another interpreter or environment than the starter's (a rule's conda env
    or container) is not forked from the starter: the stage would get the starter's libraries."""
    from her2cohort.stages import warm

    monkeypatch.setenv(warm.ENV, starter[0])
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "conda-env"))
    assert warm.submit("validate", {"out_where": str(tmp_path / "w")}, str(tmp_path / "l")) \
        is None
    assert not (tmp_path / "w").exists() and not (tmp_path / "l").exists()


def test_no_starter_when_snakemake_deploys_the_rules_software(monkeypatch):
    from her2cohort.stages import warm

    monkeypatch.delenv(warm.ENV, raising=False)
    monkeypatch.delenv("HER2COHORT_WARM", raising=False)
    warm.start(local=True, deployment={"conda"})  # --sdm conda: each job runs its env's Python
    assert warm.ENV not in os.environ and warm._starter is None


# a job's process as Snakemake runs it: workflow/scripts/run_stage.py as __main__, with a
# stand-in for Snakemake's `snakemake` object; stage `ingest` (the starter's stand-in, or this
# one when the job runs itself) writes its process ID to argv[1] and runs until it is ended
JOB = textwrap.dedent("""
    import os, runpy, sys, time, types
    import her2cohort.stages as stages

    def fake(stage, **kw):
        with open(kw["out_pid"], "w") as f:
            f.write(str(os.getpid()))
        time.sleep(120)
        return 0

    stages.run = fake
    named = lambda **kw: types.SimpleNamespace(items=lambda: list(kw.items()))
    sm = types.SimpleNamespace(log=[sys.argv[2]], input=named(), output=named(out_pid=sys.argv[1]),
                               params=named(), wildcards=named(), rule="ingest")
    runpy.run_path(sys.argv[3], init_globals={"snakemake": sm}, run_name="__main__")
""")


@pytest.mark.parametrize("warm_start", [True, False])
def test_ctrl_c_ends_a_job_without_a_traceback(warm_start, starter, tmp_path):
    """Ctrl-C (SIGINT to every process of the run): the job's process ends as interrupted, as
    Snakemake reports it ("died with SIGINT"), and the stage's process with it; no traceback
    on the console (there were two for a job run by the starter: its process's and the fork's)."""
    env = {**os.environ, "HER2COHORT_WARM_SOCKET": starter[0],
           "HER2COHORT_WARM": "1" if warm_start else "0"}
    root = Path(__file__).resolve().parents[1]
    job = subprocess.Popen([sys.executable, "-c", JOB, str(tmp_path / "pid"),
                            str(tmp_path / "ingest.log"),
                            str(root / "workflow/scripts/run_stage.py")],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert _wait_for(lambda: (tmp_path / "pid").exists() and (tmp_path / "pid").read_text())
    pid = int((tmp_path / "pid").read_text())
    assert (pid != job.pid) == warm_start
    for p in {job.pid, pid}:  # as the terminal does: the job's process and the stage's
        try:
            os.kill(p, signal.SIGINT)
        except ProcessLookupError:  # the fork ended already, with the job's process
            pass
    out, err = job.communicate(timeout=20)
    assert job.returncode == -signal.SIGINT
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert _wait_for(lambda: not _alive(pid), 10)


def test_on_a_terminal_the_console_keeps_the_stages_order(tmp_path):
    """On a terminal a process's standard output is line-buffered: a stage's problem lines and
    its errors reach the console in the order written, forked or not (the starter's own output
    is not a terminal: the fork wrote its problem lines only when the stage ended)."""
    import pty

    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # as by default
    path = str(tmp_path / "jobs")
    own = subprocess.Popen([sys.executable, "-c", STARTER, path, str(os.getpid())], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert _wait_for(lambda: os.path.exists(path)), "the starter did not start"
    main, sub = pty.openpty()
    job = subprocess.Popen([sys.executable, "-c", (
        "import sys; from her2cohort.stages import warm; "
        "sys.exit(warm.submit('response', {}, sys.argv[1]))"), str(tmp_path / "response.log")],
        env={**env, "HER2COHORT_WARM_SOCKET": path, "HER2COHORT_VERBOSE": "0"},
        stdin=subprocess.DEVNULL, stdout=sub, stderr=sub)
    os.close(sub)
    text = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # EIO: the job's process and its fork have closed the terminal
            break
        if not chunk:
            break
        text += chunk
    os.close(main)
    own.terminate()
    own.wait(10)
    assert job.wait(10) == 0
    assert text.decode().splitlines() == ["  [warn] first", "response: an error",
                                          "  [warn] second"]


def _serve(path: str, preload: tuple, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", (
        "import sys; from her2cohort.stages.warm import serve; "
        f"serve(sys.argv[1], int(sys.argv[2]), preload={preload!r})"), path, str(os.getpid())],
        **popen)


def test_the_starter_forks_from_one_thread(tmp_path):
    """A process forked from one with other threads may find a lock held forever (a hung job):
    the starter stays single-threaded after its imports (pyarrow's jemalloc started a thread)."""
    path = str(tmp_path / "jobs")
    proc = _serve(path, ("pandas", "pyarrow"))
    try:
        assert _wait_for(lambda: os.path.exists(path), 60), "the starter did not start"
        assert len(os.listdir(f"/proc/{proc.pid}/task")) == 1
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_starter_with_threads_takes_no_jobs(tmp_path):
    """An import that starts a thread (another library's, or a new version's): no starter; the
    jobs run in their own processes."""
    (tmp_path / "threaded.py").write_text(
        "import threading, time\nthreading.Thread(target=time.sleep, args=(60,), daemon=True)"
        ".start()\n")
    path = str(tmp_path / "jobs")
    proc = _serve(path, ("threaded",), stderr=subprocess.PIPE, text=True,
                  env={**os.environ, "PYTHONPATH": os.pathsep.join(
                      [str(tmp_path), os.environ.get("PYTHONPATH", "")])})
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0 and not os.path.exists(path)
    assert "threads" in err


def test_the_starter_does_not_import_from_the_project_folder(tmp_path, monkeypatch):
    """`python -m` puts its working folder first on sys.path: the starter started in the
    project folder imported a `statistics.py` or `yaml.py` there instead of the library (a
    job's own process runs its script from .snakemake/scripts/)."""
    from her2cohort.stages import warm

    (tmp_path / "yaml.py").write_text(
        "open('shadowed', 'w').close()\nraise ImportError('not the library')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(warm.ENV, raising=False)
    monkeypatch.delenv("HER2COHORT_WARM", raising=False)
    warm.start(local=True)
    try:
        assert _wait_for(lambda: os.path.exists(os.environ[warm.ENV]), 60)
    finally:
        warm.stop()
    assert not (tmp_path / "shadowed").exists()


def test_start_removes_the_folders_of_runs_killed_with_their_starter(tmp_path, monkeypatch):
    """A run killed with its starter at once (SIGKILL to the process group) leaves its folder
    and socket; the next run's start removes it, and no folder of a run still going."""
    import tempfile

    from her2cohort.stages import warm

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = tmp_path / f"her2cohort-{int(gone.stdout)}-abc123"
    alive = tmp_path / f"her2cohort-{os.getpid()}-def456"
    other = tmp_path / "her2cohort-demo-ghi789"  # not a starter's (benchmarks/bench_demo.py)
    for d in (dead, alive, other):
        d.mkdir()
        (d / "jobs").write_text("")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.delenv(warm.ENV, raising=False)
    monkeypatch.delenv("HER2COHORT_WARM", raising=False)
    warm.start(local=True)
    try:
        (mine,) = [p for p in tmp_path.iterdir() if p not in (alive, other)]
        assert mine.name.startswith(f"her2cohort-{os.getpid()}-")
        assert alive.exists() and other.exists() and not dead.exists()
    finally:
        warm.stop()
