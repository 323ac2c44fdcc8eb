"""Multiple imputation by chained equations, vectorised, after R's ``mice`` (3.x).

Why our own: statsmodels' ``MICEData`` rebuilds patsy formulas and design matrices for every
variable in every cycle and imputes categorical columns only by PMM on their codes; at 2 x 10^5
patients the response stage did not finish in 14.5 minutes.  Here the design matrix is built
once with numpy (one row per design column: intercept, each numeric column standardised by its
observed mean and SD, treatment dummies of each categorical column) and the imputed entries are
overwritten in place; the cross-product matrix of the design is kept up to date by adding and
removing the changed rows, so each univariate model costs O(n p) (O(n p^2) for the logistic
and multinomial ones) and the matching O(n log n).  No per-row Python loop.

The algorithm follows ``mice(data, m, maxit = n_iter)`` with its default methods and
predictor matrix (every other column predicts each incomplete column):

* start: each missing value a random draw from the observed values of its column
  (``mice.impute.sample``); each of the m imputations is an independent chain with its own
  generator spawned from ``seed`` (``numpy.random.SeedSequence(seed).spawn(m)``), so the same
  seed gives the same data sets; the streams differ from R's, so R's imputations cannot be
  reproduced, only their distribution (tests/test_mice.py checks it by Monte Carlo).
* visit sequence: the incomplete columns from left to right, ``n_iter`` cycles.
* before each univariate model, ``remove.lindep`` (eps 1e-4, maxcor 0.99) drops constant,
  (positively) near-duplicate and collinear predictors, computed from the cross products;
  a dummy of a level seen in a few of 10^4+ rows has variance < 1e-4 and goes.  Its loop
  as R runs it (one eigen decomposition; see remove_lindep), checked against R with
  several dependencies (tests/test_mice_rare.py).
* separation (a level perfectly predicted, also after the imputations feed back): the
  augmented fits have finite estimates; the logistic fit uses glm.fit's link clamps
  (|eta| > 30) and its scale-free aliasing (an aliased coefficient 0, drawn as nothing;
  mice would stop there); a warm start that raises the deviance goes back to R's start,
  and a multinomial Newton step that does is retaken with a fresh H^-1, then halved.
* pandas Categorical, nullable and Arrow string columns: as the object columns of their
  values (levels = the values seen, sorted, unless given).
* numeric columns: predictive mean matching, ``mice.impute.pmm`` with ``matchtype = 1``:
  ``.norm.draw`` (least squares by Cholesky of X'X; the ridge 1e-5 * diag(X'X) only when X'X
  cannot be inverted, as ``estimice``), sigma* = sqrt(RSS / chi2_df), beta* = beta-hat +
  chol(V) z sigma*; observed rows predicted with beta-hat, missing rows with beta*; the donor
  of each missing row is its h-th nearest observed prediction, h uniform on 1..k, ties in the
  observed predictions in random order (``matchindex``), found by sort + searchsorted.
* categorical columns with 2 observed levels: ``mice.impute.logreg``: data augmented as
  ``augment`` (White, Daniel & Royston 2010), IRLS fit (``glm.fit``, quasibinomial, prior
  weights), beta* ~ N(beta-hat, cov.unscaled), imputed level 2 when U(0,1) <= p.
* categorical columns with more levels: ``mice.impute.polyreg``: the same augmentation, a
  multinomial logit fitted by maximum likelihood (Newton; R uses nnet::multinom), level drawn
  from the fitted probabilities (mice draws no parameters here either).  Unordered: an
  ordered factor would get ``polr`` in mice; our level orders are not modelled as ordinal.
* the IRLS and Newton fits start from the previous cycle's estimate of the same chain (in the
  first cycle: the previous chain's last; the converged value does not depend on the start,
  R starts from the data every time): the
  logistic fit takes one step with the previous (X'WX)^-1, then Newton steps with X'WX at
  the current estimate until the predicted change of the deviance is below glm.fit's
  criterion (1e-8 (|dev| + 0.1)); its covariance is X'WX^-1 at the start of the last step,
  as summary.glm.  The multinomial fit keeps the previous H^-1 while it converges.
* every column categorical (``_Patterns``): a design row is then a function of the row's
  level codes, and a model's weighted likelihood a sum over the distinct (predictor codes,
  outcome) patterns with their counts (sufficient statistics): the logistic and
  multinomial fits run on the patterns, the missing rows' probabilities are computed per
  pattern, and the chain keeps counts instead of the n-column design.  The estimates equal
  the row-wise ones up to the order of the floating additions (~1e-13 relative) and the
  imputations are the same (tests/test_mice_patterns.py compares with ``collapse=False``).
  At 10^6 rows of 8 factors, m = 20, 10 cycles: 153 s row-wise, 8 s on patterns.

Differences from mice, none of them in the model: the random-number streams; the fits'
starting values and stopping rules above (each stops within glm.fit's tolerance); the
multinomial fit is run to convergence (nnet stops after 100 BFGS steps or a relative change
of 1e-8); ordered factors are not given ``polr``.  Cost per cycle at 10^5 rows and 14 design
columns: about 0.1 CPU second (benchmarks/bench_mice.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["augment", "impute_chained", "logreg_fit", "match_index", "multinom_fit",
           "norm_draw", "remove_lindep"]

RIDGE = 1e-5
LINDEP_EPS = 1e-4
LINDEP_MAXCOR = 0.99
GLM_EPS = 1e-8  # glm.control()$epsilon
GLM_MAXIT = 25


# --------------------------------------------------------------------------------------------
# building blocks, each checked against R on fixed numbers (tests/test_mice.py)
# --------------------------------------------------------------------------------------------

def _inv_spd(a: np.ndarray) -> tuple[np.ndarray, bool]:
    """Inverse of a symmetric matrix; (inverse, ok). ok False when it is not positive
    definite or its reciprocal condition is below machine epsilon (R's ``solve`` fails)."""
    try:
        c = np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        return np.full_like(a, np.nan), False
    d = np.diag(c)
    if d.min() <= 0 or (d.min() / d.max()) ** 2 < np.finfo(float).eps:
        return np.full_like(a, np.nan), False
    ci = np.linalg.inv(c)
    return ci.T @ ci, True


# glm.fit's QR (dqrdc2) takes a column as aliased when its norm after the preceding columns
# is below 1e-11 of its own; on the cross products that ratio is squared and resolved only to
# about machine precision, so the squared ratio is compared with this.
ALIAS_TOL = 1e-14


def _inv_info(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of an information matrix X'WX as ``summary.glm`` gets it from glm.fit's QR:
    columns taken in order, each aliased when its part not explained by the columns kept
    before it is below ALIAS_TOL of its own (scale-free: a rare dummy's small column is not
    compared with the intercept's).  Returns (inverse, aliased mask); aliased rows and
    columns of the inverse are 0 (R: coefficient NA, left out of cov.unscaled)."""
    p = a.shape[0]
    d = np.sqrt(np.maximum(np.diag(a), 0.0))
    alias = ~(np.isfinite(d) & (d > 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        sc = a / np.outer(d, d)
    ok = ~alias
    if ok.all():
        try:
            c = np.linalg.cholesky(sc)
            if np.diag(c).min() ** 2 >= ALIAS_TOL:
                ci = np.linalg.inv(c)
                return (ci.T @ ci) / np.outer(d, d), alias
        except np.linalg.LinAlgError:
            pass
    # the column-by-column sweep (p is a few dozen at most): keep j when its residual
    # variance given the kept columns is large enough
    kept: list[int] = []
    for j in np.flatnonzero(ok):
        if kept:
            b = sc[np.ix_(kept, kept)]
            r = sc[kept, j]
            res = 1.0 - float(r @ np.linalg.solve(b, r))
        else:
            res = 1.0
        if res >= ALIAS_TOL:
            kept.append(int(j))
    alias = np.ones(p, dtype=bool)
    alias[kept] = False
    inv = np.zeros_like(a)
    if kept:
        kk = np.ix_(kept, kept)
        c = np.linalg.cholesky(sc[kk])
        ci = np.linalg.inv(c)
        inv[kk] = (ci.T @ ci) / np.outer(d[kept], d[kept])
    return inv, alias


def norm_draw(xtx: np.ndarray, xty: np.ndarray, yty: float, n_obs: int, z: np.ndarray,
              chi2: float, ridge: float = RIDGE) -> tuple[np.ndarray, np.ndarray, float]:
    """``mice:::.norm.draw`` from the cross products of the observed rows (X with intercept).

    ``coef`` = least-squares estimate, ``sigma`` = sqrt(RSS / chi2) with chi2 a draw from
    chi-square(df = max(n_obs - p, 1)), ``beta`` = coef + t(chol(V)) z sigma with
    V = (X'X)^-1 (``estimice``); when X'X cannot be inverted V = (X'X + ridge diag(X'X))^-1
    and coef = V X'y.  ``z`` (p standard normals) and ``chi2`` are passed in so that the
    formula can be checked on fixed numbers.  Returns (coef, beta, sigma)."""
    v, ok = _inv_spd(xtx)
    if not ok:
        v, ok = _inv_spd(xtx + np.diag(np.diag(xtx) * ridge))
        if not ok:
            raise ValueError("the imputation model's predictors cannot be inverted, even "
                             "with a ridge penalty")
    coef = v @ xty
    rss = max(float(yty - 2.0 * coef @ xty + coef @ xtx @ coef), 0.0)
    sigma = float(np.sqrt(rss / chi2))
    vs = (v + v.T) / 2.0
    beta = coef + np.linalg.cholesky(vs) @ z * sigma
    return coef, beta, sigma


def match_index(d: np.ndarray, t: np.ndarray, h: np.ndarray,
                shuffle: np.ndarray | None = None) -> np.ndarray:
    """``mice:::matchindex`` vectorised: for each target ``t[i]`` the index (0-based, into
    ``d``) of its ``h[i]``-th nearest donor value, walking out from the insertion point as
    the C++ does (left taken only when strictly nearer).  ``shuffle``: the permutation that
    orders tied donors (R's ``sample(n1)`` - 1); None when ``d`` has no ties or the order
    among ties does not matter.  O((n1 + n0) log n1); no n0 x n1 distances."""
    d = np.asarray(d, dtype=float)
    t = np.asarray(t, dtype=float)
    h = np.asarray(h, dtype=np.int64)
    if shuffle is None:
        ids = np.argsort(d, kind="stable")
    else:
        ids = shuffle[np.argsort(d[shuffle], kind="stable")]
    return _match_sorted(ids, d[ids], t, h)


def augment(x: np.ndarray, icod: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """``mice:::augment``: 2 p k extra rows (each predictor at mean -/+ sd/2, clipped to its
    range, the others at their means) for the k codes ``icod`` of the imputed column, weight
    (p + 1) / (2 p k) each (White, Daniel & Royston, CSDA 2010).  ``x``: n x p predictors
    (no intercept), all rows.  Returns (rows, codes, weight)."""
    n, p = x.shape
    k = icod.size
    nr = 2 * p * k
    mean = x.mean(axis=0)
    sd = x.std(axis=0, ddof=1) if n > 1 else np.zeros(p)
    b = np.resize(np.r_[np.tile([0.5, -0.5], k), np.zeros(nr)], nr * p).reshape(p, nr).T
    dd = mean[None, :] + b * sd[None, :]
    dd = np.minimum(np.maximum(dd, x.min(axis=0)), x.max(axis=0))
    e = np.tile(np.repeat(icod, 2), p)
    return dd, e, (p + 1) / nr


def _binom_dev(y, mu, w):
    with np.errstate(divide="ignore", invalid="ignore"):
        ll = np.where(y > 0, np.log(mu), np.log1p(-mu))
    return -2.0 * float(np.dot(w[w > 0], ll[w > 0]))


def _raises_deviance(new: float, old: float, epsilon: float) -> bool:
    """Whether a Newton step from deviance ``old`` to ``new`` went wrong: a deviance not
    finite, or higher than ``old`` by more than the convergence criterion's tolerance."""
    return not (np.isfinite(new) and new - old <= epsilon * (abs(old) + 0.1))


def _logit_mu(eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """mu and the IRLS weight mu.eta^2 / variance of R's ``binomial()`` logit link: beyond
    |eta| > 30 its C code holds mu at eps / (1 + eps) or 1 / (1 + eps) and mu.eta at eps, so
    a fitted probability of (numerically) 0 or 1 keeps a weight of about eps instead of 0:
    a separated or saturated fit stays invertible, as glm.fit's does."""
    with np.errstate(over="ignore"):
        mu = 1.0 / (1.0 + np.exp(-eta))
    vw = mu * (1.0 - mu)
    out = np.abs(eta) > 30.0
    if out.any():
        eps = np.finfo(float).eps
        mu = np.where(eta < -30.0, eps / (1.0 + eps), np.where(eta > 30.0, 1.0 / (1.0 + eps), mu))
        vw = np.where(out, eps**2 / (mu * (1.0 - mu)), vw)
    return mu, vw


class _Logit:
    """Pieces of the (weighted) binomial log-likelihood at beta: main rows (p x n, prior
    weights w) plus augmented rows (nr x p, weight aw)."""

    def __init__(self, xt, y, w, ax, ay, aw, rows=None):
        self.xt, self.y, self.w, self.ax, self.ay = xt, y, w, ax, ay
        self.rows = rows  # the design rows used (None: all): no copy of the others
        self.aww = np.full(ay.size, aw)
        self.t = self.sub(xt @ (w * y)) + (ax.T @ (self.aww * ay) if ay.size else 0.0)
        self.buf = None

    def sub(self, v):
        return v if self.rows is None else v[self.rows]

    def full(self, beta):
        if self.rows is None:
            return beta
        b = np.zeros(self.xt.shape[0])
        b[self.rows] = beta
        return b

    def at(self, beta):
        self.beta = beta
        self.eta = self.full(beta) @ self.xt
        self.mu, self.vw = _logit_mu(self.eta)
        if self.ay.size:
            self.aeta = self.ax @ beta
            self.amu, self.avw = _logit_mu(self.aeta)
        return self

    def dev(self):
        # -2 sum w (y eta - log(1 + e^eta)); y eta summed as beta . X'(w y)
        d = float(self.w @ np.logaddexp(0.0, self.eta)) - float(self.beta @ self.t)
        if self.ay.size:
            d += float(self.aww @ np.logaddexp(0.0, self.aeta))
        return 2.0 * d

    def score(self):
        g = self.t - self.sub(self.xt @ (self.w * self.mu))
        if self.ay.size:
            g -= self.ax.T @ (self.aww * self.amu)
        return g

    def info(self):
        vw = self.w * self.vw
        if self.buf is None:
            self.buf = np.empty_like(self.xt)
        np.multiply(self.xt, np.sqrt(vw), out=self.buf)
        h = self.buf @ self.buf.T  # symmetric rank-k update (syrk)
        if self.rows is not None:
            h = h[np.ix_(self.rows, self.rows)]
        if self.ay.size:
            h += (self.ax * (self.aww * self.avw)[:, None]).T @ self.ax
        return h


def logreg_fit(xt: np.ndarray, y: np.ndarray, w: np.ndarray, beta0: np.ndarray | None = None,
               ax: np.ndarray | None = None, ay: np.ndarray | None = None,
               aw: float = 0.0, epsilon: float = GLM_EPS, maxit: int = GLM_MAXIT,
               cov0: np.ndarray | None = None, rows: np.ndarray | None = None,
               dev0: float | None = None, freq: np.ndarray | None = None,
               ) -> tuple[np.ndarray, np.ndarray, int, float]:
    """Logistic regression by IRLS as R's ``glm.fit`` (quasibinomial, prior weights ``w``;
    rows with weight 0 do not count), plus the augmented rows ``ax`` (each weight ``aw``,
    outcome ``ay``).  ``xt``: p x n (design columns as rows, intercept included).

    From R's mustart (``beta0`` None): IRLS = Newton steps, stopping when
    |dev - dev_old| / (|dev| + 0.1) < epsilon; the covariance (``cov.unscaled`` =
    (X'WX)^-1) has the weights of the last iteration's start, as ``summary.glm``.
    Warm start (``beta0``, ``cov0`` from the previous cycle, the sampler): a first step with
    ``cov0`` (no X'WX), then Newton steps as above, stopping when the predicted change of
    the deviance, score' (X'WX)^-1 score, is below epsilon (|dev| + 0.1); one X'WX per call
    when the start is close; ``dev0`` (the previous cycle's deviance) then sets the scale of
    the criterion.  ``rows``: use only these rows of ``xt`` (the sampler passes its whole
    design).  ``freq``: each row stands for ``freq`` identical rows (distinct patterns with
    their counts): the fit is that on the expanded rows, R's starting values taken per
    expanded row of prior weight ``w``.  Returns (beta, cov_unscaled, iterations, deviance
    scale)."""
    p = xt.shape[0] if rows is None else len(rows)
    if ax is None or ax.size == 0:
        ax = np.empty((0, p))
        ay = np.empty(0)
    ay = np.asarray(ay, dtype=float)
    w1 = w  # one row's prior weight: mustart
    if freq is not None:
        w = w * freq
    f = _Logit(xt, y, w, ax, ay, aw, rows)
    if beta0 is None:
        mu = (w1 * y + 0.5) / (w1 + 1.0)
        amu = (aw * ay + 0.5) / (aw + 1.0)
        dev_old = _binom_dev(y, mu, w) + _binom_dev(ay, amu, f.aww)
        f.mu, f.amu = mu, amu
        f.vw, f.avw = mu * (1.0 - mu), amu * (1.0 - amu)
        eta = np.log(mu / (1.0 - mu))
        aeta = np.log(amu / (1.0 - amu))
        cov, _ = _inv_info(f.info())
        zz = eta + (y - mu) / (mu * (1 - mu))
        rhs = f.sub(xt @ (w * mu * (1 - mu) * zz))
        if ay.size:
            rhs += ax.T @ (f.aww * amu * (1 - amu) * (aeta + (ay - amu) / (amu * (1 - amu))))
        beta = cov @ rhs
        for it in range(2, maxit + 1):
            f.at(beta)
            dev = f.dev()
            if abs(dev - dev_old) / (abs(dev) + 0.1) < epsilon:
                return beta, cov, it - 1, dev
            dev_old = dev
            cov, alias = _inv_info(f.info())
            # an aliased column's coefficient is NA in glm.fit: here 0 (left out)
            beta = np.where(alias, 0.0, beta + cov @ f.score())
        return beta, cov, maxit, dev_old

    def cold():  # R's start: what the warm start falls back to when it goes wrong
        return logreg_fit(xt, y, w1, None, ax, ay, aw, epsilon, maxit, rows=rows, freq=freq)

    beta = np.asarray(beta0, dtype=float)
    # the warm start is only a shortcut to glm.fit's estimate: a step that raises the
    # deviance (a start far from this cycle's estimate, e.g. after the imputations of a
    # separated level changed) or a saturated X'WX sends the fit back to R's start
    if cov0 is not None:
        dev_b = f.at(beta).dev()
        nb = beta + cov0 @ f.score()
        dev_n = f.at(nb).dev()
        if _raises_deviance(dev_n, dev_b, epsilon):
            return cold()
        beta = nb
    else:
        dev_n = f.at(beta).dev()
    dev = dev0 if dev0 is not None else dev_n  # the scale of the criterion (R: |dev| + 0.1)
    for it in range(1, maxit + 1):
        cov, alias = _inv_info(f.info())
        if alias.any():
            return cold()
        g = f.score()
        step = cov @ g
        nb = beta + step
        if float(g @ step) / (abs(dev) + 0.1) < epsilon:
            return nb, cov, it, dev
        dev_b = dev_n
        dev_n = f.at(nb).dev()
        if _raises_deviance(dev_n, dev_b, epsilon):
            return cold()
        beta = nb
    return beta, cov, maxit, dev


def multinom_fit(xt: np.ndarray, y: np.ndarray, w: np.ndarray, k: int,
                 beta0: np.ndarray | None = None, ax: np.ndarray | None = None,
                 ay: np.ndarray | None = None, aw: float = 0.0, epsilon: float = GLM_EPS,
                 maxit: int = 100, hinv0: np.ndarray | None = None,
                 rows: np.ndarray | None = None, freq: np.ndarray | None = None,
                 ) -> tuple[np.ndarray, int, np.ndarray]:
    """Multinomial logit (baseline = code 0) by Newton-Raphson, prior weights ``w`` (0 = row
    left out), augmented rows ``ax``/``ay`` with weight ``aw``; ``y`` codes 0..k-1, ``xt``
    p x n.  Maximum likelihood, as ``nnet::multinom`` (decay 0) but run to convergence: stop
    when the predicted change of the deviance, score' H^-1 score, is below
    epsilon (|dev| + 0.1), or when the next one, extrapolated from the last two (x 3), would
    be.  ``hinv0``: the inverse information of the previous cycle (the sampler's warm
    start): it is kept while it converges (3 steps), else recomputed; the estimate does not
    depend on it.  ``rows``: use only these rows of ``xt`` (the sampler passes its whole
    design).  ``freq``: each row stands for ``freq`` identical rows (distinct patterns with
    their counts; the start is 0, so only the weights w * freq matter).  Returns
    ((k - 1) x p coefficients, iterations, H^-1)."""
    p = xt.shape[0] if rows is None else len(rows)
    if freq is not None:
        w = w * freq
    sel = slice(None) if rows is None else rows
    if ax is None or ax.size == 0:
        ax = np.empty((0, p))
        ay = np.empty(0, dtype=np.int64)
    ay = np.asarray(ay, dtype=np.int64)
    y = np.asarray(y, dtype=np.int64)
    aww = np.full(ay.size, aw)
    beta = np.zeros((k - 1, p)) if beta0 is None else np.asarray(beta0, dtype=float).copy()
    hinv = hinv0
    buf = None

    def prep(x, yy, ww):  # per call: the weighted one-hot sums, fixed while beta moves
        oh = (yy[None, :] == np.arange(1, k)[:, None]).astype(float)
        return (oh * ww) @ x.T

    def full(b, x):
        if rows is None or x is not xt:
            return b
        bf = np.zeros((k - 1, x.shape[0]))
        bf[:, rows] = b
        return bf

    def part(x, ww, t, b):
        eta = full(b, x) @ x
        with np.errstate(over="ignore"):
            ex = np.exp(eta)
        den = 1.0 + ex.sum(axis=0)
        if np.isfinite(den).all():
            lnorm = np.log(den)
        else:  # overflow: the same with the largest linear predictor taken out
            mx = np.maximum(eta.max(axis=0), 0.0)
            ex = np.exp(eta - mx)
            den = np.exp(-mx) + ex.sum(axis=0)
            lnorm = mx + np.log(den)
        eta = ex
        eta /= den
        # deviance: -2 sum w (eta_y - log normaliser) = -2 (sum(b * t) - w . lnorm)
        dev = -2.0 * (float(np.sum(b * t)) - float(ww @ lnorm))
        g = (eta * ww) @ x.T
        return dev, t - (g[:, sel] if x is xt else g), eta

    t_main = prep(xt, y, w)[:, sel]
    axt = ax.T.copy()
    t_aug = prep(axt, ay, aww) if ay.size else None

    def evaluate(b):
        dev, g, pr = part(xt, w, t_main, b)
        apr = None
        if ay.size:
            adev, ag, apr = part(axt, aww, t_aug, b)
            dev += adev
            g = g + ag
        return dev, g, pr, apr

    def inverse_information(pr, apr):
        nonlocal buf
        q = (k - 1) * p
        hess = np.empty((q, q))
        if buf is None:
            buf = np.empty_like(xt)
        for a in range(k - 1):
            for b in range(a, k - 1):
                v = w * pr[a] * ((1.0 if a == b else 0.0) - pr[b])
                np.multiply(xt, v, out=buf)
                blk = buf @ xt.T
                if rows is not None:
                    blk = blk[np.ix_(rows, rows)]
                if ay.size:
                    av = aww * apr[a] * ((1.0 if a == b else 0.0) - apr[b])
                    blk += (ax * av[:, None]).T @ ax
                hess[a * p:(a + 1) * p, b * p:(b + 1) * p] = blk
                hess[b * p:(b + 1) * p, a * p:(a + 1) * p] = blk.T
        # scale-free, as glm.fit's QR: a rare level's small block is not compared with the
        # others; a parameter whose information has vanished (all its fitted probabilities
        # 0 or 1) is held where it is (nnet's BFGS needs no inverse and never stops here)
        return _inv_info(hess)[0]

    since = 0
    lam_old = 0.0
    dev, g, pr, apr = evaluate(beta)
    for it in range(1, maxit + 1):
        fresh = hinv is None or since >= 3
        if fresh:
            hinv = inverse_information(pr, apr)
            since = 0
        while True:
            step = hinv @ g.ravel()
            lam = float(g.ravel() @ step) / (abs(dev) + 0.1)
            if lam < epsilon:
                return beta + step.reshape(k - 1, p), it, hinv
            # with a kept (stale) H^-1 the decrements shrink geometrically: when the next
            # one, predicted from the last ratio (x 3 for safety), is below the criterion,
            # the step just taken already meets it (saves the confirming pass over the data)
            if since >= 1 and lam_old > 0 and lam / lam_old < 0.1 \
                    and 3.0 * lam * (lam / lam_old) < epsilon:
                return beta + step.reshape(k - 1, p), it, hinv
            # Newton from a far start can overshoot (the warm start after the imputations
            # of a separated level moved, or a quasi-separated fit): a step that raises the
            # deviance is taken again with H^-1 at the current estimate, then halved
            t = 1.0
            while True:
                nb = beta + t * step.reshape(k - 1, p)
                ndev, ng, npr, napr = evaluate(nb)
                lowered = not _raises_deviance(ndev, dev, epsilon)
                if lowered or not fresh or t < 2.0 ** -30:
                    break
                t *= 0.5
            if lowered:
                break
            if fresh:  # no fraction of the Newton step lowers the deviance: rounding level
                return beta, it, hinv
            hinv = inverse_information(pr, apr)  # the stale H^-1 overshot
            since = 0
            fresh = True
            lam_old = 0.0
        beta, dev, g, pr, apr = nb, ndev, ng, npr, napr
        since += 1
        lam_old = lam
    return beta, maxit, hinv


def remove_lindep(s: np.ndarray, n_obs: int, xcols: np.ndarray, ya: np.ndarray,
                  scale: np.ndarray, eps: float = LINDEP_EPS,
                  maxcor: float = LINDEP_MAXCOR) -> np.ndarray:
    """``mice:::remove.lindep`` from the cross products ``s`` of the observed rows (design
    with the intercept as column 0).  ``xcols``: candidate predictor columns; ``ya``: the
    imputed variable as a combination of design columns (its codes 1..k for a factor);
    ``scale``: each design column's unit (the SD used to standardise it; variances are
    compared with ``eps`` in the data's units, as R).  Returns the keep mask over xcols."""
    if n_obs == 0 or xcols.size == 0:
        return np.ones(xcols.size, dtype=bool)
    if n_obs < 2:
        return np.zeros(xcols.size, dtype=bool)
    mean = s[0] / n_obs
    cov = (s - n_obs * np.outer(mean, mean)) / (n_obs - 1)
    cov = cov * np.outer(scale, scale)  # the data's units; ya is in them too
    vy = float(ya @ cov @ ya)
    if vy < eps:
        return np.zeros(xcols.size, dtype=bool)
    vx = np.diag(cov)[xcols]
    cxy = (cov @ ya)[xcols]
    with np.errstate(divide="ignore", invalid="ignore"):
        cor = cxy / np.sqrt(vx * vy)
    keep = (vx > eps) & (cor < maxcor)
    keep &= ~np.isnan(vx)
    k = int(keep.sum())
    if k <= 1:
        return keep
    kept = np.flatnonzero(keep)
    sub = cov[np.ix_(xcols[kept], xcols[kept])]
    dsub = np.sqrt(np.diag(sub))
    cx = sub / np.outer(dsub, dsub)
    # R's loop, as it runs: ``ncx <- cx[keep[keep], keep[keep]]`` indexes cx with an
    # all-TRUE vector (recycled), so the eigen decomposition is never recomputed: the k-th
    # largest eigenvalue of the first correlation matrix is compared with eps after each
    # removal, and its eigenvector's largest |component| (position i among all k0 first
    # kept columns, the first on ties) removes the i-th of the columns still kept (none
    # when i > k: R's index is NA).  With one dependency this is the textbook rule; with
    # more it can keep a collinear pair, which the augmented fits and PMM's ridge absorb.
    val, vec = np.linalg.eigh(cx)
    val, vec = val[::-1], vec[:, ::-1]  # descending, as eigen()
    while val[k - 1] / val[0] < eps:
        a = np.abs(vec[:, k - 1])
        i = int(np.flatnonzero(a >= a.max() * (1.0 - 1e-9))[0])  # near-ties: the first
        if i < k:
            keep[kept[i]] = False
            kept = np.delete(kept, i)
        k -= 1
    return keep


# --------------------------------------------------------------------------------------------
# the sampler
# --------------------------------------------------------------------------------------------

class _Var:
    """One imputation column: its design rows and missing pattern."""

    def __init__(self, name: str, kind: str, rows: np.ndarray, levels: list[Any] | None,
                 values: np.ndarray, center: float = 0.0, scale: float = 1.0) -> None:
        self.name, self.kind, self.rows, self.levels = name, kind, rows, levels
        self.values = values  # numeric: float with NaN; categorical: int codes, -1 missing
        self.center, self.scale = center, scale
        miss = np.isnan(values) if kind == "num" else values < 0
        self.obs = np.flatnonzero(~miss)
        self.mis = np.flatnonzero(miss)
        self.wobs = (~miss).astype(float)
        if kind == "num":
            self.method = "pmm"
        else:
            present = np.unique(values[self.obs])
            self.present = present
            if present.size <= 1:
                self.method = "const"
            elif len(levels) == 2:
                self.method = "logreg"
            else:
                self.method = "polyreg"


def _design(df: pd.DataFrame, cols: list[str], levels: dict[str, list[Any]]):
    n = len(df)
    specs: list[_Var] = []
    blocks: list[np.ndarray] = [np.ones((1, n))]
    scale = [1.0]
    p = 1
    for c in cols:
        s = df[c]
        if c in levels:
            lv = levels[c]
            code_of = {v: i for i, v in enumerate(lv)}
            if isinstance(s.dtype, pd.CategoricalDtype):
                # by its categories (map() on a Categorical maps them and stays Categorical,
                # where -1 is no category); unused categories are not levels, as for the
                # object column of the same values
                per_cat = np.array([code_of.get(c_, -1) for c_ in s.cat.categories] + [-1],
                                   dtype=np.int64)
                codes = per_cat[s.cat.codes.to_numpy()]  # code -1 (missing) -> last
            else:
                codes = s.map(code_of)
                codes = codes.fillna(-1).to_numpy(dtype=np.int64)
            k = len(lv)
            rows = np.arange(p, p + k - 1)
            blocks.append((codes[None, :] == np.arange(1, k)[:, None]).astype(float))
            scale += [1.0] * (k - 1)
            specs.append(_Var(c, "cat", rows, lv, codes))
            p += k - 1
        else:
            x = s.to_numpy(dtype=float, na_value=np.nan)
            obs = x[~np.isnan(x)]
            if obs.size == 0:
                raise ValueError(f"column '{c}' has no observed value to impute from")
            center = float(obs.mean())
            sd = float(obs.std(ddof=1)) if obs.size > 1 else 0.0
            sd = sd if np.isfinite(sd) and sd > 0 else 1.0
            blocks.append(((x - center) / sd)[None, :])
            scale.append(sd)
            specs.append(_Var(c, "num", np.array([p]), None, x, center, sd))
            p += 1
    d = np.ascontiguousarray(np.concatenate(blocks, axis=0))
    for v in specs:  # the yA vector: the variable as a combination of design columns
        ya = np.zeros(p)
        if v.kind == "num":
            ya[v.rows[0]] = 1.0
        else:
            ya[v.rows] = np.arange(1, len(v.levels))
        v.ya = ya
        if v.kind == "cat" and v.obs.size:
            d[np.ix_(v.rows, v.mis)] = 0.0
    # range of each design row over the observed values (imputations never leave it: PMM
    # donors and drawn levels are observed values)
    lo = np.zeros(p)
    hi = np.ones(p)
    for v in specs:
        if v.kind == "num":
            ob = d[v.rows[0], v.obs]
            lo[v.rows[0]], hi[v.rows[0]] = ob.min(), ob.max()
        else:
            seen = np.zeros(len(v.levels), dtype=bool)
            seen[np.unique(v.values[v.obs])] = True
            for j, r in enumerate(v.rows, start=1):
                hi[r] = 1.0 if seen[j] else 0.0
                lo[r] = 0.0 if (seen[np.arange(len(v.levels)) != j].any()) else 1.0
    return d, specs, np.asarray(scale), lo, hi


class _Patterns:
    """Distinct rows of an all-categorical design, for fits on sufficient statistics.

    When every imputation column is categorical, a design row is a function of the row's
    level codes, so the n rows fall into at most K = prod(levels) distinct code patterns
    (K is a few thousand for a handful of factors, whatever n).  The weighted likelihood of a
    logistic or multinomial model is a sum over rows; rows with the same predictors and
    outcome contribute identical terms, so summing them first (counting each pattern) gives
    the same log-likelihood, score and information, hence the same IRLS / Newton iterates
    and estimates, up to the order of floating additions (~1e-13 relative).  The fits run on
    the patterns with their counts, and each missing row's drawn probability is its pattern's.

    Which rows enter a fit depends on which column is imputed (its observed rows), so the
    chain keeps counts per (missingness pattern, code pattern): the column's fit sums the
    missingness patterns in which it is observed.  An imputation changes only the missing
    rows' codes, so the chain keeps no per-row arrays of length n: for each column, the
    current codes and code patterns of its missing rows; imputing a column updates the
    counts and the code patterns of the other columns' missing rows that it shares
    (``pairs``), O(n_mis) work, never O(n) (random access into n-long arrays is what costs
    at 10^6 rows).

    A row's code pattern is sum_j codes_j * radix_j (mixed radix); ``dk``: the design column
    of every code pattern (P x K); ``grid[name]``: each pattern's code of that column;
    ``obs[name]``: the missingness patterns (0..M-1) in which the column is observed;
    ``off[name]``: the table offset (missingness pattern * K) of the column's missing rows;
    ``kbase[name]``: their code patterns with the missing codes taken as 0; ``pairs[name]``:
    (other column, positions in this column's missing rows, positions in the other's) of
    the rows both miss; ``own[name]``: positions of the missing rows whose first missing
    column it is; ``cnt0``: the counts of the rows missing nothing."""

    # the count table has M x K cells, summed twice per fit; the row-wise fits cost
    # ~p^2 n per Newton step.  Measured (8 factors, m = 5, 5 cycles): equal time at
    # 5 x 10^3 rows (~15 n cells), patterns 4x faster at 10^5.  Larger tables (many
    # factors, few rows) keep the row-wise fits; MAX_CELLS bounds the memory when forced.
    MAX_CELLS_PER_ROW = 8.0
    MAX_NUM_VALUES = 64
    MAX_CELLS = 1 << 22

    def __init__(self, specs: list[_Var], p: int, n: int, k: int, mp: np.ndarray,
                 m: int, pats: np.ndarray) -> None:
        self.k, self.m = k, m
        self.radix: dict[str, int] = {}
        self.grid: dict[str, np.ndarray] = {}
        self.dk = np.zeros((p, k))
        self.dk[0] = 1.0
        all_k = np.arange(k)
        r = 1
        codes = {}
        for v in specs:
            self.radix[v.name] = r
            if v.kind == "num":  # complete, few values (build): coded by its distinct values
                u, c = np.unique(v.values, return_inverse=True)
                nl = u.size
                g = (all_k // r) % nl
                # the design value of each code, as _design computes it for each row
                self.dk[v.rows[0]] = (u[g] - v.center) / v.scale
                codes[v.name] = c.ravel().astype(np.int64)
            else:
                nl = len(v.levels)
                g = (all_k // r) % nl
                self.dk[v.rows] = (g[None, :] == np.arange(1, nl)[:, None]).astype(float)
                codes[v.name] = np.maximum(v.values, 0)
            self.grid[v.name] = g
            r *= nl
        key = np.zeros(n, dtype=np.int64)
        for v in specs:
            key += codes[v.name] * self.radix[v.name]
        inc = [v for v in specs if v.mis.size]
        self.obs = {v.name: (pats & (1 << j)) == 0 for j, v in enumerate(inc)}
        self.off = {v.name: mp[v.mis] * k for v in inc}
        self.kbase = {v.name: key[v.mis] for v in inc}
        self.pairs: dict[str, list[tuple[str, np.ndarray, np.ndarray]]] = {}
        self.own: dict[str, np.ndarray] = {}
        first = np.zeros(n, dtype=bool)  # rows missing an earlier column
        for v in inc:
            self.pairs[v.name] = []
            for u in inc:
                if u is not v:
                    _, iv, iu = np.intersect1d(v.mis, u.mis, assume_unique=True,
                                               return_indices=True)
                    if iv.size:
                        self.pairs[v.name].append((u.name, iv, iu))
            self.own[v.name] = np.flatnonzero(~first[v.mis])
            first[v.mis] = True
        self.cnt0 = np.bincount(mp[~first] * k + key[~first], minlength=m * k)

    @classmethod
    def build(cls, specs: list[_Var], p: int, n: int,
              collapse: bool | None) -> _Patterns | None:
        """The pattern tables, or None when the row-wise path is used (``collapse`` False,
        a numeric column with missing values or more than ``MAX_NUM_VALUES`` distinct values,
        or more cells than pay off). A complete numeric column (an outcome coded 0/1, say)
        is never imputed: its design value is a function of which of its few values a row
        has, so it is coded by them like a category."""
        if collapse is False or any(
                v.kind != "cat" and (v.mis.size or np.unique(v.values).size > cls.MAX_NUM_VALUES)
                for v in specs):
            return None
        k = 1
        for v in specs:
            k *= np.unique(v.values).size if v.kind == "num" else len(v.levels)
        inc = [v for v in specs if v.mis.size]
        if k > cls.MAX_CELLS or len(inc) > 62:  # the missingness bits fit an int64
            return None
        bits = np.zeros(n, dtype=np.int64)
        for j, v in enumerate(inc):
            bits[v.mis] |= 1 << j
        pats, mp = np.unique(bits, return_inverse=True)
        cells = k * pats.size
        if cells > cls.MAX_CELLS or (collapse is None and cells > cls.MAX_CELLS_PER_ROW * n):
            return None
        return cls(specs, p, n, k, mp.ravel().astype(np.int64), pats.size, pats)


class _Chain:
    """One chain of the Gibbs sampler on its own copy of the design (row-wise), or on its
    own codes and pattern counts (``pat``, see _Patterns); the two give the same
    imputations."""

    def __init__(self, d: np.ndarray, specs: list[_Var], scale: np.ndarray, lo: np.ndarray,
                 hi: np.ndarray, rng: np.random.Generator, k_pmm: int,
                 pat: _Patterns | None = None) -> None:
        self.pat = pat
        self.d = d.copy() if pat is None else None
        self.specs, self.scale, self.lo, self.hi = specs, scale, lo, hi
        self.rng, self.k_pmm = rng, k_pmm
        self.n = d.shape[1]
        self.codes: dict[str, np.ndarray] = {}
        self.vals: dict[str, np.ndarray] = {}
        self.warm: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.kmis = None
        if pat is not None:
            self._start_patterns(specs, rng, pat)
            return
        for v in specs:
            if v.kind == "cat":
                self.codes[v.name] = v.values.copy()
            else:
                self.vals[v.name] = v.values.copy()
            if v.mis.size:  # mice.impute.sample: draws from the observed values
                self._set(v, rng.choice(v.values[v.obs], size=v.mis.size))
        self.g = self.d @ self.d.T

    def _start_patterns(self, specs: list[_Var], rng: np.random.Generator,
                        pat: _Patterns) -> None:
        """Pattern path: the same start draws; the missing rows' codes (``cm``), code
        patterns (``km``) and the counts (``cnt``)."""
        inc = [v for v in specs if v.mis.size]
        self.cm = {v.name: rng.choice(v.values[v.obs], size=v.mis.size) for v in inc}
        self.km = {v.name: pat.kbase[v.name] + self.cm[v.name] * pat.radix[v.name]
                   for v in inc}
        for v in inc:  # the others' start codes in the rows they share
            for u, iv, iu in pat.pairs[v.name]:
                self.km[u][iu] += self.cm[v.name][iv] * pat.radix[v.name]
        self.cnt = pat.cnt0.copy()
        for v in inc:  # each incomplete row counted once, with its first missing column
            own = pat.own[v.name]
            self.cnt += np.bincount(pat.off[v.name][own] + self.km[v.name][own],
                                    minlength=self.cnt.size)

    def _set(self, v: _Var, new: np.ndarray, update_gram: bool = False) -> None:
        """Write imputed values (data units / codes) into the design and the Gram matrix
        (pattern path: into the codes, the rows' patterns and the pattern counts)."""
        if self.pat is not None:
            pat = self.pat
            delta = (new - self.cm[v.name]) * pat.radix[v.name]
            kold = self.km[v.name]
            knew = kold + delta
            off = pat.off[v.name]
            size = self.cnt.size
            self.cnt -= np.bincount(off + kold, minlength=size)
            self.cnt += np.bincount(off + knew, minlength=size)
            self.cm[v.name], self.km[v.name] = new, knew
            for u, iv, iu in pat.pairs[v.name]:  # the rows other columns miss too
                self.km[u][iu] += delta[iv]
            return
        if v.kind == "num":
            block = ((new - v.center) / v.scale)[None, :]
            self.vals[v.name][v.mis] = new
        else:
            block = (new[None, :] == np.arange(1, len(v.levels))[:, None]).astype(float)
            self.codes[v.name][v.mis] = new
        if update_gram:
            old = self.d[np.ix_(v.rows, v.mis)]
            delta = block - old
            u = self.dm @ delta.T  # P x b, with the old values
            self.g[:, v.rows] += u
            self.g[v.rows, :] += u.T
            self.g[np.ix_(v.rows, v.rows)] += delta @ delta.T
        self.d[np.ix_(v.rows, v.mis)] = block

    def _cross(self, v: _Var) -> np.ndarray:
        """Cross products of the design over v's observed rows (self.g: over all rows).
        Pattern path: from the counts; the design holds 0/1 only, so both ways sum the same
        integers exactly.  Also prepares v's fit data and its missing rows."""
        if self.pat is None:
            self.dm = self.d[:, v.mis]
            return self.g - self.dm @ self.dm.T
        pat = self.pat
        cnt = self.cnt.reshape(pat.m, pat.k)
        c_all = cnt.sum(axis=0)
        c_obs = cnt[pat.obs[v.name]].sum(axis=0)
        nz = np.flatnonzero(c_all)
        self.g = (pat.dk[:, nz] * c_all[nz]) @ pat.dk[:, nz].T
        nz = np.flatnonzero(c_obs)
        self.fit_k, self.fit_n = nz, c_obs[nz].astype(float)
        self.kmis = self.km[v.name]
        return (pat.dk[:, nz] * self.fit_n) @ pat.dk[:, nz].T

    def _fit_data(self, v: _Var, ix: np.ndarray):
        """(design, v's codes, prior weights, rows of the design used, frequencies) of v's
        model: all n rows (weight 0 where v is missing), or v's observed patterns with
        their counts."""
        if self.pat is None:
            return self.d, self.codes[v.name], v.wobs, ix, None
        xt = self.pat.dk[np.ix_(ix, self.fit_k)]
        return xt, self.pat.grid[v.name][self.fit_k], np.ones(self.fit_k.size), None, \
            self.fit_n

    def _per_missing(self, f, ix: np.ndarray) -> np.ndarray:
        """f(linear predictors) for v's missing rows (design columns ``ix``; f works
        column-wise): on each missing row's column, or on each pattern then gathered."""
        if self.pat is None:
            return f(self.dm[ix])
        return np.take(f(self.pat.dk[ix]), self.kmis, axis=-1)

    def cycle(self) -> None:
        if self.pat is None:
            self.g = self.d @ self.d.T  # fresh each cycle: no drift from the running updates
        for v in self.specs:
            if v.mis.size == 0:
                continue
            if v.method == "const":  # one observed level: mice's polyreg/logreg give it
                if self.pat is None:
                    self.dm = self.d[:, v.mis]
                self._set(v, np.full(v.mis.size, v.present[0]), update_gram=True)
                continue
            s = self._cross(v)  # cross products of the observed rows
            xcols = np.setdiff1d(np.arange(1, s.shape[0]), v.rows)
            keep = remove_lindep(s, v.obs.size, xcols, v.ya, self.scale)
            ix = np.r_[0, xcols[keep]]
            if v.method == "pmm":
                new = self._pmm(v, s, ix)
            elif v.method == "logreg":
                new = self._logreg(v, ix)
            else:
                new = self._polyreg(v, ix)
            self._set(v, new, update_gram=True)

    def _pmm(self, v: _Var, s: np.ndarray, ix: np.ndarray) -> np.ndarray:
        r = v.rows[0]
        rng = self.rng
        n_obs = v.obs.size
        p = ix.size
        z = rng.standard_normal(p)
        chi2 = rng.chisquare(max(n_obs - p, 1))
        coef, beta, _ = norm_draw(s[np.ix_(ix, ix)], s[ix, r], s[r, r], n_obs, z, chi2)
        cf = np.zeros(self.d.shape[0])
        cf[ix] = coef
        yhat_obs = (cf @ self.d)[v.obs]
        yhat_mis = beta @ self.dm[ix]
        k = max(min(self.k_pmm, n_obs), 1)
        h = rng.integers(1, k + 1, size=v.mis.size)
        ids = np.argsort(yhat_obs)
        ys = yhat_obs[ids]
        shuffle = rng.permutation(n_obs) if (np.diff(ys) == 0).any() else None
        pos = match_index(yhat_obs, yhat_mis, h, shuffle) if shuffle is not None else \
            _match_sorted(ids, ys, yhat_mis, h)
        return v.values[v.obs[pos]]

    def _aug(self, v: _Var, ix: np.ndarray, icod: np.ndarray):
        """augment() from the cross products (all rows) and the fixed ranges."""
        p = ix.size - 1
        if p == 0 or v.mis.size == 1:
            return None, None, 0.0
        xr = ix[1:]
        n = self.n
        mean = self.g[0, xr] / n
        var = (np.diag(self.g)[xr] - n * mean**2) / (n - 1)
        sd = np.sqrt(np.maximum(var, 0.0))
        k = icod.size
        nr = 2 * p * k
        b = np.resize(np.r_[np.tile([0.5, -0.5], k), np.zeros(nr)], nr * p).reshape(p, nr).T
        dd = np.minimum(np.maximum(mean[None, :] + b * sd[None, :], self.lo[xr]), self.hi[xr])
        e = np.tile(np.repeat(icod, 2), p)
        return np.concatenate([np.ones((nr, 1)), dd], axis=1), e, (p + 1) / nr

    def _logreg(self, v: _Var, ix: np.ndarray) -> np.ndarray:
        rng = self.rng
        xt, y, w, rows, freq = self._fit_data(v, ix)
        lv1 = v.present[1]
        icod = v.present
        ax, ay, aw = self._aug(v, ix, icod)
        yb = (y == lv1).astype(float)
        w0 = self.warm.get(v.name)
        beta0, cov0, dev0 = w0[1:] if w0 is not None and np.array_equal(w0[0], ix) \
            else (None, None, None)
        beta, cov, _, dev = logreg_fit(xt, yb, w, beta0, ax,
                                       None if ay is None else (ay == lv1).astype(float), aw,
                                       cov0=cov0, rows=rows, dev0=dev0, freq=freq)
        self.warm[v.name] = (ix, beta, cov, dev)
        # beta* = beta + t(chol(cov.unscaled)) z over the columns glm.fit estimated (an
        # aliased one, rare with the augmentation, keeps coefficient 0 and draws nothing)
        est = np.diag(cov) > 0
        star = beta.copy()
        star[est] += np.linalg.cholesky(((cov + cov.T) / 2.0)[np.ix_(est, est)]) \
            @ rng.standard_normal(int(est.sum()))
        pr = self._per_missing(lambda x: 1.0 / (1.0 + np.exp(-(star @ x))), ix)
        one = rng.random(v.mis.size) <= pr
        return np.where(one, lv1, v.present[0])

    def _polyreg(self, v: _Var, ix: np.ndarray) -> np.ndarray:
        rng = self.rng
        icod = v.present
        k = icod.size
        idx = np.full(len(v.levels), -1, dtype=np.int64)
        idx[icod] = np.arange(k)
        xt, y, w, rows, freq = self._fit_data(v, ix)
        y = idx[y]
        ax, ay, aw = self._aug(v, ix, icod)
        w0 = self.warm.get(v.name)
        beta0, h0 = (w0[1], w0[2]) if w0 is not None and np.array_equal(w0[0], ix) \
            else (None, None)
        beta, _, hinv = multinom_fit(xt, y, w, k, beta0, ax,
                                     None if ay is None else idx[ay], aw, hinv0=h0, rows=rows,
                                     freq=freq)
        self.warm[v.name] = (ix, beta, hinv)

        def cum(x):  # cumulative level probabilities, per column of x
            eta = np.concatenate([np.zeros((1, x.shape[1])), beta @ x], axis=0)
            eta -= eta.max(axis=0)
            pr = np.exp(eta)
            pr /= pr.sum(axis=0)
            return np.cumsum(pr, axis=0)

        cp = self._per_missing(cum, ix)
        un = rng.random(v.mis.size)
        drawn = (un[None, :] > cp).sum(axis=0)
        return icod[np.minimum(drawn, k - 1)]

    def completed(self, v: _Var) -> np.ndarray:
        """v's values (numeric) or codes, observed and imputed."""
        if self.pat is None:
            return self.vals[v.name] if v.kind == "num" else self.codes[v.name]
        x = v.values.copy()
        if v.mis.size:
            x[v.mis] = self.cm[v.name]
        return x

    def imputed(self, v: _Var) -> np.ndarray:
        """v's codes in its missing rows (categorical v)."""
        return self.codes[v.name][v.mis] if self.pat is None else self.cm[v.name]


def _match_sorted(ids: np.ndarray, ys: np.ndarray, t: np.ndarray, h: np.ndarray) -> np.ndarray:
    n1 = ys.size
    k = int(h.max()) if h.size else 1
    r = np.searchsorted(ys, t, side="left")
    off = np.arange(k)
    cand = np.concatenate([r[:, None] + off, r[:, None] - 1 - off], axis=1)
    valid = (cand >= 0) & (cand < n1)
    cc = np.clip(cand, 0, max(n1 - 1, 0))
    dist = np.where(valid, np.abs(ys[cc] - t[:, None]), np.inf)
    order = np.argsort(dist, axis=1, kind="stable")
    pick = order[np.arange(t.size), h - 1]
    return ids[cc[np.arange(t.size), pick]]


def impute_chained(
    df: pd.DataFrame,
    columns: Sequence[str] | None = None,
    m: int = 5,
    seed: int = 0,
    n_iter: int = 10,
    categorical: Mapping[str, Sequence[Any]] | None = None,
    k_pmm: int = 5,
    collapse: bool | None = None,
) -> list[pd.DataFrame]:
    """m completed copies of ``df`` (see the module docstring for the algorithm).

    ``columns``: the imputation columns (default all); the others are copied unchanged.
    Categorical: non-numeric or boolean columns and the keys of ``categorical`` (with their
    level order; first level = reference of the dummies, 2 levels -> logreg, more ->
    polyreg); in the result they are object columns of their levels.  Numeric columns keep
    their dtype when complete, float otherwise.

    ``collapse``: fit the models on the distinct rows with their counts (see _Patterns;
    same imputations).  None: when every column is categorical and the count table is not
    larger than the data; True: whenever every column is categorical; False: never (the
    row-wise reference the tests compare with)."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    cols = list(df.columns) if columns is None else list(columns)
    for c in cols:
        if c not in df.columns:
            raise ValueError(f"column not found in data: '{c}'")
    if m < 1:
        raise ValueError(f"m must be >= 1, got {m}")
    if k_pmm < 1:
        raise ValueError(f"k_pmm must be >= 1, got {k_pmm}")
    categorical = dict(categorical or {})
    sub = df[cols]
    all_na = int(sub.isna().all(axis=1).sum())
    if all_na:
        raise ValueError(f"{all_na} row(s) have every imputation column missing")
    levels: dict[str, list[Any]] = {}
    for c in cols:
        s = sub[c]
        if c in categorical or not (pd.api.types.is_numeric_dtype(s)
                                    and not pd.api.types.is_bool_dtype(s)):
            seen = pd.unique(s.dropna())
            lv = list(categorical[c]) if c in categorical else sorted(seen)
            unknown = [v for v in seen if v not in lv]
            if unknown:
                raise ValueError(f"column '{c}' has values not in its level order: {unknown}")
            if s.notna().sum() == 0:
                raise ValueError(f"column '{c}' has no observed value to impute from")
            levels[c] = lv
    d, specs, scale, lo, hi = _design(sub.reset_index(drop=True), cols, levels)
    pat = _Patterns.build(specs, d.shape[0], d.shape[1], collapse)
    seeds = np.random.SeedSequence(seed).spawn(m)
    out = []
    warm: dict = {}
    # each categorical column's levels, and its observed rows as them (missing rows: any
    # level, overwritten by each imputation)
    lv_obj: dict[str, np.ndarray] = {}
    for v in specs:
        if v.kind == "cat":
            lv_obj[v.name] = np.empty(len(v.levels), dtype=object)
            lv_obj[v.name][:] = v.levels
    obs_obj = {c: lv[np.maximum(next(v for v in specs if v.name == c).values, 0)]
               for c, lv in lv_obj.items()}
    for i in range(m):
        chain = _Chain(d, specs, scale, lo, hi, np.random.default_rng(seeds[i]), k_pmm, pat)
        # the logistic/multinomial fits of a chain's first cycle start from the previous
        # chain's last estimates (starting values only: the estimates they converge to and
        # the chain's random draws do not depend on them)
        chain.warm = dict(warm)
        if any(v.mis.size for v in specs):
            for _ in range(n_iter):
                chain.cycle()
        warm = chain.warm
        out.append(_completed_frame(df, specs, chain, lv_obj, obs_obj))
    return out


def _completed_frame(df: pd.DataFrame, specs: list[_Var], chain: _Chain,
                     lv_obj: dict[str, np.ndarray],
                     obs_obj: dict[str, np.ndarray]) -> pd.DataFrame:
    """A copy of ``df`` with the chain's completed columns (categorical: object columns
    of their levels; numeric: their dtype when complete, float otherwise)."""
    new: dict[Any, Any] = {}
    for v in specs:
        if v.kind == "cat":
            new[v.name] = obs_obj[v.name].copy()
            if v.mis.size:
                new[v.name][v.mis] = lv_obj[v.name][chain.imputed(v)]
        else:
            x = chain.completed(v)
            dt = df[v.name].dtype if not df[v.name].isna().any() else float
            new[v.name] = pd.Series(x, index=df.index).astype(dt).array
    if not df.columns.is_unique:  # by label, as the data
        done = df.copy()
        for c, a in new.items():
            done[c] = pd.Series(a, index=df.index)
        return done
    # one new frame from its columns, not df.copy() then replacing columns: the copy and
    # the consolidation of object blocks cost more than the imputation at 10^6 rows
    data = {i: new[c] if c in new else df[c].array.copy() for i, c in enumerate(df.columns)}
    done = pd.DataFrame(data, index=df.index, copy=False)
    done.columns = df.columns
    return done.__finalize__(df, method="copy")
