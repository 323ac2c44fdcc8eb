"""Dose-response curves: four-parameter log-logistic fits (drc's LL.4) and what is read off them.

Model (drc ``LL.4`` parametrisation, natural log)::

    f(x) = c + (d - c) / (1 + exp(b * (log(x) - log(e))))

``b`` is the Hill slope in drc's sign convention (b > 0: the response falls with dose), ``c`` the
lower and ``d`` the upper asymptote, ``e`` the relative IC50 (the inflection point, half-way
between c and d).  A concentration of 0 (vehicle) is allowed: log(0) = -inf, so f(0) = d when
b > 0 (c when b < 0), as drc evaluates it.

Estimation: ordinary nonlinear least squares, the same criterion as R's ``nls`` and drc's
``drm`` for continuous responses.  scipy's ``least_squares`` (trust-region reflective, bounded)
does the minimisation; the code here supplies the analytic Jacobian, data-driven starting values
(a grid over slope and log IC50 with the two asymptotes solved exactly by linear least squares
for each grid point, the "plinear" idea of R's ``SSfpl`` self-starter, plus SSfpl's own logit
regression start) and the checks that make a failed or unidentified fit say so instead of
raising.  The optimiser works on ``(b, c, d, log e)``; standard errors are those of ``nls``:
``vcov = sigma^2 (J'J)^-1`` with ``sigma^2 = RSS / (n - p)`` at the optimum, transformed to
``e`` by the (exact, at the optimum) Jacobian of the reparametrisation, ``se_e = e * se_log_e``.
(drc's ``summary`` works from the Hessian of the RSS as its optimiser returns it rather than
from J'J, so its standard errors can differ slightly from nls's and these; the estimates agree.)
Search region: |b| <= 30, log e within three decades beyond the tested positive doses, the
asymptotes within the response range widened by five ranges plus one; a parameter that ends
on a bound makes the fit ``converged=False`` with the reason in ``message``.

Checked against R in ``tests/test_doseresponse.py``: base R ``nls`` with ``SSfpl`` on log
concentration and ``nls`` with the LL.4 formula itself (script ``tests/r/doseresponse.R``,
output ``tests/fixtures/r/doseresponse/``), relative difference <= 5e-7 on parameters, SEs, RSS
and the shared-IC50 F test (``anova(reduced, full)`` with two and three groups; with IC50s ten-fold
apart, where the reduced model has no finite optimum and nls fails, the infimum by ``lm`` + ``nls``
for its straight-line limit, see :func:`shared_ic50_test`); and against drc's published ryegrass
fit.

Why own code rather than a package: scipy supplies the optimiser and the distributions; the
dose-response layer on top (drc's parametrisation, a self-start, nls-style standard errors,
bounded fits that never raise, the extra-sum-of-squares test, the read-outs) is not in scipy or
statsmodels and is short, so it is written here and checked against R rather than adding a
dependency.

Also here: growth-rate inhibition (GR) values and metrics (Hafner et al. 2016), with the GR curve
fitted by the same LL.4 code (upper asymptote fixed at 1).

No I/O; numpy/scipy/pandas only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

__all__ = [
    "CI_METHOD_LOG",
    "CI_METHOD_LINEAR",
    "RATIO_CI_METHOD",
    "SHARED_IC50_TEST",
    "FIT_TABLE_COLUMNS",
    "LL4Fit",
    "fit_ll4",
    "ll4",
    "ic50_ci",
    "absolute_ic50",
    "absolute_ic50_note",
    "auc",
    "aac",
    "emax",
    "fit_groups",
    "fit_table",
    "shared_ic50_test",
    "ic50_ratio",
    "GR_FLAT_TEST",
    "gr_values",
    "gr_metrics",
]

CI_METHOD_LOG = "delta method on log IC50, t(df_resid)"
CI_METHOD_LINEAR = "delta method on IC50 (as drc ED(interval='delta')), t(df_resid)"
RATIO_CI_METHOD = "delta method on log IC50 ratio (independent fits), normal quantile"
RATIO_TEST = "Wald z test of log IC50 ratio = 0 (independent fits)"
SHARED_IC50_TEST = "extra-sum-of-squares F test (shared IC50)"

FIT_TABLE_COLUMNS = [
    "n", "hill", "hill_se", "lower", "upper", "ic50", "ic50_se", "ic50_lo", "ic50_hi",
    "ci_method", "abs_ic50", "abs_ic50_note", "auc", "aac", "emax", "converged", "note",
]

#: |b| is bounded by this (a curve steeper than the dose spacing can resolve hits it)
B_MAX = 30.0
#: log IC50 is bounded to this many natural-log units beyond the tested positive doses
#: (ln 1000: three decades on either side)
LOG_E_MARGIN = math.log(1000.0)
#: least_squares tolerances; the Gauss-Newton polish after it converges to rounding level
_TOL = 1e-12
_MAX_NFEV = 600
#: a fit whose Jacobian has a reciprocal condition number below this is "not identifiable"
#: (J'J then has one below 1e-18: no usable inverse in double precision)
_RCOND_MIN = 1e-9
#: nls' convergence criterion (relative offset, Bates & Watts 1981); nls stops at 1e-5 by default
_REL_OFFSET_OK = 1e-5

_NAMES = ("b", "c", "d", "e")


# --------------------------------------------------------------------------- the curve
def _sig(logx: np.ndarray, b, le):
    """s = 1 / (1 + exp(b (log x - log e))) and s (1 - s), safe at x = 0 and b = 0."""
    u = logx - le
    with np.errstate(invalid="ignore"):
        t = b * u
    t = np.where(np.isnan(t), 0.0, t)  # b = 0 at x = 0: 0 * -inf -> flat curve, t = 0
    s = special.expit(-t)
    return s, s * (1.0 - s), u


def ll4(x, b: float, c: float, d: float, e: float) -> np.ndarray:
    """The LL.4 curve at concentrations ``x`` (``x = 0`` gives d when b > 0)."""
    x = np.asarray(x, dtype=float)
    if not (np.isfinite(e) and e > 0):
        return np.full(x.shape, np.nan)
    with np.errstate(divide="ignore"):
        logx = np.log(x)
    s, _, _ = _sig(logx, b, math.log(e))
    return c + (d - c) * s


def _jac_cols(logx, b, c, d, le):
    """Columns df/db, df/dc, df/dd, df/dlog(e) of the LL.4 curve."""
    s, q, u = _sig(logx, b, le)
    with np.errstate(invalid="ignore"):
        dfdb = -(d - c) * q * u
    dfdb = np.where(np.isfinite(logx), dfdb, 0.0)  # x = 0: q = 0, u = -inf
    dfdle = (d - c) * q * b
    return np.column_stack([dfdb, 1.0 - s, s, dfdle]), c + (d - c) * s


# --------------------------------------------------------------------------- result
@dataclass
class LL4Fit:
    """A four-parameter log-logistic fit (drc LL.4).  ``vcov`` is 4 x 4 in the order b, c, d, e
    (rows/columns of fixed parameters are 0; their ``se_*`` are NaN)."""

    b: float = math.nan
    c: float = math.nan
    d: float = math.nan
    e: float = math.nan
    se_b: float = math.nan
    se_c: float = math.nan
    se_d: float = math.nan
    se_e: float = math.nan
    vcov: np.ndarray = field(default_factory=lambda: np.full((4, 4), np.nan))
    rss: float = math.nan
    df_resid: int = 0
    n: int = 0
    converged: bool = False
    message: str = ""
    log_e_se: float = math.nan
    #: names of the parameters held fixed ("c" and/or "d")
    fixed: tuple[str, ...] = ()
    #: names of parameters that ended on a bound of the search region
    at_bound: tuple[str, ...] = ()
    #: lowest positive and highest tested concentration
    min_conc: float = math.nan
    max_conc: float = math.nan
    #: nls' relative-offset convergence criterion at the solution
    rel_offset: float = math.nan

    @property
    def sigma(self) -> float:
        """Residual standard error sqrt(RSS / df_resid)."""
        return math.sqrt(self.rss / self.df_resid) if self.df_resid > 0 else math.nan

    @property
    def params(self) -> dict[str, float]:
        return {"b": self.b, "c": self.c, "d": self.d, "e": self.e}

    @property
    def has_curve(self) -> bool:
        """True when the parameters describe a curve (even if the fit is not trusted)."""
        return all(np.isfinite([self.b, self.c, self.d, self.e])) and self.e > 0

    def predict(self, x) -> np.ndarray:
        return ll4(x, self.b, self.c, self.d, self.e)


# --------------------------------------------------------------------------- fitting
def _clean(conc, resp) -> tuple[np.ndarray, np.ndarray, list[str]]:
    x = np.asarray(conc, dtype=float).ravel()
    y = np.asarray(resp, dtype=float).ravel()
    notes: list[str] = []
    if x.shape != y.shape:
        raise ValueError(f"conc has {x.size} values but resp has {y.size}")  # -> message
    bad = ~(np.isfinite(x) & np.isfinite(y) & (x >= 0))
    if bad.any():
        notes.append(f"{int(bad.sum())} point(s) with missing, negative or non-finite "
                     "concentration or response left out of the fit")
    return x[~bad], y[~bad], notes


def _starts(logx, y, free_c, free_d, c0, d0, lo_le, hi_le, k=2):
    """Starting values: grid over (b, log e), asymptotes by exact linear least squares
    (R's SSfpl uses the same partially-linear idea), plus SSfpl's logit-regression start.
    Returns up to k parameter vectors (b, c, d, log e), best first."""
    finite = np.isfinite(logx)
    ygrid_le = np.linspace(lo_le, hi_le, 41)
    bgrid = np.array([-8, -4, -2, -1, -0.5, -0.25, 0.25, 0.5, 1, 2, 4, 8], dtype=float)
    LE, B = np.meshgrid(ygrid_le, bgrid, indexing="ij")
    LE, B = LE.ravel(), B.ravel()
    u = logx[None, :] - LE[:, None]
    with np.errstate(invalid="ignore"):
        t = B[:, None] * u
    t = np.where(np.isnan(t), 0.0, t)
    s = special.expit(-t)  # (G, n); f = c (1 - s) + d s
    one_s = 1.0 - s
    if free_c and free_d:
        a11 = (one_s * one_s).sum(1)
        a12 = (one_s * s).sum(1)
        a22 = (s * s).sum(1)
        r1 = (one_s * y).sum(1)
        r2 = (s * y).sum(1)
        det = a11 * a22 - a12 * a12
        ok = det > 1e-12 * np.maximum(a11 * a22, 1e-300)
        with np.errstate(invalid="ignore", divide="ignore"):
            cc = np.where(ok, (a22 * r1 - a12 * r2) / det, np.nan)
            dd = np.where(ok, (a11 * r2 - a12 * r1) / det, np.nan)
    elif free_c:  # d fixed
        dd = np.full(LE.shape, d0)
        num = (one_s * (y - d0 * s)).sum(1)
        den = (one_s * one_s).sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            cc = np.where(den > 1e-12, num / den, np.nan)
    elif free_d:  # c fixed
        cc = np.full(LE.shape, c0)
        num = (s * (y - c0 * one_s)).sum(1)
        den = (s * s).sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            dd = np.where(den > 1e-12, num / den, np.nan)
    else:
        cc = np.full(LE.shape, c0)
        dd = np.full(LE.shape, d0)
    fitted = cc[:, None] * one_s + dd[:, None] * s
    rss = ((y[None, :] - fitted) ** 2).sum(1)
    rss = np.where(np.isfinite(rss), rss, np.inf)
    order = np.argsort(rss, kind="stable")
    out = [np.array([B[i], cc[i], dd[i], LE[i]]) for i in order[:k] if np.isfinite(rss[i])]
    # SSfpl's own start: logit of the rescaled response regressed on log x
    if finite.sum() >= 3:
        rng = (y.min(), y.max())
        dz = rng[1] - rng[0]
        if dz > 0:
            z = (y - rng[0] + 0.05 * dz) / (1.1 * dz)
            lz = np.log(z / (1 - z))
            xf, zf = logx[finite], lz[finite]
            if np.ptp(xf) > 0:
                slope, icpt = np.polyfit(zf, xf, 1)  # x = icpt + slope * z (as SSfpl)
                le0 = float(np.clip(icpt, lo_le, hi_le))
                if slope != 0:
                    # SSfpl: x = xmid + scal * logit(z) with z rising from A = min(y) to
                    # B = max(y); in drc terms c = A, d = B, b = -1 / scal, log e = xmid
                    b0 = float(np.clip(-1.0 / slope, -B_MAX / 2, B_MAX / 2))
                    out.append(np.array([b0, rng[0] if free_c else c0,
                                         rng[1] if free_d else d0, le0]))
    return out


def _rel_offset(J, r) -> float:
    """nls' relative-offset convergence criterion sqrt(|Q1'r|^2 / |Q2'r|^2)."""
    n, p = J.shape
    if n <= p:
        return math.nan
    q, _ = np.linalg.qr(J, mode="complete")
    qtr = q.T @ r
    num = float(np.sum(qtr[:p] ** 2))
    den = float(np.sum(qtr[p:] ** 2))
    if den == 0.0:
        return 0.0 if num == 0.0 else math.inf
    return math.sqrt(num / den)



def _gauss_newton_polish(theta: np.ndarray, resid, jac, lb: np.ndarray, ub: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Newton steps (nls' algorithm) from ``theta`` while they lower the RSS and stay
    inside the bounds; least_squares' trf stops on xtol a little before nls would. Returns
    (theta, residuals at theta)."""
    r = resid(theta)
    rss = float(r @ r)
    for _ in range(50):
        step, *_ = np.linalg.lstsq(jac(theta), -r, rcond=None)
        new = theta + step
        if np.any(new < lb) or np.any(new > ub) or not np.all(np.isfinite(new)):
            break
        r_new = resid(new)
        rss_new = float(r_new @ r_new)
        if rss_new > rss * (1 + 1e-15):
            break
        theta, r, rss_prev, rss = new, r_new, rss, rss_new
        if np.all(np.abs(step) <= 1e-14 * (np.abs(theta) + 1e-12)) or rss_prev - rss <= 0:
            break
    return theta, r


def fit_ll4(conc, resp, *, lower: float | None = None, upper: float | None = None) -> LL4Fit:
    """Fit drc's LL.4 by least squares; ``lower``/``upper`` fix c / d (three-parameter fits).

    Never raises for bad data: a fit that cannot be made or cannot be trusted comes back with
    ``converged=False`` and ``message`` saying why (too few points or doses, all responses equal,
    a parameter on the bound of the search region, a singular information matrix).  Rows with a
    missing/negative concentration or response are left out and counted in ``message``.
    """
    try:
        return _fit_ll4(conc, resp, lower, upper)
    except Exception as exc:  # noqa: BLE001 - a fit that fails says why, never raises
        return LL4Fit(converged=False, message=f"not fitted: {type(exc).__name__}: {exc}")


def _fit_ll4(conc, resp, lower, upper) -> LL4Fit:
    x, y, notes = _clean(conc, resp)
    fixed = tuple(n for n, v in (("c", lower), ("d", upper)) if v is not None)
    free = np.array([True, lower is None, upper is None, True])
    p = int(free.sum())
    out = LL4Fit(n=int(x.size), fixed=fixed)
    pos = x[x > 0]
    if pos.size:
        out.min_conc, out.max_conc = float(pos.min()), float(x.max())

    def fail(msg: str) -> LL4Fit:
        out.message = "; ".join(notes + [msg])
        out.converged = False
        return out

    n_levels = np.unique(x).size
    if x.size <= p:
        return fail(f"not fitted: {x.size} usable points for {p} parameters (need more points "
                    "than parameters)")
    if n_levels < p or np.unique(pos).size < 2:
        return fail(f"not fitted: {n_levels} distinct concentrations ({np.unique(pos).size} "
                    f"above 0) for {p} parameters")
    out.df_resid = int(x.size - p)
    logx = np.log(np.where(x > 0, x, 1.0))
    logx[x == 0] = -np.inf
    lo_le = float(np.log(pos.min())) - LOG_E_MARGIN
    hi_le = float(np.log(pos.max())) + LOG_E_MARGIN
    c0 = float(lower) if lower is not None else math.nan
    d0 = float(upper) if upper is not None else math.nan

    if np.ptp(y) == 0.0:
        # nothing to fit: the curve is the constant; the slope and IC50 are not defined
        level = float(y[0])
        out.b, out.c, out.d = 0.0, (c0 if lower is not None else level), \
            (d0 if upper is not None else level)
        out.e = float(np.exp(0.5 * (np.log(pos.min()) + np.log(pos.max()))))
        out.rss = float(np.sum((y - ll4(x, out.b, out.c, out.d, out.e)) ** 2))
        return fail("flat: all responses are equal; no slope or IC50 (curve set to the "
                    "constant, slope 0)")

    span = float(np.ptp(y))
    ylo, yhi = float(y.min()) - 5 * span - 1.0, float(y.max()) + 5 * span + 1.0
    lb_all = np.array([-B_MAX, ylo, ylo, lo_le])
    ub_all = np.array([B_MAX, yhi, yhi, hi_le])
    lb, ub = lb_all[free], ub_all[free]
    base = np.array([0.0, c0, d0, 0.0])

    def full(theta):
        v = base.copy()
        v[free] = theta
        return v

    def resid(theta):
        b, c, d, le = full(theta)
        s, _, _ = _sig(logx, b, le)
        return c + (d - c) * s - y

    def jac(theta):
        b, c, d, le = full(theta)
        J, _ = _jac_cols(logx, b, c, d, le)
        return J[:, free]

    starts = _starts(logx, y, lower is None, upper is None, c0, d0, lo_le, hi_le)
    best = None
    opt_errors: list[str] = []
    for st in starts:
        th0 = np.clip(st[free], lb + 1e-9 * (ub - lb), ub - 1e-9 * (ub - lb))
        if not np.all(np.isfinite(th0)):
            continue
        try:
            res = optimize.least_squares(resid, th0, jac=jac, bounds=(lb, ub), method="trf",
                                         xtol=_TOL, ftol=_TOL, gtol=_TOL,
                                         max_nfev=_MAX_NFEV, x_scale="jac")
        except (ValueError, np.linalg.LinAlgError) as exc:  # pragma: no cover - defensive
            opt_errors.append(f"optimiser error from one start: {exc}")
            continue
        if best is None or 2 * res.cost < 2 * best.cost:
            best = res
    if best is None:
        return fail("; ".join(opt_errors + ["not fitted: no starting value gave a finite "
                                            "residual sum of squares"]))

    theta, r = _gauss_newton_polish(best.x.copy(), resid, jac, lb, ub)

    if lower is None and upper is None and theta[1] > theta[2]:
        # the same curve written with d the upper asymptote (drc's convention): (b, c, d) and
        # (-b, d, c) give identical values
        theta = np.array([-theta[0], theta[2], theta[1], theta[3]])
        r = resid(theta)
    vals = full(theta)
    out.b, out.c, out.d = float(vals[0]), float(vals[1]), float(vals[2])
    out.e = float(np.exp(vals[3]))
    out.rss = float(r @ r)
    J = jac(theta)
    out.rel_offset = _rel_offset(J, r)
    span_b = ub - lb
    at_lo = np.abs(theta - lb) <= 1e-6 * span_b
    at_hi = np.abs(ub - theta) <= 1e-6 * span_b
    names_free = [n for n, f in zip(_NAMES, free) if f]
    out.at_bound = tuple(n for n, a, h in zip(names_free, at_lo, at_hi) if a or h)

    msgs: list[str] = list(notes)
    if lower is not None or upper is not None:
        msgs.append("three-parameter fit: " + ", ".join(
            f"{n} fixed at {v:g}" for n, v in (("c", lower), ("d", upper)) if v is not None))
    trusted = True
    if out.at_bound:
        trusted = False
        why = {
            "b": f"slope at its bound |b| = {B_MAX:g} (curve steeper than the dose spacing "
                 "resolves)",
            "e": "IC50 at the bound of the search region (three decades beyond the tested "
                 "doses): not identifiable from the tested range",
            "c": "lower asymptote ran to its bound (no plateau reached)",
            "d": "upper asymptote ran to its bound (no plateau reached)",
        }
        msgs.extend(why[n] for n in out.at_bound)
    # (J'J)^-1 from the SVD of J (never raises; J'J itself squares the condition number)
    try:
        _, sv, vt = np.linalg.svd(J, full_matrices=False)
        rcond = float(sv[-1] / sv[0]) if sv[0] > 0 else 0.0
    except np.linalg.LinAlgError:  # pragma: no cover - defensive
        rcond, sv, vt = 0.0, None, None
    vc_free = np.full((p, p), np.nan)
    if rcond > _RCOND_MIN:
        sigma2 = out.rss / out.df_resid
        vc_free = sigma2 * (vt.T / sv ** 2) @ vt
    else:
        trusted = False
        msgs.append("singular information matrix (the data do not determine all four "
                    "parameters, e.g. a flat curve): no standard errors")
    # zero-residual (artificial) data: nls' relative offset is 0/0 there; accept a fit whose
    # residuals are at rounding level of the response range
    exact = out.rss <= (1e-10 * span) ** 2 * x.size
    if exact:
        msgs.append("exact fit (residuals at rounding level)")
    if not exact and not (best.status > 0 and np.isfinite(out.rel_offset)
                          and out.rel_offset <= _REL_OFFSET_OK):
        if not out.at_bound:
            trusted = False
            msgs.append(f"not converged (optimiser status {best.status}: {best.message}; "
                        f"nls relative offset {out.rel_offset:.3g})")
    if not trusted and "b" not in out.at_bound and abs(out.b) > 10:
        msgs.append(f"slope very steep (|b| = {abs(out.b):.3g}): the response drops between "
                    "two adjacent doses, so the IC50 is only bracketed by them")
    if abs(out.d - out.c) < 1e-8 * max(1.0, abs(out.d) + abs(out.c)):
        trusted = False
        msgs.append("flat: upper and lower asymptotes coincide (no dose response)")

    if np.isfinite(vc_free).all() and np.any(np.diag(vc_free) < 0):  # pragma: no cover
        trusted = False
        msgs.append("negative variance from a near-singular information matrix")
    vc = np.zeros((4, 4))
    idx = np.flatnonzero(free)
    vc[np.ix_(idx, idx)] = vc_free
    # log e -> e (exact at the optimum: J_e = J_loge / e)
    D = np.diag([1.0, 1.0, 1.0, out.e])
    out.vcov = D @ vc @ D
    se = np.sqrt(np.where(np.diag(out.vcov) >= 0, np.diag(out.vcov), np.nan))
    se = np.where(free, se, np.nan)
    out.se_b, out.se_c, out.se_d, out.se_e = (float(v) for v in se)
    out.log_e_se = float(np.sqrt(vc[3, 3])) if vc[3, 3] >= 0 else math.nan
    out.converged = bool(trusted)
    out.message = "; ".join(msgs) if msgs else "converged"
    return out


# --------------------------------------------------------------------------- read-outs
def ic50_ci(fit: LL4Fit, level: float = 0.95, *, scale: str = "log") -> tuple[float, float]:
    """Confidence interval for the relative IC50 ``e`` by the delta method with the t quantile
    on ``df_resid`` degrees of freedom.

    ``scale="log"`` (default, :data:`CI_METHOD_LOG`): ``exp(log e +/- t * se(log e))``, always
    positive and asymmetric; ``scale="linear"`` (:data:`CI_METHOD_LINEAR`): ``e +/- t * se(e)``,
    which is what drc's ``ED(fit, 50, interval = "delta")`` prints.  NaNs when the fit has no
    standard error.
    """
    if fit.df_resid <= 0 or not np.isfinite(fit.log_e_se) or not fit.has_curve:
        return (math.nan, math.nan)
    q = float(stats.t.ppf(0.5 + level / 2, fit.df_resid))
    if scale == "log":
        le = math.log(fit.e)
        return (math.exp(le - q * fit.log_e_se), math.exp(le + q * fit.log_e_se))
    if scale == "linear":
        return (fit.e - q * fit.se_e, fit.e + q * fit.se_e)
    raise ValueError(f"scale must be 'log' or 'linear', not {scale!r}")


def _cross(fit: LL4Fit, level: float = 0.5) -> float | None:
    """Concentration where the fitted curve equals ``level`` (None: never)."""
    if not fit.has_curve or fit.b == 0:
        return None
    lo, hi = sorted((fit.c, fit.d))
    if not (lo < level < hi):
        return None
    ratio = (fit.d - level) / (level - fit.c)
    return float(fit.e * ratio ** (1.0 / fit.b))


def absolute_ic50(fit: LL4Fit, max_conc: float, min_conc: float | None = None) -> float | None:
    """Absolute IC50: the concentration where the fitted curve crosses 0.5 (50% viability).

    None when the curve does not cross 0.5 inside the tested range (above ``max_conc``, below
    ``min_conc`` when given, or not at all); never an extrapolated number.  The caller prints
    "> highest dose" (see :func:`absolute_ic50_note` for the reason in words).
    """
    x = _cross(fit)
    if x is None or not np.isfinite(x) or x > max_conc:
        return None
    if min_conc is not None and x < min_conc:
        return None
    return x


def absolute_ic50_note(fit: LL4Fit, min_conc: float, max_conc: float) -> tuple[float | None, str]:
    """Absolute IC50 and a note: "" when inside the range, else "> highest dose",
    "< lowest dose" or "curve does not cross 50%" with the reason."""
    if not fit.has_curve:
        return None, "no fitted curve"
    x = _cross(fit)
    if x is not None and min_conc <= x <= max_conc:
        return x, ""
    f_hi = float(fit.predict(np.array([max_conc]))[0])
    f_lo = float(fit.predict(np.array([min_conc]))[0])
    if x is not None and x > max_conc or (x is None and f_hi > 0.5 and f_lo > 0.5):
        return None, "> highest dose"
    if x is not None and x < min_conc or (x is None and f_hi < 0.5 and f_lo < 0.5):
        return None, "< lowest dose"
    return None, "curve does not cross 50%"


def auc(fit: LL4Fit, cmin: float, cmax: float) -> float:
    """Area under the fitted curve over the tested log10 dose range, divided by the width of the
    range (so a curve at 1 gives 1, at 0 gives 0): the mean fitted viability on the log scale.

    Closed form: the mean of 1 / (1 + exp(b (w - log e))) over w in [log cmin, log cmax] is
    1 - [softplus(b (w2 - log e)) - softplus(b (w1 - log e))] / (b (w2 - w1)).
    """
    if not fit.has_curve or not (0 < cmin < cmax):
        return math.nan
    w1, w2 = math.log(cmin), math.log(cmax)
    le = math.log(fit.e)
    if abs(fit.b) * (w2 - w1) < 1e-10:
        mean_s = float(special.expit(-fit.b * (0.5 * (w1 + w2) - le)))
    else:
        sp = np.logaddexp(0.0, [fit.b * (w2 - le), fit.b * (w1 - le)])
        mean_s = 1.0 - float(sp[0] - sp[1]) / (fit.b * (w2 - w1))
    return float(fit.c + (fit.d - fit.c) * mean_s)


def aac(fit: LL4Fit, cmin: float, cmax: float) -> float:
    """Area above the curve, ``1 - auc``."""
    return 1.0 - auc(fit, cmin, cmax)


def emax(fit: LL4Fit, cmax: float) -> float:
    """Fractional kill at the highest dose, ``1 - f(cmax)``."""
    if not fit.has_curve:
        return math.nan
    return 1.0 - float(fit.predict(np.array([cmax]))[0])


# --------------------------------------------------------------------------- tables
def _as_list(by) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def fit_groups(df: pd.DataFrame, *, conc: str, resp: str,
               by: str | Sequence[str] | None) -> dict[tuple, LL4Fit]:
    """One :func:`fit_ll4` per group of ``by`` (keys: tuples of the group values, ``()``
    without ``by``), e.g. for drawing the fitted curves.  Non-numeric values become missing and
    are counted in the fit's ``message``."""
    keys = _as_list(by)
    groups = df.groupby(keys, sort=True, dropna=False) if keys else [((), df)]
    out: dict[tuple, LL4Fit] = {}
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        out[key] = fit_ll4(pd.to_numeric(g[conc], errors="coerce").to_numpy(float),
                           pd.to_numeric(g[resp], errors="coerce").to_numpy(float))
    return out


def fit_table(df: pd.DataFrame, *, conc: str, resp: str, by: str | Sequence[str],
              level: float = 0.95, ci_scale: str = "log",
              fits: dict[tuple, LL4Fit] | None = None) -> pd.DataFrame:
    """One LL.4 fit per group of ``by``: slope, asymptotes, relative IC50 with its delta-method
    CI (``ci_method``), absolute IC50 (or why not), AUC/AAC over the group's tested range
    (lowest positive to highest concentration), Emax at the highest dose.

    The relative IC50 and its CI are NaN for a fit that is not trusted (``converged`` False;
    ``note`` says why); AUC, AAC and Emax are read off whatever curve the fit produced.
    ``fits`` (from :func:`fit_groups` on the same arguments) avoids fitting twice.
    """
    keys = _as_list(by)
    method = CI_METHOD_LOG if ci_scale == "log" else CI_METHOD_LINEAR
    if fits is None:
        fits = fit_groups(df, conc=conc, resp=resp, by=keys)
    rows = []
    groups = df.groupby(keys, sort=True, dropna=False) if keys else [((), df)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        fit = fits[key]
        x = pd.to_numeric(g[conc], errors="coerce").to_numpy(float)
        pos = x[np.isfinite(x) & (x > 0)]
        cmin = float(pos.min()) if pos.size else math.nan
        cmax = float(np.nanmax(x)) if pos.size else math.nan
        lo, hi = ic50_ci(fit, level, scale=ci_scale) if fit.converged else (math.nan, math.nan)
        abs_v, abs_note = absolute_ic50_note(fit, cmin, cmax) if pos.size else (None, "no doses")
        ok = fit.converged
        rows.append({
            **dict(zip(keys, key)),
            "n": fit.n,
            "hill": fit.b,
            "hill_se": fit.se_b,
            "lower": fit.c,
            "upper": fit.d,
            "ic50": fit.e if ok else math.nan,
            "ic50_se": fit.se_e if ok else math.nan,
            "ic50_lo": lo,
            "ic50_hi": hi,
            "ci_method": method,
            "abs_ic50": math.nan if abs_v is None else abs_v,
            "abs_ic50_note": abs_note,
            "auc": auc(fit, cmin, cmax) if pos.size else math.nan,
            "aac": aac(fit, cmin, cmax) if pos.size else math.nan,
            "emax": emax(fit, cmax) if pos.size else math.nan,
            "converged": fit.converged,
            "note": fit.message,
        })
    return pd.DataFrame(rows, columns=keys + FIT_TABLE_COLUMNS)


# --------------------------------------------------------------------------- comparisons
#: shared log IC50 grid for the reduced fit's starting values (points across the search region)
_N_LE_GRID = 61
#: slopes tried at each grid point of the shared log IC50 (asymptotes solved exactly)
_B_GRID = np.array([-8, -4, -2, -1, -0.5, -0.25, -0.1, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 4, 8, 16])


def _profile_rss(logx, y, les):
    """For each log e in ``les``: the smallest RSS of one group's curve with e fixed there, over
    a grid of slopes with the two asymptotes solved by linear least squares.  Returns
    (rss (L,), b (L,), c (L,), d (L,))."""
    LE, B = np.meshgrid(les, _B_GRID, indexing="ij")
    u = logx[None, None, :] - LE[:, :, None]
    with np.errstate(invalid="ignore"):
        t = B[:, :, None] * u
    t = np.where(np.isnan(t), 0.0, t)
    s = special.expit(-t)
    o = 1.0 - s
    a11, a12, a22 = (o * o).sum(-1), (o * s).sum(-1), (s * s).sum(-1)
    r1, r2 = (o * y).sum(-1), (s * y).sum(-1)
    det = a11 * a22 - a12 * a12
    ok = det > 1e-12 * np.maximum(a11 * a22, 1e-300)
    with np.errstate(invalid="ignore", divide="ignore"):
        cc = np.where(ok, (a22 * r1 - a12 * r2) / det, np.nan)
        dd = np.where(ok, (a11 * r2 - a12 * r1) / det, np.nan)
    rss = ((y - (cc[..., None] * o + dd[..., None] * s)) ** 2).sum(-1)
    rss = np.where(np.isfinite(rss), rss, np.inf)
    j = np.argmin(rss, axis=1)
    i = np.arange(les.size)
    return rss[i, j], B[i, j], cc[i, j], dd[i, j]


def _fit_shared(logx, y, gidx, G, starts, line, lb_cd, ub_cd, lo_le, hi_le):
    """Joint least-squares fit with one shared log e: groups with ``line[g]`` False follow
    LL.4 with their own b, c, d; groups with ``line[g]`` True are the b -> 0 limit of LL.4 (a
    straight line in log dose, ``c_g + d_g * log x``: intercept and slope, no b, no e).
    Parameter vector ``[b_1..b_G, c_1..c_G, d_1..d_G, log e]`` (b of line groups unused).
    Bounded trust-region fit (|b| <= B_MAX, asymptotes and log e as in :func:`fit_ll4`) from
    each start, then the Gauss-Newton polish of :func:`fit_ll4`.  Returns a dict with the
    parameters, RSS, optimiser status, which free parameters ended on a bound and nls'
    relative offset over the parameters not on a bound."""
    n = y.size
    rows = np.arange(n)
    lgrp = line[gidx]
    finite = np.isfinite(logx)
    lxz = np.where(finite, logx, 0.0)
    free = np.concatenate([~line, np.ones(2 * G, bool), [True]])
    lb_all = np.concatenate([np.full(G, -B_MAX), np.where(line, -np.inf, lb_cd),
                             np.where(line, -np.inf, lb_cd), [lo_le]])
    ub_all = np.concatenate([np.full(G, B_MAX), np.where(line, np.inf, ub_cd),
                             np.where(line, np.inf, ub_cd), [hi_le]])
    lb, ub = lb_all[free], ub_all[free]

    def full(th):
        v = np.zeros(3 * G + 1)
        v[free] = th
        return v

    def model(th):
        v = full(th)
        b, c, d, le = v[:G], v[G:2 * G], v[2 * G:3 * G], v[3 * G]
        J4, f = _jac_cols(logx, b[gidx], c[gidx], d[gidx], le)
        J = np.zeros((n, 3 * G + 1))
        J[rows, gidx] = J4[:, 0]
        J[rows, G + gidx] = J4[:, 1]
        J[rows, 2 * G + gidx] = J4[:, 2]
        J[:, 3 * G] = J4[:, 3]
        # line groups: f = c + d log x
        f = np.where(lgrp, c[gidx] + d[gidx] * lxz, f)
        J[lgrp, :] = 0.0
        J[rows[lgrp], G + gidx[lgrp]] = 1.0
        J[rows[lgrp], 2 * G + gidx[lgrp]] = lxz[lgrp]
        return f - y, J[:, free]

    def resid(th):
        return model(th)[0]

    def jac(th):
        return model(th)[1]

    best = None
    for st in starts:
        with np.errstate(invalid="ignore"):  # inf - inf for the unbounded line parameters
            pad = np.where(np.isfinite(ub - lb), 1e-9 * (ub - lb), 0.0)
        th0 = np.clip(st[free], lb + pad, ub - pad)
        if not np.all(np.isfinite(th0)):
            continue
        res = optimize.least_squares(resid, th0, jac=jac, bounds=(lb, ub), method="trf",
                                     xtol=_TOL, ftol=_TOL, gtol=_TOL, max_nfev=4 * _MAX_NFEV,
                                     x_scale="jac")
        if best is None or res.cost < best.cost:
            best = res
    if best is None:
        return None
    th, r = _gauss_newton_polish(best.x.copy(), resid, jac, lb, ub)  # as in fit_ll4
    v = full(th)
    span = np.where(np.isfinite(ub - lb), ub - lb, np.inf)
    at = (np.abs(th - lb) <= 1e-6 * span) | (np.abs(ub - th) <= 1e-6 * span)
    at_full = np.zeros(3 * G + 1, bool)
    at_full[free] = at
    J = jac(th)
    return {"b": v[:G], "c": v[G:2 * G], "d": v[2 * G:3 * G], "le": float(v[3 * G]),
            "rss": float(r @ r), "status": best.status, "at": at_full,
            "rel": _rel_offset(J[:, ~at], r), "line": line.copy()}


def shared_ic50_test(df: pd.DataFrame, *, conc: str, resp: str, group: str) -> dict:
    """Extra-sum-of-squares F test of one IC50 shared by the groups of ``group``.

    Full model: separate b, c, d, e per group (the sum of the separate :func:`fit_ll4` fits'
    RSS).  Reduced: one e, separate b, c, d.  ``F = ((RSS_r - RSS_f) / (G - 1)) /
    (RSS_f / (N - 4G))``, as R's ``anova(reduced_nls, full_nls)``.  Returns ``F, df1, df2, p,
    test`` and also the RSS of both models, the shared IC50 estimate, ``reduced_limit`` (the
    groups whose reduced curve is a straight line, see below) and a ``note``.

    The reduced fit (in log e) starts from the separate fits (each group's b, c, d with the
    shared log e at the inverse-variance weighted mean of the groups' log e) and from the best
    points of a grid over the shared log e (each group's b, c, d profiled there), is bounded as
    :func:`fit_ll4` is, and is polished by the same Gauss-Newton steps.

    When the IC50s differ a lot, the reduced model may have no finite optimum: with the IC50
    held at the other groups' value, a group's best LL.4 curve can be the limit b -> 0,
    ``d - c -> infinity`` with ``b (d - c)`` finite, which is a straight line in log dose (it is
    in the closure of LL.4, not in LL.4).  Its asymptotes then run to the bounds.  The test
    then uses that limit: the group is refitted as a straight line in log dose, the other
    groups keep a shared IC50, and ``RSS_r`` is the infimum of the reduced model's RSS (the
    likelihood-ratio idea, with the supremum over the reduced model not attained); the note
    says so and names the group.  Not estimable (F and p NaN, the note says why): a separate
    fit did not converge (e.g. no drop in the tested range), the shared IC50 runs to the bound
    of the search region, the limiting line is not available (vehicle doses at 0 in that
    group), or the reduced fit does not converge.  A group whose IC50 lies beyond its tested
    doses is named in the note (the test then compares an extrapolated IC50).
    """
    d = df[[conc, resp, group]].copy()
    x = pd.to_numeric(d[conc], errors="coerce").to_numpy(float)
    y = pd.to_numeric(d[resp], errors="coerce").to_numpy(float)
    keep = np.isfinite(x) & np.isfinite(y) & (x >= 0) & d[group].notna().to_numpy()
    n_drop = int((~keep).sum())
    d = d[keep]
    x, y = x[keep], y[keep]
    levels = list(pd.unique(d[group]))
    G = len(levels)
    out = {"F": math.nan, "df1": G - 1, "df2": int(x.size - 4 * G), "p": math.nan,
           "test": SHARED_IC50_TEST, "rss_full": math.nan, "rss_reduced": math.nan,
           "shared_ic50": math.nan, "n_groups": G, "n": int(x.size), "reduced_limit": "",
           "note": ""}
    notes = [f"{n_drop} row(s) with missing or negative values left out"] if n_drop else []

    def done(msg: str | None = None) -> dict:
        out["note"] = "; ".join(notes + ([msg] if msg else []))
        return out

    if G < 2:
        return done(f"needs at least 2 groups, got {G}")
    gidx = pd.Categorical(d[group], categories=levels).codes.astype(int)
    fits = [fit_ll4(x[gidx == k], y[gidx == k]) for k in range(G)]
    bad = [f"{levels[k]} ({f.message})" for k, f in enumerate(fits) if not f.converged]
    if bad:
        return done("no test: the separate fit did not converge for " + ", ".join(bad))
    for k, f in enumerate(fits):
        if not (f.min_conc <= f.e <= f.max_conc):
            notes.append(f"the IC50 of {levels[k]} ({f.e:.4g}) lies beyond its tested doses "
                         f"({f.min_conc:.4g} to {f.max_conc:.4g}): the test uses the "
                         "extrapolated curve")
    rss_full = float(sum(f.rss for f in fits))
    out["rss_full"] = rss_full
    df1, df2 = G - 1, int(x.size - 4 * G)
    if df2 <= 0:
        return done(f"no residual degrees of freedom (N - 4G = {df2})")

    logx = np.log(np.where(x > 0, x, 1.0))
    logx[x == 0] = -np.inf
    pos = x[x > 0]
    lo_le = float(np.log(pos.min())) - LOG_E_MARGIN
    hi_le = float(np.log(pos.max())) + LOG_E_MARGIN
    span = float(np.ptp(y))
    lb_cd = np.full(G, float(y.min()) - 5 * span - 1.0)
    ub_cd = np.full(G, float(y.max()) + 5 * span + 1.0)
    b0 = np.array([f.b for f in fits])
    c0 = np.array([f.c for f in fits])
    d0 = np.array([f.d for f in fits])
    les = np.array([math.log(f.e) for f in fits])
    w = np.array([1 / f.log_e_se ** 2 for f in fits])
    le_w = float(np.sum(w * les) / np.sum(w))
    # starts: the separate fits with log e at the weighted mean (and each group's own log e);
    # the best points of a grid over the shared log e, each group profiled there
    starts = [np.concatenate([b0, c0, d0, [le]]) for le in (le_w, *les.tolist())]
    grid = np.unique(np.concatenate([np.linspace(lo_le, hi_le, _N_LE_GRID), les, [le_w]]))
    prof = [_profile_rss(logx[gidx == k], y[gidx == k], grid) for k in range(G)]
    tot = np.sum([p_[0] for p_ in prof], axis=0)
    for i in np.argsort(tot, kind="stable")[:3]:
        if np.isfinite(tot[i]):
            starts.append(np.concatenate([[p_[j][i] for p_ in prof] for j in (1, 2, 3)]
                                         + [[grid[i]]]))
    has_zero = np.array([bool(np.any(x[gidx == k] == 0)) for k in range(G)])

    def running(r):  # groups (not yet lines) whose asymptotes ran to the bounds
        return (r["at"][G:2 * G] | r["at"][2 * G:3 * G]) & ~r["line"]

    def with_lines(line, prev):
        st = [np.concatenate([prev["b"], prev["c"], prev["d"], [prev["le"]]])]
        st += [s_.copy() for s_ in starts]
        for k in np.flatnonzero(line):
            sel = gidx == k
            slope, icpt = np.polyfit(logx[sel], y[sel], 1)
            for s_ in st:
                s_[G + k], s_[2 * G + k] = icpt, slope
        return _fit_shared(logx, y, gidx, G, st, line, lb_cd, ub_cd, lo_le, hi_le)

    red = _fit_shared(logx, y, gidx, G, starts, np.zeros(G, bool), lb_cd, ub_cd, lo_le, hi_le)
    cands = [red] if red is not None else []
    if red is not None and running(red).any():
        # asymptotes that run to the bounds are on the way to the straight-line limit: refit
        # with each group (without doses at 0) as that line, adding groups that still run
        todo = [np.eye(G, dtype=bool)[k] for k in range(G) if not has_zero[k]]
        seen: set[tuple] = set()
        while todo:
            ln = todo.pop(0)
            if tuple(ln) in seen or ln.sum() >= G:
                continue
            seen.add(tuple(ln))
            r = with_lines(ln, red)
            if r is None:
                continue
            cands.append(r)
            run = running(r)
            if run.any() and not (run & has_zero).any():
                todo.append(ln | run)
    clean = [r for r in cands if not running(r).any()]
    if clean or cands:
        red = min(clean or cands, key=lambda r: r["rss"])
    if red is None:
        return done("not estimable: the reduced (shared IC50) model could not be fitted "
                    "from any start")
    rss_red = red["rss"]
    out["rss_reduced"] = rss_red
    out["shared_ic50"] = float(math.exp(red["le"]))
    lines_ = [str(levels[k]) for k in np.flatnonzero(red["line"])]
    out["reduced_limit"] = ", ".join(lines_)
    at_b = [str(levels[k]) for k in np.flatnonzero(red["at"][:G])]
    ran = [str(levels[k]) for k in np.flatnonzero((red["at"][G:2 * G] | red["at"][2 * G:3 * G])
                                                   & ~red["line"])]
    if red["at"][3 * G]:
        return done("not estimable: the shared IC50 of the reduced model runs to the bound of "
                    "the search region (three decades beyond the tested doses)")
    if ran:
        why = ("it has doses at 0, where the straight-line limit is infinite"
               if any(has_zero[levels.index(g)] for g in ran if g in levels) else
               "no group is left to carry the shared IC50")
        return done("not estimable: with a shared IC50 the asymptotes of " + ", ".join(ran)
                    + f" run to the bounds of the search region, and the limit cannot be used "
                    f"({why})")
    exact = rss_red <= (1e-10 * span) ** 2 * x.size
    if not exact and not (red["status"] > 0 and np.isfinite(red["rel"])
                          and red["rel"] <= _REL_OFFSET_OK):
        return done(f"not estimable: the reduced (shared IC50) fit did not converge (nls "
                    f"relative offset {red['rel']:.3g})")
    if lines_:
        notes.append("the shared-IC50 model has no finite optimum: at the shared IC50 the "
                     "best curve for " + ", ".join(lines_) + " is the limit slope -> 0 with "
                     "asymptotes -> infinity, a straight line in log dose; RSS_reduced is that "
                     "limit's (the infimum)")
    if at_b:
        notes.append("in the shared-IC50 fit the slope of " + ", ".join(at_b) + f" is at its "
                     f"bound |b| = {B_MAX:g} (a step at the shared IC50)")
    if rss_red < rss_full * (1 - 1e-9):
        notes.append("the shared-IC50 fit has a lower RSS than the separate fits (a separate "
                     "fit stopped in a local minimum): F set to 0")
        rss_red = rss_full
    F = max(((rss_red - rss_full) / df1) / (rss_full / df2), 0.0)
    out["F"] = float(F)
    out["p"] = float(stats.f.sf(F, df1, df2))
    return done()


def ic50_ratio(fit_a: LL4Fit, fit_b: LL4Fit, level: float = 0.95) -> dict:
    """Ratio of relative IC50s ``e_a / e_b`` with a delta-method CI on the log ratio
    (independent fits: ``se = sqrt(se_log_a^2 + se_log_b^2)``, normal quantile), plus the Wald
    z test of ratio 1 (``p``, ``test``)."""
    out = {"ratio": math.nan, "lo": math.nan, "hi": math.nan, "ci_method": RATIO_CI_METHOD,
           "log_ratio_se": math.nan, "p": math.nan, "test": RATIO_TEST, "note": ""}
    bad = [n for n, f in (("a", fit_a), ("b", fit_b)) if not (f.converged and f.has_curve)]
    if bad:
        out["note"] = "no ratio: fit " + " and ".join(bad) + " not converged"
        return out
    lr = math.log(fit_a.e) - math.log(fit_b.e)
    se = math.sqrt(fit_a.log_e_se ** 2 + fit_b.log_e_se ** 2)
    z = float(stats.norm.ppf(0.5 + level / 2))
    out.update(ratio=math.exp(lr), lo=math.exp(lr - z * se), hi=math.exp(lr + z * se),
               log_ratio_se=se, p=float(2 * stats.norm.sf(abs(lr) / se)) if se > 0 else math.nan)
    return out


# --------------------------------------------------------------------------- GR metrics
GR_FLAT_TEST = "extra-sum-of-squares F test, sigmoid vs flat GR curve"


def gr_values(x, x0, x_ctrl) -> np.ndarray:
    """Growth-rate inhibition values (Hafner, Niepel, Chung & Sorger 2016, Nat Methods
    13:521-527): ``GR = 2 ** (log2(x / x0) / log2(x_ctrl / x0)) - 1`` with ``x`` the treated
    signal, ``x0`` the time-zero signal and ``x_ctrl`` the untreated control at the end.  As the
    authors' gr50 tools (github.com/datarail/gr_metrics), ratios below 1e-6 are floored at 1e-6
    (no log of 0 or of a negative).  Vectorised; NaN where an input is missing or the control
    did not grow (x_ctrl = x0)."""
    x, x0, xc = (np.asarray(v, dtype=float) for v in (x, x0, x_ctrl))
    with np.errstate(divide="ignore", invalid="ignore"):
        num = np.log2(np.maximum(x / x0, 1e-6))
        den = np.log2(np.maximum(xc / x0, 1e-6))
        out = np.power(2.0, num / den) - 1.0
    return np.where(np.isfinite(out) & (den != 0), out, np.nan)


def gr_metrics(conc, gr, *, alpha: float = 0.05) -> dict:
    """GR metrics of one GR dose-response curve (Hafner et al. 2016).

    The GR values are fitted by ``GR(c) = GRinf + (1 - GRinf) / (1 + (c / GEC50) ** h_GR)``,
    i.e. LL.4 with the upper asymptote fixed at 1 (:func:`fit_ll4` with ``upper=1``; least
    squares, where the gr50 tools use a bounded L-BFGS-B minimisation).  An F test of that
    sigmoid against a flat line (``GR_FLAT_TEST``, df 2 and n - 3) decides as in the gr50
    tools: when ``p > alpha`` (or the fit fails) the curve is flat, ``GRinf`` is the mean GR,
    ``GEC50``/``h_GR`` are NaN.  ``GR50``: where the fitted curve crosses 0.5 inside the tested
    range, else NaN with ``GR50_note`` "> highest dose" / "< lowest dose" (never extrapolated;
    the gr50 tools extrapolate).  ``GRmax``: the lower of the mean GR at the two highest
    concentrations (the gr50 tools' robust minimum); ``GR_AOC``: trapezoid area of ``1 - GR``
    (means per concentration) over log10 concentration divided by the log10 range.
    """
    x = np.asarray(pd.to_numeric(pd.Series(np.ravel(conc)), errors="coerce"), float)
    y = np.asarray(pd.to_numeric(pd.Series(np.ravel(gr)), errors="coerce"), float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0)
    out = {"GR50": math.nan, "GR50_note": "", "GRmax": math.nan, "GR_AOC": math.nan,
           "GEC50": math.nan, "GRinf": math.nan, "h_GR": math.nan, "F": math.nan,
           "p": math.nan, "test": GR_FLAT_TEST, "flat": False, "n": int(ok.sum()),
           "converged": False, "note": ""}
    notes = []
    if (~ok).any():
        notes.append(f"{int((~ok).sum())} point(s) with missing or non-positive concentration "
                     "or missing GR left out")
    x, y = x[ok], y[ok]
    if np.unique(x).size < 2:
        out["note"] = "; ".join(notes + ["fewer than 2 concentrations"])
        return out
    means = pd.Series(y).groupby(x).mean()
    lc = np.log10(means.index.to_numpy(float))
    out["GRmax"] = float(means.iloc[-2:].min())
    out["GR_AOC"] = float(np.trapezoid(1.0 - means.to_numpy(), lc) / (lc[-1] - lc[0]))
    fit = fit_ll4(x, y, upper=1.0)
    rss_flat = float(np.sum((y - y.mean()) ** 2))
    df2 = x.size - 3
    if fit.has_curve and df2 > 0 and np.isfinite(fit.rss) and fit.rss > 0:
        out["F"] = float(((rss_flat - fit.rss) / 2) / (fit.rss / df2))
        out["p"] = float(stats.f.sf(out["F"], 2, df2))
    flat = not fit.converged or not (out["p"] <= alpha)
    out["flat"] = bool(flat)
    cmin, cmax = float(x.min()), float(x.max())
    if flat:
        out["GRinf"] = float(y.mean())
        out["GR50_note"] = "> highest dose" if y.mean() > 0.5 else "< lowest dose"
        notes.append("flat GR curve (sigmoid not better than a flat line at alpha "
                     f"{alpha:g}" + ("" if fit.converged else f"; fit: {fit.message}") + ")")
        out["converged"] = bool(fit.converged)
    else:
        out.update(GEC50=fit.e, GRinf=fit.c, h_GR=fit.b, converged=True)
        v, note = absolute_ic50_note(fit, cmin, cmax)
        out["GR50"] = math.nan if v is None else v
        out["GR50_note"] = note
    out["note"] = "; ".join(notes)
    return out
