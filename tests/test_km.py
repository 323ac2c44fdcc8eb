"""KM CI types, medians, stratified log-rank, risk table, RMST, weighted KM and landmark
analysis (her2cohort.stats.survival / km_summary) checked against R's survival package.

Reference values are stored in ``tests/fixtures/r/km/`` and were produced by
``tests/r/km.R`` (R survival 3.5-3) from the inputs in ``tests/fixtures/r/km/inputs``:
the simulated cohort of ``test_survival_vs_r.make_sim`` (+ a non-integer weight ``w``),
lifelines' GBSG2 (``lifelines.datasets.load_gbsg2``) and survival::lung (written by R).
``test_stored_fixtures_are_what_r_gives_now`` re-runs the script (marker ``rref``).
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from her2cohort.stats import km_summary as ks
from her2cohort.stats import survival as sv
from rref import rscript
from test_survival_vs_r import make_sim

HERE = Path(__file__).parent
FIX = HERE / "fixtures" / "r" / "km"
RTOL = 5e-7  # project standard: 6 significant digits
ATOL = 1e-12  # for values that are exactly 0

GROUPS = {"sim": "arm", "lung": "sex", "gbsg2": "horTh"}
STRATA = {"sim": "centre", "lung": "inst", "gbsg2": "tgrade"}
LANDMARKS = {"sim": [36, 60], "lung": [180, 365, 1100], "gbsg2": [1095, 1826]}
RISK_TIMES = {
    "sim": [0, 12, 24, 36, 48, 60, 72, 96, 120],
    "lung": [0, 100, 180, 365, 730, 1100],
    "gbsg2": [0, 365, 730, 1095, 1460, 1826, 2190, 2555, 3000],
}
TAUS = {"sim": [36, 60, 200], "lung": [365, 730], "gbsg2": [1826, 2555]}
LM_TIME = {"sim": 12, "lung": 90, "gbsg2": 365}


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(FIX / f"{name}.csv", keep_default_na=True)


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    sim = pd.read_csv(FIX / "inputs" / "sim.csv")
    gbsg = pd.read_csv(FIX / "inputs" / "gbsg2.csv").assign(
        event=lambda d: d["cens"], wi=lambda d: np.resize([1, 2, 3], len(d))
    )
    return {"sim": sim, "lung": _read("lung"), "gbsg2": gbsg}


def _order(df: pd.DataFrame, group: str) -> list:
    return sorted(pd.unique(df[group].dropna()))


def _close(ours, ref, what: str) -> None:
    np.testing.assert_allclose(
        np.asarray(ours, dtype=float), np.asarray(ref, dtype=float),
        rtol=RTOL, atol=ATOL, equal_nan=True, err_msg=what,
    )


def _r_groups(values: pd.Series) -> list[str]:
    return [str(v).split("=")[-1] for v in values]


def test_inputs_are_the_documented_data(data):
    sim = make_sim()
    pd.testing.assert_frame_equal(data["sim"].drop(columns="w"), sim, check_dtype=False)
    from lifelines.datasets import load_gbsg2

    g = load_gbsg2()
    pd.testing.assert_frame_equal(data["gbsg2"][list(g.columns)], g, check_dtype=False)
    assert len(data["lung"]) == 228 and data["lung"]["inst"].isna().sum() == 1
    assert (data["sim"]["w"] != np.round(data["sim"]["w"])).all()  # non-integer weights


# ---------------------------------------------------------------------------
# KM with each CI type
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("conf_type", sv.CONF_TYPES)
@pytest.mark.parametrize("name", list(GROUPS))
def test_km_table_each_conf_type_matches_survfit(data, name, conf_type):
    g = GROUPS[name]
    ours = sv.km_table(data[name], "time", "event", g, conf_type=conf_type)
    ref = _read("km")
    ref = ref[(ref["dataset"] == name) & (ref["conf_type"] == conf_type)]
    assert len(ours) == len(ref) > 50
    assert [str(x) for x in ours["group"]] == _r_groups(ref["group"])
    np.testing.assert_array_equal(ours["time"], ref["time"])
    for col in ("n_risk", "n_event", "n_censor"):
        np.testing.assert_array_equal(ours[col], ref[col], err_msg=col)
    for col in ("surv", "std_err", "lower", "upper"):
        _close(ours[col], ref[col], f"{name} {conf_type} {col}")
    assert set(ours["ci_method"]) == {sv.km_ci_method(conf_type)}
    assert conf_type.split("-")[0] in ours["ci_method"].iloc[0]


@pytest.mark.parametrize("conf_type", sv.CONF_TYPES)
@pytest.mark.parametrize("name", list(GROUPS))
def test_km_median_each_conf_type_matches_print_survfit(data, name, conf_type):
    ours = sv.km_median(data[name], "time", "event", GROUPS[name], conf_type=conf_type)
    ref = _read("median")
    ref = ref[(ref["dataset"] == name) & (ref["conf_type"] == conf_type)]
    assert [str(x) for x in ours["group"]] == _r_groups(ref["group"])
    np.testing.assert_array_equal(ours["n"], ref["n"])
    for col in ("median", "lower", "upper"):  # times of the data: exact
        np.testing.assert_array_equal(ours[col], ref[col], err_msg=f"{name} {conf_type} {col}")
    assert set(ours["ci_method"]) == {sv.km_median_ci_method(conf_type)}


def test_conf_types_give_different_intervals(data):
    """Guard: the three CI types really differ on these data (else the tests are weak)."""
    ref = _read("median")
    gb = ref[ref["dataset"] == "gbsg2"].set_index(["conf_type", "group"])
    limits = {ct: tuple(gb.loc[(ct, "no"), ["lower", "upper"]]) for ct in sv.CONF_TYPES}
    assert len(set(limits.values())) > 1  # the median CI depends on the CI type
    km = _read("km")
    a = km[(km["dataset"] == "sim") & (km["conf_type"] == "log")]["lower"].to_numpy()
    b = km[(km["dataset"] == "sim") & (km["conf_type"] == "plain")]["lower"].to_numpy()
    assert np.nanmax(np.abs(a - b)) > 1e-3


def test_conf_type_is_validated():
    d = pd.DataFrame({"time": [1, 2], "event": [1, 0]})
    with pytest.raises(ValueError, match="conf_type must be one of"):
        sv.km_table(d, "time", "event", conf_type="arcsin")


# ---------------------------------------------------------------------------
# summary table (median + landmark survival)
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("conf_type", sv.CONF_TYPES)
@pytest.mark.parametrize("name", list(GROUPS))
def test_km_summary_table_matches_r(data, name, conf_type):
    lms = LANDMARKS[name]
    ours = ks.km_summary_table(data[name], "time", "event", GROUPS[name], landmarks=lms,
                               conf_type=conf_type)
    med = _read("median")
    med = med[(med["dataset"] == name) & (med["conf_type"] == conf_type)]
    np.testing.assert_array_equal(ours["median"], med["median"])
    np.testing.assert_array_equal(ours["median_lower"], med["lower"])
    np.testing.assert_array_equal(ours["median_upper"], med["upper"])
    np.testing.assert_array_equal(ours["events"], med["events"])
    at = _read("km_at")
    at = at[(at["dataset"] == name) & (at["conf_type"] == conf_type)]
    n_checked = 0
    for _, r in at.iterrows():
        row = ours[[str(g) == r["group"].split("=")[-1] for g in ours["group"]]].iloc[0]
        key = f"{r['time']:g}"
        for suffix, col in (("", "surv"), ("_lower", "lower"), ("_upper", "upper")):
            _close(row[f"surv_{key}{suffix}"], r[col], f"{name} {key} {col}")
        assert row[f"n_risk_{key}"] == r["n_risk"]
        n_checked += 1
    assert n_checked == len(at) >= 4
    # lung 1100 days is beyond follow-up of one group: R drops it, we give NaN
    if name == "lung":
        assert ours["surv_1100"].notna().sum() == (at["time"] == 1100).sum() < len(ours)
    assert (ours["n_total"] == len(data[name])).all()


def test_km_summary_table_drops_missing_and_counts(data):
    d = data["lung"]
    out = ks.km_summary_table(d, "time", "event", "inst", landmarks=[180])
    assert (out["n_missing"] == 1).all() and out["n"].sum() == 227


# ---------------------------------------------------------------------------
# log-rank: stratified, na.omit, observed / expected
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("stratified", [False, True])
@pytest.mark.parametrize("name", list(GROUPS))
def test_logrank_matches_survdiff(data, name, stratified):
    st = STRATA[name] if stratified else None
    res = sv.logrank(data[name], "time", "event", GROUPS[name], strata=st)
    key = st or "none"
    ref = _read("logrank").set_index(["dataset", "strata"]).loc[(name, key)]
    _close(res["statistic"], ref["chisq"], "chisq")
    _close(res["p"], ref["p"], "p")
    assert res["df"] == ref["df"] == 1
    assert res["n_used"] == ref["n_used"]
    assert res["n_missing"] == res["n_total"] - res["n_used"]
    assert ("stratified" in res["test"]) == stratified
    oe = _read("logrank_oe")
    oe = oe[(oe["dataset"] == name) & (oe["strata"] == key)]
    tab = res["table"]
    assert [str(g) for g in tab["group"]] == _r_groups(oe["group"])
    np.testing.assert_array_equal(tab["n"], oe["n"])
    np.testing.assert_array_equal(tab["observed"], oe["observed"])
    _close(tab["expected"], oe["expected"], "expected")
    _close(tab["oe2_over_v"], (oe["observed"] - oe["expected"]) ** 2 / oe["var_diag"], "O-E^2/V")


def test_logrank_na_omit_counts_match_survdiff(data):
    d = data["sim"].copy()
    d.loc[[2, 16, 39], "time"] = np.nan
    d.loc[[7, 54], "arm"] = None
    d.loc[89, "centre"] = None
    res = sv.logrank(d, "time", "event", "arm", strata="centre")
    ref = _read("logrank_na")
    assert res["n_used"] == ref["n_used"].iloc[0] == 294
    assert res["n_missing"] == 6 and res["n_total"] == 300
    _close(res["statistic"], ref["chisq"].iloc[0], "chisq")
    _close(res["p"], ref["p"].iloc[0], "p")
    np.testing.assert_array_equal(res["table"]["observed"], ref["observed"])
    _close(res["table"]["expected"], ref["expected"], "expected")


def test_logrank_refuses_undefined_tests():
    # every subject has the event at the same time: zero variance (R: solve() singular)
    d = pd.DataFrame({"time": [5, 5, 5, 5], "event": [1, 1, 1, 1], "g": [1, 1, 2, 2]})
    with pytest.raises(ValueError, match="singular"):
        sv.logrank(d, "time", "event", "g")
    # one group (R: "There is only 1 group")
    d = pd.DataFrame({"time": [1, 2, 3], "event": [1, 0, 1], "g": [1, 1, 1]})
    with pytest.raises(ValueError, match="fewer than 2 levels"):
        sv.logrank(d, "time", "event", "g")
    # no events: R gives chisq 0 on -1 df, p NA -> NaN with a warning, never p = 1
    d = pd.DataFrame({"time": [1, 2, 3, 4], "event": [0, 0, 0, 0], "g": [1, 1, 2, 2]})
    res = sv.logrank(d, "time", "event", "g")
    assert np.isnan(res["statistic"]) and np.isnan(res["p"])
    assert "undefined" in res["warning"]


# ---------------------------------------------------------------------------
# risk table, RMST, weighted KM, landmark
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(GROUPS))
def test_risk_table_matches_summary_times(data, name):
    ours = ks.risk_table(data[name], "time", "event", GROUPS[name], RISK_TIMES[name])
    ref = _read("risk")
    ref = ref[ref["dataset"] == name]
    assert len(ours) == len(ref)
    assert [str(g) for g in ours["group"]] == _r_groups(ref["group"])
    for col in ("time", "n_risk", "n_event", "n_censor"):
        np.testing.assert_array_equal(ours[col], ref[col], err_msg=col)
    # survminer's cumulative columns; with times reaching past follow-up all are counted
    last = ours.groupby("group").tail(1)
    n = data[name].groupby(GROUPS[name]).size()
    assert list(last["cum_events"] + last["cum_censored"]) == list(n)


@pytest.mark.parametrize("name", list(GROUPS))
def test_rmst_matches_survfit_rmean(data, name):
    ref = _read("rmean")
    for tau in TAUS[name]:
        ours = ks.rmst(data[name], "time", "event", GROUPS[name], tau)
        r = ref[(ref["dataset"] == name) & (ref["tau"] == tau)]
        assert [str(g) for g in ours["group"]] == _r_groups(r["group"])
        _close(ours["rmst"], r["rmean"], f"{name} {tau} rmean")
        _close(ours["se"], r["se"], f"{name} {tau} se")
        _close(ours["lower"], r["rmean"] - sv.Z95 * r["se"], "lower")
    beyond = ks.rmst(data["sim"], "time", "event", "arm", 200)
    assert beyond["warning"].str.contains("beyond last follow-up").all()


def test_rmst_difference_normal_approximation(data):
    out = ks.rmst_difference(data["lung"], "time", "event", "sex", 365).iloc[0]
    r = _read("rmean")
    r = r[(r["dataset"] == "lung") & (r["tau"] == 365)]
    diff = r["rmean"].iloc[1] - r["rmean"].iloc[0]
    se = np.sqrt((r["se"] ** 2).sum())
    _close(out["diff"], diff, "diff")
    _close(out["se"], se, "se")
    from scipy.stats import norm

    _close(out["p"], 2 * norm.sf(abs(diff / se)), "p")
    assert out["contrast"] == "2 - 1"
    assert "independent groups" in out["test"] and "independent groups" in out["ci_method"]
    with pytest.raises(ValueError, match="exactly 2 groups"):
        ks.rmst_difference(data["sim"], "time", "event", "stage", 36)


@pytest.mark.parametrize("conf_type", ["log", "log-log"])
@pytest.mark.parametrize("name, group, weights", [("sim_w", "arm", "w"),
                                                   ("gbsg2_wi", "horTh", "wi")])
def test_weighted_km_matches_survfit_weights(data, name, group, weights, conf_type):
    from her2cohort.stats.weighting import weighted_km

    d = data["sim"] if name == "sim_w" else data["gbsg2"]
    ours = weighted_km(d, "time", "event", weights, group, conf_type=conf_type)
    ref = _read("weighted_km")
    ref = ref[(ref["dataset"] == name) & (ref["conf_type"] == conf_type)]
    assert len(ours) == len(ref)
    for col in ("time", "n_risk", "n_event", "surv", "std_err", "lower", "upper"):
        _close(ours[col], ref[col], f"{name} {col}")
    expected = "infinitesimal-jackknife" if name == "sim_w" else "Greenwood, frequency"
    assert expected in ours["ci_method"].iloc[0]


@pytest.mark.parametrize("name", list(GROUPS))
def test_landmark_matches_r_subset(data, name):
    g = GROUPS[name]
    res = ks.landmark(data[name], "time", "event", g, LM_TIME[name])
    ref = _read("landmark_km")
    ref = ref[ref["dataset"] == name]
    km = res["km"]
    assert len(km) == len(ref)
    np.testing.assert_array_equal(km["time"], ref["time"])
    np.testing.assert_array_equal(km["n_risk"], ref["n_risk"])
    for col in ("surv", "std_err", "lower", "upper"):
        _close(km[col], ref[col], f"{name} landmark {col}")
    med = _read("landmark_median")
    med = med[med["dataset"] == name]
    for col in ("median", "lower", "upper"):
        np.testing.assert_array_equal(res["median"][col], med[col])
    lr = _read("landmark_logrank").set_index("dataset").loc[name]
    _close(res["logrank"]["statistic"], lr["chisq"], "chisq")
    _close(res["logrank"]["p"], lr["p"], "p")
    c = res["counts"]
    assert c["at_landmark"].sum() == lr["n"] == len(res["data"])
    assert (c["event_before"] + c["censored_before"] + c["at_landmark"] == c["n"]).all()
    assert (res["data"]["time"] > 0).all()


def test_landmark_counts_by_hand():
    d = pd.DataFrame({"time": [1, 2, 3, 3, 5, 8], "event": [1, 0, 1, 0, 1, 0],
                      "g": ["a", "a", "b", "b", "a", "b"]})
    res = ks.landmark(d, "time", "event", "g", 3)
    c = res["counts"].set_index("group")
    assert c.loc["a"].tolist() == [3, 1, 1, 1] and c.loc["b"].tolist() == [3, 1, 1, 1]
    assert sorted(res["data"]["time"]) == [2.0, 5.0]


# ---------------------------------------------------------------------------
# stored reference values are what R produces now
# ---------------------------------------------------------------------------
@pytest.mark.rref
def test_stored_fixtures_are_what_r_gives_now():
    exe = rscript()
    with tempfile.TemporaryDirectory(prefix="rref_km_") as tmp:
        proc = subprocess.run(
            [exe, "--vanilla", str(HERE / "r" / "km.R"), str(FIX / "inputs"), tmp],
            capture_output=True, text=True, timeout=600, check=False,
        )
        assert proc.returncode == 0, proc.stderr
        fresh = sorted(p.name for p in Path(tmp).glob("*.csv"))
        assert fresh == sorted(p.name for p in FIX.glob("*.csv"))
        for name in fresh:
            new = pd.read_csv(Path(tmp) / name)
            old = pd.read_csv(FIX / name)
            pd.testing.assert_frame_equal(new, old, check_exact=False, rtol=1e-12, atol=0)


@pytest.mark.parametrize("conf_type", sv.CONF_TYPES)
def test_edge_cases_each_conf_type(conf_type):
    """S = 1 rows, an event at time 0, curves reaching 0, a median on a 0.5 plateau."""
    edge = pd.read_csv(FIX / "inputs" / "edge.csv")
    ours = sv.km_table(edge, "time", "event", "g", conf_type=conf_type)
    ref = _read("edge_km")
    ref = ref[ref["conf_type"] == conf_type]
    assert list(ours["group"]) == list(ref["group"])
    np.testing.assert_array_equal(ours["time"], ref["time"])
    for col in ("surv", "std_err", "lower", "upper"):
        _close(ours[col], ref[col], f"edge {conf_type} {col}")
    assert ours["lower"].isna().any()  # S = 0 rows: undefined, as R
    med = sv.km_median(edge, "time", "event", "g", conf_type=conf_type)
    rm = _read("edge_median")
    rm = rm[rm["conf_type"] == conf_type]
    for col in ("median", "lower", "upper"):
        np.testing.assert_array_equal(med[col], rm[col], err_msg=f"edge {conf_type} {col}")
