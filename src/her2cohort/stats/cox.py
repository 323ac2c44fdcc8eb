"""Cox proportional hazards regression equal to R's ``survival::coxph`` (survival >= 3.0).

Written here with numpy (not lifelines) because the project needs what R's
``coxph`` exposes and lifelines does not: R's Newton-Raphson with step-halving
and its convergence/infinite-coefficient diagnostics, Efron *and* Breslow ties
with case weights, robust (dfbeta sandwich) and cluster variances with R's
robust score test, ``residuals.coxph`` (martingale, score, Schoenfeld, scaled
Schoenfeld, dfbeta), ``concordance`` with R's tie handling and its infinitesimal
jackknife standard error, and the *current* ``cox.zph`` score test (Grambsch &
Therneau as re-implemented in survival 3.0, 2019; lifelines'
``proportional_hazard_test`` is the older formula).

Algorithms follow Therneau's survival sources (R/coxph.R, R/coxph.fit.R,
src/coxfit6.c, src/coxscore2.c, src/coxmart.c, src/coxscho.c,
R/residuals.coxph.R, R/concordance.R + src/concordance3.c, R/cox.zph.R +
src/zph1.c); see Therneau & Grambsch (2000), *Modeling Survival Data*.

No I/O; a DataFrame and column names in, numbers and tidy DataFrames out.
Right-censored data only (no (start, stop] counting process input).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .adequacy import EPV_THRESHOLD, cox_epv
from .grouping import check_levels

__all__ = [
    "CoxFit",
    "CoxModel",
    "ZphResult",
    "COX_LR_TEST",
    "cox_table",
    "cox_term_tests",
    "cox_zph",
]

CONF_LEVEL = 0.95
#: R's qnorm(0.975)
_Z95 = 1.959963984540054
#: coxph.control() defaults
_EPS = 1e-9
_TOLER_CHOL = float(np.finfo(float).eps) ** 0.75
_TOLER_INF = float(np.sqrt(_EPS))
_ITER_MAX = 20

CI_WALD = "Wald, exp(coef ± 1.96·se)"
CI_WALD_ROBUST = "Wald with robust (sandwich) se, exp(coef ± 1.96·robust se)"
TEST_WALD = "Wald"
TEST_WALD_ROBUST = "Wald (robust se)"
TEST_LR = "likelihood ratio"
TEST_SCORE = "score (log-rank)"
TEST_ROBUST_SCORE = "robust score"
TEST_ZPH = "cox.zph score test (Grambsch-Therneau, survival >= 3.0)"
COX_LR_TEST = "likelihood ratio (Cox model with and without the term)"


def _chi2_sf(x: Any, df: Any) -> Any:
    from scipy.stats import chi2

    return chi2.sf(x, df)


# ---------------------------------------------------------------------------
# data preparation
# ---------------------------------------------------------------------------
def _design(
    df: pd.DataFrame, covariates: Sequence[str], categorical: Mapping[str, Sequence[Any]]
) -> tuple[np.ndarray, list[str], dict[str, list[int]]]:
    """Treatment-coded design matrix (R factor contrasts) and term -> column map."""
    cols: list[np.ndarray] = []
    names: list[str] = []
    assign: dict[str, list[int]] = {}
    for c in covariates:
        s = df[c]
        if c in categorical:
            levels = check_levels(s, c, categorical[c])
            # s == lv for each level through the distinct values (one hashing pass, not one
            # comparison of every row per level)
            codes, uniq = pd.factorize(s)
            uniq = pd.Series(np.asarray(uniq, dtype=object), dtype=object)
            idx = []
            for lv in levels[1:]:
                idx.append(len(cols))
                hit = np.flatnonzero(uniq.eq(lv).to_numpy(dtype=bool))
                cols.append(np.isin(codes, hit).astype(float))
                names.append(f"{c}[{lv}]")
            assign[c] = idx
        elif pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            assign[c] = [len(cols)]
            cols.append(s.to_numpy(dtype=float))
            names.append(c)
        else:
            raise ValueError(
                f"covariate column '{c}' is not numeric (dtype {s.dtype}); "
                "declare it in `categorical` with its level order"
            )
    x = np.column_stack(cols) if cols else np.zeros((len(df), 0))
    return x, names, assign


def _aeq_times(t: np.ndarray, tol: float = float(np.sqrt(np.finfo(float).eps))) -> np.ndarray:
    """R ``aeqSurv`` (coxph's default timefix=TRUE): times equal up to rounding become tied."""
    y = np.unique(t[np.isfinite(t)])
    if len(y) < 2:
        return t
    dy = np.diff(y)
    tied = (dy <= tol) | (dy / np.mean(np.abs(y)) <= tol)
    if not tied.any():
        return t
    cuts = y[np.r_[True, ~tied]]
    return cuts[np.searchsorted(cuts, t, side="right") - 1]


def _codes(values: pd.Series) -> np.ndarray:
    """Integer codes 0.. in sorted order of the distinct values (R factor levels)."""
    return pd.factorize(values, sort=True)[0].astype(np.int64)


@dataclass
class _Risk:
    """Data sorted by (stratum, time) with the block structure of tied times."""

    x: np.ndarray  # n x p, sorted, centred by the weighted mean
    w: np.ndarray
    e: np.ndarray  # 0/1 float
    time: np.ndarray
    strat: np.ndarray
    order: np.ndarray  # sorted position -> original row
    block_start: np.ndarray
    block_of: np.ndarray  # sorted row -> block id
    strat_bounds: list[tuple[int, int]]
    dblocks: np.ndarray  # ids of blocks with deaths
    dcount: np.ndarray  # deaths per death block (unweighted count)
    ties: str
    step_block: np.ndarray = field(init=False)  # Efron steps -> death block index
    step_frac: np.ndarray = field(init=False)
    # fixed per fit, used by every Newton step (_steps):
    cuts: np.ndarray = field(init=False)  # segment starts: death-block starts + stratum starts
    dseg: np.ndarray = field(init=False)  # death block -> its segment
    seg_bounds: list[tuple[int, int]] = field(init=False)  # segment range of each stratum
    ev_rows: np.ndarray = field(init=False)  # sorted rows with an event
    ev_cuts: np.ndarray = field(init=False)  # starts of the death blocks within ev_rows
    xt: np.ndarray = field(init=False)  # x transposed (p x n, C order): long rows for _steps
    xt_ev: np.ndarray = field(init=False)  # xt of the event rows (p x events)

    def __post_init__(self) -> None:
        nd = len(self.dblocks)
        if self.ties == "efron":
            rep = np.repeat(np.arange(nd), self.dcount)
            first = np.repeat(np.cumsum(self.dcount) - self.dcount, self.dcount)
            k = np.arange(len(rep)) - first
            self.step_block = rep
            self.step_frac = k / self.dcount[rep]
        else:
            self.step_block = np.arange(nd)
            self.step_frac = np.zeros(nd)
        # The risk set of a death block is the rows from its start to its stratum's end:
        # the sums over it are suffix sums (per stratum) of the sums over the segments
        # between consecutive death-block starts (rows before a stratum's first death
        # are in no risk set and form their own segment, never summed).
        bs = self.block_start[self.dblocks]
        sstart = np.array([a for a, _ in self.strat_bounds], dtype=np.int64)
        self.cuts = np.union1d(bs, sstart).astype(np.int64)
        self.dseg = np.searchsorted(self.cuts, bs)
        sseg = np.searchsorted(self.cuts, sstart)
        self.seg_bounds = list(zip(sseg.tolist(), np.r_[sseg[1:], len(self.cuts)].tolist(),
                                   strict=True))
        self.ev_rows = np.flatnonzero(self.e > 0)
        bo = self.block_of[self.ev_rows]
        self.ev_cuts = np.flatnonzero(np.r_[True, bo[1:] != bo[:-1]])
        self.xt = np.ascontiguousarray(self.x.T)
        self.xt_ev = np.ascontiguousarray(self.xt[:, self.ev_rows])


def _prepare(
    time: np.ndarray,
    event: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    strat: np.ndarray,
    ties: str,
) -> _Risk:
    order = np.lexsort((time, strat))
    t, s = time[order], strat[order]
    new = np.r_[True, (s[1:] != s[:-1]) | (t[1:] != t[:-1])]
    block_start = np.flatnonzero(new)
    block_of = np.cumsum(new) - 1
    e = event[order].astype(float)
    dcnt_all = np.add.reduceat(e, block_start)
    dblocks = np.flatnonzero(dcnt_all > 0)
    snew = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    bounds = list(zip(snew.tolist(), np.r_[snew[1:], len(s)].tolist(), strict=True))
    ws = w[order]
    xs = x[order]
    means = (ws @ xs) / ws.sum() if xs.shape[1] else np.zeros(0)
    return _Risk(
        x=xs - means,
        w=ws,
        e=e,
        time=t,
        strat=s,
        order=order,
        block_start=block_start,
        block_of=block_of,
        strat_bounds=bounds,
        dblocks=dblocks,
        dcount=dcnt_all[dblocks].astype(np.int64),
        ties=ties,
    )


def _segsum(cols: Callable[[int, int], np.ndarray], n: int, cuts: np.ndarray,
            width: int) -> np.ndarray:
    """``np.add.reduceat(cols(0, n), cuts)`` for row-wise columns, in chunks of whole segments.

    ``cols(lo, hi)`` gives the ``width`` columns of the rows ``lo:hi``.  Chunks of
    about 2^16 cells (whole segments; 512 kB, in cache: about twice as fast as one pass at
    10^5 rows) keep the per-row products (p(p+1)/2 per row for the information matrix) out
    of memory at registry size; the sum of each segment is the same as in one reduceat.
    """
    nseg = len(cuts)
    out = np.empty((nseg, width))
    target = max(256, (1 << 16) // max(width, 1))
    if n == 0 or nseg == 0:
        return out
    # chunk k covers segments [ck[k], ck[k+1])
    ck = np.unique(np.searchsorted(cuts, np.arange(0, n, target), side="right") - 1)
    ck = np.r_[ck[ck >= 0], nseg]
    for a, b in zip(ck[:-1].tolist(), ck[1:].tolist(), strict=True):
        lo = int(cuts[a])
        hi = int(cuts[b]) if b < nseg else n
        out[a:b] = np.add.reduceat(cols(lo, hi), cuts[a:b] - lo, axis=0)
    return out


def _row_products(r: np.ndarray, xt: np.ndarray, nu: int) -> np.ndarray:
    """Rows ``[r, r x, (r x_a x_b for a <= b in np.triu_indices order) if nu]``.

    Built column by column from ``xt`` (p x k): each product is one long vector operation,
    not k short ones; the values are the same products (r x_a) x_b, then laid out by rows.
    """
    p, k = xt.shape
    mt = np.empty((1 + p + nu, k))
    mt[0] = r
    vt = mt[1 : 1 + p]
    np.multiply(r, xt, out=vt)
    if nu:
        off = 1 + p
        for a in range(p):
            np.multiply(vt[a], xt[a:], out=mt[off : off + p - a])
            off += p - a
    # rows x columns as a view, not a C-order copy: np.add.reduceat(axis=0) sums each
    # column of a segment with the same inner loop whatever the stride (checked bit for bit
    # against the C-order copy on random and registry data)
    return mt.T


def _revcumsum(v: np.ndarray, bounds: list[tuple[int, int]]) -> np.ndarray:
    """Sum over the risk set (rows at or after this one in the stratum), no subtraction."""
    out = np.empty_like(v)
    for a, b in bounds:
        out[a:b] = np.cumsum(v[a:b][::-1], axis=0)[::-1]
    return out


@dataclass
class _Steps:
    """Per-death-time (Efron sub-step) quantities at a given beta."""

    loglik: float
    u: np.ndarray
    imat: np.ndarray
    den: np.ndarray  # per step
    xbar: np.ndarray  # per step x p
    wt: np.ndarray  # per step: death weight carried by the step
    vu: np.ndarray  # per step, upper triangle (np.triu_indices) of wt * (c/den - xbar xbar')
    eta: np.ndarray  # sorted rows

    @property
    def vstep(self) -> np.ndarray:
        """Per step p x p: wt * (c/den - xbar xbar') (built on demand: cox.zph only)."""
        p = self.xbar.shape[1]
        out = np.zeros((len(self.den), p, p))
        if p and self.vu.size:
            iu0, iu1 = np.triu_indices(p)
            out[:, iu0, iu1] = self.vu
            out[:, iu1, iu0] = self.vu
        return out


def _steps(beta: np.ndarray, rk: _Risk, need_v: bool = True) -> _Steps:
    """Log partial likelihood, score and information (coxfit6_iter, vectorised).

    The risk-set sums at the death times (of exp(eta) w, of exp(eta) w x and of
    exp(eta) w x x', upper triangle only) are segment sums between death times
    plus a suffix sum over the segments of each stratum (:attr:`_Risk.cuts`), not
    cumulative sums over all rows; the Efron corrections sum the event rows only.
    """
    x, w, e = rk.x, rk.w, rk.e
    n, p = x.shape
    eta = x @ beta if p else np.zeros(len(w))
    r = np.exp(eta) * w
    nd = len(rk.dblocks)
    iu0, iu1 = np.triu_indices(p)
    nu = len(iu0) if (need_v and p) else 0
    width = 1 + p + nu

    seg = _segsum(lambda lo, hi: _row_products(r[lo:hi], rk.xt[:, lo:hi], nu), n, rk.cuts,
                  width)
    for a, b in rk.seg_bounds:  # suffix sums within each stratum
        seg[a:b] = np.cumsum(seg[a:b][::-1], axis=0)[::-1]
    risk = seg[rk.dseg]  # per death block
    ev = rk.ev_rows
    dw = np.add.reduceat(w[ev], rk.ev_cuts) if nd else np.zeros(0)
    sb, fr = rk.step_block, rk.step_frac
    efron = rk.ties == "efron"
    if efron:
        # Efron step k of a block with d deaths: risk-set sums minus k/d of the deaths' sums
        wt = (dw / rk.dcount)[sb]
        r_ev = r[ev]
        dsum = _segsum(lambda lo, hi: _row_products(r_ev[lo:hi], rk.xt_ev[:, lo:hi], nu),
                       len(ev), rk.ev_cuts, width)
    else:  # Breslow: the risk-set sums themselves
        wt = dw
    # per step, in chunks that stay in cache (element by element the same operations)
    ns = len(sb)
    den = np.empty(ns)
    xbar = np.empty((ns, p))
    vu = np.empty((ns, nu))
    step = max(64, (1 << 15) // width)
    for lo in range(0, ns, step):
        hi = min(lo + step, ns)
        if efron:
            at = risk[sb[lo:hi]] - fr[lo:hi, None] * dsum[sb[lo:hi]]
        else:
            at = risk[lo:hi]
        dc = at[:, 0]
        den[lo:hi] = dc
        xb = at[:, 1 : 1 + p] / dc[:, None]
        xbar[lo:hi] = xb
        if nu:
            # wt * (c/den - xbar xbar') on the upper triangle
            v = at[:, 1 + p :] / dc[:, None]
            v -= xb[:, iu0] * xb[:, iu1]
            v *= wt[lo:hi, None]
            vu[lo:hi] = v
    loglik = float(np.sum(w * e * eta) - np.sum(wt * np.log(den)))
    u = (w * e) @ x - wt @ xbar
    imat = np.zeros((p, p))
    if nu:
        su = vu.sum(axis=0)  # = vstep.sum(axis=0) on the triangle, mirrored (symmetric)
        imat[iu0, iu1] = su
        imat[iu1, iu0] = su
    return _Steps(loglik, u, imat, den, xbar, wt, vu, eta)


def _chol_singular(imat: np.ndarray, toler: float = _TOLER_CHOL) -> np.ndarray:
    """Columns that R's cholesky2 declares singular (pivot < toler * max diag)."""
    a = imat.copy()
    n = a.shape[0]
    sing = np.zeros(n, dtype=bool)
    if n == 0:
        return sing
    eps = toler * max(float(np.max(np.diag(a))), 0.0)
    for i in range(n):
        piv = a[i, i]
        if not np.isfinite(piv) or piv < eps or piv <= 0:
            sing[i] = True
            a[i, :] = 0.0
            a[:, i] = 0.0
            continue
        for j in range(i + 1, n):
            tmp = a[j, i] / piv
            a[j, j:] -= tmp * a[i, j:]
            a[j:, j] = a[j, j:]
    return sing


def _scaled_solve(imat: np.ndarray, u: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Solve imat * step = u through the R-scaled system (better conditioned)."""
    a = imat * np.outer(scale, scale)
    return scale * np.linalg.solve(a, u * scale)


def _quad(mat: np.ndarray, v: np.ndarray) -> float:
    """v' mat^-1 v (a Wald-type quadratic form)."""
    return float(v @ np.linalg.solve(mat, v))


# ---------------------------------------------------------------------------
# the fitted model
# ---------------------------------------------------------------------------
@dataclass
class CoxFit:
    """A fitted Cox model; attributes mirror R's ``coxph`` object.

    ``coef`` (NaN for singular columns, as R's NA), ``var`` (robust variance when
    robust, else model-based), ``naive_var``, ``loglik`` = (null, final),
    ``n``, ``nevent``, ``n_total``, ``n_missing`` (per variable, rows lost to
    na.omit), ``terms`` (column names), ``assign`` (covariate -> columns).
    """

    coef: np.ndarray
    var: np.ndarray
    naive_var: np.ndarray
    loglik: tuple[float, float]
    score_test: float
    n: int
    nevent: int
    n_total: int
    n_missing: dict[str, int]
    terms: list[str]
    assign: dict[str, list[int]]
    ties: str
    robust: bool
    iterations: int
    infinite: np.ndarray
    singular: np.ndarray
    warnings: list[str]
    rscore: float | None
    strata: list[str]
    means: np.ndarray  # R's fit$means: weighted mean, 0 for 0/1 (and -1) columns
    covariates: list[str]
    categorical: dict[str, list[Any]]
    strata_levels: list[Any]
    # per used row, in the input row order
    _time: np.ndarray = field(repr=False)
    _event: np.ndarray = field(repr=False)
    _x: np.ndarray = field(repr=False)
    _w: np.ndarray = field(repr=False)
    _strat: np.ndarray = field(repr=False)
    _cluster: np.ndarray | None = field(repr=False)
    _index: pd.Index = field(repr=False)
    _risk: _Risk = field(repr=False)
    _st: _Steps = field(repr=False)
    _conc: dict[str, float] | None = field(default=None, repr=False)

    # -- basic quantities ---------------------------------------------------
    @property
    def _ok(self) -> np.ndarray:
        return ~self.singular

    @property
    def linear_predictors(self) -> np.ndarray:
        """X beta for the rows used (input order), NA coefficients taken as 0.

        R centres its ``linear.predictors`` (subtracts sum(coef * means)); the
        difference is a constant that none of the results here depend on.
        """
        b = np.where(np.isnan(self.coef), 0.0, self.coef)
        return self._x @ b

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.var))

    @property
    def naive_se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.naive_var))

    # -- tables ------------------------------------------------------------------
    def summary(self) -> pd.DataFrame:
        """One row per coefficient, as R ``summary(coxph)`` (coef and conf.int tables).

        Columns ``term, coef, hr, lower, upper, se, robust_se, z, p, test,
        ci_method, warning``. ``se`` is the model-based se (R ``se(coef)``);
        ``robust_se`` is R's ``robust se`` (NaN unless robust); z, p and the CI
        use the robust se when the model is robust, as R does.
        """
        se = self.naive_se
        rse = self.se if self.robust else np.full(len(se), np.nan)
        use = rse if self.robust else se
        coef = self.coef
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            z = coef / use
            p = _chi2_sf(z**2, 1)
            lower = np.exp(coef - _Z95 * use)
            upper = np.exp(coef + _Z95 * use)
        warn = [""] * len(coef)
        for j, name in enumerate(self.terms):
            if self.singular[j]:
                warn[j] = (
                    f"'{name}' is constant or collinear with other covariates (X matrix "
                    "singular): coefficient not estimable (NA in R)"
                )
            elif self.infinite[j]:
                warn[j] = (
                    f"Loglik converged before '{name}' converged: coefficient may be "
                    "infinite (e.g. no events in a group); se, z, p and CI not reported"
                )
        bad = self.singular | self.infinite
        for arr in (z, p, lower, upper):
            arr[bad] = np.nan
        out = pd.DataFrame(
            {
                "term": self.terms,
                "coef": coef,
                "hr": np.exp(coef),
                "lower": lower,
                "upper": upper,
                "se": np.where(bad, np.nan, se),
                "robust_se": np.where(bad, np.nan, rse),
                "z": z,
                "p": p,
                "test": TEST_WALD_ROBUST if self.robust else TEST_WALD,
                "ci_method": CI_WALD_ROBUST if self.robust else CI_WALD,
                "warning": warn,
            }
        )
        return out

    def tests(self) -> pd.DataFrame:
        """Global tests as R ``summary(coxph)``: LR, Wald, score (and robust score).

        Columns ``test, statistic, df, p``. With robust=True the Wald test uses
        the robust variance and a robust score test is added (R ``robscore``).
        """
        ok = self._ok
        df = int(ok.sum())
        lr = 2 * (self.loglik[1] - self.loglik[0])
        b = self.coef[ok]
        wald = _quad(self.var[np.ix_(ok, ok)], b) if df else np.nan
        rows = [
            (TEST_LR, lr),
            (TEST_WALD_ROBUST if self.robust else TEST_WALD, wald),
            (TEST_SCORE, self.score_test),
        ]
        if self.robust and self.rscore is not None:
            rows.append((TEST_ROBUST_SCORE, self.rscore))
        out = pd.DataFrame(rows, columns=["test", "statistic"])
        out["df"] = df
        out["p"] = _chi2_sf(out["statistic"].to_numpy(dtype=float), df)
        out["warning"] = ""
        if self.infinite.any():
            out.loc[out["test"].str.startswith("Wald"), "warning"] = (
                "a coefficient may be infinite: the Wald test is unreliable, use the LR test"
            )
        return out

    # -- residuals -----------------------------------------------------------
    def _step_index(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each sorted row: cumulative hazard sums (H, sum h*xbar) up to its time."""
        rk, st = self._risk, self._st
        h = st.wt / st.den
        hx = h[:, None] * st.xbar
        step_blk = rk.dblocks[rk.step_block]
        step_str = rk.strat[rk.block_start[step_blk]]
        ch = np.cumsum(h)
        chx = np.cumsum(hx, axis=0)
        # reset the sums at each stratum
        first = np.r_[True, step_str[1:] != step_str[:-1]]
        grp = np.cumsum(first) - 1
        starts = np.flatnonzero(first)
        base_h = np.r_[0.0, ch][starts][grp]
        base_hx = np.vstack([np.zeros((1, hx.shape[1])), chx])[starts][grp]
        ch = ch - base_h
        chx = chx - base_hx
        idx = np.searchsorted(step_blk, rk.block_of, side="right") - 1
        valid = idx >= 0
        valid[valid] = step_str[idx[valid]] == rk.strat[valid]
        hrow = np.where(valid, ch[np.maximum(idx, 0)], 0.0)
        hxrow = np.where(valid[:, None], chx[np.maximum(idx, 0)], 0.0)
        return h, hrow, hxrow

    def _own_time(self, h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per death block: sum frac*h, sum frac*h*xbar, mean of xbar over Efron steps."""
        rk, st = self._risk, self._st
        nb = len(rk.dblocks)
        p = st.xbar.shape[1]
        fh = rk.step_frac * h
        a = np.bincount(rk.step_block, weights=fh, minlength=nb)
        b = np.zeros((nb, p))
        m = np.zeros((nb, p))
        np.add.at(b, rk.step_block, fh[:, None] * st.xbar)
        np.add.at(m, rk.step_block, st.xbar)
        cnt = np.bincount(rk.step_block, minlength=nb)
        m /= cnt[:, None]
        # map block id -> position in dblocks
        pos = np.full(len(rk.block_start), -1)
        pos[rk.dblocks] = np.arange(nb)
        return a[pos[rk.block_of]] * (pos[rk.block_of] >= 0), b, m

    def _unsort(self, v: np.ndarray) -> np.ndarray:
        out = np.empty_like(v)
        out[self._risk.order] = v
        return out

    def residuals(self, kind: str = "martingale", weighted: bool | None = None) -> Any:
        """Residuals as R ``residuals.coxph(fit, type=kind)``.

        * ``martingale``: Series, one per used row (input order);
        * ``score`` / ``dfbeta``: DataFrame rows x terms (dfbeta = score %*% naive var,
          multiplied by the case weights as R's default ``weighted=TRUE``);
        * ``schoenfeld`` / ``scaledsch``: DataFrame, one row per event sorted by
          stratum then time (columns ``time``, ``stratum`` then one per term);
          scaledsch = ndead * resid %*% naive var + coef.

        Singular (NA) columns are omitted as in R.
        """
        rk, st = self._risk, self._st
        ok = self._ok
        names = [t for t, k in zip(self.terms, ok, strict=True) if k]
        score = np.exp(st.eta)  # unweighted risk score, R's exp(lp)
        if kind not in ("martingale", "score", "dfbeta", "schoenfeld", "scaledsch"):
            raise ValueError(f"unknown residual type {kind!r}")
        if weighted is None:
            weighted = kind == "dfbeta"
        h, hrow, hxrow = self._step_index()
        own_a, own_b, own_m = self._own_time(h)
        pos = np.full(len(rk.block_start), -1)
        pos[rk.dblocks] = np.arange(len(rk.dblocks))
        bpos = pos[rk.block_of]
        e = rk.e
        if kind == "martingale":
            res = e - score * (hrow - e * own_a)
            if weighted:
                res = res * rk.w
            return pd.Series(self._unsort(res), index=self._index, name="martingale")
        if kind in ("score", "dfbeta"):
            x = rk.x
            dn = np.zeros_like(x)
            dead = e > 0
            dn[dead] = x[dead] - own_m[bpos[dead]]
            corr = np.zeros_like(x)
            corr[dead] = x[dead] * own_a[dead, None] - own_b[bpos[dead]]
            res = dn - score[:, None] * (x * hrow[:, None] - hxrow - corr)
            res = self._unsort(res)
            if kind == "dfbeta":
                res = res @ self.naive_var[np.ix_(ok, ok)]
            if weighted:
                res = res * self._w[:, None]
            return pd.DataFrame(res, index=self._index, columns=names)
        # Schoenfeld
        dead = np.flatnonzero(e > 0)  # already sorted by stratum, time, input order
        res = rk.x[dead] - own_m[bpos[dead]]
        if weighted:
            res = res * rk.w[dead, None]
        if kind == "scaledsch":
            coef = self.coef[ok]
            res = res @ self.naive_var[np.ix_(ok, ok)] * len(dead) + coef
        out = pd.DataFrame(res, columns=names)
        out.insert(0, "stratum", rk.strat[dead])
        out.insert(0, "time", rk.time[dead])
        return out

    # -- survival curves -----------------------------------------------------
    def baseline_survival(self) -> pd.DataFrame:
        """R ``survfit(fit)``: the curve at R's ``fit$means`` (per stratum).

        R's default covariate vector is ``fit$means``: the (weighted) mean of
        each column, except 0 for 0/1 indicator columns (so factor dummies are
        at their reference level).  See :meth:`predict_survival` for columns.
        """
        z = np.where(np.isnan(self.means), 0.0, self.means)[None, :]
        return self._curves(z, ["means"], None)

    def predict_survival(self, newdata: pd.DataFrame) -> pd.DataFrame:
        """R ``survfit(fit, newdata)``: adjusted survival curves for covariate rows.

        Breslow ties give the Breslow (Aalen) hazard, Efron ties R's Efron
        hazard (ctype 2), S = exp(-H) (stype 2), SE from the Tsiatis variance
        with the model variance, 95 % CI on the log scale (R ``conf.type="log"``).
        If ``newdata`` holds the strata column(s), each row gets only its
        stratum's curve, otherwise every stratum's.  Columns: ``curve`` (index
        of newdata), ``stratum``, ``time``, ``n_risk``, ``n_event``,
        ``n_censor``, ``surv``, ``std_err`` (of S, as summary.survfit),
        ``cumhaz``, ``std_chaz``, ``lower``, ``upper``, ``ci_method``, ``warning``.
        """
        x, _, _ = _design(newdata, self.covariates, self.categorical)
        if np.isnan(x).any():
            raise ValueError("newdata has missing covariate values")
        own = None
        if self.strata and all(c in newdata.columns for c in self.strata):
            key = (
                newdata[self.strata].astype(str).agg("\x1f".join, axis=1)
                if len(self.strata) > 1
                else newdata[self.strata[0]]
            )
            lv = {v: i for i, v in enumerate(self.strata_levels)}
            own = np.array([lv.get(v, -1) for v in key])
            if (own < 0).any():
                raise ValueError("newdata has a stratum value not in the fitted data")
        return self._curves(x, list(newdata.index), own)

    def _curves(self, z: np.ndarray, labels: list[Any], own: np.ndarray | None) -> pd.DataFrame:
        rk, st = self._risk, self._st
        ok = self._ok
        beta = self.coef[ok]
        mean_w = (self._w @ self._x[:, ok]) / self._w.sum()  # rk.x is centred at these
        zc = z[:, ok] - mean_w
        h = st.wt / st.den
        vh = st.wt / st.den**2
        xb = h[:, None] * st.xbar
        nb = len(rk.block_start)
        sblk = rk.dblocks[rk.step_block]
        haz = np.bincount(sblk, weights=h, minlength=nb)
        varhaz = np.bincount(sblk, weights=vh, minlength=nb)
        xbar = np.zeros((nb, len(beta)))
        np.add.at(xbar, sblk, xb)
        w, e = rk.w, rk.e
        n_event = np.add.reduceat(w * e, rk.block_start)
        n_cens = np.add.reduceat(w * (1 - e), rk.block_start)
        n_risk = _revcumsum(w, rk.strat_bounds)[rk.block_start]
        bstrat = rk.strat[rk.block_start]
        btime = rk.time[rk.block_start]
        vmat = self.var[np.ix_(ok, ok)]
        parts = []
        for s in np.unique(bstrat):
            m = bstrat == s
            ch0 = np.cumsum(haz[m])
            cv = np.cumsum(varhaz[m])
            for i, lab in enumerate(labels):
                if own is not None and own[i] != s:
                    continue
                risk2 = float(np.exp(zc[i] @ beta))
                dt = np.cumsum(haz[m, None] * zc[i][None, :] - xbar[m], axis=0)
                var_h = (cv + np.einsum("ij,jk,ik->i", dt, vmat, dt)) * risk2**2
                cumhaz = ch0 * risk2
                surv = np.exp(-cumhaz)
                se_h = np.sqrt(var_h)
                parts.append(
                    pd.DataFrame(
                        {
                            "curve": [lab] * int(m.sum()),
                            "stratum": self.strata_levels[int(s)],
                            "time": btime[m],
                            "n_risk": n_risk[m],
                            "n_event": n_event[m],
                            "n_censor": n_cens[m],
                            "surv": surv,
                            "std_err": surv * se_h,
                            "cumhaz": cumhaz,
                            "std_chaz": se_h,
                            "lower": surv * np.exp(-_Z95 * se_h),
                            "upper": np.minimum(surv * np.exp(_Z95 * se_h), 1.0),
                        }
                    )
                )
        out = pd.concat(parts, ignore_index=True)
        out["ci_method"] = "log (R survfit.coxph default), 95%"
        out["warning"] = ""
        if self.robust:
            out[["std_err", "std_chaz", "lower", "upper"]] = np.nan
            out["warning"] = (
                "robust/cluster model: the curve's robust (jackknife) SE is not implemented"
            )
        return out

    # -- concordance ---------------------------------------------------------
    def concordance(self) -> dict[str, float]:
        """Harrell's C as R ``concordance(fit)`` / ``fit$concordance`` (timewt "n").

        Pairs are compared within strata; a pair is comparable when the shorter
        time is an event (a censoring at the same time counts as longer); tied
        risk scores count 1/2; tied event times are not comparable.  The SE is
        R's infinitesimal-jackknife ``sqrt(var)`` (clustered when a cluster was
        given).  Counts are weighted by the product of case weights.
        """
        if self._conc is None:  # computed once per fit (callers ask more than once)
            lp = self.linear_predictors
            self._conc = _concordance(
                self._time, self._event, lp, self._strat, self._w, self._cluster, reverse=True
            )
        return dict(self._conc)


def _dominance(
    pos_c: np.ndarray,
    key_c: np.ndarray,
    w_c: np.ndarray,
    q_r: np.ndarray,
    key_r: np.ndarray,
    lo_r: np.ndarray,
    hi_r: np.ndarray,
    nkey: int,
    after: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted 2-D dominance counts by a merge-sort tree over positions.

    Contributors sit at distinct sorted positions ``pos_c`` with an integer key
    ``key_c`` and weight ``w_c``.  For each receiver (query position ``q_r``, key
    ``key_r``, allowed key range ``[lo_r, hi_r]``) returns the summed weight of
    the contributors on the required side of ``q_r`` (``after``: pos > q, else
    pos < q) whose key is below / equal to / above ``key_r`` (within the range).

    Level L of the tree splits positions into blocks of 2^(L+1) with halves of
    2^L: a contributor-receiver pair on opposite sides is counted at exactly one
    level, the highest bit where pos and q differ (same block, opposite halves).
    Contributors and receivers are kept sorted by (position >> L, key), as in a
    bottom-up merge sort (a stable sort of two sorted runs per block, linear in
    timsort), so at each level the contributing halves are already sorted by
    (block, key) and the receivers' four binary searches come in increasing order.
    A loop over the log2(n) levels only; no Python loop over rows.
    """
    nr = len(q_r)
    below = np.zeros(nr)
    equal = np.zeros(nr)
    above = np.zeros(nr)
    if nr == 0 or len(pos_c) == 0:
        return below, equal, above
    top = max(int(pos_c.max()), int(q_r.max())).bit_length()
    want = 1 if after else 0
    corder = np.argsort(pos_c, kind="stable")
    rorder = np.lexsort((key_r, q_r))
    for lev in range(max(top, 1)):
        cp = pos_c[corder]
        ci = corder[((cp >> lev) & 1) == want]
        rq = q_r[rorder]
        ri = rorder[((rq >> lev) & 1) != want]
        if len(ci) and len(ri):
            kc = (pos_c[ci] >> (lev + 1)) * nkey + key_c[ci]  # ascending by construction
            cw = np.r_[0.0, np.cumsum(w_c[ci])]
            base = (q_r[ri] >> (lev + 1)) * nkey
            kr = base + key_r[ri]
            a = np.searchsorted(kc, base + lo_r[ri], side="left")
            b = np.searchsorted(kc, kr, side="left")
            c = np.searchsorted(kc, kr, side="right")
            d = np.searchsorted(kc, base + hi_r[ri], side="right")
            below[ri] += cw[b] - cw[a]
            equal[ri] += cw[c] - cw[b]
            above[ri] += cw[d] - cw[c]
        if lev + 1 < top:
            kn = (cp >> (lev + 1)) * nkey + key_c[corder]
            corder = corder[np.argsort(kn, kind="stable")]
            kn = (rq >> (lev + 1)) * nkey + key_r[rorder]
            rorder = rorder[np.argsort(kn, kind="stable")]
    return below, equal, above


def _concordance(
    time: np.ndarray,
    event: np.ndarray,
    x: np.ndarray,
    strat: np.ndarray,
    w: np.ndarray,
    cluster: np.ndarray | None,
    reverse: bool,
) -> dict[str, float]:
    """Survival's concordance3 (counts and infinitesimal-jackknife influence), O(n log^2 n).

    A pair (i, j) in one stratum is comparable when i is an event and j is
    "longer": t_j > t_i, or t_j == t_i and j censored.  With the dense rank r of
    (stratum, time, 1 - event), j is longer than event i iff r_j > r_i (same
    stratum), so each count is a weighted 2-D dominance count in (r, x) done by
    :func:`_dominance` (keys: dense rank of (stratum, x), limited to the
    stratum's key range).  The influence of a row sums its pairs as the shorter
    member (an event: longer rows after the end of its r tie group) and as the
    longer member (events before the start of its r tie group).  Tied event
    times (tied.y, tied.xy) come from group sums.  Equal, up to summation order,
    to the pairwise definition (kept as the oracle in tests/test_cox_concordance.py).
    """
    n = len(time)
    time = np.asarray(time, dtype=float)
    ev = np.asarray(event, dtype=float) > 0
    x = np.asarray(x, dtype=float)
    s = np.asarray(strat, dtype=np.int64)
    w = np.asarray(w, dtype=float)
    # sort by (stratum, time, censored after events); tie groups of r
    order = np.lexsort((~ev, time, s))
    sp, tp, ep, wp = s[order], time[order], ev[order], w[order]
    newg = np.r_[True, (sp[1:] != sp[:-1]) | (tp[1:] != tp[:-1]) | (ep[1:] != ep[:-1])]
    g = np.cumsum(newg) - 1
    gstart = np.flatnonzero(newg)
    gend = np.r_[gstart[1:], n] - 1
    # dense rank of (stratum, x) and each stratum's range of it
    ox = np.lexsort((x, s))
    sx_s, xx_s = s[ox], x[ox]
    newx = np.r_[True, (sx_s[1:] != sx_s[:-1]) | (xx_s[1:] != xx_s[:-1])]
    kx = np.empty(n, dtype=np.int64)
    kx[ox] = np.cumsum(newx) - 1
    nkey = int(kx.max(initial=0)) + 1
    news = np.r_[True, sx_s[1:] != sx_s[:-1]]
    sfirst = np.flatnonzero(news)
    slast = np.r_[sfirst[1:], n] - 1
    lo_of = np.zeros(int(s.max(initial=0)) + 1, dtype=np.int64)
    hi_of = np.zeros_like(lo_of)
    lo_of[sx_s[sfirst]] = kx[ox[sfirst]]
    hi_of[sx_s[slast]] = kx[ox[slast]]
    kp = kx[order]
    lop, hip = lo_of[sp], hi_of[sp]
    pos = np.arange(n, dtype=np.int64)
    evp = np.flatnonzero(ep)

    # events as the shorter member: all rows after the end of the event's tie group
    s_lt, s_eq, s_gt = _dominance(pos, kp, wp, gend[g[evp]], kp[evp], lop[evp], hip[evp],
                                  nkey, after=True)
    # every row as the longer member: events before the start of its tie group.
    # For the pair (event i, longer j), "greater x" means x_j > x_i: key_i below key_j.
    l_gt, l_eq, l_lt = _dominance(evp, kp[evp], wp[evp], gstart[g], kp, lop, hip,
                                  nkey, after=False)
    inflp = np.column_stack([l_gt, l_lt, l_eq])
    inflp[evp, 0] += s_gt
    inflp[evp, 1] += s_lt
    inflp[evp, 2] += s_eq
    we = wp[evp]
    # greater-x, smaller-x, tied.x, tied.y, tied.xy (R's unreversed order)
    cnt = np.zeros(5)
    cnt[0], cnt[1], cnt[2] = we @ s_gt, we @ s_lt, we @ s_eq
    # tied event times: the events of one tie group of r share (stratum, time)
    ge = g[evp]
    wg = np.bincount(ge, weights=we, minlength=len(gstart))[ge]
    o3 = np.lexsort((x[order][evp], ge))
    ge3, x3 = ge[o3], x[order][evp][o3]
    new3 = np.r_[True, (ge3[1:] != ge3[:-1]) | (x3[1:] != x3[:-1])]
    gx3 = np.cumsum(new3) - 1
    gx = np.empty(len(evp), dtype=np.int64)
    gx[o3] = gx3
    wgx = np.bincount(gx, weights=we)[gx]
    cnt[3] = 0.5 * float(we @ (wg - wgx))
    cnt[4] = 0.5 * float(we @ (wgx - we))
    infl = np.empty((n, 3))
    infl[order] = inflp

    conc, disc, tx = cnt[0], cnt[1], cnt[2]
    npair = conc + disc + tx
    somer = (conc - disc) / npair if npair > 0 else np.nan
    dfb = ((infl[:, 0] - infl[:, 1]) - infl.sum(axis=1) * somer) * w / (2 * npair)
    if cluster is not None:
        dfb = np.bincount(np.asarray(cluster, dtype=np.int64), weights=dfb)
    var = float(np.sum(dfb**2))
    c = (somer + 1) / 2
    if reverse:
        c = 1 - c
        conc, disc = disc, conc
    return {
        "concordant": float(conc),
        "discordant": float(disc),
        "tied.x": float(tx),
        "tied.y": float(cnt[3]),
        "tied.xy": float(cnt[4]),
        "concordance": float(c),
        "std": float(np.sqrt(var)),
        "n": int(n),
    }


# ---------------------------------------------------------------------------
# the model
# ---------------------------------------------------------------------------
class CoxModel:
    """Cox proportional hazards model, R ``survival::coxph`` semantics.

    Parameters
    ----------
    ties : "efron" (R's default) or "breslow".
    eps, iter_max : R's ``coxph.control`` convergence rule, applied first so
        the iterates and diagnostics are R's; the estimate is then polished
        with further Newton steps to machine precision (skipped when a
        coefficient looks infinite).
    """

    def __init__(self, ties: str = "efron", eps: float = _EPS, iter_max: int = _ITER_MAX):
        if ties not in ("efron", "breslow"):
            raise ValueError(f"ties must be 'efron' or 'breslow', got {ties!r}")
        self.ties = ties
        self.eps = eps
        self.iter_max = iter_max

    def fit(
        self,
        df: pd.DataFrame,
        time: str,
        event: str,
        covariates: Sequence[str],
        categorical: Mapping[str, Sequence[Any]] | None = None,
        strata: str | Sequence[str] | None = None,
        weights: str | None = None,
        cluster: str | None = None,
        robust: bool | None = None,
    ) -> CoxFit:
        """Fit ``coxph(Surv(time, event) ~ covariates + strata(...), weights, cluster)``.

        Rows with a missing value in any variable used are dropped (R na.omit);
        ``n_total``, ``n`` and ``n_missing`` (per variable) report it.
        ``robust=None`` follows R: robust when a cluster is given or a weight is
        not an integer.  A cluster with ``robust=False`` is ignored with a
        warning, as in R.
        """
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
        covariates = list(covariates)
        if not covariates:
            raise ValueError("a Cox model needs at least one covariate")
        if len(set(covariates)) != len(covariates):
            raise ValueError(f"duplicated covariates: {covariates}")
        strata_l = [strata] if isinstance(strata, str) else list(strata or [])
        categorical = dict(categorical or {})
        stray = [c for c in categorical if c not in covariates]
        if stray:
            raise ValueError(f"categorical column(s) not listed in covariates: {stray}")
        used = [time, event, *covariates, *strata_l]
        if weights:
            used.append(weights)
        if cluster:
            used.append(cluster)
        missing_cols = [c for c in used if c not in df.columns]
        if missing_cols:
            raise ValueError(f"column(s) not found in data: {missing_cols}")
        overlap = {time, event} & set(covariates + strata_l)
        if overlap:
            raise ValueError(f"time/event column(s) used as covariate or stratum: {sorted(overlap)}")
        warnings: list[str] = []

        n_total = len(df)
        na = df[list(dict.fromkeys(used))].isna()
        n_missing = {c: int(na[c].sum()) for c in dict.fromkeys(used)}
        keep = ~na.any(axis=1).to_numpy()
        # only the model's columns: a registry frame has many more (no copy of all of them)
        cols = list(dict.fromkeys(used))
        d = df[cols] if keep.all() else df.loc[keep, cols]
        if len(d) == 0:
            raise ValueError("no complete rows: every row has a missing value in a model variable")

        t = d[time].to_numpy(dtype=float)
        if not np.isfinite(t).all():
            raise ValueError(f"time column '{time}' has non-finite value(s)")
        if (t < 0).any():
            raise ValueError(f"time column '{time}' has {int((t < 0).sum())} negative value(s)")
        t = _aeq_times(t)
        ev_raw = d[event]
        if pd.api.types.is_bool_dtype(ev_raw):
            ev = ev_raw.to_numpy(dtype=float)
        else:
            if not pd.api.types.is_numeric_dtype(ev_raw):
                raise ValueError(f"event column '{event}' must be coded 0/1")
            ev = ev_raw.to_numpy(dtype=float)
            bad = int((~np.isin(ev, (0.0, 1.0))).sum())
            if bad:
                raise ValueError(f"event column '{event}' has {bad} value(s) not in {{0, 1}}")
        if ev.sum() == 0:
            raise ValueError("no events in the data used: the Cox model is not defined")

        x, names, assign = _design(d, covariates, categorical)
        if weights:
            w = d[weights].to_numpy(dtype=float)
            if not np.isfinite(w).all() or (w <= 0).any():
                raise ValueError(f"weights column '{weights}' must be finite and > 0")
        else:
            w = np.ones(len(d))
        if strata_l:
            key = d[strata_l].astype(str).agg("\x1f".join, axis=1) if len(strata_l) > 1 else d[
                strata_l[0]
            ]
            strat = _codes(key)
            strata_levels = list(pd.unique(key.sort_values()))
        else:
            strat = np.zeros(len(d), dtype=np.int64)
            strata_levels = ["all"]
        has_rwt = bool(weights) and bool(np.any(w != np.floor(w)))
        if robust is None:
            robust = bool(cluster) or has_rwt
        clus: np.ndarray | None = None
        if cluster:
            if robust:
                clus = _codes(d[cluster])
            else:
                warnings.append("cluster specified with robust=False, cluster ignored (as R)")
        if robust and clus is None:
            clus = np.arange(len(d))

        rk = _prepare(t, ev, x, w, strat, self.ties)
        p = x.shape[1]

        # R (coxfit6) scales non-0/1 columns by the mean absolute deviation; the
        # scaled information matrix is what cholesky2 checks for singularity.
        zero_one = np.array([np.isin(x[:, j], (-1.0, 0.0, 1.0)).all() for j in range(p)])
        mad = np.array(
            [np.sum(w * np.abs(rk.x[:, j])) / w.sum() if not zero_one[j] else 1.0 for j in range(p)]
        )
        scale = np.where(mad > 0, 1.0 / np.where(mad > 0, mad, 1.0), 1.0)
        scale = np.where(zero_one, 1.0, scale)
        st0 = _steps(np.zeros(p), rk)
        sing = _chol_singular(st0.imat * np.outer(scale, scale))
        ok = ~sing
        for j in np.flatnonzero(sing):
            warnings.append(
                f"'{names[j]}' is constant or collinear with other covariates: coefficient NA "
                "(X matrix deemed to be singular, as R coxph)"
            )
        rk_ok = rk if ok.all() else _subset_cols(rk, ok)
        sc = scale[ok]
        q = int(ok.sum())
        if q == 0:
            raise ValueError("no estimable covariate: every column is constant or collinear")
        if rk_ok is not rk:
            st0 = _steps(np.zeros(q), rk_ok)
        loglik0 = st0.loglik
        score_test = float(st0.u @ _scaled_solve(st0.imat, st0.u, sc))

        # Newton-Raphson with step halving, exactly as coxfit6
        beta = np.zeros(q)
        st_best = st0
        newbeta = beta + _scaled_solve(st0.imat, st0.u, sc)
        halving = 0
        converged = False
        it = 0
        for it in range(1, self.iter_max + 1):
            st_new = _steps(newbeta, rk_ok)
            finite = np.isfinite(st_new.loglik) and np.isfinite(st_new.u).all()
            finite = finite and np.isfinite(st_new.imat).all()
            if finite and abs(1 - st_best.loglik / st_new.loglik) <= self.eps:
                beta, st_best = newbeta, st_new
                converged = True
                break
            if not finite or st_new.loglik < st_best.loglik:
                halving += 1
                newbeta = (newbeta + halving * beta) / (halving + 1.0)
            else:
                halving = 0
                st_best = st_new
                beta = newbeta
                newbeta = newbeta + _scaled_solve(st_new.imat, st_new.u, sc)
        if not converged:
            st_best = _steps(beta, rk_ok)
            warnings.append("Ran out of iterations and did not converge (as R's warning)")
        var_ok = np.linalg.inv(st_best.imat * np.outer(sc, sc)) * np.outer(sc, sc)
        infs = np.abs(st_best.u @ var_ok)
        infinite_ok = ~np.isfinite(st_best.u) | ((infs > self.eps) & (infs > _TOLER_INF * np.abs(beta)))
        if not converged:
            infinite_ok = np.zeros(q, dtype=bool)
        if converged and not infinite_ok.any():
            # polish: Newton to machine precision (R stops at |1 - l0/l1| <= 1e-9)
            for _ in range(30):
                step = _scaled_solve(st_best.imat, st_best.u, sc)
                size = float(np.max(np.abs(step) / (1 + np.abs(beta))))
                if not np.isfinite(size) or size < 1e-15:
                    break
                st_c = _steps(beta + step, rk_ok)
                if not np.isfinite(st_c.loglik) or st_c.loglik < st_best.loglik - 1e-13 * abs(
                    st_best.loglik
                ):
                    break
                beta, st_best = beta + step, st_c
                if size < 1e-13:
                    break
            var_ok = np.linalg.inv(st_best.imat * np.outer(sc, sc)) * np.outer(sc, sc)
        for j_ok in np.flatnonzero(infinite_ok):
            warnings.append(
                f"Loglik converged before variable '{names[np.flatnonzero(ok)[j_ok]]}'; "
                "coefficient may be infinite (as R coxph)"
            )

        coef = np.full(p, np.nan)
        coef[ok] = beta
        naive = np.zeros((p, p))
        naive[np.ix_(ok, ok)] = var_ok
        infinite = np.zeros(p, dtype=bool)
        infinite[ok] = infinite_ok

        fit = CoxFit(
            coef=coef,
            var=naive,
            naive_var=naive,
            loglik=(float(loglik0), float(st_best.loglik)),
            score_test=score_test,
            n=len(d),
            nevent=int(ev.sum()),
            n_total=n_total,
            n_missing=n_missing,
            terms=names,
            assign=assign,
            ties=self.ties,
            robust=bool(robust),
            iterations=it,
            infinite=infinite,
            singular=sing,
            warnings=warnings,
            rscore=None,
            strata=strata_l,
            means=np.where(zero_one, 0.0, (w @ x) / w.sum()) if p else np.zeros(0),
            covariates=covariates,
            categorical={k: list(v) for k, v in categorical.items()},
            strata_levels=strata_levels,
            _time=t,
            _event=ev,
            _x=x,
            _w=w,
            _strat=strat,
            _cluster=clus if robust else None,
            _index=d.index,
            _risk=rk_ok,  # residuals etc. use the estimable columns only
            _st=st_best,
        )
        if robust:
            dfb = fit.residuals("dfbeta").to_numpy()
            dfb_c = _collapse(dfb, clus)
            rv = np.zeros((p, p))
            rv[np.ix_(ok, ok)] = dfb_c.T @ dfb_c
            fit.var = rv
            # robust score test at beta = 0 (R: residuals(type="score") at lp = 0)
            null = CoxFit(**{**fit.__dict__, "_st": st0})  # st0: _steps at 0 on fit._risk
            sc0 = null.residuals("score", weighted=True).to_numpy()
            sc0 = _collapse(sc0, clus)
            u = sc0.sum(axis=0)
            fit.rscore = float(u @ np.linalg.solve(sc0.T @ sc0, u))
        return fit


def _collapse(m: np.ndarray, cluster: np.ndarray | None) -> np.ndarray:
    if cluster is None:
        return m
    out = np.zeros((int(cluster.max()) + 1, m.shape[1]))
    np.add.at(out, cluster, m)
    return out


def _subset_cols(rk: _Risk, ok: np.ndarray) -> _Risk:
    return _Risk(
        x=rk.x[:, ok],
        w=rk.w,
        e=rk.e,
        time=rk.time,
        strat=rk.strat,
        order=rk.order,
        block_start=rk.block_start,
        block_of=rk.block_of,
        strat_bounds=rk.strat_bounds,
        dblocks=rk.dblocks,
        dcount=rk.dcount,
        ties=rk.ties,
    )


# ---------------------------------------------------------------------------
# proportional hazards test
# ---------------------------------------------------------------------------
@dataclass
class ZphResult:
    """R ``cox.zph`` result: ``table`` (term/GLOBAL, chisq, df, p, test), the
    transformed event times ``x`` and raw ``time`` (events sorted by stratum,
    time), ``stratum``, the scaled Schoenfeld residuals ``y`` (one column per
    term; NaN where a term is constant in a stratum), ``var`` and ``transform``."""

    table: pd.DataFrame
    x: np.ndarray
    time: np.ndarray
    stratum: np.ndarray
    y: pd.DataFrame
    var: np.ndarray
    transform: str


def _km_left(times: np.ndarray, event: np.ndarray) -> np.ndarray:
    """1 - S(t-) of the unweighted pooled Kaplan-Meier (cox.zph transform 'km')."""
    ut = np.unique(times)
    d = np.array([0.0] * len(ut))
    np.add.at(d, np.searchsorted(ut, times), event)
    n_risk = len(times) - np.searchsorted(np.sort(times), ut, side="left")
    surv = np.cumprod(1 - d / n_risk)
    idx = np.searchsorted(ut, times, side="left")  # number of unique times < t
    return 1.0 - np.r_[1.0, surv][idx]


def cox_zph(
    fit: CoxFit,
    transform: str | Callable[[np.ndarray], np.ndarray] = "km",
    terms: bool = True,
    global_test: bool = True,
) -> ZphResult:
    """Test of proportional hazards, R ``cox.zph(fit, transform, terms)`` (survival >= 3.0).

    The score test of adding ``x * g(t)`` to the model for each term (``terms=True``:
    a factor's dummies tested jointly with df = number of dummies) and globally,
    using the full 2p x 2p information matrix (Grambsch & Therneau 1994 as
    implemented in survival 3.0, src/zph1.c), with ``g(t)`` = ``transform`` of
    time centred at its mean over the events: ``"km"`` (1 - left-continuous pooled
    KM), ``"rank"``, ``"identity"``, ``"log"`` or a callable on the times.
    Strata and case weights are handled as R does.
    """
    ok = ~fit.singular
    rk, st = fit._risk, fit._st
    times = fit._time
    event = fit._event
    if callable(transform):
        tname = getattr(transform, "__name__", "user")
        ttimes = np.asarray(transform(times), dtype=float)
    elif transform == "identity":
        tname, ttimes = transform, times.copy()
    elif transform == "rank":
        from scipy.stats import rankdata

        tname, ttimes = transform, rankdata(times)
    elif transform == "log":
        tname, ttimes = transform, np.log(times)
    elif transform == "km":
        tname, ttimes = transform, _km_left(times, event)
    else:
        raise ValueError(f"unknown transform {transform!r}")
    gtime = ttimes - ttimes[event > 0].mean()
    gsorted = gtime[rk.order]
    nvar = int(ok.sum())
    # g for each Efron step: the g of its tied-time block
    step_rows = rk.block_start[rk.dblocks[rk.step_block]]
    g = gsorted[step_rows]
    x = rk.x
    wd = rk.w * rk.e
    u2 = (wd * gsorted) @ x - (st.wt * g) @ st.xbar
    vstep = st.vstep
    i11 = vstep.sum(axis=0)
    i12 = np.tensordot(g, vstep, axes=1)
    i22 = np.tensordot(g**2, vstep, axes=1)
    imat = np.block([[i11, i12], [i12.T, i22]])
    u = np.r_[np.zeros(nvar), u2]

    # terms (drop singular columns)
    okpos = np.full(len(ok), -1)
    okpos[ok] = np.arange(nvar)
    if terms:
        asgn = {}
        for term, cols in fit.assign.items():
            kept = [int(okpos[c]) for c in cols if ok[c]]
            if kept:
                asgn[term] = kept
    else:
        asgn = {t: [j] for j, t in enumerate(np.array(fit.terms)[ok])}
    names = list(asgn)
    rows = []
    for term, jj in asgn.items():
        kk = list(range(nvar)) + [nvar + j for j in jj]
        stat = float(u[kk] @ np.linalg.solve(imat[np.ix_(kk, kk)], u[kk]))
        rows.append((term, stat, len(jj)))
    if global_test:
        rows.append(("GLOBAL", float(u @ np.linalg.solve(imat, u)), nvar))
    table = pd.DataFrame(rows, columns=["term", "chisq", "df"])
    table["p"] = _chi2_sf(table["chisq"].to_numpy(dtype=float), table["df"].to_numpy())
    table["test"] = TEST_ZPH
    table["transform"] = tname

    # scaled Schoenfeld residuals (R cox.zph: per-stratum rescaling by vmean)
    sch = fit.residuals("schoenfeld")
    sres = sch.iloc[:, 2:].to_numpy()
    dead = np.flatnonzero(rk.e > 0)
    nstrat = int(rk.strat.max()) + 1
    used = np.zeros((nstrat, nvar))
    for s, (a, b) in zip(np.unique(rk.strat), rk.strat_bounds, strict=True):
        xs = x[a:b]
        nonconst = (xs != xs[0]).any(axis=0)
        used[s] = np.where(nonconst, rk.e[a:b].sum(), 0.0)
    for jj in asgn.values():
        if len(jj) > 1 and (used[:, jj] == 0).any():
            used[:, jj] = used[:, jj].max(axis=1, keepdims=True)
    wtmat = np.zeros((nvar, nvar))
    for i in range(nstrat):
        wtmat += np.minimum.outer(used[i], used[i])
    vmean = i11 / np.where(wtmat == 0, 1, wtmat)
    fcoef = fit.coef[ok]
    if terms and any(len(j) > 1 for j in asgn.values()):
        tmat = np.zeros((nvar, len(asgn)))
        for i, jj in enumerate(asgn.values()):
            tmat[jj, i] = 1.0 if len(jj) == 1 else fcoef[jj]
        sres = sres @ tmat
        vmean = tmat.T @ vmean @ tmat
        used = used[:, [jj[0] for jj in asgn.values()]]
    sgrp = np.repeat(np.arange(nstrat), used.max(axis=1).astype(int))
    for i in range(nstrat):
        k = np.flatnonzero(used[i] > 0)
        if len(k):
            j = sgrp == i
            sres[np.ix_(j, k)] = np.linalg.solve(vmean[np.ix_(k, k)], sres[np.ix_(j, k)].T).T
            other = np.setdiff1d(np.arange(sres.shape[1]), k)
            sres[np.ix_(j, other)] = np.nan
    for i, jj in enumerate(asgn.values()):
        sres[:, i] += fcoef[jj[0]] if len(jj) == 1 else 1.0
    return ZphResult(
        table=table,
        x=ttimes[rk.order[dead]],
        time=rk.time[dead],
        stratum=rk.strat[dead],
        y=pd.DataFrame(sres, columns=names),
        var=np.linalg.inv(vmean),
        transform=tname,
    )


# ---------------------------------------------------------------------------
# Cox: likelihood-ratio test of a term (all k - 1 columns of a factor jointly)
# ---------------------------------------------------------------------------
def cox_term_tests(
    df: pd.DataFrame,
    time: str,
    event: str,
    covariates: Sequence[str],
    categorical: Mapping[str, Sequence[Any]] | None = None,
    strata: str | Sequence[str] | None = None,
    ties: str = "efron",
    epv_threshold: float = EPV_THRESHOLD,
    full: CoxFit | None = None,
) -> pd.DataFrame:
    """Likelihood-ratio test of each covariate (term) of a Cox model, all its columns
    jointly (a factor of k levels: k - 1 df); = R ``drop1(coxph(Surv(time, event) ~ ...),
    test = "Chisq")``, and for a single covariate ``anova(coxph(...))``.

    The model and every reduced model are fitted on the complete cases of all model
    variables (R fits drop1's reduced models on the full model's frame); a model without
    any covariate left is the null model (its log-likelihood at beta = 0).  Unweighted,
    model-based fits only: R refuses LR tables for robust variances.

    One row per covariate: ``variable, df, loglik_full, loglik_reduced, statistic, p, test,
    n, events, n_missing, epv, epv_below, warning``.  ``epv`` is the full model's events per
    estimated coefficient (:func:`her2cohort.stats.adequacy.cox_epv`), ``epv_below`` whether
    it is below ``epv_threshold``.

    ``full``: the caller's fit of exactly this model (``CoxModel(ties).fit(df, time,
    event, covariates, categorical, strata, robust=False)``, as
    :func:`her2cohort.stats.cox.cox_table` has it) to use instead of refitting it.
    """
    covariates = list(covariates)
    if not covariates:
        raise ValueError("cox_term_tests needs at least one covariate")
    strata_l = [strata] if isinstance(strata, str) else list(strata or [])
    categorical = dict(categorical or {})
    used = list(dict.fromkeys([time, event, *covariates, *strata_l]))
    absent = [c for c in used if c not in df.columns]
    if absent:
        raise ValueError(f"column(s) not found in data: {absent}")
    keep = df[used].notna().all(axis=1).to_numpy()
    n_missing = int((~keep).sum())
    # only the model's columns (not a copy of the whole frame), no copy when nothing is missing
    d = df[used] if keep.all() else df.loc[keep, used]
    model = CoxModel(ties=ties)
    if full is None:
        full = model.fit(d, time, event, covariates, categorical=categorical,
                         strata=strata_l or None, robust=False)
    elif full.robust or full.n != len(d) or list(full.covariates) != covariates:
        raise ValueError("cox_term_tests: `full` is not the model-based fit of these "
                         "covariates on these rows")
    n_full = int((~full.singular).sum())
    epv = cox_epv(full, threshold=epv_threshold)
    warn = "; ".join(full.warnings)
    if full.infinite.any():
        inf = [t for t, f in zip(full.terms, full.infinite, strict=True) if f]
        warn = (warn + "; " if warn else "") + (
            f"coefficient(s) may be infinite: {inf}; LR test still valid")
    rows = []
    for v in covariates:
        rest = [c for c in covariates if c != v]
        if rest:
            red = model.fit(d, time, event, rest,
                            categorical={k: x for k, x in categorical.items() if k in rest},
                            strata=strata_l or None, robust=False)
            ll_red, n_red = red.loglik[1], int((~red.singular).sum())
        else:
            ll_red, n_red = full.loglik[0], 0
        stat = 2.0 * (full.loglik[1] - ll_red)
        dof = n_full - n_red
        rows.append({"variable": v, "df": dof, "loglik_full": full.loglik[1],
                     "loglik_reduced": ll_red, "statistic": stat,
                     "p": float(_chi2_sf(stat, dof)) if dof > 0 else np.nan})
    out = pd.DataFrame(rows)
    out["test"] = COX_LR_TEST
    out["n"] = full.n
    out["events"] = full.nevent
    out["n_missing"] = n_missing
    out["epv"] = epv["epv"]
    out["epv_below"] = epv["below_threshold"]
    out["warning"] = warn
    return out


# ---------------------------------------------------------------------------
# univariable + multivariable table
# ---------------------------------------------------------------------------
def cox_table(
    df: pd.DataFrame,
    time: str,
    event: str,
    covariates: Sequence[str],
    categorical: Mapping[str, Sequence[Any]] | None = None,
    strata: str | Sequence[str] | None = None,
    weights: str | None = None,
    cluster: str | None = None,
    robust: bool | None = None,
    ties: str = "efron",
    multivariable: bool = True,
    term_tests: bool = False,
    epv_threshold: float = 10.0,
    univariable: bool = True,
    return_fits: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, dict[str, CoxFit]]:
    """Univariable and multivariable hazard ratios in one tidy table (gtsummary style).

    One model per covariate (each on its own complete cases, as
    ``tbl_uvregression``) and one model with all covariates (complete cases of
    all of them), each an R ``coxph`` fit.  A categorical covariate also gets a
    reference row (``hr`` 1, no CI/p).  Columns: ``model`` ("univariable" /
    "multivariable"), ``variable``, ``term``, ``level``, ``reference``, ``hr``,
    ``lower``, ``upper``, ``p``, ``coef``, ``se``, ``robust_se``, ``test``,
    ``ci_method``, ``n``, ``n_total``, ``nevent``, ``warning``, then the model adequacy
    columns ``epv`` (that model's events per estimated coefficient, Peduzzi et al. 1995;
    a k-level factor counts k - 1) and ``epv_below`` (``epv < epv_threshold``; the
    footnote text comes from :func:`her2cohort.stats.adequacy.events_per_variable`).

    ``term_tests=True`` adds, per variable and model, the likelihood-ratio test of the whole
    term (all k - 1 columns of a factor jointly; = R ``drop1(fit, test = "Chisq")``, for a
    univariable model ``anova(fit)``): columns ``lr_statistic``, ``lr_df``, ``lr_p``,
    ``lr_test`` (see :func:`cox_term_tests`).  Not available for
    weighted or robust fits (R refuses LR tables with robust variances).

    ``univariable=False`` leaves out the univariable models (only the multivariable one
    is fitted).  ``return_fits=True`` returns ``(table, fits)`` with ``fits`` the fitted
    :class:`CoxFit` by model label ("univariable: <covariate>", "multivariable"), so a
    caller needing the fit itself does not refit it.
    """
    if term_tests and (weights is not None or cluster is not None or robust):
        raise ValueError(
            "term_tests (likelihood-ratio tests) need an unweighted model with model-based "
            "variance; R's anova.coxph refuses robust variances")
    categorical = dict(categorical or {})
    covariates = list(covariates)
    model = CoxModel(ties=ties)
    parts = []
    fits: dict[str, CoxFit] = {}

    def one(label: str, covs: list[str]) -> pd.DataFrame:
        cat = {k: v for k, v in categorical.items() if k in covs}
        fit = model.fit(df, time, event, covs, categorical=cat, strata=strata, weights=weights,
                        cluster=cluster, robust=robust)
        fits[label if label == "multivariable" else f"{label}: {covs[0]}"] = fit
        s = fit.summary()
        rows = []
        for var in covs:
            cols = fit.assign[var]
            if var in cat:
                lv0 = next(iter(cat[var]))
                rows.append({"variable": var, "term": f"{var}[{lv0}]", "level": str(lv0),
                             "reference": True, "hr": 1.0})
            for j in cols:
                r = s.iloc[j].to_dict()
                lv = r["term"][len(var) + 1 : -1] if var in cat else ""
                rows.append({"variable": var, "level": lv, "reference": False, **r})
        out = pd.DataFrame(rows)
        out.insert(0, "model", label)
        out["n"] = fit.n
        out["n_total"] = fit.n_total
        out["nevent"] = fit.nevent
        out["test"] = s["test"].iloc[0]
        out["ci_method"] = s["ci_method"].iloc[0]
        out["warning"] = out["warning"].fillna("")
        n_par = int((~fit.singular).sum())
        out["epv"] = fit.nevent / n_par if n_par else np.nan
        out["epv_below"] = bool(n_par and fit.nevent / n_par < epv_threshold)
        if term_tests:
            # the fit above is that model (same rows, unweighted, model-based): reused
            lr = cox_term_tests(df, time, event, covs, categorical=cat, strata=strata,
                                ties=ties, full=fit).set_index("variable")
            out["lr_statistic"] = out["variable"].map(lr["statistic"])
            out["lr_df"] = out["variable"].map(lr["df"])
            out["lr_p"] = out["variable"].map(lr["p"])
            out["lr_test"] = lr["test"].iloc[0]
        return out

    if univariable or not (multivariable and len(covariates) > 1):
        for c in covariates:
            parts.append(one("univariable", [c]))
    if multivariable and len(covariates) > 1:
        parts.append(one("multivariable", covariates))
    cols = ["model", "variable", "term", "level", "reference", "hr", "lower", "upper", "p",
            "coef", "se", "robust_se", "test", "ci_method", "n", "n_total", "nevent", "warning",
            "epv", "epv_below"]
    if term_tests:
        cols += ["lr_statistic", "lr_df", "lr_p", "lr_test"]
    out = pd.concat(parts, ignore_index=True)[cols]
    return (out, fits) if return_fits else out
