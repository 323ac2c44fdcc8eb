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


@pytest.fixture(scope="session")
def demo_pipeline(tmp_path_factory):
    """The whole default pipeline on the demo, once: ``.work`` (the project copy) and ``.result``
    (the finished ``snakemake --cores 2`` process, its console output)."""
    work = copy_project(tmp_path_factory.mktemp("demo_pipeline"))
    res = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2"], cwd=work,
                         capture_output=True, text=True, check=False, env=pipeline_env(),
                         timeout=1200)
    assert res.returncode == 0, res.stderr[-3000:] + logs_tail(work)
    return SimpleNamespace(work=work, result=res)


def _shares_a_fixture(item) -> bool:
    """Whether ``item`` uses a module- or session-scoped fixture of ours (its value is made once
    per worker process, so the tests using it are kept on one worker)."""
    defs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {}) or {}
    for fixturedefs in defs.values():
        d = fixturedefs[-1]
        module = getattr(getattr(d, "func", None), "__module__", "") or ""
        if d.scope != "function" and not module.startswith(("_pytest", "pytest", "xdist")):
            return True
    return False


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config, items):
    """A test that uses the shared demo run (directly or through a fixture) is an e2e test.

    Under pytest-xdist (``--dist loadgroup``, pyproject.toml), the tests of the shared demo run
    form one group, run by one worker, first (the longest group; some of them edit the run's
    config for a dry run and put it back, so they must not run beside each other), and the tests
    of a module with a module- or session-scoped fixture of its own stay together on one worker,
    so that no whole-pipeline run is made twice."""
    demo = []
    for item in items:
        if "demo_pipeline" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.xdist_group("demo_pipeline"))
            demo.append(item)
        elif _shares_a_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))
    first = set(map(id, demo))
    items[:] = demo + [it for it in items if id(it) not in first]
