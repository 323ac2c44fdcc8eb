"""Session fixtures shared by the whole-pipeline (e2e) test modules.

The bundled SIMULATED demo runs once per test session (``demo_pipeline``); the modules that read
its outputs share that run instead of each running the pipeline again. A test that edits files of
the run (config, data) must work on its own copy; reruns that must leave the outputs
byte-identical (``--forceall``) may use the shared run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]


def copy_project(work: Path) -> Path:
    """The workflow, config and the SIMULATED demo raw files, copied into ``work``."""
    for item in ("Snakefile", "workflow", "config", "profiles"):
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / item)
    shutil.copytree(ROOT / "data/demo/raw", work / "data/demo/raw")
    return work


def pipeline_env() -> dict:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    for k in ("HER2COHORT_SALT", "HER2COHORT_DEBUG"):
        env.pop(k, None)
    return env


def logs_tail(work: Path) -> str:
    return "".join(f"\n--- {p.name}\n{p.read_text('utf-8')[-3000:]}"
                   for p in sorted((work / "logs").glob("*.log")))


def _run_demo(work: Path) -> subprocess.CompletedProcess:
    copy_project(work)
    return subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2"], cwd=work,
                          capture_output=True, text=True, check=False, env=pipeline_env(),
                          timeout=1200)


@pytest.fixture(scope="session")
def demo_pipeline(tmp_path_factory):
    """The whole default pipeline on the demo, once per test session: ``.work`` (the project
    copy) and ``.result`` (the finished ``snakemake --cores 2`` process, its console output).

    Under pytest-xdist the first worker to need it runs it in the session's shared temporary
    folder, under a lock, and the others wait for it and read the same run. Read only: a test
    that writes into a run (a rerun, a config edit, a report) works on :func:`demo_copy`."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        work = tmp_path_factory.mktemp("demo_pipeline")
        res = _run_demo(work)
    else:
        import fcntl
        import json

        root = tmp_path_factory.getbasetemp().parent  # shared by the session's workers
        work, done = root / "demo_pipeline", root / "demo_pipeline.json"
        with open(root / "demo_pipeline.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not done.exists():
                work.mkdir()
                r = _run_demo(work)
                done.write_text(json.dumps([r.args, r.returncode, r.stdout, r.stderr]), "utf-8")
        res = subprocess.CompletedProcess(*json.loads(done.read_text("utf-8")))
    assert res.returncode == 0, res.stderr[-3000:] + logs_tail(work)
    return SimpleNamespace(work=work, result=res)


def demo_copy(demo_pipeline, tmp_path_factory, name: str) -> Path:
    """A copy of the finished demo run (files with their times, Snakemake's records), for the
    tests of one module that write into it: a rerun finds nothing to do, as in the original."""
    work = tmp_path_factory.mktemp(name) / "run"
    shutil.copytree(demo_pipeline.work, work, symlinks=True)
    return work


def pytest_collection_modifyitems(config, items):
    """A test that uses the shared demo run (directly or through a fixture) is an e2e test.

    The modules with whole-pipeline runs go first: under pytest-xdist (``--dist loadscope``,
    pyproject.toml) each module's tests run on one worker, so that a module's shared run is
    made once, and the longest units start first."""
    for item in items:
        if "demo_pipeline" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)
    heavy = {item.module.__name__ for item in items if item.get_closest_marker("e2e")}
    order = {id(item): i for i, item in enumerate(items)}
    items.sort(key=lambda it: (it.module.__name__ not in heavy, order[id(it)]))
