"""Outputs left by an earlier configuration of the same study: the files of a sensitivity
variant, an endpoint or an analysis that the configuration no longer has. Removed after a
successful run (the Snakefile's ``onsuccess``), so that a results folder holds only what the
current configuration produced. Light: no pandas (the Snakefile imports it)."""

from __future__ import annotations

import re
from pathlib import Path

# what rule survival writes per endpoint: results/{tables,figures}/<endpoint>_<suffix>
SURVIVAL_TABLES = ("km.csv", "summary.csv", "summary.html", "summary.docx", "cox.html",
                   "cox.docx", "iptw.html", "iptw.docx", "risk_table.csv", "logrank.csv",
                   "followup.csv", "cox.csv", "cox_zph.csv", "cox_mi.csv", "iptw.csv",
                   "iptw_balance.csv", "landmark_pcr.csv", "landmark_pcr.html",
                   "landmark_pcr.docx", "rmst.csv", "rmst.html", "rmst.docx", "notes.csv")
SURVIVAL_FIGURES = tuple(f"{name}.{ext}" for name in (
    "km", "km_treatment", "km_pcr", "cox_zph", "cox_forest", "iptw_love", "iptw_km",
    "km_regimen") for ext in ("png", "pdf"))
# names of earlier versions, before one survival job per endpoint
LEGACY = ("tables/followup.csv", "tables/survival_summary.csv", "tables/survival_summary.html",
          "tables/survival_risk_table.csv", "tables/survival_notes.csv")
_ID = re.compile(r"[a-z][a-z0-9_]*")


def _endpoint_of(name: str, suffixes: tuple[str, ...]) -> str | None:
    """The endpoint id of a survival output's file name (longest matching suffix)."""
    for suf in sorted(suffixes, key=len, reverse=True):
        if name.endswith("_" + suf):
            prefix = name[: -len(suf) - 1]
            return prefix if _ID.fullmatch(prefix) else None
    return None


def stale_outputs(results_dir: str | Path, endpoints: list[str], variants: list[str],
                  analyses: dict[str, bool]) -> list[Path]:
    """Files under ``results_dir`` that the current configuration does not produce."""
    res = Path(results_dir)
    stale: list[Path] = [res / p for p in LEGACY if (res / p).is_file()]
    keep_eps = set(endpoints) if analyses.get("survival", True) else set()
    for sub, suffixes in (("tables", SURVIVAL_TABLES), ("figures", SURVIVAL_FIGURES)):
        folder = res / sub
        if not folder.is_dir():
            continue
        for f in sorted(folder.iterdir()):
            eid = _endpoint_of(f.name, suffixes)
            if eid is not None and eid not in keep_eps and not eid.startswith("pcr"):
                stale.append(f)
            elif not analyses.get("pcr", True) and f.name.startswith("pcr_"):
                stale.append(f)
            elif not analyses.get("her2_loss", True) and f.name.startswith("her2_loss."):
                stale.append(f)
            elif not analyses.get("table1", True) and f.name.startswith("table1."):
                stale.append(f)
            elif not analyses.get("invitro", True) and f.name.startswith("invitro_"):
                stale.append(f)
    if not analyses.get("invitro", True):  # the in-vitro arm switched off
        stale += [f for f in (res / "invitro/summary.json", res / "qc/invitro_problems.csv")
                  if f.is_file()]
    sens = res / "sensitivity"
    if sens.is_dir():
        stale += [f for f in sorted(sens.glob("*.csv")) if f.stem not in variants]
    if not [v for v in variants if v != "main"]:
        stale += [res / "tables" / f"sensitivity.{e}" for e in ("csv", "html", "docx")
                  if (res / "tables" / f"sensitivity.{e}").is_file()]
    return sorted(set(stale))


def remove_stale_outputs(config: dict) -> list[Path]:
    """Remove (and name) what :func:`stale_outputs` finds for ``config``."""
    from .params import analyses, invitro_on

    variants = ["main", *((config.get("sensitivity") or {}).get("variants") or {})]
    eps = list((config.get("study") or {}).get("endpoints") or {})
    gone = stale_outputs(config.get("results_dir", "results"), eps, variants,
                         {**analyses(config), "invitro": invitro_on(config)})
    for f in gone:
        f.unlink(missing_ok=True)
    if gone:
        print("removed outputs the configuration no longer produces: "
              + ", ".join(str(f) for f in gone))
    return gone
