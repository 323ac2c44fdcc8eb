"""Registry-sized SIMULATED deliveries (no real patient is in them), for benchmarks and scale
tests: ``her2cohort simulate --patients N --centres K [--format csv|parquet]``.

Every patient is drawn at once with numpy (10^6 patients in seconds), with the demo's clinical
structure: HER2 IHC 3+ and 2+/ISH+ groups, hormone receptors, neoadjuvant regimens with single
or dual anti-HER2 therapy, pCR depending on group, receptors and regimen, HER2 loss in residual
tumour, disease-free survival from surgery with pCR protective, deaths, censoring at the data
lock or at loss to follow-up, missing Ki-67 and grade, and a few records per ten thousand a
validation must catch (out-of-range values, surgery before diagnosis, duplicated patients). The
centres all write the layout of the demo's centre JS01 (semicolon CSV with decimal commas and
day/month/year dates, or Parquet with typed dates and numbers); the mappings and a study config
(the demo's, every analysis on) are written beside them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .simulate import DATA_LOCK, DAYS_PER_MONTH, JS01, SIMULATED_NOTE

#: the JS01 layout of the demo simulator: canonical field -> column, and the mapping's
#: ``values:`` (the file's codes -> canonical codes, where they differ)
COLUMNS = dict(JS01["columns"])
VALUES = {field: {code: canon for canon, code in codes.items() if code != canon}
          for field, codes in JS01["codes"].items()}
VALUES = {field: v for field, v in VALUES.items() if v}
DUAL = np.array(["TCbHP", "THP", "EC-THP"])
SINGLE = np.array(["TCbH", "EC-TH", "TH"])
#: distant, local-regional, ipsilateral, contralateral, second primary, death as first event
FIRST_EVENTS = np.array(["distant", "locoregional", "IBTR", "contralateral", "second primary",
                         "death"])
FIRST_EVENT_P = np.array([0.55, 0.17, 0.07, 0.06, 0.05, 0.10])
DEFECT_RATE = 2e-4  # per defect kind: out-of-range Ki-67, surgery before diagnosis
DUPLICATE_RATE = 1e-4  # a patient sent twice by their centre


def _dates(days: np.ndarray) -> np.ndarray:
    return np.datetime64("1970-01-01") + days.astype("timedelta64[D]")


def simulate_patients(n: int, centres: int, seed: int = 20251203) -> pd.DataFrame:
    """One row per record (canonical field names, typed values), ``centre`` 1..K."""
    r = np.random.default_rng(seed)
    lock = (np.datetime64(DATA_LOCK) - np.datetime64("1970-01-01")).astype(int)
    start = (np.datetime64("2012-01-01") - np.datetime64("1970-01-01")).astype(int)
    end = (np.datetime64("2020-12-31") - np.datetime64("1970-01-01")).astype(int)
    diag = r.integers(start, end, n)
    age = np.clip(r.normal(52, 11, n), 25, 84)
    birth = diag - np.round(age * 365.25).astype(int) - r.integers(0, 365, n)
    # distinct people differ in birth date, diagnosis date or side (the duplicate-person rule):
    # move a coinciding birth date by a day until none coincides
    side = r.random(n) < 0.5
    key = pd.DataFrame({"b": birth, "d": diag, "s": side})
    while (clash := key.duplicated().to_numpy()).any():
        key.loc[clash, "b"] -= 1
    birth = key["b"].to_numpy()
    nst = diag + r.integers(7, 35, n)
    surg = nst + r.integers(140, 210, n)
    two = r.random(n) < 0.2  # IHC 2+/ISH+ (about one in five, as in the demo: 117 of 575)
    hr_pos = r.random(n) < np.where(two, 0.76, 0.49)
    er = np.where(hr_pos, np.clip(np.round(r.normal(70, 25, n) / 5) * 5, 5, 100), 0)
    pr = np.where(hr_pos & (r.random(n) < 0.8), np.clip(np.round(r.normal(40, 30, n) / 5) * 5,
                                                          1, 100), 0)
    ki67 = np.clip(np.round(r.normal(42, 18, n) / 5) * 5, 5, 90).astype(float)
    ki67[r.random(n) < 0.08] = np.nan
    dual = r.random(n) < 0.6
    regimen = np.where(dual, DUAL[r.integers(0, 3, n)], SINGLE[r.integers(0, 3, n)])
    ratio = np.round(np.where(two, r.uniform(2.0, 5.5, n), r.uniform(3.0, 9.0, n)), 2)
    # ASCO/CAP 2018 group 1 (ratio >= 2.0 and >= 4.0 copies), as the classification expects
    copies = np.round(np.maximum(ratio * r.uniform(1.8, 2.6, n), r.uniform(4.1, 5.0, n)), 1)
    measured = two | (r.random(n) < 0.35)  # ISH is done for every 2+ and some 3+
    # pCR: 3+ about 46%, 2+/ISH+ about 16%; dual and HR-negative help
    logit = (np.where(two, -1.9, -0.25) + np.where(dual, 0.35, -0.2)
             + np.where(hr_pos, -0.5, 0.5))
    pcr = r.random(n) < 1 / (1 + np.exp(-logit))
    ypt = np.where(pcr, np.where(r.random(n) < 0.15, "ypTis", "ypT0"),
                   np.array(["ypT1a", "ypT1b", "ypT1c", "ypT2", "ypT3"])[r.integers(0, 5, n)])
    ypn = np.where(pcr, "ypN0", np.array(["ypN0", "ypN1", "ypN2"])[r.integers(0, 3, n)])
    rcb = np.where(pcr, "RCB-0", np.array(["RCB-I", "RCB-II", "RCB-III"])[r.integers(0, 3, n)])
    loss = ~pcr & (r.random(n) < np.where(two, 0.28, 0.08))
    # DFS from surgery: monthly hazard, pCR protective, 2+/ISH+ slightly worse
    hazard = 0.006 * np.where(pcr, 0.35, 1.0) * np.where(two, 1.2, 1.0)
    t_event = r.exponential(1 / hazard) * DAYS_PER_MONTH
    t_lost = np.where(r.random(n) < 0.1, r.uniform(6, 100, n) * DAYS_PER_MONTH, np.inf)
    t_end = np.minimum(lock - surg, t_lost)
    event = t_event < t_end
    kind = FIRST_EVENTS[r.choice(len(FIRST_EVENTS), n, p=FIRST_EVENT_P)]
    event_day = surg + np.floor(t_event).astype(int) + 1
    died_first = event & (kind == "death")
    recurred = event & ~died_first
    # death after a recurrence in about a third, before the end of follow-up
    t_death = np.where(recurred & (r.random(n) < 0.35),
                       event_day + r.integers(30, 900, n), np.iinfo(np.int64).max)
    dead = died_first | (recurred & (t_death < surg + t_end))
    death_day = np.where(died_first, event_day, t_death)
    last = np.where(dead, death_day, surg + np.floor(t_end).astype(int))
    cent = np.sort(r.integers(1, centres + 1, n))
    df = pd.DataFrame({
        "centre": cent,
        "patient_id": np.char.add(np.char.add("R", np.char.zfill(cent.astype(str), 2)),
                                  np.char.add("-", np.char.zfill(r.permutation(n).astype(str),
                                                                 8))),
        "birth_date": _dates(birth), "laterality": np.where(side, "L", "R"),
        "diagnosis_date": _dates(diag), "nst_start_date": _dates(nst),
        "surgery_date": _dates(surg), "last_contact_date": _dates(last),
        "recurrence_date": np.where(recurred, _dates(event_day), np.datetime64("NaT")),
        "recurrence_type": np.where(recurred, kind, None),
        "death_date": np.where(dead, _dates(death_day), np.datetime64("NaT")),
        "vital_status": np.where(dead, "deceased", "alive"),
        "menopausal_status": np.where(age >= 51, "postmenopausal", "premenopausal"),
        "ct": np.array(["cT1", "cT2", "cT3", "cT4"])[r.choice(4, n, p=[.2, .55, .17, .08])],
        "cn": np.array(["cN0", "cN1", "cN2", "cN3"])[r.choice(4, n, p=[.35, .45, .12, .08])],
        "cm": "cM0",
        "tumour_size_mm": np.clip(np.round(r.lognormal(3.4, 0.45, n)), 5, 150),
        "histology": np.array(["IDC", "ILC", "other"])[r.choice(3, n, p=[.9, .05, .05])],
        "grade": np.where(r.random(n) < 0.05, None,
                          np.array(["G1", "G2", "G3"])[r.choice(3, n, p=[.05, .45, .5])]),
        "er_pct": er, "pr_pct": pr, "ki67_pct": ki67,
        "her2_ihc": np.where(two, "2+", "3+"),
        "ish_ratio": np.where(measured, ratio, np.nan),
        "her2_copies": np.where(measured, copies, np.nan),
        "ish_result": np.where(measured, "amplified", None),
        "regimen": regimen, "cycles": np.where(np.char.startswith(regimen.astype(str), "EC"),
                                                8, 6),
        "surgery_type": np.where(r.random(n) < 0.45, "BCS", "mastectomy"),
        "ypt": ypt, "ypn": ypn, "rcb_class": rcb,
        "post_her2_ihc": np.where(pcr, None, np.where(loss, "1+", np.where(two, "2+", "3+"))),
        "post_ish_result": np.where(~pcr & two, np.where(loss, "not amplified", "amplified"),
                                    None),
    })
    # records a validation must catch, a few per ten thousand
    bad = r.random(n)
    df.loc[bad < DEFECT_RATE, "ki67_pct"] = 120.0
    odd = (bad >= DEFECT_RATE) & (bad < 2 * DEFECT_RATE)
    df.loc[odd, "surgery_date"] = df.loc[odd, "diagnosis_date"] - pd.Timedelta(days=10)
    dup = np.flatnonzero(r.random(n) < DUPLICATE_RATE)
    df = pd.concat([df, df.iloc[dup]]).sort_values(["centre", "patient_id"], kind="stable")
    return df.reset_index(drop=True)


def _write_csv(part: pd.DataFrame, path: Path) -> None:
    out = pd.DataFrame(index=part.index)
    for field, col in COLUMNS.items():
        v = part[field]
        if field.endswith("_date"):
            out[col] = pd.to_datetime(v).dt.strftime("%d/%m/%Y").fillna("")
        elif v.dtype.kind == "f":
            text = v.map("{:g}".format).str.replace(".", ",", regex=False)
            out[col] = text.where(v.notna(), "")
        else:
            out[col] = v.astype(object).where(v.notna(), "").astype(str)
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        out.to_csv(fh, sep=";", index=False, lineterminator="\n")


def _write_parquet(part: pd.DataFrame, path: Path) -> None:
    out = pd.DataFrame({col: part[field].to_numpy() for field, col in COLUMNS.items()})
    for field, col in COLUMNS.items():
        if field.endswith("_date"):
            out[col] = pd.to_datetime(out[col]).dt.date
    out.to_parquet(path, index=False)


def _mapping(code: str, file: str, fmt: str, outside: bool) -> dict:
    m = {"centre": code, "label": f"Registry centre {code} (simulated)", "file": file,
         "format": fmt}
    if outside:  # the files are not under data/: said explicitly, as a user would
        m["allow_outside_data_dirs"] = True
    if fmt == "csv":
        m.update(encoding="utf-8-sig", delimiter=";", decimal=",", date_format="%d/%m/%Y")
    else:
        m.update(date_format="iso")
    m.update(missing=[""], units={"tumour_size_mm": "mm"}, columns=dict(COLUMNS),
             values=VALUES)
    return m


def simulate_registry(outdir: str | Path, patients: int, centres: int = 4, fmt: str = "csv",
                      seed: int = 20251203) -> Path:
    """Write K centre files, their mappings and ``config.yaml`` (the demo's study, every analysis
    on) under ``outdir``; returns the config's path. Deterministic for a seed."""
    import yaml

    root = Path(__file__).resolve().parents[3]
    outdir = Path(outdir)
    try:  # paths relative to the project folder where they can be
        outdir = outdir.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        outdir = outdir.resolve()
    outside = outdir.is_absolute() or outdir.parts[:1] != ("data",)
    (outdir / "centres").mkdir(parents=True, exist_ok=True)
    df = simulate_patients(patients, centres, seed)
    paths = []
    for c, part in df.groupby("centre", sort=True):
        code = f"R{int(c):02d}"
        name = f"{code}_SIMULATED_registry.{fmt}"
        (_write_csv if fmt == "csv" else _write_parquet)(part, outdir / name)
        mp = outdir / "centres" / f"{code}.yaml"
        mp.write_text(f"# {SIMULATED_NOTE}\n" + yaml.safe_dump(
            _mapping(code, str(outdir / name), fmt, outside), sort_keys=False, allow_unicode=True),
            "utf-8")
        paths.append(str(mp))
    cfg = yaml.safe_load((root / "config/config.yaml").read_text("utf-8"))
    sid = f"registry-{patients}"
    cfg["study"]["id"] = sid
    cfg["study"]["title"] = f"{cfg['study']['title']} (SIMULATED registry, {patients} patients)"
    cfg["centres"] = paths
    cfg["results_dir"] = f"results/{sid}"
    cfg["processed_dir"] = f"data/processed/{sid}"
    out = outdir / "config.yaml"
    out.write_text(f"# {SIMULATED_NOTE}\n" + yaml.safe_dump(cfg, sort_keys=False,
                                                             allow_unicode=True), "utf-8")
    (outdir / "README.md").write_text(
        f"# SIMULATED registry delivery ({patients} patients, {centres} centres)\n\n"
        f"{SIMULATED_NOTE}\n\nRun: `snakemake --cores 2 --configfile {out}`\n", "utf-8")
    return out

