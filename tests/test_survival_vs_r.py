"""her2cohort.stats.survival checked against R's survival package (and hand-computed values).

One Rscript call for the whole module (fixture ``r``).  Data sets:

* ``sim``  - simulated cohort (seeded numpy), n = 300, two arms, 3-level stage,
  3 centres, exponential times with uniform censoring, rounded up to whole
  months (many tied times, ties between events and censorings);
* ``lung`` - R's survival::lung (status recoded to 0/1), written out by R;
* ``aml``  - R's survival::aml, written out by R;
* ``edge`` - hand-made: censorings before the first event (S = 1 rows), a
  time-0 event, a curve reaching 0, and a curve exactly at 0.5 on a plateau
  (R's median midpoint rule).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from her2cohort.stats import survival as sv
from rref import run_r

KM_ATOL = 1e-8
COX_RTOL = 5e-7
LR_ATOL = 1e-8

KM_SPECS = {
    # dataset: (group column, group order)
    "sim": ("arm", ["A", "B"]),
    "sim3": ("stage", ["I", "II", "III"]),
    "lung": ("sex", [1, 2]),
    "aml": ("x", ["Maintained", "Nonmaintained"]),
    "edge": ("g", ["x", "y", "z"]),
    "edge_all": (None, None),
}
AT = {
    "sim": [0, 0.5, 1, 12, 36, 60, 115, 200],
    "lung": [0, 5, 180, 365, 730, 1022, 2000],
    "aml": [0, 5, 12, 48, 100, 161, 200],
    "edge": [0, 0.5, 1, 1.5, 2, 2.5, 4, 6, 9, 10],
}


def make_sim(seed: int = 20240611, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = rng.choice(["A", "B"], size=n)
    stage = rng.choice(["I", "II", "III"], size=n, p=[0.3, 0.45, 0.25])
    centre = rng.choice(["C1", "C2", "C3"], size=n)
    age = rng.integers(28, 80, size=n)
    er = rng.integers(0, 2, size=n)
    lp = (
        -0.5 * (arm == "B")
        + 0.3 * (stage == "II")
        + 0.8 * (stage == "III")
        + 0.02 * (age - 50)
        + 0.2 * er
    )
    t_event = rng.exponential(scale=60.0 / np.exp(lp))
    t_cens = rng.uniform(6, 120, size=n)
    time = np.ceil(np.minimum(t_event, t_cens))  # whole months -> ties
    event = (t_event <= t_cens).astype(int)
    return pd.DataFrame(
        {
            "time": time,
            "event": event,
            "arm": arm,
            "stage": stage,
            "centre": centre,
            "age": age,
            "er": er,
        }
    )


def make_edge() -> pd.DataFrame:
    rows = {
        # censored at 0 and 1 before any event, then events down to S = 0
        "x": ([0, 1, 1, 2, 3, 4, 5, 6], [0, 0, 0, 1, 1, 1, 1, 1]),
        # an event at time 0, censored tail
        "y": ([0, 1, 2, 3, 4, 5, 5, 8, 9, 9], [1, 1, 1, 0, 1, 1, 0, 0, 1, 0]),
        # S = 0.75, 0.5, 0.25, 0 -> R median = (2 + 3) / 2
        "z": ([1, 2, 3, 4], [1, 1, 1, 1]),
    }
    return pd.DataFrame(
        [
            {"time": float(t), "event": e, "g": g}
            for g, (ts, es) in rows.items()
            for t, e in zip(ts, es, strict=True)
        ]
    )


R_CODE = r"""
sim  <- rref_in("sim")
sim$arm   <- factor(sim$arm, levels = c("A", "B"))
sim$stage <- factor(sim$stage, levels = c("I", "II", "III"))
edge <- rref_in("edge")
lung2 <- data.frame(time = lung$time, event = lung$status - 1, sex = lung$sex,
                    age = lung$age, ph.ecog = lung$ph.ecog, ph.karno = lung$ph.karno)
aml2 <- data.frame(time = aml$time, event = aml$status, x = as.character(aml$x))
rref_out(lung2, "lung")
rref_out(aml2, "aml")

data_sets <- list(sim = sim, sim3 = sim, lung = lung2, aml = aml2, edge = edge, edge_all = edge)
groups <- c(sim = "arm", sim3 = "stage", lung = "sex", aml = "x", edge = "g", edge_all = NA)
at <- list(sim = c(0, 0.5, 1, 12, 36, 60, 115, 200), lung = c(0, 5, 180, 365, 730, 1022, 2000),
           aml = c(0, 5, 12, 48, 100, 161, 200), edge = c(0, 0.5, 1, 1.5, 2, 2.5, 4, 6, 9, 10))

grp_of <- function(s, n) if (is.null(s)) rep("all", n) else sub("^[^=]*=", "", as.character(s))

km <- list(); kmat <- list(); med <- list(); lr <- list(); oe <- list()
for (nm in names(data_sets)) {
  d <- data_sets[[nm]]
  g <- groups[[nm]]
  fml <- if (is.na(g)) Surv(time, event) ~ 1 else as.formula(paste("Surv(time, event) ~", g))
  f <- survfit(fml, data = d, conf.type = "log-log")
  s <- summary(f, censored = TRUE)
  km[[nm]] <- data.frame(dataset = nm, group = grp_of(s$strata, length(s$time)), time = s$time,
                         n_risk = s$n.risk, n_event = s$n.event, n_censor = s$n.censor,
                         surv = s$surv, std_err = s$std.err, lower = s$lower, upper = s$upper)
  if (!is.null(at[[nm]])) {
    sa <- summary(f, times = at[[nm]], extend = FALSE)
    kmat[[nm]] <- data.frame(dataset = nm, group = grp_of(sa$strata, length(sa$time)),
                             time = sa$time, n_risk = sa$n.risk, surv = sa$surv,
                             std_err = sa$std.err, lower = sa$lower, upper = sa$upper)
  }
  tab <- summary(f)$table
  if (is.null(dim(tab))) tab <- matrix(tab, nrow = 1, dimnames = list("all", names(tab)))
  med[[nm]] <- data.frame(dataset = nm, group = grp_of(if (is.na(g)) NULL else rownames(tab), nrow(tab)),
                          n = tab[, "records"], events = tab[, "events"], median = tab[, "median"],
                          lower = tab[, "0.95LCL"], upper = tab[, "0.95UCL"])
  if (!is.na(g)) {
    sd <- survdiff(fml, data = d)
    dfree <- sum(sd$exp > 0) - 1
    lr[[nm]] <- data.frame(dataset = nm, chisq = sd$chisq, df = dfree,
                           p = pchisq(sd$chisq, dfree, lower.tail = FALSE))
    oe[[nm]] <- data.frame(dataset = nm, group = grp_of(names(sd$n), length(sd$n)),
                           n = as.vector(sd$n), observed = sd$obs, expected = sd$exp)
  }
}
rref_out(do.call(rbind, km), "km")
rref_out(do.call(rbind, kmat), "km_at")
rref_out(do.call(rbind, med), "median")
rref_out(do.call(rbind, lr), "logrank")
rref_out(do.call(rbind, oe), "logrank_oe")

# reverse Kaplan-Meier median follow-up
rev <- list()
for (nm in c("sim", "lung", "aml")) {
  d <- data_sets[[nm]]
  tab <- summary(survfit(Surv(time, 1 - event) ~ 1, data = d, conf.type = "log-log"))$table
  rev[[nm]] <- data.frame(dataset = nm, median = tab[["median"]], lower = tab[["0.95LCL"]],
                          upper = tab[["0.95UCL"]])
}
rref_out(do.call(rbind, rev), "reverse_km")

# Cox models, Efron ties
lungcc <- na.omit(lung2)
models <- list(
  sim_strat = coxph(Surv(time, event) ~ arm + age + stage + strata(centre), data = sim, ties = "efron"),
  sim = coxph(Surv(time, event) ~ arm + age + stage + er, data = sim, ties = "efron"),
  lung = coxph(Surv(time, event) ~ age + sex + ph.ecog + ph.karno, data = lungcc, ties = "efron")
)
cx <- list(); cxm <- list()
for (nm in names(models)) {
  m <- models[[nm]]
  sm <- summary(m)
  cf <- sm$coefficients
  cx[[nm]] <- data.frame(model = nm, term = rownames(cf), coef = cf[, "coef"],
                         se = cf[, "se(coef)"], z = cf[, "z"], p = cf[, "Pr(>|z|)"],
                         lower = sm$conf.int[, "lower .95"], upper = sm$conf.int[, "upper .95"])
  cxm[[nm]] <- data.frame(model = nm, n = m$n, events = m$nevent, loglik0 = m$loglik[1],
                          loglik = m$loglik[2], lr = sm$logtest[["test"]],
                          lr_df = sm$logtest[["df"]], lr_p = sm$logtest[["pvalue"]])
}
rref_out(do.call(rbind, cx), "cox")
rref_out(do.call(rbind, cxm), "cox_model")
rref_out(lungcc, "lungcc")
"""


@pytest.fixture(scope="module")
def r():
    """All R reference results for this module (one Rscript call)."""
    return run_r(R_CODE, inputs={"sim": make_sim(), "edge": make_edge()})


@pytest.fixture(scope="module")
def datasets(r):
    sim = make_sim()
    edge = make_edge()
    return {
        "sim": sim,
        "sim3": sim,
        "lung": r["lung"],
        "aml": r["aml"],
        "edge": edge,
        "edge_all": edge,
    }


def _r_group(values: pd.Series, order: list | None) -> list:
    """R writes group labels as text; map back to the Python level objects."""
    if order is None:
        return ["all"] * len(values)
    lookup = {str(v): v for v in order}
    return [lookup[str(v)] for v in values]


def _assert_num(ours, theirs, atol=0.0, rtol=0.0, what=""):
    np.testing.assert_allclose(
        np.asarray(ours, dtype=float),
        np.asarray(theirs, dtype=float),
        atol=atol,
        rtol=rtol,
        equal_nan=True,
        err_msg=what,
    )


# ---------------------------------------------------------------------------
# checks against R
# ---------------------------------------------------------------------------
@pytest.mark.rref
@pytest.mark.parametrize("name", list(KM_SPECS))
def test_km_table_matches_survfit(r, datasets, name):
    group, order = KM_SPECS[name]
    ours = sv.km_table(datasets[name], "time", "event", group, group_order=order)
    ref = r["km"][r["km"]["dataset"] == name].reset_index(drop=True)
    assert len(ours) == len(ref) > 0
    assert list(ours["group"]) == _r_group(ref["group"], order)
    np.testing.assert_array_equal(ours["time"], ref["time"])
    for col in ("n_risk", "n_event", "n_censor"):
        np.testing.assert_array_equal(ours[col], ref[col], err_msg=col)
    for col in ("surv", "std_err", "lower", "upper"):
        _assert_num(ours[col], ref[col], atol=KM_ATOL, what=f"{name}: {col}")
    assert set(ours["ci_method"]) == {sv.KM_CI_METHOD}


@pytest.mark.rref
@pytest.mark.parametrize("name", list(AT))
def test_km_at_matches_summary_times(r, datasets, name):
    group, order = KM_SPECS[name]
    ours = sv.km_at(datasets[name], "time", "event", group, at=AT[name], group_order=order)
    assert len(ours) == len(order) * len(AT[name])
    ref = r["km_at"][r["km_at"]["dataset"] == name].copy()
    ref["group"] = _r_group(ref["group"], order)
    merged = ours.merge(ref, on=["group", "time"], how="left", suffixes=("", "_r"), indicator=True)
    # R (extend=FALSE) drops times beyond the last follow-up: we return NaN there
    dropped = merged["_merge"] == "left_only"
    assert dropped.any(), "test data should include a time beyond follow-up"
    assert merged.loc[dropped, ["surv", "lower", "upper", "std_err"]].isna().all().all()
    assert (merged.loc[dropped, "n_risk"] == 0).all()
    kept = merged[~dropped]
    assert len(kept) == len(ref)
    np.testing.assert_array_equal(kept["n_risk"], kept["n_risk_r"])
    for col in ("surv", "std_err", "lower", "upper"):
        _assert_num(kept[col], kept[f"{col}_r"], atol=KM_ATOL, what=f"{name}: {col}")


@pytest.mark.rref
@pytest.mark.parametrize("name", list(KM_SPECS))
def test_km_median_matches_print_survfit(r, datasets, name):
    group, order = KM_SPECS[name]
    ours = sv.km_median(datasets[name], "time", "event", group, group_order=order)
    ref = r["median"][r["median"]["dataset"] == name].reset_index(drop=True)
    assert list(ours["group"]) == _r_group(ref["group"], order)
    np.testing.assert_array_equal(ours["n"], ref["n"])
    np.testing.assert_array_equal(ours["events"], ref["events"])
    for col in ("median", "lower", "upper"):  # exact, NaN = not reached
        np.testing.assert_array_equal(ours[col], ref[col], err_msg=f"{name}: {col}")


@pytest.mark.rref
@pytest.mark.parametrize("name", [k for k, v in KM_SPECS.items() if v[0] is not None])
def test_logrank_matches_survdiff(r, datasets, name):
    group, order = KM_SPECS[name]
    ours = sv.logrank(datasets[name], "time", "event", group, group_order=order)
    ref = r["logrank"].set_index("dataset").loc[name]
    assert ours["test"] == "log-rank (Mantel-Haenszel)"
    assert ours["df"] == int(ref["df"]) == len(order) - 1
    _assert_num(ours["statistic"], ref["chisq"], atol=LR_ATOL, what="chisq")
    _assert_num(ours["p"], ref["p"], atol=LR_ATOL, rtol=1e-8, what="p")
    oe = r["logrank_oe"][r["logrank_oe"]["dataset"] == name]
    levels = _r_group(oe["group"], order)
    assert ours["groups"] == levels
    assert [ours["n"][lv] for lv in levels] == list(oe["n"])
    assert [ours["observed"][lv] for lv in levels] == list(oe["observed"])
    _assert_num([ours["expected"][lv] for lv in levels], oe["expected"], atol=1e-9)


COX_SPECS = {
    "sim_strat": {
        "data": "sim",
        "covariates": ["arm", "age", "stage"],
        "strata": ["centre"],
        "categorical": {"arm": ["A", "B"], "stage": ["I", "II", "III"]},
    },
    "sim": {
        "data": "sim",
        "covariates": ["arm", "age", "stage", "er"],
        "strata": None,
        "categorical": {"arm": ["A", "B"], "stage": ["I", "II", "III"]},
    },
    "lung": {
        "data": "lungcc",
        "covariates": ["age", "sex", "ph.ecog", "ph.karno"],
        "strata": None,
        "categorical": None,
    },
}
# R term names -> ours (R pastes factor name and level, we use col[level])
R_TERMS = {"armB": "arm[B]", "stageII": "stage[II]", "stageIII": "stage[III]"}


@pytest.mark.rref
@pytest.mark.parametrize("model", list(COX_SPECS))
def test_cox_matches_coxph_efron(r, datasets, model):
    spec = COX_SPECS[model]
    data = r["lungcc"] if spec["data"] == "lungcc" else datasets[spec["data"]]
    ours = sv.cox(
        data,
        "time",
        "event",
        spec["covariates"],
        strata=spec["strata"],
        categorical=spec["categorical"],
    )
    ref = r["cox"][r["cox"]["model"] == model].reset_index(drop=True)
    assert list(ours["term"]) == [R_TERMS.get(t, t) for t in ref["term"]]
    for col in ("coef", "se", "z", "p", "lower", "upper"):
        _assert_num(ours[col], ref[col], rtol=COX_RTOL, what=f"{model}: {col}")
    _assert_num(ours["hr"], np.exp(ref["coef"]), rtol=COX_RTOL)
    assert set(ours["test"]) == {"Wald"}
    assert set(ours["ci_method"]) == {sv.COX_CI_METHOD}

    m = r["cox_model"].set_index("model").loc[model]
    assert ours.attrs["n"] == m["n"] == ours["n"].iloc[0]
    assert ours.attrs["events"] == m["events"] == ours["events"].iloc[0]
    assert ours.attrs["lr_df"] == m["lr_df"]
    assert ours.attrs["lr_test"] == "likelihood ratio"
    _assert_num(ours.attrs["loglik"], m["loglik"], rtol=1e-9, what="loglik")
    _assert_num(ours.attrs["loglik_null"], m["loglik0"], rtol=1e-9, what="loglik0")
    _assert_num(ours.attrs["lr_statistic"], m["lr"], rtol=COX_RTOL, what="LR")
    _assert_num(ours.attrs["lr_p"], m["lr_p"], rtol=COX_RTOL, what="LR p")


@pytest.mark.rref
@pytest.mark.parametrize("name", ["sim", "lung", "aml"])
def test_reverse_km_followup_matches_r(r, datasets, name):
    ours = sv.reverse_km_followup(datasets[name], "time", "event")
    ref = r["reverse_km"].set_index("dataset").loc[name]
    assert ours["method"].startswith("reverse Kaplan-Meier")
    np.testing.assert_array_equal(
        [ours["median"], ours["lower"], ours["upper"]],
        [ref["median"], ref["lower"], ref["upper"]],
    )


@pytest.mark.rref
def test_reference_data_have_the_features_we_rely_on(r, datasets):
    """Guard: the R comparison is only meaningful if the data exercise ties etc."""
    sim = datasets["sim"]
    assert sim["time"].duplicated().sum() > 100  # many tied times
    tied = sim.groupby("time")["event"].nunique()
    assert (tied == 2).sum() > 10  # events and censorings at the same time
    assert 0.3 < sim["event"].mean() < 0.8
    assert len(datasets["lung"]) == 228 and len(r["lungcc"]) == 226
    med = r["median"].set_index(["dataset", "group"])
    assert med.loc[("edge", "z"), "median"] == 2.5  # midpoint rule exercised
    assert np.isnan(med["upper"]).any()  # a CI limit not reached


# ---------------------------------------------------------------------------
# hand-computed values (no R needed)
# ---------------------------------------------------------------------------
SMALL = pd.DataFrame(
    {
        "time": [1, 2, 2, 3, 4, 4, 5, 6, 6, 7],
        "event": [1, 1, 0, 1, 1, 1, 0, 1, 0, 1],
    }
)


def test_km_small_example_by_hand():
    tab = sv.km_table(SMALL, "time", "event")
    s = [9 / 10, 9 / 10 * 8 / 9, 0.8 * 6 / 7, 0.8 * 6 / 7 * 4 / 6]
    s = s + [s[-1], s[-1] * 2 / 3, 0.0]
    np.testing.assert_allclose(tab["surv"], s, rtol=1e-14)
    assert list(tab["n_risk"]) == [10, 9, 7, 6, 4, 3, 1]
    assert list(tab["group"]) == ["all"] * 7
    # Greenwood SE at t = 1: S * sqrt(d / (n (n - d))) = 0.9 * sqrt(1 / 90)
    assert tab["std_err"].iloc[0] == pytest.approx(0.9 * np.sqrt(1 / 90), rel=1e-12)
    # log-log CI at t = 1 (R: 0.4730093, 0.9852814)
    assert tab["lower"].iloc[0] == pytest.approx(0.47300927, abs=5e-8)
    assert tab["upper"].iloc[0] == pytest.approx(0.98528140, abs=5e-8)
    # S = 0 at the end: SE and CI undefined, as in R
    assert np.isnan(tab[["std_err", "lower", "upper"]].iloc[-1]).all()


def test_km_median_midpoint_and_not_reached():
    d = pd.DataFrame({"time": [1, 2, 3, 4], "event": [1, 1, 1, 1]})
    assert sv.km_median(d, "time", "event")["median"].iloc[0] == 2.5
    med = sv.km_median(SMALL, "time", "event").iloc[0]
    assert med["median"] == 4 and med["lower"] == 1 and np.isnan(med["upper"])
    d = pd.DataFrame({"time": [1, 2, 3, 4], "event": [1, 0, 0, 0]})
    assert np.isnan(sv.km_median(d, "time", "event")["median"].iloc[0])


def test_km_at_step_function():
    out = sv.km_at(SMALL, "time", "event", at=[0.5, 2.5, 4, 7, 8])
    np.testing.assert_allclose(out["surv"].iloc[:4], [1, 0.8, 0.8 * 6 / 7 * 4 / 6, 0.0])
    assert list(out["n_risk"]) == [10, 7, 6, 1, 0]
    assert np.isnan(out["surv"].iloc[4])


def test_at_risk_counts_and_identity():
    df = SMALL.assign(arm=["A", "B"] * 5)
    out = sv.at_risk(df, "time", "event", "arm", times=[0, 2, 4.5, 10])
    a = out[out["group"] == "A"]
    # arm A = rows 0,2,4,6,8: times 1,2,4,5,6 events 1,0,1,0,0
    assert list(a["n_risk"]) == [5, 4, 2, 0]
    assert list(a["cum_events"]) == [0, 1, 2, 2]
    assert list(a["cum_censored"]) == [0, 0, 1, 3]
    assert ((out["n_risk"] + out["cum_events"] + out["cum_censored"]) == 5).all()


def test_logrank_observed_expected_by_hand():
    d = pd.DataFrame({"time": [1, 2, 3, 4], "event": [1, 1, 1, 1], "g": ["a", "b", "a", "b"]})
    res = sv.logrank(d, "time", "event", "g")
    # E_a = 2/4 + 1/3 + 1/2 + 0/1
    assert res["expected"]["a"] == pytest.approx(0.5 + 1 / 3 + 0.5)
    assert res["observed"] == {"a": 2, "b": 2}
    assert sum(res["expected"].values()) == pytest.approx(4)


def test_group_order_is_respected():
    df = SMALL.assign(arm=["A", "B"] * 5)
    out = sv.km_table(df, "time", "event", "arm", group_order=["B", "A"])
    assert out["group"].iloc[0] == "B" and out["group"].iloc[-1] == "A"
    assert list(sv.km_median(df, "time", "event", "arm")["group"]) == ["A", "B"]
    with pytest.raises(ValueError, match="not in group_order"):
        sv.km_table(df, "time", "event", "arm", group_order=["A"])


@pytest.mark.parametrize(
    "change, message",
    [
        ({"time": [-1, 2, 2, 3, 4, 4, 5, 6, 6, -7]}, r"'time' has 2 negative"),
        ({"event": [2, 1, 0, 1, 1, 1, 0, 1, 0, 3]}, r"'event' has 2 value\(s\) not in \{0, 1\}"),
        ({"time": [np.nan] * 10}, r"no complete rows"),
    ],
)
def test_input_validation(change, message):
    bad = SMALL.assign(**change)
    for fn in (sv.km_table, sv.km_median, sv.reverse_km_followup):
        with pytest.raises(ValueError, match=message):
            fn(bad, "time", "event")
    with pytest.raises(ValueError, match=message):
        sv.cox(bad.assign(x=range(10)), "time", "event", ["x"])


@pytest.mark.parametrize(
    "change, dropped",
    [
        ({"time": [np.nan, 2, 2, 3, 4, 4, 5, 6, 6, 7]}, [0]),
        ({"event": [np.nan, 1, 0, 1, np.nan, 1, 0, 1, 0, 1]}, [0, 4]),
        ({"x": [1.0, None, 2, 3, 4, 5, 6, 7, None, 9]}, [1, 8]),
    ],
)
def test_missing_values_are_left_out_and_counted_as_r_na_omit(change, dropped):
    """R's default na.action (na.omit): a missing time, event or covariate drops the row; the
    result equals the one on the remaining rows, and the number left out is reported."""
    base = SMALL.assign(x=[1.0, 0, 2, 3, 4, 5, 6, 7, 8, 9], arm=list("ABABABABAB"))
    bad = base.assign(**change)
    kept = bad.drop(index=dropped)
    if "x" not in change:
        for fn, kw in ((sv.km_table, {"group": "arm"}), (sv.km_median, {"group": "arm"}),
                       (sv.km_at, {"group": "arm", "at": (3, 5)}),
                       (sv.at_risk, {"group": "arm", "times": (0, 3, 5)})):
            got, ref = fn(bad, "time", "event", **kw), fn(kept, "time", "event", **kw)
            pd.testing.assert_frame_equal(got, ref, check_exact=True)
            assert got.attrs["n_missing"] == len(dropped) and ref.attrs["n_missing"] == 0
        got = sv.reverse_km_followup(bad, "time", "event")
        assert got["n_missing"] == len(dropped) and got["n"] == 10 - len(dropped)
        assert got["median"] == sv.reverse_km_followup(kept, "time", "event")["median"]
    got, ref = sv.cox(bad, "time", "event", ["x"]), sv.cox(kept, "time", "event", ["x"])
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
    assert got.attrs["n_missing"] == len(dropped) and got.attrs["n"] == 10 - len(dropped)


def test_cox_input_validation():
    df = SMALL.assign(x=[1.0, None, 2, 3, 4, 5, 6, 7, 8, 9], s=list("aabbccaabb"))
    with pytest.raises(ValueError, match="not numeric"):
        sv.cox(df, "time", "event", ["s"])
    with pytest.raises(ValueError, match=r"'s' has 2 value\(s\) not in its levels"):
        sv.cox(df, "time", "event", ["s"], categorical={"s": ["a", "b"]})
