"""her2cohort.stats.cox against R's survival::coxph / cox.zph / residuals / concordance.

Reference values are stored in tests/fixtures/r/cox/ and were produced by
tests/r/cox.R (R >= 4, survival >= 3.0) from the stored inputs (sim.csv =
cox_data.make_cox_sim(), gbsg2.csv = lifelines' GBSG2) and R's survival::lung.
``test_stored_reference_is_what_r_produces`` (marked rref) re-runs the script.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cox_data import FIXTURES, R_SCRIPT, load_gbsg2, make_cox_sim
from her2cohort.stats import survival as sv
from her2cohort.stats.cox import CoxModel, cox_table, cox_zph
from rref import rscript

RTOL = 5e-7  # project standard: 6 significant digits

CAT_SIM = {"arm": ["A", "B"], "stage": ["I", "II", "III"]}
CAT_GB = {"horTh": ["no", "yes"], "menostat": ["Pre", "Post"], "tgrade": ["I", "II", "III"]}
GB_ALL = ["horTh", "age", "menostat", "tsize", "tgrade", "pnodes", "progrec", "estrec"]
LUNG4 = ["age", "sex", "ph.ecog", "ph.karno"]

# model name in tests/r/cox.R -> (data, time, event, covariates, categorical, options)
SPECS = {
    "lung": ("lung", "time", "status", [*LUNG4, "wt.loss"], {}, {}),
    "lung_breslow": ("lung", "time", "status", LUNG4, {}, {"ties": "breslow"}),
    "lung_factor": ("lung", "time", "status", ["age", "sex", "ecog"], {"ecog": [0, 1, 2, 3]}, {}),
    "lung_robust": ("lung", "time", "status", ["age", "sex", "ph.ecog"], {}, {"robust": True}),
    "lung_cluster": ("lung", "time", "status", ["age", "sex", "ph.ecog"], {}, {"cluster": "inst"}),
    "gbsg2": ("gbsg2", "time", "cens", GB_ALL, CAT_GB, {}),
    "gbsg2_breslow": (
        "gbsg2", "time", "cens", ["horTh", "tsize", "tgrade", "pnodes"], CAT_GB,
        {"ties": "breslow"},
    ),
    "sim": ("sim", "time", "event", ["arm", "age", "stage", "er"], CAT_SIM, {}),
    "sim_strat": ("sim", "time", "event", ["arm", "age", "stage"], CAT_SIM, {"strata": "centre"}),
    "sim_weighted": ("sim", "time", "event", ["arm", "age", "stage"], CAT_SIM, {"weights": "iptw"}),
    "sim_weighted_strat": (
        "sim", "time", "event", ["arm", "age", "er"], CAT_SIM,
        {"weights": "iptw", "strata": "centre", "ties": "breslow"},
    ),
    "sim_breslow": (
        "sim", "time", "event", ["arm", "age", "stage", "er"], CAT_SIM, {"ties": "breslow"},
    ),
    "sim_cluster": ("sim", "time", "event", ["arm", "age", "stage"], CAT_SIM, {"cluster": "clu"}),
    "sim_infinite": ("sim", "time", "event", ["arm", "rare", "age"], CAT_SIM, {}),
    "sim_collinear": ("sim", "time", "event", ["arm", "age", "age_copy", "er"], CAT_SIM, {}),
}
REGULAR = [m for m in SPECS if m not in ("sim_infinite", "sim_collinear")]
RESID_MODELS = sorted({p.name.split("__")[0] for p in (FIXTURES / "resid").glob("*.csv")})
ZPH_Y = sorted(p.stem for p in (FIXTURES / "zph_y").glob("*.csv"))


@pytest.fixture(scope="module")
def data():
    lung = pd.read_csv(FIXTURES / "lung.csv")
    lung["ecog"] = lung["ph.ecog"]
    return {
        "lung": lung,
        "gbsg2": pd.read_csv(FIXTURES / "gbsg2.csv"),
        "sim": pd.read_csv(FIXTURES / "sim.csv"),
    }


@pytest.fixture(scope="module")
def ref():
    return {
        "coef": pd.read_csv(FIXTURES / "coef.csv"),
        "model": pd.read_csv(FIXTURES / "model.csv").set_index("model"),
        "zph": pd.read_csv(FIXTURES / "zph.csv"),
    }


_FITS: dict[str, object] = {}


def fit_model(data, name):
    if name not in _FITS:
        dname, t, e, cov, cat, opts = SPECS[name]
        opts = dict(opts)
        ties = opts.pop("ties", "efron")
        cat = {k: v for k, v in cat.items() if k in cov}
        _FITS[name] = CoxModel(ties=ties).fit(data[dname], t, e, cov, categorical=cat, **opts)
    return _FITS[name]


def r_term(term: str) -> str:
    """Our col[level] -> R's pasted factor name."""
    m = re.fullmatch(r"(.+)\[(.+)\]", term)
    return m.group(1) + m.group(2) if m else term


def assert_rel(ours, theirs, rtol=RTOL, what=""):
    a = np.asarray(ours, dtype=float)
    b = np.asarray(theirs, dtype=float)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=f"{what}: NaN pattern")
    ok = ~np.isnan(b)
    np.testing.assert_allclose(a[ok], b[ok], rtol=rtol, atol=0, err_msg=what)


def assert_scaled(ours, theirs, rtol=RTOL, what=""):
    """Elementwise |a - b| <= rtol * max|b| (residuals: near-zero entries have no rel. error)."""
    a = np.asarray(ours, dtype=float)
    b = np.asarray(theirs, dtype=float)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=f"{what}: NaN pattern")
    ok = ~np.isnan(b)
    scale = np.max(np.abs(b[ok]))
    np.testing.assert_allclose(a[ok], b[ok], rtol=0, atol=rtol * scale, err_msg=what)


# ---------------------------------------------------------------------------
# stored inputs are what the generators make
# ---------------------------------------------------------------------------
def test_stored_inputs_match_generators():
    sim = pd.read_csv(FIXTURES / "sim.csv")
    pd.testing.assert_frame_equal(sim, make_cox_sim(), check_dtype=False)
    gb = pd.read_csv(FIXTURES / "gbsg2.csv")
    pd.testing.assert_frame_equal(gb, load_gbsg2(), check_dtype=False)
    # the data exercise what we rely on
    assert sim["time"].duplicated().sum() > 100
    assert (sim["iptw"] != np.floor(sim["iptw"])).mean() > 0.9
    assert sim.loc[sim["rare"] == 1, "event"].sum() == 0 < sim["rare"].sum()


# ---------------------------------------------------------------------------
# coefficients, tests, concordance
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(SPECS))
def test_coefficients_match_summary_coxph(data, ref, name):
    fit = fit_model(data, name)
    s = fit.summary()
    r = ref["coef"][ref["coef"]["model"] == name].reset_index(drop=True)
    assert [r_term(t) for t in s["term"]] == list(r["term"])
    assert_rel(s["coef"], r["coef"], what=f"{name} coef")
    if name in ("sim_infinite", "sim_collinear"):
        return  # checked in the undefined-case tests
    for col in ("se", "robust_se", "z", "p", "lower", "upper"):
        assert_rel(s[col], r[col], what=f"{name} {col}")
    assert_rel(s["hr"], np.exp(r["coef"]), what=f"{name} hr")
    robust = not r["robust_se"].isna().all()
    assert fit.robust == robust
    assert set(s["test"]) == {"Wald (robust se)" if robust else "Wald"}
    assert s["ci_method"].str.startswith("Wald").all()
    assert (s["warning"] == "").all()


@pytest.mark.parametrize("name", list(SPECS))
def test_model_tests_n_and_concordance(data, ref, name):
    fit = fit_model(data, name)
    m = ref["model"].loc[name]
    assert fit.n == m["n"] and fit.nevent == m["nevent"]
    assert fit.n_total - fit.n == m["n_na"]
    assert_rel(fit.loglik, [m["loglik0"], m["loglik"]], rtol=1e-10, what="loglik")
    tests = fit.tests().set_index("test")
    wald = "Wald (robust se)" if fit.robust else "Wald"
    rows = [("likelihood ratio", "lr"), (wald, "wald"), ("score (log-rank)", "score")]
    if fit.robust:
        rows.append(("robust score", "rscore"))
    assert len(tests) == len(rows)
    for ours, theirs in rows:
        assert_rel(tests.loc[ours, "statistic"], m[theirs], what=f"{name} {theirs}")
        assert_rel(tests.loc[ours, "p"], m[f"{theirs}_p"], what=f"{name} {theirs} p")
        assert tests.loc[ours, "df"] == m["lr_df"]
    c = fit.concordance()
    for ours, theirs in [
        ("concordant", "concordant"), ("discordant", "discordant"), ("tied.x", "tied_x"),
        ("tied.y", "tied_y"), ("tied.xy", "tied_xy"), ("concordance", "concordance"),
        ("std", "concordance_se"),
    ]:
        assert_rel(c[ours], m[theirs], what=f"{name} concordance {ours}")


def test_very_small_p_values_are_exact(data, ref):
    """GBSG2 and lung give p-values far below 1e-6: compared relatively, not to 0."""
    p = ref["model"][["lr_p", "wald_p", "score_p"]].to_numpy().ravel()
    assert p.min() < 1e-15
    fit = fit_model(data, "gbsg2")
    tests = fit.tests().set_index("test")
    assert_rel(tests.loc["likelihood ratio", "p"], ref["model"].loc["gbsg2", "lr_p"])


def test_na_omit_reports_counts(data):
    fit = fit_model(data, "lung")
    lung = data["lung"]
    assert fit.n_total == len(lung) == 228
    assert fit.n_missing["wt.loss"] == int(lung["wt.loss"].isna().sum()) == 14
    assert fit.n_missing["ph.karno"] == 1 and fit.n_missing["time"] == 0
    assert fit.n == int(lung[["age", "sex", "ph.ecog", "ph.karno", "wt.loss"]].notna()
                        .all(axis=1).sum())


# ---------------------------------------------------------------------------
# undefined cases
# ---------------------------------------------------------------------------
def test_infinite_coefficient_is_flagged_not_reported(data, ref):
    fit = fit_model(data, "sim_infinite")
    s = fit.summary().set_index("term")
    r = ref["coef"][ref["coef"]["model"] == "sim_infinite"].set_index("term")
    # R also warns (stored text)
    rwarn = pd.read_csv(FIXTURES / "warnings.csv")["warning"].iloc[0]
    assert "coefficient may be infinite" in rwarn and "variable  2" in rwarn
    assert "may be infinite" in s.loc["rare", "warning"]
    assert s.loc["rare", ["se", "z", "p", "lower", "upper"]].isna().all()
    assert r.loc["rare", "se"] > 100  # R's fake-looking number we refuse to show
    assert any("'rare'" in w for w in fit.warnings)
    # the estimable terms and the LR test are R's
    for t in ("arm[B]", "age"):
        rt = r_term(t)
        for col in ("coef", "se", "lower", "upper", "p"):
            assert_rel(s.loc[t, col], r.loc[rt, col], what=f"{t} {col}")
        assert s.loc[t, "warning"] == ""
    m = ref["model"].loc["sim_infinite"]
    tests = fit.tests().set_index("test")
    assert_rel(tests.loc["likelihood ratio", "statistic"], m["lr"])
    assert "infinite" in tests.loc["Wald", "warning"]


def test_collinear_covariate_is_na_with_message(data, ref):
    fit = fit_model(data, "sim_collinear")
    s = fit.summary().set_index("term")
    assert np.isnan(s.loc["age_copy", "coef"]) and np.isnan(s.loc["age_copy", "se"])
    assert "age_copy" in s.loc["age_copy", "warning"] and "collinear" in s.loc["age_copy", "warning"]
    r = ref["coef"][ref["coef"]["model"] == "sim_collinear"].set_index("term")
    assert np.isnan(r.loc["age_copy", "coef"])
    for t in ("arm[B]", "age", "er"):
        for col in ("coef", "se", "p", "lower", "upper"):
            assert_rel(s.loc[t, col], r.loc[r_term(t), col], what=f"{t} {col}")
    assert fit.tests()["df"].iloc[0] == 3


def test_constant_covariate_and_no_events():
    d = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6.0], "e": [1, 0, 1, 1, 0, 1], "c": 2.0,
                      "x": [0.5, 1, 3, 2, 1, 0]})
    fit = CoxModel().fit(d, "t", "e", ["x", "c"])
    s = fit.summary().set_index("term")
    assert np.isnan(s.loc["c", "coef"]) and "'c'" in s.loc["c", "warning"]
    assert np.isfinite(s.loc["x", "coef"])
    with pytest.raises(ValueError, match="no events"):
        CoxModel().fit(d.assign(e=0), "t", "e", ["x"])
    with pytest.raises(ValueError, match="ties"):
        CoxModel(ties="exact")


# ---------------------------------------------------------------------------
# residuals
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", RESID_MODELS)
@pytest.mark.parametrize("kind", ["martingale", "score", "schoenfeld", "scaledsch", "dfbeta"])
def test_residuals_match_residuals_coxph(data, name, kind):
    fit = fit_model(data, name)
    r = pd.read_csv(FIXTURES / "resid" / f"{name}__{kind}.csv")
    ours = fit.residuals(kind)
    if kind == "martingale":
        assert_scaled(ours.to_numpy(), r["martingale"], what=f"{name} {kind}")
        return
    if kind in ("schoenfeld", "scaledsch"):
        ours = ours.drop(columns=["time", "stratum"])
    assert [r_term(c) for c in ours.columns] == list(r.columns)
    for c_ours, c_r in zip(ours.columns, r.columns, strict=True):
        assert_scaled(ours[c_ours], r[c_r], what=f"{name} {kind} {c_ours}")


def test_schoenfeld_sum_to_score_and_martingale_sum_zero(data):
    fit = fit_model(data, "sim_strat")
    # at the MLE the score is zero: Schoenfeld residuals sum to ~0, as do score residuals
    np.testing.assert_allclose(fit.residuals("schoenfeld").iloc[:, 2:].sum(), 0, atol=1e-9)
    np.testing.assert_allclose(fit.residuals("score").sum(), 0, atol=1e-9)
    np.testing.assert_allclose(fit.residuals("martingale").sum(), 0, atol=1e-9)


# ---------------------------------------------------------------------------
# cox.zph
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", [m for m in SPECS if m != "sim_infinite"])
@pytest.mark.parametrize("transform", ["km", "rank", "identity"])
@pytest.mark.parametrize("terms", [True, False])
def test_cox_zph_table(data, ref, name, transform, terms):
    fit = fit_model(data, name)
    z = cox_zph(fit, transform=transform, terms=terms)
    zr = ref["zph"]
    r = zr[(zr["model"] == name) & (zr["transform"] == transform) & (zr["terms"] == terms)]
    assert [r_term(t) for t in z.table["term"]] == list(r["term"])
    assert_rel(z.table["chisq"], r["chisq"], what=f"{name} {transform} chisq")
    assert_rel(z.table["p"], r["p"], what=f"{name} {transform} p")
    np.testing.assert_array_equal(z.table["df"], r["df"])
    assert z.table["test"].str.contains("cox.zph").all()


@pytest.mark.parametrize("stem", ZPH_Y)
def test_cox_zph_scaled_residuals(data, stem):
    name, transform = stem.split("__")
    z = cox_zph(fit_model(data, name), transform=transform)
    r = pd.read_csv(FIXTURES / "zph_y" / f"{stem}.csv")
    assert_rel(z.time, r["time"], what="time")
    assert_scaled(z.x, r["x"], rtol=1e-12 if transform == "identity" else RTOL, what="x")
    ycols = [c for c in r.columns if c.startswith("y:")]
    assert [f"y:{r_term(c)}" for c in z.y.columns] == ycols
    for c, rc in zip(z.y.columns, ycols, strict=True):
        assert_scaled(z.y[c], r[rc], what=f"{stem} {c}")


def test_cox_zph_callable_transform_equals_identity(data):
    fit = fit_model(data, "sim")
    a = cox_zph(fit, transform="identity").table
    b = cox_zph(fit, transform=lambda t: 2 * t + 7).table  # affine: same test
    np.testing.assert_allclose(a["chisq"], b["chisq"], rtol=1e-10)


# ---------------------------------------------------------------------------
# checks without R
# ---------------------------------------------------------------------------
def test_score_test_equals_logrank_without_ties():
    rng = np.random.default_rng(7)
    n = 80
    g = rng.integers(0, 2, n)
    t = rng.exponential(10 / np.exp(0.6 * g)) + np.arange(n) * 1e-6  # distinct times
    e = (rng.uniform(size=n) < 0.7).astype(int)
    d = pd.DataFrame({"t": t, "e": e, "g": g})
    lr = sv.logrank(d, "t", "e", "g")
    for ties in ("efron", "breslow"):
        fit = CoxModel(ties=ties).fit(d, "t", "e", ["g"])
        score = fit.tests().set_index("test").loc["score (log-rank)", "statistic"]
        assert score == pytest.approx(lr["statistic"], rel=1e-10)


def test_breslow_and_efron_agree_without_ties_and_differ_with_ties(data):
    sim = data["sim"]
    a = CoxModel("efron").fit(sim, "time", "event", ["age"])
    b = CoxModel("breslow").fit(sim, "time", "event", ["age"])
    assert abs(a.coef[0] - b.coef[0]) > 1e-6  # many ties
    sim2 = sim.assign(time=sim["time"] + np.arange(len(sim)) * 1e-5)
    a = CoxModel("efron").fit(sim2, "time", "event", ["age"])
    b = CoxModel("breslow").fit(sim2, "time", "event", ["age"])
    assert a.coef[0] == pytest.approx(b.coef[0], rel=1e-12)


def test_integer_weights_equal_replicated_rows(data):
    sim = data["sim"].iloc[:120].copy()
    sim["w"] = np.arange(len(sim)) % 3 + 1
    rep = sim.loc[sim.index.repeat(sim["w"])]
    # Breslow only: R's (and our) Efron approximation with case weights uses the number
    # of tied deaths, not their summed weight, so it is not replication-invariant
    a = CoxModel("breslow").fit(sim, "time", "event", ["age", "er"], weights="w", robust=False)
    b = CoxModel("breslow").fit(rep, "time", "event", ["age", "er"])
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-10)
    np.testing.assert_allclose(a.var, b.var, rtol=1e-10)
    assert not a.robust
    assert CoxModel().fit(sim.assign(w=sim["w"] * 0.5), "time", "event", ["age"],
                          weights="w").robust  # non-integer weights -> robust, as R


def test_cox_table_univariable_and_multivariable(data):
    sim = data["sim"]
    tab = cox_table(sim, "time", "event", ["arm", "age", "stage"], categorical=CAT_SIM)
    assert list(tab["model"].unique()) == ["univariable", "multivariable"]
    uni = tab[tab["model"] == "univariable"]
    assert list(uni["term"]) == ["arm[A]", "arm[B]", "age", "stage[I]", "stage[II]", "stage[III]"]
    ref_rows = uni[uni["reference"]]
    assert (ref_rows["hr"] == 1).all() and ref_rows["p"].isna().all()
    one = CoxModel().fit(sim, "time", "event", ["age"]).summary().iloc[0]
    row = uni[uni["term"] == "age"].iloc[0]
    assert row["hr"] == one["hr"] and row["p"] == one["p"] and row["lower"] == one["lower"]
    multi = tab[tab["model"] == "multivariable"].set_index("term")
    full = fit_model(data, "sim").summary().set_index("term")  # includes er: differs
    assert multi.loc["arm[B]", "hr"] != full.loc["arm[B]", "hr"]
    assert (tab["test"] == "Wald").all() and tab["ci_method"].str.startswith("Wald").all()
    # NA handling per model: univariable n can exceed multivariable n
    lung = data["lung"]
    t2 = cox_table(lung, "time", "status", ["age", "wt.loss"])
    n = t2.groupby("model")["n"].first()
    assert n["univariable"] >= n["multivariable"] and (t2["n_total"] == 228).all()


def test_zph_figure_renders(data, tmp_path):
    from matplotlib.figure import Figure

    from her2cohort.render.zph_plot import zph_figure

    fit = fit_model(data, "gbsg2")
    z = cox_zph(fit)
    pv = dict(zip(z.table["term"], z.table["p"], strict=True))
    fig = zph_figure(z.x, z.y, pv, time=z.time, time_label="Days")
    assert isinstance(fig, Figure)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == z.y.shape[1] == 8
    assert "p" in axes[0].get_title() and "cox.zph" in axes[0].get_title()
    fig.savefig(tmp_path / "zph.png")
    assert (tmp_path / "zph.png").stat().st_size > 10_000
    with pytest.raises(ValueError, match="rows"):
        zph_figure(z.x[:-1], z.y)


# ---------------------------------------------------------------------------
# the stored R output is what R produces now
# ---------------------------------------------------------------------------
def _read_all(folder: Path) -> dict[str, pd.DataFrame]:
    return {str(p.relative_to(folder)): pd.read_csv(p) for p in sorted(folder.rglob("*.csv"))}


@pytest.mark.rref
def test_stored_reference_is_what_r_produces():
    exe = rscript()
    with tempfile.TemporaryDirectory(prefix="rref_cox_") as tmp:
        proc = subprocess.run(
            [exe, "--vanilla", str(R_SCRIPT), str(FIXTURES), tmp],
            capture_output=True, text=True, timeout=600, check=False,
        )
        assert proc.returncode == 0, proc.stderr
        new = _read_all(Path(tmp))
    stored = {k: v for k, v in _read_all(FIXTURES).items() if k not in ("sim.csv", "gbsg2.csv")}
    assert sorted(new) == sorted(stored)
    for name, frame in stored.items():
        other = new[name]
        assert list(frame.columns) == list(other.columns), name
        for c in frame.columns:
            if pd.api.types.is_numeric_dtype(frame[c]):
                np.testing.assert_allclose(other[c], frame[c], rtol=1e-12, atol=0,
                                           equal_nan=True, err_msg=f"{name}:{c}")
            else:
                assert list(other[c]) == list(frame[c]), f"{name}:{c}"


# ---------------------------------------------------------------------------
# adjusted survival curves (survfit.coxph)
# ---------------------------------------------------------------------------
NEWDATA = {
    "lung_breslow": pd.DataFrame({"age": [50, 70], "sex": [1, 2], "ph.ecog": [0, 2],
                                  "ph.karno": [90, 70]}, index=["1", "2"]),
    "gbsg2_breslow": pd.DataFrame({"horTh": ["no", "yes"], "tsize": [20, 40],
                                   "tgrade": ["II", "III"], "pnodes": [1, 8]}, index=["1", "2"]),
    "sim_strat": pd.DataFrame({"arm": ["A", "B"], "age": [45, 65], "stage": ["I", "III"]},
                              index=["1", "2"]),
}


@pytest.mark.parametrize(
    "name, kind",
    [("lung_breslow", "means"), ("lung_breslow", "new"), ("gbsg2_breslow", "new"),
     ("sim", "means"), ("sim_strat", "new")],
)
def test_survival_curves_match_survfit_coxph(data, name, kind):
    fit = fit_model(data, name)
    ours = fit.baseline_survival() if kind == "means" else fit.predict_survival(NEWDATA[name])
    r = pd.read_csv(FIXTURES / "survfit.csv", dtype={"curve": str, "stratum": str})
    r = r[(r["model"] == name) & ((r["curve"] == "means") == (kind == "means"))]
    ours = ours.assign(curve=ours["curve"].astype(str), stratum=ours["stratum"].astype(str))
    key = ["curve", "stratum", "time"]
    merged = ours.merge(r, on=key, suffixes=("", "_r"), how="outer", indicator=True)
    assert (merged["_merge"] == "both").all() and len(merged) == len(r)
    for col in ("n_risk", "n_event", "n_censor", "surv", "std_chaz", "cumhaz", "lower", "upper"):
        assert_rel(merged[col], merged[f"{col}_r"], what=f"{name} {kind} {col}")
    assert_rel(merged["std_err"], merged["surv"] * merged["std_chaz_r"], what="std_err")
    assert (ours["ci_method"].str.startswith("log")).all()


def test_times_equal_up_to_rounding_are_tied_as_r_aeqsurv():
    d = pd.DataFrame({"t": [0.1 + 0.2, 0.3, 0.5, 0.7, 0.9, 1.1], "e": [1, 1, 1, 0, 1, 1],
                      "x": [1.0, 0.0, 2.0, 1.0, 0.5, 3.0]})
    assert d["t"].iloc[0] != d["t"].iloc[1]
    a = CoxModel().fit(d, "t", "e", ["x"])
    b = CoxModel().fit(d.assign(t=[0.3, 0.3, 0.5, 0.7, 0.9, 1.1]), "t", "e", ["x"])
    assert a.coef[0] == pytest.approx(b.coef[0], rel=1e-12)


def test_survival_cox_uses_this_fit_and_reports_warnings(data):
    sim = data["sim"]
    out = sv.cox(sim, "time", "event", ["arm", "rare", "age"], categorical={"arm": ["A", "B"]})
    ours = fit_model(data, "sim_infinite").summary()
    np.testing.assert_array_equal(out["coef"], ours["coef"])
    row = out.set_index("term").loc["rare"]
    assert "may be infinite" in row["warning"]
    assert np.isnan(row[["lower", "upper", "p"]].astype(float)).all()
    assert list(out.columns[:12]) == ["term", "coef", "se", "hr", "lower", "upper", "z", "p",
                                      "test", "ci_method", "n", "events"]


def test_segment_sums_equal_one_reduceat_bit_for_bit():
    """_steps' risk-set sums: the chunked, transposed row products summed by segment are
    exactly np.add.reduceat of the products laid out row by row (the layout and the chunking
    change no bit of the Cox numbers)."""
    from her2cohort.stats.cox import _row_products, _segsum

    rng = np.random.default_rng(5)
    for n, p in ((50_000, 4), (3_000, 1), (70_000, 0)):
        x = rng.standard_normal((n, p))
        r = np.exp(rng.standard_normal(n))
        cuts = np.unique(np.r_[0, rng.integers(1, n, n // 20)])
        iu0, iu1 = np.triu_indices(p)
        nu = len(iu0)
        rows = np.column_stack([r, r[:, None] * x, (r[:, None] * x)[:, iu0] * x[:, iu1]])
        want = np.add.reduceat(np.ascontiguousarray(rows), cuts, axis=0)
        xt = np.ascontiguousarray(x.T)
        got = _segsum(lambda lo, hi: _row_products(r[lo:hi], xt[:, lo:hi], nu), n, cuts,
                      1 + p + nu)
        assert np.array_equal(got, want)
