"""Logistic regression for a binary outcome (e.g. pCR): odds ratios, tests and tables.

Generic over a :class:`pandas.DataFrame` and column names, deterministic, no I/O; checked in
``tests/test_logistic.py`` against R (``glm``, ``confint`` (MASS profile), ``drop1`` /
``anova(test = "LRT")``) and against published ``logistf`` output for the Firth model.

* Missing values: as R's ``na.omit``, a model uses the complete cases of the variables it
  involves; every fit records ``n_total``, ``n_used`` and the number missing per variable.
* Every interval carries a ``ci_method`` and every p-value a ``test``.
* Categorical covariates use treatment coding; the first level of the given order is the
  reference (R's ``factor(x, levels = ...)`` with ``contr.treatment``).  Non-numeric columns
  without a given order get sorted levels, as R's ``factor()`` does.
* Continuous covariates may enter as a restricted cubic spline (Harrell; = Hmisc
  ``rcspline.eval(x, nk = k, inclx = TRUE)``, ``norm = 2``).
* Aliased columns (e.g. an empty cell of an interaction) are dropped as R's ``glm`` does
  (pivoted QR, tolerance 1e-11) and reported with NaN estimates and a ``warning``.
* Registry scale: fits, deviances, profile likelihoods, LR tests and the separation check
  run on the distinct rows of (design, outcome) with their numbers as frequency weights
  when that halves the rows (:func:`_collapse`; the likelihood depends on the data only
  through them), so 10^6 patients with categorical covariates cost about as much as a few
  hundred; n, events and every count still refer to the patients.

Why own code rather than statsmodels' GLM: statsmodels has no profile-likelihood interval
for a GLM, no ``drop1``-style term tests, no Firth penalisation and no spline basis identical
to Harrell's, and its IRLS (no step-halving) diverged in profile refits with large offsets;
the ML fitter here is a short Newton-Raphson with step-halving (:func:`_glm`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .grouping import outcome01

__all__ = [
    "CI_METHODS",
    "LogisticFit",
    "choose_method",
    "detect_separation",
    "fit_firth",
    "fit_logistic",
    "interaction_lr_test",
    "lr_tests",
    "nonlinearity_lr_test",
    "predict_grid",
    "rcs_basis",
    "rcs_knots",
    "regression_table",
]

CONF_LEVEL = 0.95
INTERCEPT = "(Intercept)"

#: accepted ``ci`` arguments -> reported ci_method (ML fits)
CI_METHODS: dict[str, str] = {
    "profile": "profile likelihood (signed root of deviance difference = z), 95%",
    "profile-mass": "profile likelihood, MASS grid + spline interpolation (R confint), 95%",
    "wald": "Wald (estimate +/- z * SE), 95%",
}
FIRTH_CI_METHODS: dict[str, str] = {
    "profile": "profile penalised likelihood (Firth), 95%",
    "wald": "Wald from penalised fit (Firth), 95%",
}
TEST_WALD = "Wald z"
TEST_LR = "likelihood ratio (chi-square)"
TEST_PLR = "penalised likelihood ratio (Firth, chi-square)"
PEDUZZI = "Peduzzi et al. 1996, J Clin Epidemiol 49:1373-9"

_ALIAS_TOL = 1e-11  # R's glm.fit: qr(..., tol = min(1e-07, control$epsilon / 1000))


# ---------------------------------------------------------------------------
# restricted cubic splines (Harrell)
# ---------------------------------------------------------------------------
def rcs_knots(x: Sequence[float] | np.ndarray, nk: int = 4, fractied: float = 0.05) -> np.ndarray:
    """Default knot locations of Hmisc ``rcspline.eval(x, nk)``.

    Quantiles (R type 7) at ``seq(outer, 1 - outer, length = nk)`` with outer = .05 for
    4 <= nk <= 6 (.1 for 3 knots, .025 above 6): for 4 knots .05, .35, .65, .95.  As Hmisc,
    when the smallest (largest) value holds >= ``fractied`` of the data (and no inner value
    does) the first (last) knot is the next distinct value and the quantiles are taken
    inside.  Fewer than nk + 2 distinct values: the inner distinct values are the knots.
    """
    xx = np.asarray(x, dtype=float)
    xx = xx[~np.isnan(xx)]
    n = xx.size
    if n < 6:
        raise ValueError("knots not specified, and < 6 non-missing observations")
    if nk < 3:
        raise ValueError("nk must be >= 3")
    xu, counts = np.unique(xx, return_counts=True)
    if len(xu) - 2 <= nk:
        return xu[1:-1]
    outer = 0.05 if nk > 3 else 0.1
    if nk > 6:
        outer = 0.025
    nke = nk
    first: list[float] = []
    last: list[float] = []
    f = counts / n
    if 0 < fractied < 1 and f[1:-1].max() < fractied:
        if f[0] >= fractied:
            first = [float(xx[xx > xx.min()].min())]
            xx = xx[xx > first[0]]
            nke -= 1
        if f[-1] >= fractied:
            last = [float(xx[xx < xx.max()].max())]
            xx = xx[xx < last[0]]
            nke -= 1
    if nke == 1:
        knots = np.array([np.median(xx)])
    elif len(xu) <= nke:
        knots = xu
    else:
        p = np.linspace(0.5, 1 - outer, nke) if nke == 2 else np.linspace(outer, 1 - outer, nke)
        knots = np.quantile(xx, p)  # numpy default = R type 7
        if len(np.unique(knots)) < min(nke, 3):
            knots = np.quantile(xx, np.linspace(outer, 1 - outer, 2 * nke))
            if len(first) and knots[0] < first[0]:
                knots = knots[knots >= first[0]]
            knots = np.unique(knots)
            if len(knots) < min(nke, 3):
                raise ValueError(f"cannot place {nk} distinct knots (too few distinct values)")
    return np.unique(np.concatenate([first, knots, last]))


def rcs_basis(x: Sequence[float] | np.ndarray, knots: Sequence[float]) -> np.ndarray:
    """Nonlinear columns of Harrell's restricted cubic spline (k knots -> k - 2 columns).

    = Hmisc ``rcspline.eval(x, knots, inclx = FALSE, norm = 2)``: for j = 1..k-2,
    ``(x - t_j)_+^3 + ((t_{k-1} - t_j)(x - t_k)_+^3 - (t_k - t_j)(x - t_{k-1})_+^3)
    / (t_k - t_{k-1})``, every ``(.)_+`` divided by ``(t_k - t_1)^(2/3)`` before cubing.
    """
    t = np.asarray(knots, dtype=float)
    k = t.size
    if k < 3:
        raise ValueError(f"a restricted cubic spline needs >= 3 knots, got {k}")
    xv = np.asarray(x, dtype=float)
    kd = (t[-1] - t[0]) ** (2.0 / 3.0)

    def pos3(v: np.ndarray) -> np.ndarray:
        return np.maximum(v / kd, 0.0) ** 3

    cols = [
        pos3(xv - t[j])
        + ((t[-2] - t[j]) * pos3(xv - t[-1]) - (t[-1] - t[j]) * pos3(xv - t[-2]))
        / (t[-1] - t[-2])
        for j in range(k - 2)
    ]
    return np.column_stack(cols) if cols else np.empty((xv.size, 0))


# ---------------------------------------------------------------------------
# design matrix
# ---------------------------------------------------------------------------
@dataclass
class _Term:
    name: str  # variable name, or "a:b" for an interaction
    kind: str  # numeric | categorical | spline | interaction
    columns: list[int] = field(default_factory=list)
    levels: list[Any] | None = None  # categorical: all levels, reference first
    knots: np.ndarray | None = None  # spline
    parts: tuple[str, str] | None = None  # interaction


@dataclass
class _Design:
    y: np.ndarray
    X: np.ndarray
    names: list[str]
    col_term: list[str]
    col_level: list[Any]
    terms: dict[str, _Term]
    n_total: int
    n_used: int
    missing: dict[str, int]


def _check_df(df: pd.DataFrame, cols: Sequence[str]) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    for c in cols:
        if c not in df.columns:
            raise ValueError(f"column not found in data: '{c}'")


def _as_list(x: str | Sequence[str] | None) -> list[str]:
    if x is None:
        return []
    return [x] if isinstance(x, str) else list(x)


def _outcome01(y: pd.Series, outcome: str) -> np.ndarray:
    return outcome01(y, outcome)


def _levels_for(observed: list[Any], var: str, given: Sequence[Any] | None) -> list[Any]:
    """Level order of a categorical column from its distinct values in order of appearance
    (``pd.unique``) and the given order, if any."""
    if given is None:
        try:
            return sorted(observed)
        except TypeError as exc:
            raise ValueError(
                f"column '{var}' has values that cannot be sorted; give its level order"
            ) from exc
    levels = list(given)
    if len(set(levels)) != len(levels):
        raise ValueError(f"level order for '{var}' has duplicated levels: {levels}")
    unknown = [v for v in observed if v not in levels]
    if unknown:
        raise ValueError(f"column '{var}' has values not in its level order: {unknown}")
    return levels


def _build_design(
    df: pd.DataFrame,
    outcome: str,
    covariates: Sequence[str],
    categorical: Mapping[str, Sequence[Any]] | None,
    interactions: Sequence[tuple[str, str]] | None,
    splines: Mapping[str, int | Sequence[float]] | None,
) -> _Design:
    covariates = _as_list(covariates)
    categorical = dict(categorical or {})
    splines = dict(splines or {})
    inter = [tuple(p) for p in (interactions or [])]
    if len(set(covariates)) != len(covariates):
        raise ValueError(f"duplicated covariates: {covariates}")
    if outcome in covariates:
        raise ValueError(f"outcome '{outcome}' is also a covariate")
    _check_df(df, [outcome, *covariates])
    for a_b in inter:
        if len(a_b) != 2 or any(v not in covariates for v in a_b):
            raise ValueError(f"interaction {a_b} must name two of the covariates {covariates}")
    # codings may be given for more columns than this model uses (one dict per study)
    categorical = {k: v for k, v in categorical.items() if k in covariates}
    splines = {k: v for k, v in splines.items() if k in covariates}
    used = [outcome, *covariates]

    def categorical_column(v: str) -> bool:
        s = df[v]
        return v in categorical or not (
            pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s))

    # column by column: no copy of the data frame (registries of 10^6 rows); a categorical
    # column is hashed once (pandas factorize: codes of its distinct values, -1 = missing)
    coded = {v: pd.factorize(df[v], sort=False) for v in covariates if categorical_column(v)}
    na = {v: coded[v][0] < 0 if v in coded else df[v].isna().to_numpy() for v in used}
    missing = {v: int(na[v].sum()) for v in used}
    keep = ~np.logical_or.reduce([na[v] for v in used])
    every = bool(keep.all())

    def column(v: str) -> pd.Series:
        return df[v] if every else df[v][keep]

    y = _outcome01(column(outcome), outcome)
    n = len(y)
    cols: list[np.ndarray] = [np.ones(n)]
    names = [INTERCEPT]
    col_term: list[str] = [INTERCEPT]
    col_level: list[Any] = [None]
    terms: dict[str, _Term] = {}
    blocks: dict[str, np.ndarray] = {}
    for v in covariates:
        is_cat = v in coded
        s = None if is_cat else column(v)
        if is_cat and v in splines:
            raise ValueError(f"'{v}' cannot be both categorical and a spline")
        if is_cat:
            # the complete cases' distinct values in order of appearance (as pd.unique)
            # from the codes, instead of comparing every row with every level
            codes, uniq = coded[v]
            if not every:
                codes = codes[keep]
            seen = pd.unique(codes)
            observed = [uniq[c] for c in seen]
            levels = _levels_for(observed, v, categorical.get(v))
            present = set(observed)
            empty = [lv for lv in levels if lv not in present]
            if empty:
                raise ValueError(
                    f"level(s) {empty} of '{v}' have no complete-case rows; drop them from "
                    "the level order"
                )
            # level number of each distinct value (== as a comparison row by row would)
            lv_of = np.full(len(uniq), -1, dtype=np.int64)
            lv_of[seen] = [levels.index(u) for u in observed]
            block = (lv_of[codes][:, None] == np.arange(1, len(levels))[None, :]
                     ).astype(float)
            lv_names = [f"{v}[{lv}]" for lv in levels[1:]]
            term = _Term(v, "categorical", levels=levels)
            lv_labels: list[Any] = list(levels[1:])
        elif v in splines:
            xv = s.to_numpy(dtype=float)
            spec = splines[v]
            # knots from every non-missing value of x (as rms::rcs inside a model formula,
            # evaluated before na.omit), not only the complete cases of the model
            knots = (rcs_knots(df[v].to_numpy(dtype=float), int(spec)) if np.ndim(spec) == 0
                     else np.asarray(spec, float))
            basis = rcs_basis(xv, knots)
            block = np.column_stack([xv, basis])
            lv_names = [v] + [f"{v}{chr(39) * (j + 1)}" for j in range(basis.shape[1])]
            term = _Term(v, "spline", knots=knots)
            lv_labels = [None] * block.shape[1]
        else:
            block = s.to_numpy(dtype=float)[:, None]
            lv_names = [v]
            term = _Term(v, "numeric")
            lv_labels = [None]
        blocks[v] = block
        for j in range(block.shape[1]):
            term.columns.append(len(names))
            names.append(lv_names[j])
            col_term.append(v)
            col_level.append(lv_labels[j])
            cols.append(block[:, j])
        terms[v] = term
    for a, b in inter:
        name = f"{a}:{b}"
        term = _Term(name, "interaction", parts=(a, b))
        na_ = [names[i] for i in terms[a].columns]
        nb_ = [names[i] for i in terms[b].columns]
        # R's column order for a:b: the first factor varies fastest
        for jb in range(blocks[b].shape[1]):
            for ja in range(blocks[a].shape[1]):
                term.columns.append(len(names))
                names.append(f"{na_[ja]}:{nb_[jb]}")
                col_term.append(name)
                la = terms[a].levels[ja + 1] if terms[a].kind == "categorical" else None
                lb = terms[b].levels[jb + 1] if terms[b].kind == "categorical" else None
                col_level.append((la, lb))
                cols.append(blocks[a][:, ja] * blocks[b][:, jb])
        terms[name] = term
    X = np.column_stack(cols)
    return _Design(y, X, names, col_term, col_level, terms, len(df), n, missing)


def _aliased(X: np.ndarray, tol: float = _ALIAS_TOL) -> np.ndarray:
    """Columns linearly dependent on earlier columns (R's limited-pivoting QR, dqrdc2)."""
    n, p = X.shape
    keep: list[int] = []
    alias = np.zeros(p, dtype=bool)
    Q = np.empty((n, 0))
    for j in range(p):
        v = X[:, j].astype(float)
        norm0 = np.linalg.norm(v)
        if Q.shape[1]:
            v = v - Q @ (Q.T @ v)
            v = v - Q @ (Q.T @ v)
        nv = np.linalg.norm(v)
        if norm0 == 0 or nv < tol * norm0:
            alias[j] = True
            continue
        keep.append(j)
        Q = np.column_stack([Q, v / nv])
    return alias


def _aliased_w(X: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """:func:`_aliased` of the patients' rows from distinct rows with frequency weights:
    the rows scaled by sqrt(w) have the same inner products (X'WX = X'X of the patients)."""
    return _aliased(X if w is None else X * np.sqrt(w)[:, None])


# ---------------------------------------------------------------------------
# ML fitting (Newton-Raphson with step-halving)
# ---------------------------------------------------------------------------
def _deviance(y: np.ndarray, eta: np.ndarray, w: np.ndarray | None = None) -> float:
    # binomial deviance for 0/1 data = -2 log-likelihood; w: frequency weights (numbers of
    # identical rows, see _collapse)
    t = np.logaddexp(0.0, eta) - y * eta
    return float(2.0 * np.sum(t if w is None else w * t))


#: fit on the distinct rows when there are fewer than this share of them (see _collapse)
_COLLAPSE_SHARE = 0.5


def _collapse(X: np.ndarray, y: np.ndarray,
              share: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The distinct rows of (X, y) with their numbers as frequency weights: ``(Xc, yc, w)``.

    The binomial likelihood depends on the data only through the distinct covariate
    patterns with their numbers of events and non-events (sufficient statistics), so the ML
    and Firth fits, deviances, profile likelihoods, drop-one tests and the separation LP on
    the weighted distinct rows equal those on the patients' rows (up to the order of the
    floating-point sums: ~1e-13 relative).  A registry of 10^5-10^6 patients with
    categorical covariates has a few hundred patterns.  When the rows do not shrink below
    ``share`` of their number (continuous covariates) the data come back unchanged with
    ``w = None`` (default ``share``: :data:`_COLLAPSE_SHARE`, read at each call).  Patterns
    keep the order of their first row.
    """
    n = len(y)
    if n < 8:
        return X, y, None
    limit = (_COLLAPSE_SHARE if share is None else share) * n
    cols = [*np.asarray(X, dtype=float).T, np.asarray(y, dtype=float)]
    # pattern number = mixed-radix number of the columns' value codes, renumbered (O(n)
    # hashing, pandas factorize) whenever its range passes the limit: more columns only
    # split patterns further, so too many patterns so far means stop
    key = np.zeros(n, dtype=np.int64)
    span = 1  # key < span
    for c in cols:
        code, uniq = pd.factorize(c + 0.0, sort=False)  # +0.0: -0.0 and 0.0 are one value
        if len(uniq) >= limit:
            return X, y, None
        key = key * len(uniq) + code
        span *= len(uniq)
        if span >= limit:
            key, keys = pd.factorize(key, sort=False)
            span = len(keys)
            if span >= limit:
                return X, y, None
    key, keys = pd.factorize(key, sort=False)  # codes in order of first appearance
    n_keys = len(keys)
    # codes are numbered in order of first appearance: a pattern's first row is where the
    # running maximum of the codes rises
    run = np.maximum.accumulate(key)
    first = np.flatnonzero(np.r_[True, run[1:] > run[:-1]])
    w = np.bincount(key, minlength=n_keys).astype(float)
    return np.ascontiguousarray(np.asarray(X, dtype=float)[first]), \
        np.asarray(y, dtype=float)[first], w


def _expit(eta: np.ndarray) -> np.ndarray:
    from scipy.special import expit

    return expit(eta)


def _glm(
    X: np.ndarray, y: np.ndarray, offset: np.ndarray | None = None,
    start: np.ndarray | None = None, maxit: int = 100, w: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None, float]:
    """ML logistic fit -> (params, covariance, deviance); X may have zero columns.

    Newton-Raphson (= IRLS for the canonical logit link) from b = 0 with step-halving
    whenever the deviance rises or is not finite.  Own code rather than statsmodels' GLM:
    its IRLS has no step-halving and stalled or diverged in the profile-likelihood refits
    with large offsets (esoph data).
    Stops when a step changes the deviance by < 1e-13 relative and the step is tiny, or
    after ``maxit`` iterations (separation: the deviance has then reached its limit).
    The covariance is the inverse information at the final estimate.
    ``w``: frequency weights (rows standing for ``w`` identical patients, see
    :func:`_collapse`); ``start``: initial coefficients (default 0), e.g. a nearby fit when
    profiling, where any start converges to the same optimum (the deviance is convex and
    every step lowers it).
    """
    n, p = X.shape
    off = np.zeros(n) if offset is None else np.asarray(offset, dtype=float)
    if p == 0:
        return np.empty(0), np.empty((0, 0)), _deviance(y, off, w)
    # start at b = 0 (eta = offset): with the deviance-decreasing step-halving below this is
    # safe for any offset; R's mustart start fails for large offsets (profile refits)
    beta = np.zeros(p) if start is None else np.array(start, dtype=float)
    eta = X @ beta + off
    dev = _deviance(y, eta, w)
    for _ in range(maxit):
        mu = _expit(eta)
        wt = mu * (1.0 - mu)
        r = y - mu
        if w is not None:
            wt = wt * w
            r = r * w
        info = X.T @ (X * wt[:, None])
        score = X.T @ r
        try:
            step = np.linalg.solve(info, score)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(info, score, rcond=None)[0]
        for _h in range(60):
            new = beta + step
            eta_new = X @ new + off
            dev_new = _deviance(y, eta_new, w)
            if np.isfinite(dev_new) and dev_new <= dev + 1e-12 * (abs(dev) + 0.1):
                break
            step = step / 2.0
        small_dev = abs(dev - dev_new) < 1e-13 * (abs(dev_new) + 0.1)
        small_step = np.max(np.abs(step)) < 1e-10 * (1.0 + np.max(np.abs(new)))
        beta, eta, dev = new, eta_new, dev_new
        if small_step or (small_dev and np.max(np.abs(step)) < 1e-5):
            break
        if small_dev and _ > 25:  # separation: deviance at its limit, beta drifting
            break
    mu = _expit(eta)
    wt = mu * (1.0 - mu) if w is None else w * mu * (1.0 - mu)
    try:
        cov = np.linalg.inv(X.T @ (X * wt[:, None]))
    except np.linalg.LinAlgError:  # pragma: no cover - singular information
        cov = None
    return beta, cov, dev


# ---------------------------------------------------------------------------
# Firth penalised likelihood (own implementation: no library in the stack has it)
# ---------------------------------------------------------------------------
def _firth_pl(X: np.ndarray, y: np.ndarray, beta: np.ndarray,
              fw: np.ndarray | None = None) -> tuple[float, Any]:
    """Penalised log-likelihood at ``beta`` and (eta, p, w, information); ``fw``: frequency
    weights (the information and log-likelihood sum over patients, so the Jeffreys penalty
    is that of the patients' rows); ``w`` returned is per patient, p (1 - p)."""
    eta = X @ beta
    p = 1.0 / (1.0 + np.exp(-eta))
    w = p * (1.0 - p)
    info = X.T @ (X * (w if fw is None else w * fw)[:, None])
    sign, logdet = np.linalg.slogdet(info)
    t = np.logaddexp(0.0, eta) - y * eta
    ll = -float(np.sum(t if fw is None else fw * t))
    pl = ll + 0.5 * logdet if sign > 0 else -np.inf
    return pl, (eta, p, w, info)


def _firth_newton(
    X: np.ndarray, y: np.ndarray, free: np.ndarray | None = None,
    beta0: np.ndarray | None = None, maxit: int = 200, maxstep: float = 5.0,
    xtol: float = 1e-11, gtol: float = 1e-9, fw: np.ndarray | None = None,
) -> tuple[np.ndarray, float, bool]:
    """Maximise l(b) + 0.5 log|I(b)| (Firth 1993) over the ``free`` coefficients.

    Newton steps on Firth's modified score U*(b) = X'(y - p + h (1/2 - p)) with the Fisher
    information of the FULL design (as logistf with fixed coefficients), steps capped at
    ``maxstep`` (logistf's default 5) and halved while the penalised log-likelihood falls.
    ``fw``: frequency weights (see :func:`_collapse`): h is each patient's hat value, the
    score sums over patients.
    """
    p_ = X.shape[1]
    free = np.ones(p_, dtype=bool) if free is None else free
    beta = np.zeros(p_) if beta0 is None else np.array(beta0, dtype=float)
    pl, (_, p, w, info) = _firth_pl(X, y, beta, fw)
    converged = False
    for _ in range(maxit):
        if not free.any():
            converged = True
            break
        cov = np.linalg.inv(info)
        h = np.einsum("ij,jk,ik->i", X, cov, X) * w
        r = y - p + h * (0.5 - p)
        U = X.T @ (r if fw is None else fw * r)
        delta = np.zeros(p_)
        delta[free] = np.linalg.solve(info[np.ix_(free, free)], U[free])
        mx = np.max(np.abs(delta)) / maxstep
        if mx > 1:
            delta /= mx
        for _h in range(60):
            new = beta + delta
            pl_new, cache = _firth_pl(X, y, new, fw)
            if pl_new >= pl - 1e-12 * max(1.0, abs(pl)):
                break
            delta /= 2.0
        beta, pl = new, pl_new
        _, p, w, info = cache
        if np.max(np.abs(delta)) < xtol and np.max(np.abs(U[free])) < gtol:
            converged = True
            break
    return beta, pl, converged


# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------
@dataclass
class LogisticFit:
    """A fitted logistic model (ML or Firth) with everything the tables need.

    ``coef``: one row per design column: ``term, variable, level, estimate, std_error,
    statistic, p, test, lower, upper, ci_method, odds_ratio, or_lower, or_upper, warning``
    (estimate/lower/upper on the log-odds scale).  ``lr``: one row per model term with the
    likelihood-ratio test of dropping it (see :func:`lr_tests`).  ``missing``: variable,
    n_missing.
    """

    outcome: str
    covariates: list[str]
    method: str  # "ML" | "Firth"
    coef: pd.DataFrame
    lr: pd.DataFrame
    n_total: int
    n_used: int
    events: int
    missing: pd.DataFrame
    deviance: float  # -2 log-likelihood (ML) or -2 penalised log-likelihood (Firth)
    params: np.ndarray
    cov: np.ndarray
    names: list[str]
    aliased: np.ndarray
    warnings: list[str]
    _design: _Design = field(repr=False)
    _spec: dict[str, Any] = field(repr=False)

    @property
    def n_missing(self) -> int:
        return self.n_total - self.n_used


def _z(level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 2.0))


def _profile_root(
    dev_at: Any, bhat: float, se: float, dev0: float, target: float, direction: int,
    max_doublings: int = 12,
) -> float:
    """Solve sign(b - bhat) sqrt(dev(b) - dev0) = direction * target for b (brentq).

    Returns NaN when the profile never reaches the target within 2^12 Wald half-widths
    (separation: R's confint() then gives NA).
    """
    from scipy.optimize import brentq

    def g(b: float) -> float:
        return math.sqrt(max(dev_at(b) - dev0, 0.0)) - target

    step = target * (se if np.isfinite(se) and se > 0 else 1.0)
    lo, hi = bhat, bhat + direction * step
    ghi = g(hi)
    k = 0
    while ghi < 0:
        k += 1
        if k > max_doublings:
            return float("nan")
        lo, hi = hi, bhat + direction * step * 2.0**k
        ghi = g(hi)
    a, b = (lo, hi) if lo < hi else (hi, lo)
    return float(brentq(g, a, b, xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=200))


def _ml_profile_ci(X: np.ndarray, y: np.ndarray, w: np.ndarray | None, params: np.ndarray,
                   se: np.ndarray, dev0: float, level: float,
                   warm: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Exact profile-likelihood limits of every coefficient (X: the estimable columns, w:
    frequency weights).  ``warm``: each refit starts from the last refit of the same
    profile (the MLE's other coefficients at first): the same optimum, far fewer Newton
    steps.  Not under separation, where there is no optimum and the deviance a refit stops
    at depends on its path: refits then start from 0."""
    z = _z(level)
    lo = np.full(X.shape[1], np.nan)
    up = np.full(X.shape[1], np.nan)
    for j in range(X.shape[1]):
        others = np.arange(X.shape[1]) != j
        Xo = X[:, others]
        xj = X[:, j]
        state = {"start": params[others] if warm else None}

        def dev_at(b: float, xj: np.ndarray = xj, Xo: np.ndarray = Xo,
                   state: dict = state) -> float:
            bo, _, dev = _glm(Xo, y, offset=xj * b, start=state["start"], w=w)
            if warm and np.all(np.isfinite(bo)):
                state["start"] = bo
            return dev

        for direction, arr in ((-1, lo), (1, up)):
            state["start"] = params[others] if warm else None
            arr[j] = _profile_root(dev_at, params[j], se[j], dev0, z, direction)
    return lo, up


def _spline_fmm(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coefficients of R's ``spline(method = "fmm")`` (Forsythe, Malcolm & Moler), port of
    R's ``fmm_spline`` (src/library/stats/src/splines.c)."""
    n = len(x)
    b = np.zeros(n)
    c = np.zeros(n)
    d = np.zeros(n)
    if n < 2:
        return b, c, d
    if n < 3:
        t = (y[1] - y[0]) / (x[1] - x[0])
        b[:] = t
        return b, c, d
    nm1 = n - 1
    d[0] = x[1] - x[0]
    c[1] = (y[1] - y[0]) / d[0]
    for i in range(1, nm1):
        d[i] = x[i + 1] - x[i]
        b[i] = 2.0 * (d[i - 1] + d[i])
        c[i + 1] = (y[i + 1] - y[i]) / d[i]
        c[i] = c[i + 1] - c[i]
    b[0] = -d[0]
    b[nm1] = -d[n - 2]
    c[0] = c[nm1] = 0.0
    if n > 3:
        c[0] = c[2] / (x[3] - x[1]) - c[1] / (x[2] - x[0])
        c[nm1] = c[n - 2] / (x[nm1] - x[n - 3]) - c[n - 3] / (x[n - 2] - x[n - 4])
        c[0] = c[0] * d[0] * d[0] / (x[3] - x[0])
        c[nm1] = -c[nm1] * d[n - 2] * d[n - 2] / (x[nm1] - x[n - 4])
    for i in range(1, n):
        t = d[i - 1] / b[i - 1]
        b[i] = b[i] - t * d[i - 1]
        c[i] = c[i] - t * c[i - 1]
    c[nm1] = c[nm1] / b[nm1]
    for i in range(n - 2, -1, -1):
        c[i] = (c[i] - d[i] * c[i + 1]) / b[i]
    b[nm1] = (y[nm1] - y[n - 2]) / d[n - 2] + d[n - 2] * (c[n - 2] + 2.0 * c[nm1])
    for i in range(nm1):
        b[i] = (y[i + 1] - y[i]) / d[i] - d[i] * (c[i + 1] + 2.0 * c[i])
        d[i] = (c[i + 1] - c[i]) / d[i]
        c[i] = 3.0 * c[i]
    c[nm1] = 3.0 * c[nm1]
    d[nm1] = d[n - 2]
    return b, c, d


def _spline_eval(u: np.ndarray, x: np.ndarray, y: np.ndarray, b: np.ndarray, c: np.ndarray,
                 d: np.ndarray) -> np.ndarray:
    """R's ``spline_eval`` for method fmm (cubic on each interval, extrapolated at the ends)."""
    idx = np.searchsorted(x, u, side="right") - 1
    idx = np.clip(idx, 0, len(x) - 1)
    dx = u - x[idx]
    return y[idx] + dx * (b[idx] + dx * (c[idx] + dx * d[idx]))


def _approx_r(x: np.ndarray, y: np.ndarray, xout: np.ndarray) -> np.ndarray:
    """R's ``approx(x, y, xout)``: ties collapsed by mean after ordering, NA outside."""
    o = np.argsort(x, kind="stable")
    xs, ys = x[o], y[o]
    ux, inv = np.unique(xs, return_inverse=True)
    uy = np.bincount(inv, weights=ys) / np.bincount(inv)
    return np.interp(xout, ux, uy, left=np.nan, right=np.nan)


def _mass_profile_ci(X: np.ndarray, y: np.ndarray, w: np.ndarray | None, params: np.ndarray,
                     se: np.ndarray, dev0: float, level: float,
                     warm: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """R's ``confint.glm`` (MASS, R < 4.4; stats >= 4.4): ``profile.glm(alpha = (1 -
    level) / 4, maxsteps = 10, del = zmax / 5)`` then ``spline()`` through the profile
    (signed root z vs beta) and ``approx()`` at qnorm(a).  Reproduces R's interpolation
    error too; :data:`CI_METHODS` ``"profile"`` solves the profile exactly instead.
    X: the estimable columns, w: frequency weights; ``warm``: each refit starts from the
    previous step's fit (the MLE's other coefficients at the first step; not under
    separation, see :func:`_ml_profile_ci`)."""
    from scipy.stats import chi2, norm

    p = X.shape[1]
    zmax = math.sqrt(chi2.ppf(1 - (1 - level) / 4, 1))
    delta = zmax / 5
    cut = norm.ppf([(1 - level) / 2, 1 - (1 - level) / 2])
    lo = np.full(p, np.nan)
    up = np.full(p, np.nan)
    for i in range(p):
        others = np.arange(p) != i
        Xi = X[:, others]
        zs = [0.0]
        bs = [params[i]]
        for sgn in (-1, 1):
            step = 0
            zc = 0.0
            start = params[others] if warm else None
            while True:
                step += 1
                if not (step < 10 and abs(zc) < zmax):
                    break
                bi = params[i] + sgn * step * delta * se[i]
                bo, _, dev = _glm(Xi, y, offset=X[:, i] * bi, start=start, w=w)
                if warm and np.all(np.isfinite(bo)):
                    start = bo
                zz = dev - dev0
                if zz < -1e-3:
                    raise ValueError("profiling found a better fit: the model had not converged")
                zc = sgn * math.sqrt(max(zz, 0.0))
                zs.append(zc)
                bs.append(bi)
        bsv, zsv = np.array(bs), np.array(zs)
        o = np.argsort(bsv, kind="stable")
        xs, ys = bsv[o], zsv[o]
        ux, inv = np.unique(xs, return_inverse=True)  # regularize.values(ties = mean)
        uy = np.bincount(inv, weights=ys) / np.bincount(inv)
        nout = 3 * len(ux)
        grid = np.linspace(ux[0], ux[-1], nout)
        bb, cc, dd = _spline_fmm(ux, uy)
        sy = _spline_eval(grid, ux, uy, bb, cc, dd)
        lo[i], up[i] = _approx_r(sy, grid, cut)
    return lo, up


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"conf_level must be in (0, 1), got {level}")


def _coef_table(des: _Design, alias: np.ndarray, est: np.ndarray, se: np.ndarray,
                lo: np.ndarray, up: np.ndarray, p: np.ndarray, test: str,
                ci_method: str, warns: Sequence[str | None]) -> pd.DataFrame:
    rows = []
    k = 0
    for j, name in enumerate(des.names):
        term = des.col_term[j]
        level = des.col_level[j]
        if alias[j]:
            rows.append({"term": name, "variable": term, "level": level, "estimate": np.nan,
                         "std_error": np.nan, "statistic": np.nan, "p": np.nan, "test": test,
                         "lower": np.nan, "upper": np.nan, "ci_method": ci_method,
                         "warning": "aliased (linearly dependent column): not estimable"})
            continue
        rows.append({"term": name, "variable": term, "level": level, "estimate": est[k],
                     "std_error": se[k], "statistic": est[k] / se[k], "p": p[k], "test": test,
                     "lower": lo[k], "upper": up[k], "ci_method": ci_method,
                     "warning": warns[k]})
        k += 1
    out = pd.DataFrame(rows)
    with np.errstate(over="ignore"):  # separation: exp(huge) = inf, as R
        out["odds_ratio"] = np.exp(out["estimate"].to_numpy(dtype=float))
        out["or_lower"] = np.exp(out["lower"].to_numpy(dtype=float))
        out["or_upper"] = np.exp(out["upper"].to_numpy(dtype=float))
    out["level"] = out["level"].astype(object)
    return out


def _marginal_terms(des: _Design) -> set[str]:
    """Main-effect terms contained in an interaction (not dropped alone, as R's drop1)."""
    out: set[str] = set()
    for t in des.terms.values():
        if t.kind == "interaction" and t.parts:
            out.update(t.parts)
    return out


def _term_table(des: _Design, alias: np.ndarray, dev_full: float,
                dev_without: Any, test: str) -> pd.DataFrame:
    from scipy.stats import chi2

    marginal = _marginal_terms(des)
    rows = []
    for name, t in des.terms.items():
        cols = [c for c in t.columns if not alias[c]]
        row: dict[str, Any] = {"variable": name, "df": len(cols), "test": test,
                               "deviance_full": dev_full, "deviance_reduced": np.nan,
                               "statistic": np.nan, "p": np.nan, "warning": None}
        if name in marginal:
            row["warning"] = ("main effect of a variable in an interaction: not tested "
                              "alone (marginality, as R's drop1)")
        elif not cols:
            row["warning"] = "all columns aliased: not estimable"
        else:
            dev_r = dev_without(cols)
            stat = max(dev_r - dev_full, 0.0)
            row.update(deviance_reduced=dev_r, statistic=stat, p=float(chi2.sf(stat, len(cols))))
        rows.append(row)
    return pd.DataFrame(rows, columns=["variable", "df", "deviance_full", "deviance_reduced",
                                       "statistic", "p", "test", "warning"])


@dataclass
class _Core:
    """An ML fit's design, its (collapsed) rows and the estimates, without tables."""

    des: _Design
    Xall: np.ndarray  # all design columns, distinct rows when w is not None
    y: np.ndarray
    w: np.ndarray | None  # frequency weights (see _collapse)
    alias: np.ndarray
    params: np.ndarray  # estimable columns only
    cov: np.ndarray
    deviance: float


def _ml_core(
    df: pd.DataFrame,
    outcome: str,
    covariates: str | Sequence[str],
    categorical: Mapping[str, Sequence[Any]] | None = None,
    interactions: Sequence[tuple[str, str]] | None = None,
    splines: Mapping[str, int | Sequence[float]] | None = None,
) -> _Core:
    """Design, aliasing and the ML estimates of :func:`fit_logistic` (same checks and
    errors), on the distinct rows with frequency weights when that shrinks the data.  For
    repeated fits that need only the estimates (multiple imputation)."""
    des = _build_design(df, outcome, covariates, categorical, interactions, splines)
    if des.n_used == 0:
        raise ValueError("no complete cases for the variables of the model")
    events = int(des.y.sum())
    if events in (0, des.n_used):
        raise ValueError(f"outcome '{outcome}' is constant in the {des.n_used} complete cases")
    Xall, y, wts = _collapse(des.X, des.y)
    alias = _aliased_w(Xall, wts)
    params, cov, dev0 = _glm(Xall[:, ~alias], y, w=wts)
    if cov is None:  # pragma: no cover
        raise ValueError("information matrix is singular")
    return _Core(des, Xall, y, wts, alias, params, cov, dev0)


def fit_logistic(
    df: pd.DataFrame,
    outcome: str,
    covariates: str | Sequence[str],
    categorical: Mapping[str, Sequence[Any]] | None = None,
    interactions: Sequence[tuple[str, str]] | None = None,
    splines: Mapping[str, int | Sequence[float]] | None = None,
    ci: str = "profile",
    conf_level: float = CONF_LEVEL,
) -> LogisticFit:
    """Maximum-likelihood logistic regression (binomial GLM, logit link).

    = R ``glm(outcome ~ covariates, family = binomial, data = na.omit(df[vars]))``.

    ``categorical``: column -> level order (first = reference); ``interactions``: pairs
    ``(a, b)`` of covariates adding the ``a:b`` columns; ``splines``: column -> number of
    knots (Harrell restricted cubic spline at Hmisc's default quantiles) or explicit knots.

    ``ci``: ``"profile"`` (default; profile likelihood, each limit solved exactly as the
    point where the signed root of the deviance increase equals qnorm(0.975), refitting the
    other coefficients with the profiled one as an offset; the quantity R's MASS
    ``confint()`` approximates), ``"profile-mass"`` (R's ``confint()`` algorithm including
    its grid and spline interpolation) or ``"wald"``.  A limit the profile never reaches
    (separation) is NaN with a ``warning``, as R's NA.

    ``coef`` p-values are Wald z tests per coefficient; ``lr`` holds likelihood-ratio tests
    per variable (all columns of a term jointly; = ``drop1(fit, test = "LRT")``).
    """
    key = ci.lower()
    if key not in CI_METHODS:
        raise ValueError(f"unknown ci {ci!r}; choose one of {sorted(CI_METHODS)}")
    _check_level(conf_level)
    core = _ml_core(df, outcome, covariates, categorical, interactions, splines)
    des, Xall, y, wts, alias = core.des, core.Xall, core.y, core.w, core.alias
    params, cov, dev0 = core.params, core.cov, core.deviance
    events = int(des.y.sum())
    keep = ~alias
    X = Xall[:, keep]
    se = np.sqrt(np.diag(cov))
    warns: list[str | None] = [None] * X.shape[1]
    fit_warn: list[str] = []
    if alias.any():
        fit_warn.append("aliased columns dropped: " + ", ".join(
            n for n, a in zip(des.names, alias, strict=True) if a))
    sep = detect_separation(X, y, weights=wts)
    if sep:
        fit_warn.append("(quasi-)complete separation: ML estimates do not exist (infinite); "
                        "consider Firth's penalised likelihood")
    from scipy.stats import norm

    pw = 2.0 * norm.sf(np.abs(params / se))
    z = _z(conf_level)
    if key == "wald":
        lo, up = params - z * se, params + z * se
    elif key == "profile":
        lo, up = _ml_profile_ci(X, y, wts, params, se, dev0, conf_level, warm=not sep)
    else:
        lo, up = _mass_profile_ci(X, y, wts, params, se, dev0, conf_level, warm=not sep)
    for k in range(X.shape[1]):
        if np.isnan(lo[k]) or np.isnan(up[k]):
            warns[k] = "profile likelihood does not reach the limit (separation?): NaN, as R's NA"
    label = CI_METHODS[key].replace("95%", f"{100 * conf_level:g}%")
    coef = _coef_table(des, alias, params, se, lo, up, pw, TEST_WALD, label, warns)

    def dev_without(cols: list[int]) -> float:
        mask = keep.copy()
        mask[cols] = False
        # start from the full fit's other coefficients (same optimum, fewer steps; from 0
        # under separation, where the deviance a fit stops at depends on its path)
        return _glm(Xall[:, mask], y, start=None if sep else params[mask[keep]], w=wts)[2]

    lr = _term_table(des, alias, dev0, dev_without, TEST_LR)
    missing = pd.DataFrame({"variable": list(des.missing), "n_missing": list(des.missing.values())})
    spec = {"categorical": dict(categorical or {}), "interactions": list(interactions or []),
            "splines": dict(splines or {}), "conf_level": conf_level, "ci": key}
    return LogisticFit(outcome, _as_list(covariates), "ML", coef, lr, des.n_total, des.n_used,
                       events, missing, dev0, params, cov, des.names, alias, fit_warn, des, spec)


def fit_firth(
    df: pd.DataFrame,
    outcome: str,
    covariates: str | Sequence[str],
    categorical: Mapping[str, Sequence[Any]] | None = None,
    interactions: Sequence[tuple[str, str]] | None = None,
    splines: Mapping[str, int | Sequence[float]] | None = None,
    ci: str = "profile",
    conf_level: float = CONF_LEVEL,
) -> LogisticFit:
    """Firth's bias-reduced logistic regression (Firth 1993; Heinze & Schemper 2002).

    As R's ``logistf(outcome ~ covariates, data)`` (Heinze & Ploner): maximises the
    penalised log-likelihood l(b) + 1/2 log|I(b)| (Jeffreys prior) by Newton steps on the
    modified score; SEs from the inverse information at the estimate; ``ci = "profile"``
    (default): profile penalised-likelihood limits where 2 (pl_max - pl_profile(b)) =
    chi2_{1, 0.95}; standard errors (and Wald limits, ``ci = "wald"``) from the inverse
    information of the augmented data X' diag(w (1 + h)) X, as logistf >= 1.24 reports them;
    ``coef`` p-values are penalised likelihood-ratio tests of each
    coefficient = 0 (the restricted model keeps the FULL model's penalty, as logistf);
    ``lr`` holds the same test per variable (all columns of a term jointly).
    ``deviance`` is -2 x the maximised penalised log-likelihood.

    Why own code: no Python library in the stack implements Firth logistic regression with
    profile penalised-likelihood intervals, and logistf is not available here.
    """
    key = ci.lower()
    if key not in FIRTH_CI_METHODS:
        raise ValueError(f"unknown ci {ci!r}; choose one of {sorted(FIRTH_CI_METHODS)}")
    _check_level(conf_level)
    from scipy.stats import chi2

    des = _build_design(df, outcome, covariates, categorical, interactions, splines)
    if des.n_used == 0:
        raise ValueError("no complete cases for the variables of the model")
    events = int(des.y.sum())
    # everything below on the distinct rows with frequency weights when that shrinks the data
    Xall, y, wts = _collapse(des.X, des.y)
    alias = _aliased_w(Xall, wts)
    keep = ~alias
    X = Xall[:, keep]
    p = X.shape[1]
    beta, pl0, conv = _firth_newton(X, y, fw=wts)
    fit_warn: list[str] = []
    if not conv:
        fit_warn.append("Firth fit did not converge")
    if alias.any():
        fit_warn.append("aliased columns dropped: " + ", ".join(
            n for n, a in zip(des.names, alias, strict=True) if a))
    # Covariance as logistf >= 1.24 (IRLS fit, its default): inverse Fisher information of
    # the augmented data, X' diag(w (1 + h)) X, with h the hat diagonal at the estimate.
    # (logistf <= 1.23 used X' W X; its SEs were 2-10 % larger on sex2.)
    _, (_, _, w, info) = _firth_pl(X, y, beta, wts)
    h = np.einsum("ij,jk,ik->i", X, np.linalg.inv(info), X) * w
    wa = w * (1.0 + h) if wts is None else wts * w * (1.0 + h)
    cov = np.linalg.inv(X.T @ (X * wa[:, None]))
    se = np.sqrt(np.diag(cov))

    def pl_fixed(cols: Sequence[int], values: Sequence[float], start: np.ndarray) -> tuple:
        free = np.ones(p, dtype=bool)
        free[list(cols)] = False
        b0 = start.copy()
        b0[list(cols)] = values
        b, pl, _ = _firth_newton(X, y, free=free, beta0=b0, fw=wts)
        return b, pl

    # penalised LR test per coefficient (logistf's p-values)
    pvals = np.empty(p)
    for j in range(p):
        _, plj = pl_fixed([j], [0.0], beta)
        pvals[j] = float(chi2.sf(max(2 * (pl0 - plj), 0.0), 1))
    zc = _z(conf_level)
    warns: list[str | None] = [None] * p
    if key == "wald":
        lo, up = beta - zc * se, beta + zc * se
    else:
        lo = np.full(p, np.nan)
        up = np.full(p, np.nan)
        for j in range(p):
            state = {"start": beta}

            def dev_at(b: float, j: int = j, state: dict = state) -> float:
                bb, pl = pl_fixed([j], [b], state["start"])
                state["start"] = bb
                return -2.0 * pl

            for direction, arr in ((-1, lo), (1, up)):
                state["start"] = beta
                arr[j] = _profile_root(dev_at, beta[j], se[j], -2 * pl0, zc, direction)
            if np.isnan(lo[j]) or np.isnan(up[j]):
                warns[j] = "profile penalised likelihood does not reach the limit: NaN"
    label = FIRTH_CI_METHODS[key].replace("95%", f"{100 * conf_level:g}%")
    coef = _coef_table(des, alias, beta, se, lo, up, pvals, TEST_PLR, label, warns)

    def dev_without(cols: list[int]) -> float:
        kcols = [int(np.sum(keep[:c])) for c in cols]  # positions among kept columns
        _, pl = pl_fixed(kcols, [0.0] * len(kcols), beta)
        return -2.0 * pl

    lr = _term_table(des, alias, -2.0 * pl0, dev_without, TEST_PLR)
    missing = pd.DataFrame({"variable": list(des.missing), "n_missing": list(des.missing.values())})
    spec = {"categorical": dict(categorical or {}), "interactions": list(interactions or []),
            "splines": dict(splines or {}), "conf_level": conf_level, "ci": key}
    return LogisticFit(outcome, _as_list(covariates), "Firth", coef, lr, des.n_total,
                       des.n_used, events, missing, -2.0 * pl0, beta, cov, des.names, alias,
                       fit_warn, des, spec)


def lr_tests(fit: LogisticFit) -> pd.DataFrame:
    """Likelihood-ratio test per variable (term) of a fit.

    ML: = R ``drop1(fit, test = "LRT")`` (deviance of the model without all columns of the
    term minus the full deviance, chi-square on the number of columns; main effects that are
    part of an interaction are not tested, as drop1).  Firth: penalised LR test with the
    full model's penalty (logistf).  Columns: ``variable, df, deviance_full,
    deviance_reduced, statistic, p, test, warning``.
    """
    return fit.lr.copy()


# ---------------------------------------------------------------------------
# separation and method choice
# ---------------------------------------------------------------------------
def detect_separation(X: np.ndarray, y: np.ndarray, tol: float = 1e-7,
                      weights: np.ndarray | None = None) -> bool:
    """True when the data show complete or quasi-complete separation.

    Linear-programming check of Konis (2007) (R ``detectseparation`` / safeBinaryRegression):
    maximise sum_i s_i x_i'b subject to s_i x_i'b >= 0 and -1 <= b <= 1 with s_i = 2 y_i - 1;
    a positive optimum means a direction along which the likelihood increases forever, i.e.
    finite ML estimates do not exist.

    ``weights``: frequency weights (rows standing for that many identical patients, see
    :func:`_collapse`); without them the rows are collapsed here when that shrinks them.
    Identical rows give identical constraints, so the LP on the distinct rows with the
    objective weighted by their numbers has the same optimum.
    """
    from scipy.optimize import linprog

    Xa = np.asarray(X, dtype=float)
    ya = np.asarray(y, dtype=float)
    if weights is None:
        Xa, ya, weights = _collapse(Xa, ya)
    n = len(ya) if weights is None else float(np.sum(weights))
    s = 2.0 * ya - 1.0
    A = s[:, None] * Xa
    scale = np.maximum(np.abs(Xa).max(axis=0), 1.0)
    A = A / scale
    obj = A.sum(axis=0) if weights is None else weights @ A
    res = linprog(-obj, A_ub=-A, b_ub=np.zeros(len(s)), bounds=[(-1, 1)] * Xa.shape[1],
                  method="highs")
    if res.status != 0:  # pragma: no cover - LP is bounded and feasible (b = 0)
        return False
    return bool(-res.fun > tol * n)


def choose_method(
    df: pd.DataFrame,
    outcome: str,
    covariates: str | Sequence[str],
    categorical: Mapping[str, Sequence[Any]] | None = None,
    interactions: Sequence[tuple[str, str]] | None = None,
    splines: Mapping[str, int | Sequence[float]] | None = None,
    min_cell: int = 5,
) -> dict[str, Any]:
    """The stated rule for ML versus Firth logistic regression.

    Firth's penalised likelihood (Heinze & Schemper 2002) is used when

    1. the complete cases show (quasi-)complete separation (:func:`detect_separation`), in
       which case ML estimates are infinite; or
    2. a cell of outcome x categorical covariate (each level, and each level combination of
       a categorical x categorical interaction) has fewer than ``min_cell`` events OR fewer
       than ``min_cell`` non-events (the outcome coding is arbitrary, so both count).

    ``min_cell = 5`` by default: it is the usual small-count threshold (the same 5 as the
    chi-square expected-count rule); ML odds ratios resting on fewer than 5 events in a
    level are strongly biased away from 1 (Firth 1993; Heinze & Schemper 2002), and cells
    with 0 events are already case 1.  Otherwise ML.

    Returns ``{"method": "ML" | "Firth", "reason": str, "separation": bool,
    "sparse_cells": DataFrame(variable, level, events, non_events)}``.
    """
    des = _build_design(df, outcome, covariates, categorical, interactions, splines)
    if des.n_used == 0:
        raise ValueError("no complete cases for the variables of the model")
    Xall, y, wts = _collapse(des.X, des.y)
    sep = detect_separation(Xall[:, ~_aliased_w(Xall, wts)], y, weights=wts)
    wv = np.ones(len(y)) if wts is None else wts

    def level_masks(t: _Term) -> list[tuple[Any, np.ndarray]]:
        # a level's rows from its indicator column (the reference: all indicators 0)
        cols = Xall[:, t.columns]
        ref = np.all(cols == 0, axis=1) if t.columns else np.ones(len(y), dtype=bool)
        return [(lv, ref if i == 0 else cols[:, i - 1] == 1)
                for i, lv in enumerate(t.levels or [])]

    sparse = []
    for name, t in des.terms.items():
        if t.kind == "categorical":
            groups = level_masks(t)
        elif t.kind == "interaction" and t.parts and all(
                des.terms[v].kind == "categorical" for v in t.parts):
            a, b = t.parts
            groups = [((la, lb), ma & mb) for la, ma in level_masks(des.terms[a])
                      for lb, mb in level_masks(des.terms[b])]
        else:
            continue
        for lv, msk in groups:
            ev = int(round(float(wv[msk] @ y[msk])))
            ne = int(round(float(wv[msk].sum()))) - ev
            if min(ev, ne) < min_cell:
                sparse.append({"variable": name, "level": lv, "events": ev, "non_events": ne})
    sparse_df = pd.DataFrame(sparse, columns=["variable", "level", "events", "non_events"])
    if sep:
        method = "Firth"
        reason = ("Firth penalised likelihood: (quasi-)complete separation, ML estimates "
                  "do not exist")
    elif len(sparse_df):
        method = "Firth"
        cells = "; ".join(f"{r.variable}={r.level}: {r.events} events / {r.non_events} "
                          "non-events" for r in sparse_df.itertuples())
        reason = (f"Firth penalised likelihood: sparse cell(s) with < {min_cell} events or "
                  f"non-events ({cells})")
    else:
        method = "ML"
        reason = (f"maximum likelihood: no separation, every outcome x level cell has >= "
                  f"{min_cell} events and non-events")
    return {"method": method, "reason": reason, "separation": sep, "sparse_cells": sparse_df}


# ---------------------------------------------------------------------------
# tests of model terms
# ---------------------------------------------------------------------------
def interaction_lr_test(
    df: pd.DataFrame,
    outcome: str,
    a: str,
    b: str,
    covariates: str | Sequence[str] | None = None,
    categorical: Mapping[str, Sequence[Any]] | None = None,
    method: str = "ML",
) -> pd.DataFrame:
    """Likelihood-ratio test of the ``a:b`` interaction (e.g. HER2 group x regimen).

    = R ``anova(glm(y ~ a + b + covs), glm(y ~ a * b + covs), test = "LRT")``: both models
    on the complete cases of the larger one; df = difference in the number of estimable
    coefficients (an empty a x b cell gives an aliased column and one df fewer, as R).
    ``method = "Firth"`` gives the penalised LR test (logistf).  One row: ``term, n_used,
    n_total, method, deviance_full, deviance_reduced, statistic, df, p, test, warning``.
    """
    if method not in ("ML", "Firth"):
        raise ValueError(f"method must be 'ML' or 'Firth', got {method!r}")
    from scipy.stats import chi2

    covs = [a, b] + [c for c in _as_list(covariates) if c not in (a, b)]
    _check_df(df, [outcome, *covs])
    term = f"{a}:{b}"
    # both models on the complete cases of the larger one (as anova(reduced, full))
    d = df.loc[~df[[outcome, *covs]].isna().any(axis=1), [outcome, *covs]]
    if method == "Firth":
        # penalised LR with the full model's penalty: interaction columns fixed at 0
        full = fit_firth(d, outcome, covs, categorical, [(a, b)], ci="wald")
        row = full.lr.set_index("variable").loc[term]
        dev_r, df_, test = float(row["deviance_reduced"]), int(row["df"]), TEST_PLR
    else:
        full = fit_logistic(d, outcome, covs, categorical, [(a, b)], ci="wald")
        red = fit_logistic(d, outcome, covs, categorical, None, ci="wald")
        dev_r = red.deviance
        df_ = int((~full.aliased).sum() - (~red.aliased).sum())
        test = TEST_LR
    ok = df_ > 0
    stat = max(dev_r - full.deviance, 0.0) if ok else np.nan
    return pd.DataFrame([{
        "term": term, "n_used": full.n_used, "n_total": len(df), "method": method,
        "deviance_full": full.deviance, "deviance_reduced": dev_r if ok else np.nan,
        "statistic": stat, "df": df_, "p": float(chi2.sf(stat, df_)) if ok else np.nan,
        "test": test, "warning": None if ok else "interaction columns all aliased: no test",
    }])


def nonlinearity_lr_test(
    df: pd.DataFrame,
    outcome: str,
    x: str,
    nk: int | Sequence[float] = 4,
    covariates: str | Sequence[str] | None = None,
    categorical: Mapping[str, Sequence[Any]] | None = None,
) -> pd.DataFrame:
    """LR test for nonlinearity of a continuous predictor: restricted cubic spline (``nk``
    knots or explicit knots) versus a linear term, other covariates unchanged; df = k - 2.
    = R ``anova(glm(y ~ x + ...), glm(y ~ rcs(x, k) + ...), test = "LRT")``; same row
    layout as :func:`interaction_lr_test` with ``term = "x (nonlinear)"``."""
    from scipy.stats import chi2

    covs = [x] + [c for c in _as_list(covariates) if c != x]
    _check_df(df, [outcome, *covs])
    used = [outcome, *covs]
    d = df.loc[~df[used].isna().any(axis=1), used]
    # knots from every non-missing x, as in fit_logistic
    knots = (rcs_knots(df[x].to_numpy(dtype=float), int(nk)) if np.ndim(nk) == 0
             else np.asarray(nk, dtype=float))
    full = fit_logistic(d, outcome, covs, categorical, None, {x: knots}, ci="wald")
    red = fit_logistic(d, outcome, covs, categorical, None, None, ci="wald")
    stat = max(red.deviance - full.deviance, 0.0)
    df_ = int((~full.aliased).sum() - (~red.aliased).sum())
    return pd.DataFrame([{
        "term": f"{x} (nonlinear)", "n_used": full.n_used, "n_total": len(df), "method": "ML",
        "deviance_full": full.deviance, "deviance_reduced": red.deviance, "statistic": stat,
        "df": df_, "p": float(chi2.sf(stat, df_)), "test": TEST_LR,
        "knots": ", ".join(f"{k:.6g}" for k in knots), "warning": None,
    }])


# ---------------------------------------------------------------------------
# prediction over a grid (dose-response figures)
# ---------------------------------------------------------------------------
def _design_rows(fit: LogisticFit, new: pd.DataFrame) -> np.ndarray:
    des = fit._design
    n = len(new)
    cols = [np.ones(n)]
    blocks: dict[str, np.ndarray] = {}
    for v, t in des.terms.items():
        if t.kind == "interaction":
            continue
        if v not in new.columns:
            raise ValueError(f"column '{v}' missing from the prediction grid")
        if t.kind == "categorical":
            sv = new[v].to_numpy(dtype=object)
            bad = [x for x in pd.unique(new[v]) if x not in (t.levels or [])]
            if bad:
                raise ValueError(f"grid values of '{v}' not among its levels: {bad}")
            block = np.column_stack([(sv == lv).astype(float) for lv in (t.levels or [])[1:]]) \
                if len(t.levels or []) > 1 else np.empty((n, 0))
        elif t.kind == "spline":
            xv = new[v].to_numpy(dtype=float)
            block = np.column_stack([xv, rcs_basis(xv, t.knots)])
        else:
            block = new[v].to_numpy(dtype=float)[:, None]
        blocks[v] = block
        cols.extend(block.T)
    for t in des.terms.values():
        if t.kind == "interaction" and t.parts:
            a, b = t.parts
            for jb in range(blocks[b].shape[1]):
                for ja in range(blocks[a].shape[1]):
                    cols.append(blocks[a][:, ja] * blocks[b][:, jb])
    return np.column_stack(cols)


def predict_grid(
    fit: LogisticFit,
    x: str,
    values: Sequence[float] | np.ndarray | None = None,
    at: Mapping[str, Any] | None = None,
    n_points: int = 100,
    conf_level: float = CONF_LEVEL,
) -> pd.DataFrame:
    """Predicted probability with a pointwise CI over a grid of ``x`` (dose-response).

    Other covariates are held at ``at[col]``; by default the reference level of a
    categorical covariate and the median (complete cases) of a numeric one.  The CI is Wald
    on the logit scale, back-transformed: = R ``predict(fit, newdata, type = "link",
    se.fit = TRUE)`` then ``plogis(fit +/- z * se.fit)``.  Default grid: ``n_points``
    equally spaced values between the 5th and 95th percentile of ``x`` (complete cases).

    Columns: ``x`` values under the name of ``x``, the held covariates, ``linear_predictor,
    se_link, prob, lower, upper, ci_method``.
    """
    _check_level(conf_level)
    des = fit._design
    if x not in des.terms or des.terms[x].kind not in ("numeric", "spline"):
        raise ValueError(f"'{x}' is not a numeric/spline covariate of the model")
    j0 = des.terms[x].columns[0]
    xs = des.X[:, j0]
    if values is None:
        values = np.linspace(np.quantile(xs, 0.05), np.quantile(xs, 0.95), n_points)
    values = np.asarray(values, dtype=float)
    grid = pd.DataFrame({x: values})
    at = dict(at or {})
    for v, t in des.terms.items():
        if t.kind == "interaction" or v == x:
            continue
        if v in at:
            grid[v] = at[v]
        elif t.kind == "categorical":
            grid[v] = pd.Series([(t.levels or [None])[0]] * len(grid), dtype=object)
        else:
            grid[v] = float(np.median(des.X[:, t.columns[0]]))
    Xg = _design_rows(fit, grid)[:, ~fit.aliased]
    eta = Xg @ fit.params
    se = np.sqrt(np.einsum("ij,jk,ik->i", Xg, fit.cov, Xg))
    z = _z(conf_level)
    out = grid.copy()
    out["linear_predictor"] = eta
    out["se_link"] = se
    out["prob"] = 1.0 / (1.0 + np.exp(-eta))
    out["lower"] = 1.0 / (1.0 + np.exp(-(eta - z * se)))
    out["upper"] = 1.0 / (1.0 + np.exp(-(eta + z * se)))
    out["ci_method"] = f"Wald on the logit scale, back-transformed, {100 * conf_level:g}%"
    return out


# ---------------------------------------------------------------------------
# univariable + multivariable table (gtsummary tbl_uvregression + tbl_regression)
# ---------------------------------------------------------------------------
def _fit_by_method(df: pd.DataFrame, outcome: str, covs: list[str],
                   categorical: Mapping[str, Sequence[Any]], splines: Mapping[str, Any],
                   method: str, ci: str, min_cell: int) -> tuple[LogisticFit, str]:
    cat = {k: v for k, v in categorical.items() if k in covs}
    spl = {k: v for k, v in splines.items() if k in covs}
    if method == "auto":
        rule = choose_method(df, outcome, covs, cat, None, spl, min_cell=min_cell)
        chosen, reason = rule["method"], rule["reason"]
    else:
        chosen = "Firth" if method.lower() == "firth" else "ML"
        reason = ("Firth penalised likelihood (requested)" if chosen == "Firth"
                  else "maximum likelihood (requested)")
    if chosen == "Firth":
        return fit_firth(df, outcome, covs, cat, None, spl, ci="wald" if ci == "wald"
                         else "profile"), reason
    return fit_logistic(df, outcome, covs, cat, None, spl, ci=ci), reason


def _rows_for(fit: LogisticFit, v: str, prefix: str) -> list[dict[str, Any]]:
    des = fit._design
    t = des.terms[v]
    lr = fit.lr.set_index("variable")
    rows_: list[dict[str, Any]] = []
    head = {f"{prefix}_n": fit.n_used, f"{prefix}_events": fit.events,
            f"{prefix}_p": lr.loc[v, "p"], f"{prefix}_test": lr.loc[v, "test"],
            f"{prefix}_method": fit.method}
    coef = fit.coef.set_index("term")
    ci_method = str(fit.coef["ci_method"].iloc[0])
    if t.kind == "categorical":
        rows_.append({"row_type": "label", "level": None, "reference": False, **head})
        for i, lv in enumerate(t.levels or []):
            if i == 0:
                msk = (np.all(des.X[:, t.columns] == 0, axis=1) if t.columns
                       else np.ones(des.n_used, dtype=bool))
                r = {f"{prefix}_or": 1.0, f"{prefix}_lower": np.nan, f"{prefix}_upper": np.nan,
                     f"{prefix}_estimate": "Ref"}
            else:
                c = t.columns[i - 1]
                msk = des.X[:, c] == 1
                cr = coef.loc[des.names[c]]
                r = {f"{prefix}_or": cr["odds_ratio"], f"{prefix}_lower": cr["or_lower"],
                     f"{prefix}_upper": cr["or_upper"], f"{prefix}_estimate": "OR"}
            rows_.append({"row_type": "level", "level": lv, "reference": i == 0,
                          f"{prefix}_n": int(msk.sum()),
                          f"{prefix}_events": int(des.y[msk].sum()),
                          f"{prefix}_ci_method": ci_method, **r})
    elif t.kind == "numeric":
        cr = coef.loc[des.names[t.columns[0]]]
        rows_.append({"row_type": "label", "level": None, "reference": False, **head,
                      f"{prefix}_or": cr["odds_ratio"], f"{prefix}_lower": cr["or_lower"],
                      f"{prefix}_upper": cr["or_upper"], f"{prefix}_estimate": "OR per unit",
                      f"{prefix}_ci_method": ci_method})
    else:  # spline: overall LR test only
        rows_.append({"row_type": "label", "level": None, "reference": False, **head,
                      f"{prefix}_or": np.nan, f"{prefix}_lower": np.nan,
                      f"{prefix}_upper": np.nan,
                      f"{prefix}_estimate": f"restricted cubic spline, {len(t.knots)} knots: "
                      "no single OR; p = LR test of all spline terms"})
    return rows_


def regression_table(
    df: pd.DataFrame,
    outcome: str,
    covariates: str | Sequence[str],
    categorical: Mapping[str, Sequence[Any]] | None = None,
    splines: Mapping[str, int | Sequence[float]] | None = None,
    method: str = "auto",
    ci: str = "profile",
    min_cell: int = 5,
    multivariable: bool = True,
) -> pd.DataFrame:
    """Univariable models (one per covariate) merged with the multivariable model.

    As gtsummary ``tbl_merge(tbl_uvregression(...), tbl_regression(glm(...)))`` with
    profile-likelihood CIs and, per variable, the likelihood-ratio p-value (all levels of a
    factor jointly; = ``drop1(test = "LRT")``; gtsummary's ``add_global_p()``).  Each
    univariable model uses its own complete cases; the multivariable model the complete
    cases of all covariates.  ``method``: ``"auto"`` (:func:`choose_method` per model),
    ``"ML"`` or ``"Firth"``.

    Rows: per variable a ``label`` row (model n and events, LR p; for a numeric covariate
    also its OR per unit) and for a categorical one a ``level`` row per level (the reference
    with OR 1 and ``estimate = "Ref"``; n and events in that level).  Columns (``uni_*`` and
    ``multi_*``): ``n, events, or, lower, upper, estimate, p, test, method, ci_method``;
    then ``variable, level, row_type, reference``; and on every row of the table
    ``epv`` (events per variable of the multivariable model: the smaller of events and
    non-events divided by the number of non-intercept coefficients, Peduzzi et al. 1996),
    ``footnote`` (method per model and why) and ``warning`` (EPV < 10; fit warnings).
    """
    covs = _as_list(covariates)
    categorical = dict(categorical or {})
    splines = dict(splines or {})
    _check_df(df, [outcome, *covs])
    if method.lower() not in ("auto", "ml", "firth"):
        raise ValueError(f"method must be 'auto', 'ML' or 'Firth', got {method!r}")
    if ci.lower() not in ("profile", "wald", "profile-mass"):
        raise ValueError(f"unknown ci {ci!r}")
    method = method.lower() if method.lower() == "auto" else method
    notes: list[str] = []
    warns: list[str] = []
    uni_rows: dict[str, list[dict[str, Any]]] = {}
    for v in covs:
        fit_u, why = _fit_by_method(df, outcome, [v], categorical, splines, method, ci, min_cell)
        uni_rows[v] = _rows_for(fit_u, v, "uni")
        if fit_u.method == "Firth":
            notes.append(f"univariable {v}: {why}")
        warns += [f"univariable {v}: {w}" for w in fit_u.warnings]
    multi_rows: dict[str, list[dict[str, Any]]] = {}
    epv = np.nan
    if multivariable:
        fit_m, why = _fit_by_method(df, outcome, covs, categorical, splines, method, ci,
                                    min_cell)
        for v in covs:
            multi_rows[v] = _rows_for(fit_m, v, "multi")
        notes.append(f"multivariable model: {why}")
        warns += [f"multivariable: {w}" for w in fit_m.warnings]
        n_par = int((~fit_m.aliased).sum()) - 1
        minor = min(fit_m.events, fit_m.n_used - fit_m.events)
        epv = minor / n_par if n_par else np.nan
        if epv < 10:
            warns.append(
                f"events per variable {epv:.1f} < 10 ({minor} "
                f"{'events' if minor == fit_m.events else 'non-events'} / {n_par} "
                f"coefficients; {PEDUZZI}): multivariable estimates may be biased and "
                "intervals unreliable")
    rows = []
    for v in covs:
        for i, r in enumerate(uni_rows[v]):
            row = {"variable": v, **r}
            if multivariable:
                row.update({k: val for k, val in multi_rows[v][i].items()
                            if k not in ("row_type", "level", "reference")})
            rows.append(row)
    out = pd.DataFrame(rows)
    cols = ["variable", "level", "row_type", "reference"]
    for pre in ("uni", "multi") if multivariable else ("uni",):
        cols += [f"{pre}_{c}" for c in ("n", "events", "estimate", "or", "lower", "upper",
                                        "ci_method", "p", "test", "method")]
    for c in cols:
        if c not in out.columns:
            out[c] = np.nan
    out = out[cols].copy()
    out["reference"] = out["reference"].astype(bool)
    out["level"] = out["level"].astype(object)
    out["epv"] = epv
    out["footnote"] = "; ".join(notes) if notes else None
    out["warning"] = "; ".join(warns) if warns else None
    return out
