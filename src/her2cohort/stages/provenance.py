"""Rule ``provenance``: what produced these results: SHA-256 of every input file and centre
mapping, the resolved configuration, the versions of the packages that compute the numbers,
and the git commit with a dirty flag. No time stamp, so that identical inputs give an identical
file."""

from __future__ import annotations

PACKAGES = ("her2cohort", "snakemake", "pandas", "numpy", "scipy", "statsmodels", "lifelines",
            "matplotlib", "pandera", "pyarrow", "openpyxl", "python-docx")


def sha256(path: str) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def git_state(folder: str = ".") -> dict:
    """Commit and dirty flag of the checkout the pipeline runs in (None outside git)."""
    import subprocess

    def git(*args: str) -> str | None:
        try:
            res = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True,
                                 check=False, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return res.stdout if res.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no") or ""
    return {"commit": commit.strip(), "dirty": bool(status.strip())}


def finite_json(obj):
    """``obj`` with every non-finite float (NaN, +-inf: not JSON) replaced by its YAML
    spelling as a string (``".nan"``, ``".inf"``, ``"-.inf"``), as the config wrote it."""
    import math

    if isinstance(obj, float) and not math.isfinite(obj):
        return ".nan" if math.isnan(obj) else (".inf" if obj > 0 else "-.inf")
    if isinstance(obj, dict):
        return {k: finite_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_json(v) for v in obj]
    return obj


def main(*, in_mappings, in_raw, out_json, config, git=None) -> None:
    import json
    import platform
    from importlib.metadata import PackageNotFoundError, version
    from pathlib import Path

    def versions() -> dict:
        out = {"python": platform.python_version()}
        for p in PACKAGES:
            try:
                out[p] = version(p)
            except PackageNotFoundError:
                out[p] = None
        return out

    listify = (lambda x: [x] if isinstance(x, str) else list(x))
    doc = {
        "inputs": {p: sha256(p) for p in sorted(listify(in_raw))},
        "mappings": {p: sha256(p) for p in sorted(listify(in_mappings))},
        "config": finite_json(config),
        "software": versions(),
        "git": git if git is not None else git_state(),
    }
    Path(out_json).parent.mkdir(parents=True, exist_ok=True)
    with open(out_json, "w", encoding="utf-8", newline="\n") as fh:
        json.dump(doc, fh, indent=2, sort_keys=True, ensure_ascii=False, default=str,
                  allow_nan=False)
        fh.write("\n")
