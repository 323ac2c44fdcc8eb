"""The workflow itself: lint and format clean, every rule logged and documented, the SLURM
profile resolves, and the conda environment is declared for ``--sdm conda``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, check=False,
                          env=env, timeout=600)


def test_lint_clean():
    res = _run(sys.executable, "-m", "snakemake", "--lint")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "good condition" in res.stdout + res.stderr


def test_snakefmt_clean():
    exe = shutil.which("snakefmt") or str(Path(sys.executable).parent / "snakefmt")
    res = _run(exe, "--check", "Snakefile", "workflow")
    assert res.returncode == 0, res.stdout + res.stderr


def test_every_rule_has_a_log_a_conda_env_and_its_stage_module():
    for smk in sorted((ROOT / "workflow/rules").glob("*.smk")):
        text = smk.read_text("utf-8")
        for name in re.findall(r"^rule (\w+):", text, flags=re.MULTILINE):
            assert name == smk.stem, f"{smk.name} defines rule {name}"
            assert "    log:" in text and "    conda:" in text, smk.name
            assert (ROOT / f"src/her2cohort/stages/{name}.py").exists(), name


def test_conda_env_installs_this_package():
    env = yaml.safe_load((ROOT / "workflow/envs/her2cohort.yaml").read_text("utf-8"))
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ../.." in pip


def test_slurm_profile_resolves_in_a_dry_run(tmp_path):
    pytest.importorskip("snakemake_executor_plugin_slurm")
    for item in ("Snakefile", "workflow", "config", "profiles"):
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / item)
    shutil.copytree(ROOT / "data/demo/raw", tmp_path / "data/demo/raw")
    res = _run(sys.executable, "-m", "snakemake", "-n", "--workflow-profile",
               "profiles/slurm", cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert "This was a dry-run" in res.stdout + res.stderr


def test_default_profile_is_loaded_by_a_plain_snakemake(tmp_path):
    """`snakemake` with no profile option must pick up profiles/default (rerun-incomplete after
    a killed run, cores, failed logs shown). Snakemake searches profiles/default/ relative to the
    working directory and the Snakefile's folder; a profile elsewhere is silently ignored."""
    for item in ("Snakefile", "workflow", "config", "profiles"):
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / item)
    shutil.copytree(ROOT / "data/demo/raw", tmp_path / "data/demo/raw")
    res = _run(sys.executable, "-m", "snakemake", "-n", cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert "workflow specific profile profiles/default" in res.stdout + res.stderr, \
        res.stderr[:2000]
    prof = yaml.safe_load((ROOT / "profiles/default/config.yaml").read_text("utf-8"))
    assert prof["rerun-incomplete"] is True
