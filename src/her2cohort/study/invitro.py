"""The in-vitro arm's rules: what happens to each well, plate quality control, normalisation.

Order, per run (every step writes its decision into the wells table, so that every well ends
``used``, ``excluded`` with a rule and reason, or ``flagged``):

1. Reading problems with a well (saturated reading, no reading): the configured action
   (``quarantine`` excludes the well, ``warn`` flags it).
2. Control outliers: within each plate's vehicle wells and its blank (and kill) wells, the
   modified z-score rule (Iglewicz and Hoaglin 1993: 0.6745 (x - median) / MAD, |z| > k,
   k = ``outlier_k``, default 3.5) AND a distance from the median above ``outlier_min_delta``
   of the plate's vehicle - blank range excludes a well (four blank wells with a tiny MAD
   would otherwise lose a well to noise of no consequence).
3. Plate QC from the remaining controls: Z'-factor (Zhang et al. 1999) of vehicle versus kill
   wells (blank wells where a plate has no kill wells), signal window, vehicle CV, and an edge
   check (vehicle wells on the plate's edge versus inside, Welch t test). A plate with Z' below
   ``z_prime_min`` (default 0.5) is excluded with its reason; an edge effect (p below
   ``edge_alpha`` and outer/inner ratio off by more than ``edge_ratio_tolerance``) flags the
   plate's edge wells.
4. Normalisation per plate: viability = (signal - blank) / (vehicle - blank), blank = mean of
   the blank wells (kill wells where there are none), vehicle = mean of the vehicle wells.
5. Sample outliers: within each replicate group (line, drugs and concentrations; across
   plates), the modified z-score rule AND an absolute distance from the group median above
   ``outlier_min_delta`` (default 0.3 viability): small groups make MAD tiny, and a well is
   only called an outlier when it is far off in absolute terms too.

Growth-rate metrics (GR, Hafner et al. 2016) need time-zero readings; they are not computed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["QC_DEFAULTS", "apply_actions", "line_classes", "normalise", "plate_qc",
           "process_wells", "replicate_key"]

QC_DEFAULTS = {"z_prime_min": 0.5, "outlier_k": 3.5, "outlier_min_delta": 0.3,
               "edge_alpha": 0.01, "edge_ratio_tolerance": 0.1}

REPLICATE_KEY = ["line", "drug", "conc", "drug2", "conc2"]


def replicate_key(wells: pd.DataFrame) -> pd.Series:
    """One text key per replicate group (line, drug(s), concentration(s))."""
    f = lambda c: wells[c].map(lambda v: "" if pd.isna(v) else f"{v:.10g}")  # noqa: E731
    return (wells["line"].astype(str) + "|" + wells["drug"].astype(str) + "|" + f("conc")
            + "|" + wells["drug2"].astype(str) + "|" + f("conc2"))


def _mark(wells: pd.DataFrame, mask: pd.Series, status: str, rule: str,
          reason: pd.Series | str) -> None:
    """Set status, rule and reason of the wells in ``mask`` that are still used (a well keeps
    the first exclusion it meets)."""
    m = mask & wells["status"].ne("excluded")
    if status == "flagged":
        m &= wells["status"].eq("used")
    wells.loc[m, "status"] = status
    wells.loc[m, "rule"] = rule
    wells.loc[m, "reason"] = reason[m] if isinstance(reason, pd.Series) else reason


def apply_actions(wells: pd.DataFrame, actions: dict[str, str]) -> pd.DataFrame:
    """Step 1: a well with a reading problem gets its rule's action (``actions``: rule ->
    fail/quarantine/warn as resolved for the run)."""
    wells = wells.copy()
    prob = wells["problem"].fillna("")
    act = prob.map(actions).fillna("")
    text = {"signal_saturated": "reader value saturated (" , "signal_missing": "no reading",
            "signal_not_number": "reading is not a number ("}
    reason = prob.map(text).fillna("") + np.where(
        prob.isin(["signal_saturated", "signal_not_number"]),
        wells["signal_raw"].astype(str) + ")", "")
    _mark(wells, act.eq("quarantine") & prob.ne(""), "excluded", "", reason)
    wells.loc[act.eq("quarantine") & prob.ne(""), "rule"] = prob
    flag = act.eq("warn") & prob.ne("") & wells["status"].eq("used")
    wells.loc[flag, ["status"]] = "flagged"
    wells.loc[flag, "rule"] = prob[flag]
    wells.loc[flag, "reason"] = reason[flag]
    return wells


def _usable(wells: pd.DataFrame) -> pd.Series:
    return wells["status"].ne("excluded") & wells["signal"].notna()


def _control_outliers(wells: pd.DataFrame, k: float, min_delta: float) -> None:
    """Modified z-score rule within each plate's vehicle, blank and kill wells, and (as for
    replicates) more than ``min_delta`` of the plate's vehicle-blank range from the median."""
    from ..stats.plateqc import outlier_wells

    ctrl = _usable(wells) & wells["content"].isin(["vehicle", "blank", "kill"])
    sub = wells[ctrl]
    if sub.empty:
        return
    out = outlier_wells(sub, by=["plate", "content"], value="signal", rule="MAD", k=k)
    med = sub.groupby(["plate", "content"])["signal"].transform("median")
    meds = sub.groupby(["plate", "content"])["signal"].median().unstack()
    lo = meds["blank"] if "blank" in meds else meds.get("kill")
    span = (meds["vehicle"] - lo) if "vehicle" in meds and lo is not None else None
    far = ((sub["signal"] - med).abs() > min_delta * sub["plate"].map(span)) \
        if span is not None else pd.Series(True, index=sub.index)
    flagged = pd.Series(False, index=wells.index)
    flagged[sub.index] = out.reindex(sub.index).fillna(False).astype(bool) & far.fillna(True)
    _mark(wells, flagged, "excluded", "outlier",
          "control outlier (modified z-score |z| > " + f"{k:g}" + " within the plate's "
          + wells["content"].astype(str) + f" wells and more than {min_delta:g} of the "
          "vehicle-blank range from their median)")


def _outer(wells: pd.DataFrame) -> pd.Series:
    nrow = np.where(wells["format"].eq(384), 16, 8)
    ncol = np.where(wells["format"].eq(384), 24, 12)
    ri = wells["row"].map("ABCDEFGHIJKLMNOP".index)
    return (ri.eq(0) | ri.eq(nrow - 1) | wells["col"].eq(1) | wells["col"].eq(ncol))


def plate_qc(wells: pd.DataFrame, *, z_prime_min: float = 0.5,
             edge_alpha: float = 0.01, edge_ratio_tolerance: float = 0.1,
             outlier_k: float = 3.5,
             outlier_min_delta: float = 0.3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Steps 2 and 3: control outliers, then one QC row per plate; wells of a failing plate
    excluded (rule ``plate_qc``), edge wells of a plate with an edge effect flagged."""
    from ..stats.plateqc import cv, edge_effect, signal_window, z_prime

    wells = wells.copy()
    _control_outliers(wells, outlier_k, outlier_min_delta)
    ok = _usable(wells)
    wells["outer"] = _outer(wells)
    rows = []
    for plate, p in wells.groupby("plate", sort=False):  # one row per plate
        use = p[ok[p.index]]
        veh = use.loc[use["content"].eq("vehicle"), "signal"].to_numpy(float)
        kill = use.loc[use["content"].eq("kill"), "signal"].to_numpy(float)
        blank = use.loc[use["content"].eq("blank"), "signal"].to_numpy(float)
        neg, neg_name = (kill, "kill") if len(kill) >= 2 else (blank, "blank")
        r = {"plate": plate, "file": p["file"].iloc[0], "format": int(p["format"].iloc[0]),
             "lines": ", ".join(sorted(x for x in p["line"].unique() if x)),
             "wells": len(p), "vehicle_n": len(veh), "negative_control": neg_name,
             "negative_n": len(neg),
             "vehicle_mean": float(np.mean(veh)) if len(veh) else np.nan,
             "blank_mean": float(np.mean(blank if len(blank) else kill))
             if len(blank) + len(kill) else np.nan,
             "vehicle_cv": cv(veh) if len(veh) >= 2 else np.nan,
             "z_prime": z_prime(veh, neg) if len(veh) >= 2 and len(neg) >= 2 else np.nan,
             "signal_window": signal_window(veh, neg) if len(veh) >= 2 and len(neg) >= 2
             else np.nan}
        vsub = use[use["content"].eq("vehicle")]
        if vsub["outer"].sum() >= 2 and (~vsub["outer"]).sum() >= 2:
            nr, nc = (16, 24) if int(p["format"].iloc[0]) == 384 else (8, 12)
            ee = edge_effect(vsub, row="row", col="col", value="signal", n_rows=nr, n_cols=nc)
            r.update(edge_ratio=ee.get("ratio"), edge_p=ee.get("p"), edge_test=ee.get("test"))
        else:
            r.update(edge_ratio=np.nan, edge_p=np.nan,
                     edge_test="not assessable (no vehicle wells both on the edge and inside)")
        reasons = []
        if not np.isfinite(r["z_prime"]):
            reasons.append(f"Z' not computable ({r['vehicle_n']} vehicle, {r['negative_n']} "
                           f"{neg_name} wells usable; 2 of each needed)")
        elif r["z_prime"] < z_prime_min:
            reasons.append(f"Z' = {r['z_prime']:.3f} < {z_prime_min:g}")
        r["status"] = "excluded" if reasons else "passed"
        r["reason"] = "; ".join(reasons)
        edge = (np.isfinite(r["edge_p"]) and r["edge_p"] < edge_alpha
                and abs(r["edge_ratio"] - 1) > edge_ratio_tolerance)
        r["edge_effect"] = bool(edge)
        rows.append(r)
    qc = pd.DataFrame(rows)
    bad = wells["plate"].map(qc.set_index("plate")["status"]).eq("excluded")
    why = wells["plate"].map(qc.set_index("plate")["reason"])
    _mark(wells, bad, "excluded", "plate_qc", "plate " + wells["plate"] + " failed QC: " + why)
    edge = wells["plate"].map(qc.set_index("plate")["edge_effect"]).fillna(False).astype(bool)
    _mark(wells, edge & wells["outer"] & wells["content"].eq("sample"), "flagged",
          "edge_effect", "edge well of a plate with an edge effect (vehicle wells)")
    return wells.drop(columns="outer"), qc


def normalise(wells: pd.DataFrame) -> pd.DataFrame:
    """Step 4: viability per plate from the wells still usable (excluded wells get a value
    too, for the record, but are not used)."""
    wells = wells.copy()
    ok = _usable(wells)
    use = wells[ok]
    veh = use[use["content"].eq("vehicle")].groupby("plate")["signal"].mean()
    blank = use[use["content"].eq("blank")].groupby("plate")["signal"].mean()
    kill = use[use["content"].eq("kill")].groupby("plate")["signal"].mean()
    base = blank.combine_first(kill)
    b = wells["plate"].map(base)
    v = wells["plate"].map(veh)
    wells["viability"] = (wells["signal"] - b) / (v - b)
    return wells


def _sample_outliers(wells: pd.DataFrame, k: float, min_delta: float) -> None:
    from ..stats.plateqc import outlier_wells

    ok = _usable(wells) & wells["content"].eq("sample") & wells["viability"].notna()
    sub = wells[ok].assign(_key=replicate_key(wells[ok]))
    if sub.empty:
        return
    z = outlier_wells(sub, by=["_key"], value="viability", rule="MAD", k=k)
    med = sub.groupby("_key")["viability"].transform("median")
    far = (sub["viability"] - med).abs() > min_delta
    flagged = pd.Series(False, index=wells.index)
    flagged[sub.index] = (z.reindex(sub.index).fillna(False).astype(bool) & far)
    _mark(wells, flagged, "excluded", "outlier",
          f"replicate outlier (modified z-score |z| > {k:g} and more than {min_delta:g} "
          "from the replicate median viability)")


def _replicate_cv(wells: pd.DataFrame, qc: pd.DataFrame) -> pd.DataFrame:
    """Median CV (SD / mean of viability) over the replicate groups each plate contributes
    to, groups with a mean viability of at least 0.2 and 2+ used wells."""
    use = wells[wells["status"].ne("excluded") & wells["content"].eq("sample")]
    use = use.assign(_key=replicate_key(use))
    g = use.groupby("_key")["viability"]
    stats = pd.DataFrame({"n": g.size(), "mean": g.mean(), "sd": g.std(ddof=1)})
    stats = stats[(stats["n"] >= 2) & (stats["mean"] >= 0.2)]
    stats["cv"] = stats["sd"] / stats["mean"]
    per = use.assign(cv=use["_key"].map(stats["cv"])).groupby("plate")["cv"].median()
    qc = qc.copy()
    qc["replicate_cv"] = qc["plate"].map(per)
    return qc


def process_wells(wells: pd.DataFrame, actions: dict[str, str],
                  qc: dict | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Steps 1-5 on the wells read (``data.plates.read_plates``): (wells with status, rule,
    reason and viability; plate QC table)."""
    q = {**QC_DEFAULTS, **{k: v for k, v in (qc or {}).items() if k in QC_DEFAULTS}}
    wells = apply_actions(wells, actions)
    wells, table = plate_qc(wells, z_prime_min=q["z_prime_min"], edge_alpha=q["edge_alpha"],
                            edge_ratio_tolerance=q["edge_ratio_tolerance"],
                            outlier_k=q["outlier_k"],
                            outlier_min_delta=q["outlier_min_delta"])
    wells = normalise(wells)
    _sample_outliers(wells, q["outlier_k"], q["outlier_min_delta"])
    table = _replicate_cv(wells, table)
    counts = wells.groupby(["plate", "status"]).size().unstack(fill_value=0)
    for s in ("used", "flagged", "excluded"):
        table[f"wells_{s}"] = table["plate"].map(counts[s] if s in counts else {}).fillna(
            0).astype(int)
    outl = wells[wells["rule"].eq("outlier")].groupby("plate").size()
    table["outliers"] = table["plate"].map(outl).fillna(0).astype(int)
    return wells, table


def line_classes(lines: dict, groups: dict | None = None) -> dict[str, str]:
    """{cell line: class label}: ``invitro.lines`` gives each line a class id; the label is
    the study exposure's label of that id where it has one, else the id itself."""
    labels = (groups or {}).get("labels", {})
    return {str(k): str(labels.get(v, v)) for k, v in (lines or {}).items()}
