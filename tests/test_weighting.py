"""IPTW (her2cohort.stats.weighting) checked against R.

Reference values in ``tests/fixtures/r/weighting/`` come from ``tests/r/weighting.R``:
``glm(family = binomial)`` propensity scores, ATE / stabilised weights, truncation at the
1st/99th percentiles (``quantile`` type 7), and weighted SMDs computed by hand in R with
``weighted.mean`` and the tableone / survey variance (sum w (x - m)^2 / sum w * n/(n - 1);
p (1 - p) for levels).  Data: lifelines' GBSG2 (hormone therapy as treatment, 3 values set
missing for na.omit) and the simulated cohort of ``test_survival_vs_r.make_sim``.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from her2cohort.stats import weighting as wt
from rref import rscript

HERE = Path(__file__).parent
INPUTS = HERE / "fixtures" / "r" / "km" / "inputs"
FIX = HERE / "fixtures" / "r" / "weighting"
RTOL = 5e-7
ATOL = 1e-12

SPECS = {
    "gbsg2": {
        "treatment": "horTh",
        "treated_level": "yes",
        "confounders": ["age", "tsize", "pnodes", "progrec", "estrec", "menostat", "tgrade"],
        "categorical": {"menostat": ["Pre", "Post"], "tgrade": ["I", "II", "III"]},
    },
    "sim": {
        "treatment": "arm",
        "treated_level": "B",
        "confounders": ["age", "er", "stage"],
        "categorical": {"stage": ["I", "II", "III"]},
    },
}


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(FIX / f"{name}.csv")


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    g = pd.read_csv(INPUTS / "gbsg2.csv")
    g.loc[[4, 9], "age"] = np.nan
    g.loc[19, "tgrade"] = None
    return {"gbsg2": g, "sim": pd.read_csv(INPUTS / "sim.csv")}


def _close(ours, ref, what: str) -> None:
    np.testing.assert_allclose(np.asarray(ours, float), np.asarray(ref, float), rtol=RTOL,
                               atol=ATOL, err_msg=what)


def _iptw(data, name, **kw):
    s = SPECS[name]
    return wt.iptw(data[name], s["treatment"], s["confounders"], s["categorical"],
                   treated_level=s["treated_level"], **kw)


@pytest.mark.parametrize("name", list(SPECS))
def test_propensity_scores_and_weights_match_r(data, name):
    ref = _read("ps")
    ref = ref[ref["dataset"] == name]
    raw = _iptw(data, name, stabilised=False)
    st = _iptw(data, name, stabilised=True)
    tr = _iptw(data, name, stabilised=True, truncate=(0.01, 0.99))
    np.testing.assert_array_equal(raw.index, ref["row"])
    np.testing.assert_array_equal(raw["treated"], ref["treated"])
    _close(raw["ps"], ref["ps"], "ps")
    _close(raw["weight"], ref["w"], "ATE weights")
    _close(st["weight"], ref["sw"], "stabilised weights")
    _close(tr["weight"], ref["swt"], "truncated stabilised weights")
    _close(tr["weight_raw"], ref["sw"], "weights before truncation")
    t = _read("truncation").set_index("dataset").loc[name]
    _close(tr.attrs["truncation_bounds"], [t["lower"], t["upper"]], "bounds")
    assert tr.attrs["n_truncated"] == t["n_truncated"] > 0
    assert raw.attrs["n_used"] == t["n_used"] and raw.attrs["n_missing"] == t["n_missing"]
    assert raw.attrs["n_total"] == len(data[name])
    assert "stabilised" in st.attrs["weight_method"]
    assert "truncated" in tr.attrs["weight_method"]
    # stabilised weights average about 1 in each arm (Hernan & Robins)
    assert abs(st["weight"].mean() - 1) < 0.05


@pytest.mark.parametrize("name", list(SPECS))
def test_propensity_coefficients_match_glm(data, name):
    ref = _read("coef")
    ref = ref[ref["dataset"] == name]
    ours = _iptw(data, name).attrs["coefficients"]
    rename = {}
    for var, levels in SPECS[name]["categorical"].items():
        for lv in levels[1:]:
            rename[f"{var}{lv}"] = f"{var}[{lv}]"
    assert list(ours["term"]) == [rename.get(t, t) for t in ref["term"]]
    _close(ours["coef"], ref["coef"], "coef")
    _close(ours["se"], ref["se"], "se")


@pytest.mark.parametrize("weights", ["w", "sw", "swt"])
@pytest.mark.parametrize("name", list(SPECS))
def test_balance_table_matches_tableone_formulas(data, name, weights):
    s = SPECS[name]
    kw = {"stabilised": weights != "w"}
    if weights == "swt":
        kw["truncate"] = (0.01, 0.99)
    w = _iptw(data, name, **kw)
    d = data[name].join(w["weight"], how="inner")
    bal = wt.balance_table(d, s["treatment"], s["confounders"], s["categorical"],
                           weights="weight", treated_level=s["treated_level"])
    ref = _read("balance")
    ref = ref[ref["dataset"] == name]
    before = ref[ref["weights"] == "none"]
    after = ref[ref["weights"] == weights]
    key = [f"{v}|{'' if pd.isna(lv) else lv}" for v, lv in zip(before["variable"],
                                                                before["level"], strict=True)]
    ours_key = [f"{v}|{'' if lv is None else lv}" for v, lv in zip(bal["variable"],
                                                                    bal["level"], strict=True)]
    assert ours_key == key
    _close(bal["mean_treated"], before["m1"], "m1")
    _close(bal["mean_control"], before["m0"], "m0")
    _close(bal["smd_unweighted"], before["smd"], "smd before")
    _close(bal["mean_treated_weighted"], after["m1"], "weighted m1")
    _close(bal["mean_control_weighted"], after["m0"], "weighted m0")
    _close(bal["smd_weighted"], after["smd"], "smd after")
    assert (bal["imbalanced_unweighted"] == (before["smd"].to_numpy() > 0.1)).all()
    assert (bal["imbalanced_weighted"] == (after["smd"].to_numpy() > 0.1)).all()
    if name == "gbsg2":  # the data have imbalance that weighting removes
        assert bal["imbalanced_unweighted"].any() and not bal["imbalanced_weighted"].any()


def test_balance_without_weights_and_validation(data):
    s = SPECS["sim"]
    bal = wt.balance_table(data["sim"], s["treatment"], s["confounders"], s["categorical"],
                           treated_level="B")
    assert bal["smd_weighted"].isna().all() and bal["smd_unweighted"].notna().all()
    with pytest.raises(ValueError, match="not numeric"):
        wt.propensity_scores(data["sim"], "arm", ["stage"], treated_level="B")
    with pytest.raises(ValueError, match="treated_level"):
        wt.propensity_scores(data["sim"], "arm", ["age"], treated_level="C")
    sep = pd.DataFrame({"t": [0, 0, 0, 1, 1, 1], "x": [1, 2, 3, 4, 5, 6]})
    with pytest.raises(ValueError, match="separates"):
        wt.propensity_scores(sep, "t", ["x"])


def test_smd_by_hand():
    d = pd.DataFrame({"t": [1, 1, 1, 0, 0, 0], "x": [1.0, 2, 3, 2, 3, 4],
                      "w": [1.0, 1, 2, 1, 1, 1]})
    bal = wt.balance_table(d, "t", ["x"], weights="w").iloc[0]
    # unweighted: means 2 and 3, variances 1 and 1 -> SMD 1
    assert bal["smd_unweighted"] == pytest.approx(1.0)
    # weighted treated mean 9/4, var sum w(x-m)^2/sum w * 3/2 = (1.5625+0.0625+1.125)/4*1.5
    v1 = (1.5625 + 0.0625 + 2 * 0.5625) / 4 * 1.5
    assert bal["mean_treated_weighted"] == pytest.approx(2.25)
    assert bal["smd_weighted"] == pytest.approx(0.75 / np.sqrt((v1 + 1) / 2))


def test_love_plot_renders(tmp_path, data):
    from her2cohort.render.love_plot import love_plot

    s = SPECS["gbsg2"]
    w = _iptw(data, "gbsg2", truncate=(0.01, 0.99))
    d = data["gbsg2"].join(w["weight"], how="inner")
    bal = wt.balance_table(d, s["treatment"], s["confounders"], s["categorical"],
                           weights="weight", treated_level="yes")
    fig = love_plot(bal)
    ax = fig.axes[0]
    assert len(ax.get_yticklabels()) == len(bal)
    assert any(abs(line.get_xdata()[0] - 0.1) < 1e-12 for line in ax.get_lines()
               if len(set(line.get_xdata())) == 1)
    out = tmp_path / "love.png"
    fig.savefig(out, dpi=150)
    assert out.stat().st_size > 10_000
    with pytest.raises(ValueError, match="column"):
        love_plot(bal.drop(columns="smd_weighted"))


@pytest.mark.rref
def test_stored_fixtures_are_what_r_gives_now():
    exe = rscript()
    with tempfile.TemporaryDirectory(prefix="rref_wt_") as tmp:
        proc = subprocess.run(
            [exe, "--vanilla", str(HERE / "r" / "weighting.R"), str(INPUTS), tmp],
            capture_output=True, text=True, timeout=600, check=False,
        )
        assert proc.returncode == 0, proc.stderr
        fresh = sorted(p.name for p in Path(tmp).glob("*.csv"))
        assert fresh == sorted(p.name for p in FIX.glob("*.csv"))
        for name in fresh:
            pd.testing.assert_frame_equal(pd.read_csv(Path(tmp) / name),
                                          pd.read_csv(FIX / name), check_exact=False,
                                          rtol=1e-12, atol=0)
