"""The in-vitro stages on SIMULATED plates: every well accounted for, the fits recover the
simulator's true IC50s, the plate that fails QC is excluded with its reason, the second shape
(long table, ug/mL, 384 wells) runs, bad plates stop the stage with status 1 (data) or 2
(configuration), and (``e2e``) the in-vitro rules run under Snakemake."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from her2cohort.data.config import fill_defaults, load_config
from her2cohort.demo.plates import MOLAR_MASS, simulate_plates
from her2cohort.stages import run_with_config
from her2cohort.stages.invitro_fit import results_paragraph
from her2cohort.stages.params import invitro_on

ROOT = Path(__file__).resolve().parents[1]
TRUTH = ROOT / "data/demo/truth"


def _plates_out(d: Path) -> dict:
    return dict(out_wells=d / "tables/invitro_wells.csv",
                out_problems=d / "qc/invitro_problems.csv",
                out_qc=d / "tables/invitro_plate_qc.csv",
                out_qc_html=d / "tables/invitro_plate_qc.html",
                out_qc_docx=d / "tables/invitro_plate_qc.docx",
                out_accounting=d / "tables/invitro_wells_accounting.csv",
                out_accounting_html=d / "tables/invitro_wells_accounting.html",
                out_qc_png=d / "figures/invitro_plate_qc.png",
                out_qc_pdf=d / "figures/invitro_plate_qc.pdf")


def _fit_out(d: Path) -> dict:
    t = {f"out_{k}": d / f"tables/invitro_{k}.{ext}" for k, ext in (
        ("ic50", "csv"), ("comparisons", "csv"), ("synergy", "csv"))}
    t.update({f"out_{k}_{ext}": d / f"tables/invitro_{k}.{ext}" for k in
              ("ic50", "comparisons", "synergy") for ext in ("html", "docx")})
    t.update(out_synergy_pairs=d / "tables/invitro_synergy_pairs.csv",
             out_curves_png=d / "figures/invitro_dose_response.png",
             out_curves_pdf=d / "figures/invitro_dose_response.pdf",
             out_synergy_png=d / "figures/invitro_synergy.png",
             out_synergy_pdf=d / "figures/invitro_synergy.pdf",
             out_summary=d / "invitro/summary.json")
    return t


def _run(cfg: dict, d: Path) -> tuple[int, int | None]:
    rc = run_with_config("invitro_plates", cfg, **_plates_out(d))
    if rc:
        return rc, None
    return rc, run_with_config("invitro_fit", cfg, in_wells=d / "tables/invitro_wells.csv",
                               **_fit_out(d))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = tmp_path_factory.mktemp("invitro")
    cwd = os.getcwd()
    os.chdir(ROOT)  # the config names the demo files relative to the project
    try:
        cfg = load_config("config/config.yaml")
        assert _run(cfg, d) == (0, 0)
    finally:
        os.chdir(cwd)
    return d


def test_invitro_is_off_unless_switched_on():
    cfg = load_config(ROOT / "config/config.yaml")
    assert invitro_on(cfg)
    off = copy.deepcopy(cfg)
    del off["analyses"]["invitro"]
    assert not invitro_on(fill_defaults(off))
    assert fill_defaults(off)["analyses"]["invitro"] is False


def test_every_well_is_accounted_for(demo):
    wells = pd.read_csv(demo / "tables/invitro_wells.csv")
    truth = pd.read_csv(TRUTH / "invitro_wells_SIMULATED.csv")
    assert len(wells) == len(truth) == 12 * 96
    assert set(wells["status"]) <= {"used", "flagged", "excluded"}
    ex = wells[wells["status"] == "excluded"]
    assert ex["rule"].notna().all() and ex["reason"].notna().all()
    m = wells.merge(truth[["plate", "well", "defect"]], on=["plate", "well"])
    # every simulated defect is excluded by the rule made for it, and no other well
    rule_of = {"saturated": "signal_saturated", "pipetting": "outlier", "bubble": "outlier",
               "noisy_plate": "plate_qc", "empty": "empty"}
    exp = m["defect"].map(rule_of)
    got = m["rule"].where(m["status"] == "excluded")
    bad = m[(exp.fillna("-") != got.fillna("-")) & ~((m["defect"] == "empty")
                                                       & (got == "empty"))]
    assert bad.empty, bad[["plate", "well", "defect", "status", "rule"]]
    acc = pd.read_csv(demo / "tables/invitro_wells_accounting.csv")
    tot = acc[acc["plate"] == "all"].set_index("status")["wells"]
    assert tot["total"] == len(wells) == tot["used"] + tot["flagged"] + tot["excluded"]
    per = acc[acc["plate"] != "all"]
    assert per["wells"].sum() == len(wells)
    qc = pd.read_csv(demo / "tables/invitro_plate_qc.csv")
    failed = qc[qc["status"] == "excluded"]
    assert failed["plate"].tolist() == ["P12"]
    assert failed["reason"].iloc[0].startswith("Z' = 0.4") and "< 0.5" in failed["reason"].iloc[0]
    assert (qc.loc[qc["status"] == "passed", "z_prime"] >= 0.5).all()


def test_fits_recover_the_true_ic50s(demo):
    """Curves the simulator made clear (at least 30% kill, IC50 inside the doses): the true
    IC50 lies inside the fit's 95% CI. Weak curves (the 2+/ISH+-like lines under trastuzumab
    and pertuzumab): the table says they are weak (Emax < 0.3) or could not be fitted."""
    fits = pd.read_csv(demo / "tables/invitro_ic50.csv")
    truth = pd.read_csv(TRUTH / "invitro_curves_SIMULATED.csv")
    m = fits.merge(truth.drop(columns="her2_class"), on=["line", "drug"],
                   validate="one_to_one")
    assert len(m) == 12
    clear = (1 - m["c"] >= 0.3) & (m["e"] < m["top_nM"])
    assert clear.sum() == 8
    c = m[clear]
    assert c["converged"].all()
    inside = (c["ic50_lo"] <= c["e"]) & (c["e"] <= c["ic50_hi"])
    assert inside.all(), c.loc[~inside, ["line", "drug", "e", "ic50", "ic50_lo", "ic50_hi"]]
    assert np.allclose(c["lower"], c["c"], atol=0.05)
    weak = m[~clear]
    assert ((weak["emax"] < 0.3) | ~weak["converged"]).all()
    assert weak["her2_class"].eq("IHC 2+/ISH+").all()
    # the finding: T-DXd potent on all four lines (IC50 below 5 nM, at least 85% kill)
    tdxd = m[m["drug"] == "T-DXd"]
    assert (tdxd["ic50"] < 5).all() and (tdxd["emax"] > 0.85).all()


def test_comparisons_and_synergy_name_their_methods(demo):
    comp = pd.read_csv(demo / "tables/invitro_comparisons.csv")
    assert set(comp.loc[comp["p"].notna(), "test"]) == {
        "extra-sum-of-squares F test (shared IC50)"}
    r = comp[comp["ratio"].notna()]
    assert r["ci_method"].str.startswith("delta method").all()
    assert (r["ratio_lo"] <= r["ratio"]).all() and (r["ratio"] <= r["ratio_hi"]).all()
    t = comp[(comp["drug"] == "T-DXd") & (comp["versus"] == "SK-BR-3-like")]
    assert (t["ratio_lo"] > 1).all()  # T-DXd less potent on the 2+/ISH+-like lines, yet potent
    syn = pd.read_csv(demo / "tables/invitro_synergy.csv")
    bliss = syn[syn["model_id"] == "bliss"].set_index("line")["mean_delta"]
    assert min(bliss["SK-BR-3-like"], bliss["BT-474-like"]) > max(
        bliss["MDA-MB-361-like"], bliss["MDA-MB-453-like"])
    doc = json.loads((demo / "invitro/summary.json").read_text("utf-8"))
    text = results_paragraph(doc)
    assert text.startswith("In vitro (SIMULATED), 4 cell lines were tested, SK-BR-3-like and "
                           "BT-474-like (IHC 3+) and MDA-MB-361-like and MDA-MB-453-like "
                           "(IHC 2+/ISH+), with trastuzumab, pertuzumab, T-DXd and "
                           "trastuzumab + pertuzumab.")
    assert "P-values: extra-sum-of-squares F test (shared IC50)" in text
    for name in ("invitro_dose_response", "invitro_synergy", "invitro_plate_qc"):
        assert (demo / f"figures/{name}.png").stat().st_size > 10_000
        assert (demo / f"figures/{name}.pdf").stat().st_size > 5_000


def test_every_comparison_of_curves_inside_the_doses_has_f_and_p(demo):
    """Every shared-IC50 F test whose curves all fitted with their relative IC50 inside the
    doses tested has F and p (on this demo the shared-IC50 model often has no finite optimum:
    e.g. T-DXd on MDA-MB-453-like vs SK-BR-3-like; the note then says the limit was used); a
    test without F says why."""
    fits = pd.read_csv(demo / "tables/invitro_ic50.csv")
    wells = pd.read_csv(demo / "tables/invitro_wells.csv", keep_default_na=False,
                        na_values=[""])
    s = wells[(wells["status"] != "excluded") & (wells["content"] == "sample")
              & wells["drug2"].isna() & (wells["conc"] > 0)]
    lo = s.groupby(["line", "drug"])["conc"].min()
    hi = s.groupby(["line", "drug"])["conc"].max()
    fits = fits.set_index(["line", "drug"])
    inside = {k: bool(fits.loc[k, "converged"] and lo[k] <= fits.loc[k, "ic50"] <= hi[k])
              for k in fits.index}
    comp = pd.read_csv(demo / "tables/invitro_comparisons.csv", keep_default_na=False,
                       na_values=[""])
    tests = comp[comp["test"].notna()]
    assert len(tests) == 13
    n_inside = 0
    for _, r in tests.iterrows():
        if r["comparison"] == "between lines":
            keys = ([k for k in fits.index if k[1] == r["drug"]] if r["line"] == "all lines"
                    else [(r["line"], r["drug"]), (r["versus"], r["drug"])])
        else:
            keys = [k for k in fits.index if k[0] == r["line"]]
        if all(inside[k] for k in keys):
            n_inside += 1
            assert np.isfinite(r["F"]) and 0 <= r["p"] <= 1, r.to_dict()
        if not np.isfinite(r["F"]):
            assert isinstance(r["test_note"], str) and r["test_note"], r.to_dict()
    assert n_inside >= 5
    t = tests[(tests["drug"] == "T-DXd") & (tests["line"] == "MDA-MB-453-like")].iloc[0]
    assert t["p"] < 1e-10 and "no finite optimum" in t["test_note"]
    assert "MDA-MB-453-like" in t["test_note"]


def test_second_shape_long_table_ug_per_ml_384_wells(tmp_path):
    simulate_plates(tmp_path / "sim", shape="long384")
    cfg = load_config(ROOT / "config/config.yaml")
    cfg["invitro"].update(
        inputs=[{"layout": "long",
                 "file": str(tmp_path / "sim/raw/invitro/plates_SIMULATED_long384.csv"),
                 "columns": {"plate": "Plate", "well": "Well", "line": "Cell line",
                             "drug": "Compound", "conc": "Conc", "drug2": "Compound 2",
                             "conc2": "Conc 2", "unit": "Units", "replicate": "Rep",
                             "signal": "RLU"}}],
        molar_mass_g_per_mol=MOLAR_MASS,
        controls={"vehicle": ["DMSO"], "blank": ["medium"], "kill": ["staurosporine"]})
    out = tmp_path / "out"
    assert _run(cfg, out) == (0, 0)
    wells = pd.read_csv(out / "tables/invitro_wells.csv")
    assert set(wells["format"]) == {384}
    assert wells.loc[wells["status"] == "excluded", "rule"].tolist() == ["signal_saturated"]
    fits = pd.read_csv(out / "tables/invitro_ic50.csv")
    truth = pd.read_csv(tmp_path / "sim/truth/invitro_curves_long384_SIMULATED.csv")
    m = fits.merge(truth, on=["line", "drug"])
    t = m[m["drug"] == "T-DXd"]
    assert len(t) == 2 and ((t["ic50_lo"] <= t["e"]) & (t["e"] <= t["ic50_hi"])).all()


def test_bad_plates_stop_with_status_1_and_every_problem_listed(tmp_path, capsys):
    d = tmp_path / "in"
    d.mkdir()
    src = ROOT / "data/demo/raw/invitro"
    shutil.copy(src / "plates_SIMULATED_gen5.txt", d)
    m = pd.read_csv(src / "platemap_SIMULATED.csv", dtype=str, keep_default_na=False)
    m.loc[(m["plate"] == "P01") & (m["well"] == "A03"), "conc"] = "333 nM"
    m = pd.concat([m, m.iloc[[5]]], ignore_index=True)
    m.to_csv(d / "platemap_SIMULATED.csv", index=False)
    cfg = load_config(ROOT / "config/config.yaml")
    cfg["invitro"]["inputs"] = [{"layout": "grid", "file": str(d / "plates_SIMULATED_gen5.txt"),
                                 "map": str(d / "platemap_SIMULATED.csv")}]
    out = tmp_path / "out"
    rc, _ = _run(cfg, out)
    assert rc == 1
    err = capsys.readouterr()
    text = err.out + err.err
    assert "invitro_plates: 5 problem(s) found (3 fail, 2 quarantine)." in text
    assert "1 x conc_not_number [fail]" in text and "2 x well_duplicated [fail]" in text
    assert "value '333 nM': plate P01, well A03: concentration of trastuzumab is text" in text
    assert "Traceback" not in text
    probs = pd.read_csv(out / "qc/invitro_problems_FAILED.csv")
    assert len(probs) == 5
    cfg["invitro"]["inputs"] = []
    assert _run(cfg, out)[0] == 2


@pytest.mark.e2e
def test_invitro_rules_run_under_snakemake(tmp_path):
    for item in ("Snakefile", "workflow", "config", "profiles"):
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / item)
    shutil.copytree(ROOT / "data/demo/raw", tmp_path / "data/demo/raw")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    targets = ["results/tables/invitro_ic50.csv", "results/tables/invitro_synergy.docx",
               "results/figures/invitro_plate_qc.png", "results/invitro/summary.json"]
    res = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", *targets],
                         cwd=tmp_path, capture_output=True, text=True, env=env, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    for t in targets:
        assert (tmp_path / t).is_file(), t
    log = (tmp_path / "logs/invitro_plates.log").read_text("utf-8")
    assert "1152 wells on 12 plates" in log
    # clinical-only: with analyses.invitro off no in-vitro job is planned
    cfg = (tmp_path / "config/config.yaml").read_text("utf-8")
    (tmp_path / "config/config.yaml").write_text(
        cfg.replace("  invitro: true", "  invitro: false"), "utf-8")
    res = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--forceall"],
                         cwd=tmp_path, capture_output=True, text=True, env=env, timeout=900)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "rule all" in res.stdout or "all " in res.stdout
    assert "invitro_plates" not in res.stdout and "invitro_fit" not in res.stdout


def test_invitro_outputs_are_removed_when_the_arm_is_switched_off(tmp_path):
    from her2cohort.stages.outputs import stale_outputs

    for f in ("tables/invitro_ic50.csv", "figures/invitro_synergy.png", "invitro/summary.json",
              "qc/invitro_problems.csv", "tables/table1.csv"):
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f).write_text("x", "utf-8")
    on = {"table1": True, "pcr": True, "her2_loss": True, "survival": True}
    assert stale_outputs(tmp_path, [], ["main"], {**on, "invitro": True}) == []
    stale = {str(p.relative_to(tmp_path)) for p in stale_outputs(
        tmp_path, [], ["main"], {**on, "invitro": False})}
    assert stale == {"tables/invitro_ic50.csv", "figures/invitro_synergy.png",
                     "invitro/summary.json", "qc/invitro_problems.csv"}
