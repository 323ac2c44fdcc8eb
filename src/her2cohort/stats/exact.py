"""Exact and stratified tests for contingency tables, matching base R.

* :func:`fisher_exact`: Fisher's exact test for any R x C table of counts (R ``fisher.test``),
  computed with a network algorithm (Mehta & Patel 1983, 1986), with a seeded Monte Carlo
  fallback (R ``fisher.test(simulate.p.value = TRUE)``) when the exact computation is too big;
* :func:`fisher_2x2`: R's own 2 x 2 code of ``fisher.test`` (p-value, conditional MLE of the
  odds ratio and its exact CI), vectorised over the support so that margins of 10^6 take
  a fraction of a second;
* :func:`mantel_haenszel`: Cochran-Mantel-Haenszel test for 2 x 2 x K tables with the
  Mantel-Haenszel common odds ratio and its Robins-Breslow-Greenland CI (R ``mantelhaen.test``),
  the exact conditional test (``exact=TRUE``) and the Breslow-Day test of homogeneity with
  Tarone's correction;
* :func:`trend_test`: chi-square test for trend in proportions (R ``prop.trend.test``).

Why own code: scipy's ``fisher_exact`` computes exact p-values only for 2 x 2 tables (R x C
from scipy 1.15 by permutation or Monte Carlo only) and its conditional odds ratio
(``scipy.stats.contingency.odds_ratio``) evaluates the noncentral hypergeometric point by
point in Python (seconds at 10^5 patients); statsmodels' ``StratifiedTable`` has the
asymptotic Mantel-Haenszel test and Breslow-Day but not R's exact conditional test, and R's
``prop.trend.test`` has no direct equivalent.  The formulas are short, so they are written out
here and every function is checked against R in ``tests/test_exact.py`` (script
``tests/r/exact.R``, output ``tests/fixtures/r/exact/``), Breslow-Day also against statsmodels.

The module imports only numpy at import time; scipy and pandas are imported inside functions.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "FEXACT_TOL",
    "R_REL_ERR",
    "R_UNIROOT_TOL",
    "Fisher2x2",
    "FisherResult",
    "fisher_2x2",
    "fisher_exact",
    "fisher_test_name",
    "mantel_haenszel",
    "trend_test",
]

#: R's relative tolerance for "as or less probable" in the 2 x 2 branch of ``fisher.test`` and
#: in the exact test of ``mantelhaen.test`` (``relErr <- 1 + 10^(-7)``).
R_REL_ERR = 1.0 + 1e-7
#: Tolerance (on the log-probability scale) of R's FEXACT for tables larger than 2 x 2
#: (``tol = 3.45254e-7`` in ``fexact.c``: a table counts when log P <= log P_obs + tol).
FEXACT_TOL = 3.45254e-7
#: R's tolerance in the simulated p-value (``almost.1 <- 1 + 64 * .Machine$double.eps``).
_ALMOST_1 = 1.0 + 64 * np.finfo(float).eps
#: Default budget of network-algorithm work units (one unit = one path extended along one arc,
#: or one tabulated completion); about 5-10 s on one core (a 4 x 3 table with n = 906 needs
#: 5e7-1.2e8).  Above it the Monte Carlo p-value is used.  The role of R's ``workspace``
#: (config ``table1.fisher.max_work``).
DEFAULT_MAX_WORK = 200_000_000
DEFAULT_B = 2000
DEFAULT_SEED = 12345
#: log-weights of paths in the same bin of this width are merged (FEXACT merges paths whose
#: past log-weights differ by less than its ``tol``); far below the 3.45e-7 of R's criterion.
_MERGE_EPS = 1e-9
#: work units charged per node whose completion bounds are computed, and per child node
#: created (python-level costs, in the units of one path extended along one arc)
_BOUND_COST = 1000
_NODE_COST = 20
#: paths x arcs handled in one numpy block (memory: a few x 8 bytes each)
_CHUNK = 1_000_000


class _TooMuchWork(RuntimeError):
    """Raised inside the network algorithm when the work budget is exhausted."""


@dataclass
class FisherResult:
    """Result of :func:`fisher_exact` (also usable as a mapping via :meth:`as_dict`)."""

    p: float
    test: str
    method: str
    table: np.ndarray
    n: int
    p_table: float  #: null probability of the observed table
    estimate: float | None = None  #: 2 x 2 only: conditional MLE of the odds ratio
    conf_int: tuple[float, float] | None = None  #: 2 x 2 only: exact 95% CI
    ci_method: str | None = None
    B: int | None = None
    seed: int | None = None
    work: int = 0  #: network algorithm work units used (0 for 2 x 2 and Monte Carlo)
    n_missing: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __getitem__(self, key: str) -> Any:  # dict-style access for callers using dicts
        return getattr(self, key)


def fisher_test_name(simulated: bool = False, B: int | None = None,
                     seed: int | None = None) -> str:
    """The ``test`` string: "Fisher's exact test" or its Monte Carlo variant."""
    if not simulated:
        return "Fisher's exact test"
    return f"Fisher's exact test (Monte Carlo, B = {B} replicates, seed {seed})"


# ----------------------------------------------------------------------------- helpers


def _as_table(table: Any) -> np.ndarray:
    t = np.asarray(table)
    if t.ndim != 2:
        raise ValueError("table must be 2-dimensional (rows x columns of counts)")
    if t.size == 0:
        raise ValueError("table is empty")
    tf = t.astype(float)
    if np.any(~np.isfinite(tf)) or np.any(tf < 0) or np.any(tf != np.round(tf)):
        raise ValueError("table must contain non-negative integer counts")
    return tf.astype(np.int64)


def _log_fact(n: int) -> np.ndarray:
    from scipy.special import gammaln

    return gammaln(np.arange(n + 2, dtype=float) + 1.0)


# ------------------------------------------------------------------ completion bounds
#
# A "node" of the network at stage k is the multiset of row totals still to be filled by the
# columns k, k+1, ..., C-1.  For a node we need (in log scale, weight of a table = prod 1/x!):
#   logT : log of the summed weight of all completions  = log N! - sum log r! - sum log c!
#   LP   : an upper bound on the largest completion weight (exact when it is cheap)
#   SP   : a lower bound on the smallest completion weight (exact when it is cheap)


def _two_line_bounds(a: int, v: np.ndarray, lf: np.ndarray) -> tuple[float, float]:
    """Exact (LP, SP) when one side has 2 lines with totals (a, b) and the other side v.

    Cell pairs are (x_i, v_i - x_i) with sum x_i = a.  LP: maximise the concave separable
    sum -(lf[x_i] + lf[v_i - x_i]) under one linear constraint: greedy on the decreasing unit
    gains log(v_i - x) - log(x + 1) is exact.  SP: the maximum of the convex sum is attained at a
    vertex (all x_i at 0 or v_i except one, j); every i != j contributes lf[v_i] either way,
    and the free coordinate takes a value a - s for a subset sum s of the other lines.
    """
    v = np.asarray(v, dtype=np.int64)
    base = -float(lf[v].sum())
    if a == 0 or a == int(v.sum()):
        return base, base
    # LP: take the a largest unit gains
    xs = np.concatenate([np.arange(int(vi)) for vi in v])
    vv = np.repeat(v, v)
    gains = np.log(vv - xs) - np.log(xs + 1.0)
    top = np.partition(gains, gains.size - a)[gains.size - a:]
    lp = base + float(top.sum())
    # SP: vertex enumeration through subset sums (python ints as bitsets)
    total_lf = float(lf[v].sum())
    best = -math.inf
    for j in range(v.size):
        bits = 1
        for i, vi in enumerate(v):
            if i != j:
                bits |= bits << int(vi)
        vj = int(v[j])
        # free coordinate rem = a - s in [0, vj]  <=>  s in [a - vj, a]
        lo, hi = max(0, a - vj), a
        window = (bits >> lo) & ((1 << (hi - lo + 1)) - 1)
        if not window:
            continue
        ss = np.array([lo + k for k in range(hi - lo + 1) if (window >> k) & 1])
        rem = a - ss
        val = total_lf - lf[vj] + float(np.max(lf[rem] + lf[vj - rem]))
        best = max(best, val)
    return lp, -best


# Exact bounds for general nodes (>= 3 remaining rows and columns), vectorised over nodes.
#
# LP (most probable completion): minimise the separable convex sum log x_ij! over the
# transportation polytope.  For separable convex costs an integer flow is optimal iff no
# unit move along a cycle of the bipartite row-column graph lowers the cost (the
# negative-cycle criterion of convex min-cost flow), so steepest descent over all simple
# cycles (precomputed as +1/-1 patterns) from a rounded start ends at the exact optimum.
# SP (least probable completion): the maximum of the convex sum log x! over the polytope is
# at a vertex; the vertices are the basic solutions of the spanning trees of the complete
# bipartite graph, so SP is the minimum over the feasible tree solutions (all integral).
# FEXACT computes the same two quantities per node (f3xact, f4xact).

#: largest table shape (rows x columns, product) for the exact general-node bounds; beyond it
#: the Lagrangian LP bound and the greedy SP bound are used (still valid, less tight)
_EXACT_BOUND_CELLS = 16


def _cycle_moves(R: int, C: int) -> tuple[np.ndarray, np.ndarray]:
    """All unit moves along simple cycles of K_{R,C}: (plus, minus) 0/1 arrays (S, R*C)."""
    from itertools import combinations, permutations

    pats = set()
    for k in range(2, min(R, C) + 1):
        for rows in combinations(range(R), k):
            for cols in permutations(range(C), k):
                for perm in permutations(rows[1:]):
                    ri = (rows[0], *perm)
                    s = np.zeros((R, C), dtype=np.int8)
                    for a in range(k):
                        s[ri[a], cols[a]] += 1
                        s[ri[(a + 1) % k], cols[a]] -= 1
                    pats.add(s.tobytes())
    arr = np.array([np.frombuffer(p, dtype=np.int8) for p in sorted(pats)])
    return (arr == 1).astype(float), (arr == -1).astype(float)


def _tree_inverses(R: int, C: int) -> np.ndarray:
    """For every spanning tree of K_{R,C}: the integer matrix mapping the margins
    (r_1..r_R, c_1..c_{C-1}) to the R*C cell values of the tree's basic solution,
    shape (T, R*C, R+C-1)."""
    from itertools import combinations

    m = R + C - 1
    A = np.zeros((R + C, R * C))
    for i in range(R):
        for j in range(C):
            A[i, i * C + j] = 1
            A[R + j, i * C + j] = 1
    A = A[:m]  # the last column constraint is implied
    subs = np.array(list(combinations(range(R * C), m)))
    mats = A[:, subs].transpose(1, 0, 2)  # (n_subsets, m, m)
    det = np.linalg.det(mats)
    ok = np.abs(det) > 0.5
    inv = np.rint(np.linalg.inv(mats[ok]))
    out = np.zeros((inv.shape[0], R * C, m))
    for t, (cells, iv) in enumerate(zip(subs[ok], inv, strict=True)):
        out[t, cells, :] = iv
    return out


_MOVES: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
_TREES: dict[tuple[int, int], np.ndarray] = {}


def _general_bounds(rows: np.ndarray, cols: np.ndarray, lf: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Exact (LP, SP) for many nodes: ``rows`` (m, R) row totals (zeros allowed), ``cols``
    (C,) column totals; every row of ``rows`` sums to ``cols.sum()``."""
    m, R = rows.shape
    C = cols.size
    n = int(cols.sum())
    shape = (R, C)
    if shape not in _MOVES:
        _MOVES[shape] = _cycle_moves(R, C)
        _TREES[shape] = _tree_inverses(R, C)
    plus, minus = _MOVES[shape]
    trees = _TREES[shape]
    rows = rows.astype(np.int64)
    # ---- LP: start from floor(r c / n), deficits filled north-west corner, then descent
    x = (rows[:, :, None] * cols[None, None, :]) // n
    dr = rows - x.sum(axis=2)
    dc = cols[None, :] - x.sum(axis=1)
    for i in range(R):
        for j in range(C):
            add = np.minimum(dr[:, i], dc[:, j])
            x[:, i, j] += add
            dr[:, i] -= add
            dc[:, j] -= add
    x = x.reshape(m, R * C)
    active = np.arange(m)
    big = 1e300
    while active.size:
        xa = x[active]
        up = np.log(xa + 1.0)
        down = np.where(xa > 0, -np.log(np.maximum(xa, 1)), big)
        delta = up @ plus.T + down @ minus.T  # (ma, S)
        best = np.argmin(delta, axis=1)
        gain = delta[np.arange(active.size), best]
        move = gain < -1e-12
        if not move.any():
            break
        idx = active[move]
        x[idx] += (plus[best[move]] - minus[best[move]]).astype(np.int64)
        active = idx
    lp = -lf[x].sum(axis=1)
    # ---- SP: best feasible vertex (spanning-tree basic solution)
    marg = np.concatenate([rows, np.broadcast_to(cols[:-1], (m, C - 1))], axis=1).astype(float)
    sp = np.empty(m)
    step = max(1, 2_000_000 // (trees.shape[0] * R * C))
    for s in range(0, m, step):
        y = np.rint(np.einsum("tcm,bm->btc", trees, marg[s:s + step])).astype(np.int64)
        feas = (y >= 0).all(axis=2)
        val = np.where(feas, lf[np.maximum(y, 0)].sum(axis=2), -np.inf)
        sp[s:s + step] = -val.max(axis=1)
    return lp, sp


class _Bounds:
    """Cached completion bounds for the nodes of one stage (remaining columns fixed)."""

    def __init__(self, cols_rem: np.ndarray, lf: np.ndarray):
        self.cols = np.asarray(cols_rem, dtype=np.int64)
        self.lf = lf
        self.n = int(self.cols.sum())
        self.sum_lf_cols = float(lf[self.cols].sum())
        self.cache: dict[tuple[int, ...], tuple[float, float, float]] = {}

    def get(self, key: tuple[int, ...]) -> tuple[float, float, float]:
        out = self.cache.get(key)
        if out is None:
            out = self._compute(key)
            self.cache[key] = out
        return out

    def _is_general(self, key: tuple[int, ...]) -> bool:
        nz = sum(1 for v in key if v > 0)
        return nz >= 3 and self.cols.size >= 3 and len(key) * self.cols.size <= _EXACT_BOUND_CELLS

    def fill(self, keys: list[tuple[int, ...]]) -> int:
        """Compute the bounds of the keys not yet cached (general nodes in one vectorised
        batch); returns how many were computed."""
        missing = list(dict.fromkeys(kk for kk in keys if kk not in self.cache))
        general = [kk for kk in missing if self._is_general(kk)]
        if general:
            r = np.array(general, dtype=np.int64)
            lp, sp = _general_bounds(r, self.cols, self.lf)
            lf = self.lf
            log_t = float(lf[self.n]) - lf[r].sum(axis=1) - self.sum_lf_cols
            for kk, a, b, c in zip(general, log_t.tolist(), lp.tolist(), sp.tolist(),
                                   strict=True):
                self.cache[kk] = (a, b, c)
        for kk in missing:
            if kk not in self.cache:
                self.cache[kk] = self._compute(kk)
        return len(missing)

    def _compute(self, key: tuple[int, ...]) -> tuple[float, float, float]:
        lf, cols, n = self.lf, self.cols, self.n
        r = np.asarray(key, dtype=np.int64)
        r = r[r > 0]
        sum_lf_rows = float(lf[r].sum())
        log_t = float(lf[n]) - sum_lf_rows - self.sum_lf_cols
        if r.size <= 1:
            w = -self.sum_lf_cols
            return log_t, w, w
        if cols.size == 1:
            w = -sum_lf_rows
            return log_t, w, w
        if r.size == 2:
            lp, sp = _two_line_bounds(int(r[0]), cols, lf)
            return log_t, lp, sp
        if cols.size == 2:
            lp, sp = _two_line_bounds(int(cols[0]), r, lf)
            return log_t, lp, sp
        # General node: Lagrangian (dual) bound for the most probable completion with
        # multipliers log(r_i c_j / n); for each cell max_x [x log e - log x!] is at floor(e).
        e = np.outer(r, cols) / n
        h = np.floor(e)
        dual = float(np.sum(h * np.log(e) - lf[h.astype(np.int64)]))
        dual -= float(np.sum(r * np.log(r)) + np.sum(cols * np.log(cols)) - n * math.log(n))
        lp = min(dual, log_t)
        # least probable completion: max sum log x! <= min(sum log c!, sum log r!)
        sp = -min(self.sum_lf_cols, sum_lf_rows)
        return log_t, lp, sp


def _count_column_vectors(r: np.ndarray, c: int) -> int:
    """Number of integer vectors x with sum c and 0 <= x_i <= r_i (polynomial product)."""
    ways = np.zeros(c + 1)
    ways[0] = 1.0
    for ri in r:
        cs = np.concatenate([[0.0], np.cumsum(ways)])
        hi = np.arange(c + 1) + 1
        lo = np.maximum(hi - int(ri) - 1, 0)
        ways = cs[hi] - cs[lo]
    return int(min(ways[c], 1e18))


def _column_vectors(r: np.ndarray, c: int) -> np.ndarray:
    """All integer vectors x with sum c and 0 <= x_i <= r_i (rows of the returned array)."""
    k = r.size
    cap_after = np.concatenate([np.cumsum(r[::-1])[::-1][1:], [0]])
    parts = np.zeros((1, 0), dtype=np.int64)
    sums = np.zeros(1, dtype=np.int64)
    for i in range(k):
        if i == k - 1:
            x = (c - sums)[:, None]
            ok = (x[:, 0] >= 0) & (x[:, 0] <= r[i])
            parts = np.concatenate([parts[ok], x[ok]], axis=1)
            break
        vals = np.arange(0, min(int(r[i]), c) + 1, dtype=np.int64)
        s = (sums[:, None] + vals[None, :]).ravel()
        rep = np.repeat(np.arange(sums.size), vals.size)
        xv = np.tile(vals, sums.size)
        ok = (s <= c) & (s + cap_after[i] >= c)
        parts = np.concatenate([parts[rep[ok]], xv[ok][:, None]], axis=1)
        sums = s[ok]
    return parts


class _Future(NamedTuple):
    """Completion weights of a node: ascending log-weights ``w``, log of the total weight of
    the completions with that weight ``lm`` (count x weight) and its running log-sum ``lcum``."""

    w: np.ndarray
    lcum: np.ndarray
    lm: np.ndarray


class _Network:
    """State of one network-algorithm run (see :func:`fisher_exact` for the method)."""

    def __init__(self, t: np.ndarray, log_tol: float, max_work: int, future_cap: int,
                 future_depth: int):
        if t.shape[0] > t.shape[1]:
            t = t.T  # nodes are keyed by the shorter margin (as FEXACT)
        rows = t.sum(axis=1)
        cols = t.sum(axis=0)
        n = int(t.sum())
        self.lf = lf = _log_fact(n)
        self.thr = -float(lf[t].sum()) + log_tol
        self.log_k = float(lf[rows].sum() + lf[cols].sum() - lf[n])
        self.cols = np.sort(cols, kind="stable")  # smallest column first, as FEXACT
        self.ncol = self.cols.size
        self.bounds = [_Bounds(self.cols[k:], lf) for k in range(self.ncol)]
        self.root = tuple(sorted(int(v) for v in rows))
        self.max_work = max_work
        self.future_cap = future_cap
        self.future_depth = future_depth
        self.work = 0
        self._arcs: dict[tuple[int, tuple[int, ...]], tuple[Any, ...]] = {}
        self._future: dict[tuple[int, tuple[int, ...]], _Future | None] = {}

    def _charge(self, units: int) -> None:
        self.work += units
        if self.work > self.max_work:
            raise _TooMuchWork

    def arcs(self, k: int, key: tuple[int, ...]) -> tuple[Any, ...]:
        """Arcs out of node ``key`` at stage k: (arc log-weights, child index per arc,
        child keys)."""
        got = self._arcs.get((k, key))
        if got is None:
            r = np.asarray(key, dtype=np.int64)
            c = int(self.cols[k])
            self._charge(_count_column_vectors(r, c) * r.size)  # before building them
            x = _column_vectors(r, c)
            ew = -self.lf[x].sum(axis=1)
            ch = np.sort(r[None, :] - x, axis=1)
            base = int(r.max()) + 1
            if base ** r.size < 2**62:  # encode sorted rows as integers: fast 1-D unique
                code = ch @ (base ** np.arange(r.size, dtype=np.int64))
                _, first, inv = np.unique(code, return_index=True, return_inverse=True)
                uniq = ch[first]
            else:
                uniq, inv = np.unique(ch, axis=0, return_inverse=True)
            ukeys = [tuple(row) for row in uniq.tolist()]  # zeros kept: fixed length
            self._charge(_NODE_COST * len(ukeys))
            got = (ew, inv.ravel(), ukeys)
            self._arcs[(k, key)] = got
        return got

    def child_bounds(self, k: int, keys: list[tuple[int, ...]]) -> np.ndarray:
        """(logT, LP, SP) of the nodes ``keys`` at stage k, shape (len(keys), 3)."""
        bk = self.bounds[k]
        new = [kk for kk in keys if kk not in bk.cache]
        n_vec = sum(1 for kk in new if bk._is_general(kk))
        # per-node python bounds (two-line, Lagrangian) cost about 5 times the vectorised ones
        self._charge(_BOUND_COST * (n_vec + 5 * (len(new) - n_vec)))
        bk.fill(keys)
        cache = bk.cache
        return np.array([cache[kk] for kk in keys]).reshape(-1, 3)

    def future(self, k: int, key: tuple[int, ...]) -> _Future | None:
        """All completion weights of a node (merged, sorted), or None when the node is more
        than ``future_depth`` stages from the end or has more than ``future_cap`` of them.

        Built backwards from the last column: the completions of a node are its arcs followed
        by the completions of the arc's child (memoised per node)."""
        ck = (k, key)
        if ck in self._future:
            return self._future[ck]
        out: _Future | None = None
        if k == self.ncol - 1:
            w = np.array([-float(self.lf[np.asarray(key, dtype=np.int64)].sum())])
            out = _Future(w, w.copy(), w.copy())
        elif k == self.ncol - 2:
            # two columns left: each arc fixes the table; vectorised, no per-child nodes
            r = np.asarray(key, dtype=np.int64)
            c = int(self.cols[k])
            count = _count_column_vectors(r, c)
            if count <= self.future_cap:
                self._charge(count * r.size)
                x = _column_vectors(r, c)
                w_tab = -self.lf[x].sum(axis=1) - self.lf[r[None, :] - x].sum(axis=1)
                if self.future_depth > 2:  # parents build on it: merged weights and masses
                    w, lm = _merge_sorted(w_tab, w_tab)
                    out = _Future(w, np.logaddexp.accumulate(lm), lm)
                else:
                    # only searched: sorted weights and their running sum, in linear scale
                    # relative to the largest (terms below e^-745 of it underflow to 0)
                    w = np.sort(w_tab)
                    with np.errstate(divide="ignore"):
                        lcum = np.log(np.cumsum(np.exp(w - w[-1]))) + w[-1]
                    out = _Future(w, lcum, w)
        elif self.ncol - k <= self.future_depth:
            ew, inv, ukeys = self.arcs(k, key)
            subs = [self.future(k + 1, kk) for kk in ukeys]
            if all(sub is not None for sub in subs):
                sizes = np.array([sub.w.size for sub in subs])  # type: ignore[union-attr]
                total = int(sizes[inv].sum())
                if total <= self.future_cap:
                    self._charge(total)
                    w_all = np.concatenate([sub.w for sub in subs])  # type: ignore[union-attr]
                    lm_all = np.concatenate([sub.lm for sub in subs])  # type: ignore[union-attr]
                    offs = np.r_[0, np.cumsum(sizes)[:-1]]
                    sz = sizes[inv]
                    arc = np.repeat(np.arange(ew.size), sz)
                    pos = np.arange(total) - np.repeat(np.cumsum(sz) - sz, sz)
                    src = offs[inv][arc] + pos
                    w, lm = _merge_sorted(ew[arc] + w_all[src], ew[arc] + lm_all[src])
                    out = _Future(w, np.logaddexp.accumulate(lm), lm)
        if k < self.ncol - 2 or self.future_depth > 2:
            self._future[ck] = out
        return out

    def run(self) -> float:
        thr, log_k = self.thr, self.log_k
        self.bounds[0].fill([self.root])
        _, lp, _sp = self.bounds[0].get(self.root)
        if lp <= thr:
            return 1.0
        logs: list[float] = []  # log contributions to p (log-sum of each block)
        current: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {
            self.root: (np.zeros(1), np.zeros(1))  # past log-weights, log path counts
        }
        for k in range(self.ncol - 1):
            child_ids: dict[tuple[int, ...], int] = {}
            acc_id: list[np.ndarray] = []
            acc_v: list[np.ndarray] = []
            acc_n: list[np.ndarray] = []
            for key, (pv, lcnt) in current.items():
                fut = self.future(k, key)
                if fut is not None:
                    # meet in the middle: all completions tabulated, one binary search per path
                    w, lcum = fut.w, fut.lcum
                    self._charge(pv.size)
                    idx = np.searchsorted(w, thr - pv, side="right")
                    ok = idx > 0
                    logs.append(_logsum(lcnt[ok] + pv[ok] + lcum[idx[ok] - 1] + log_k))
                    continue
                ew, inv, ukeys = self.arcs(k, key)
                b = self.child_bounds(k + 1, ukeys)
                self._charge(pv.size * ew.size)
                e_logt, e_lp, e_sp = b[inv, 0], b[inv, 1], b[inv, 2]
                # paths whose best completion already qualifies / that can still qualify
                ids = None
                step = max(1, _CHUNK // max(1, ew.size))
                for s0 in range(0, pv.size, step):
                    pvc, lcc = pv[s0:s0 + step], lcnt[s0:s0 + step]
                    new = pvc[:, None] + ew[None, :]
                    lw = np.broadcast_to(lcc[:, None], new.shape)
                    take = new + e_lp[None, :] <= thr
                    if take.any():
                        logs.append(_logsum((lw + new + e_logt[None, :])[take] + log_k))
                    keep = ~take & (new + e_sp[None, :] <= thr)
                    if keep.any():
                        if ids is None:
                            ids = np.array([child_ids.setdefault(kk, len(child_ids))
                                            for kk in ukeys])
                        acc_id.append(ids[inv[np.nonzero(keep)[1]]])
                        acc_v.append(new[keep])
                        acc_n.append(lw[keep])
            if not acc_id:
                break
            current = _merge_paths(list(child_ids), np.concatenate(acc_id),
                                   np.concatenate(acc_v), np.concatenate(acc_n))
        if not logs:
            return 0.0
        return min(1.0, math.exp(_logsum(np.array(logs))))


def _logsum(v: np.ndarray) -> float:
    """log(sum(exp(v))) (-inf for an empty array)."""
    if v.size == 0:
        return -math.inf
    top = float(v.max())
    if top == -math.inf:
        return top
    return top + math.log(float(np.sum(np.exp(v - top))))


def _merge_sorted(w: np.ndarray, lm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort (weight, log mass) pairs by weight and merge weights equal within _MERGE_EPS."""
    o = np.argsort(w, kind="stable")
    w, lm = w[o], lm[o]
    bins = np.floor(w / _MERGE_EPS)  # fixed grid: a merged group spans < _MERGE_EPS
    start = np.ones(w.size, dtype=bool)
    start[1:] = bins[1:] != bins[:-1]
    idx = np.flatnonzero(start)
    return w[idx], np.logaddexp.reduceat(lm, idx)


def _merge_paths(keys: list[tuple[int, ...]], cid: np.ndarray, val: np.ndarray,
                 lcnt: np.ndarray) -> dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]]:
    """Group paths by child node; merge paths with equal past weight (adding their counts)."""
    o = np.lexsort((val, cid))
    cid, val, lcnt = cid[o], val[o], lcnt[o]
    bins = np.floor(val / _MERGE_EPS)  # fixed grid: a merged group spans < _MERGE_EPS
    start = np.ones(cid.size, dtype=bool)
    start[1:] = (cid[1:] != cid[:-1]) | (bins[1:] != bins[:-1])
    idx = np.flatnonzero(start)
    val_m, cnt_m, cid_m = val[idx], np.logaddexp.reduceat(lcnt, idx), cid[idx]
    firsts = np.flatnonzero(np.r_[True, cid_m[1:] != cid_m[:-1]])
    ends = np.r_[firsts[1:], cid_m.size]
    return {keys[int(cid_m[s])]: (val_m[s:e], cnt_m[s:e]) for s, e in zip(firsts, ends, strict=True)}


def _network_pvalue(t: np.ndarray, log_tol: float, max_work: int,
                    future_cap: int = 100_000, future_depth: int | None = None
                    ) -> tuple[float, int]:
    """Two-sided Fisher p-value of an R x C table by the network algorithm.

    Returns (p, work units used); raises :class:`_TooMuchWork` when more than ``max_work``
    units would be needed.
    """
    if future_depth is None:
        # tabulating 3 stages pays off when nodes are pairs (2 x C: few, cheap completions);
        # with 3 or more rows the 3-stage tables are too big and only the last 2 stages are
        # tabulated (measured: 4 x 3, n = 906: 2.5 s against 11 s)
        future_depth = 3 if min(t.shape) == 2 else 2
    net = _Network(t, log_tol, max_work, future_cap, future_depth)
    p = net.run()
    return p, net.work


# ----------------------------------------------------------------------------- Monte Carlo


def _random_tables(rows: np.ndarray, cols: np.ndarray, B: int,
                   rng: np.random.Generator) -> np.ndarray:
    """B random tables with margins rows x cols under independence, shape (B, R, C).

    Column by column, each cell is drawn from its conditional hypergeometric distribution
    given the cells already drawn; this is the conditional decomposition behind Patefield's
    (1981) algorithm used by R's ``r2dtable`` and yields the same (multiple hypergeometric)
    distribution of tables.
    """
    R, C = rows.size, cols.size
    out = np.zeros((B, R, C), dtype=np.int64)
    row_rem = np.tile(rows.astype(np.int64), (B, 1))
    for j in range(C - 1):
        need = np.full(B, int(cols[j]), dtype=np.int64)
        left = row_rem.sum(axis=1)
        for i in range(R - 1):
            left = left - row_rem[:, i]
            x = rng.hypergeometric(row_rem[:, i], left, need)
            out[:, i, j] = x
            need = need - x
        out[:, R - 1, j] = need
        row_rem = row_rem - out[:, :, j]
    out[:, :, C - 1] = row_rem
    return out


def _monte_carlo_pvalue(t: np.ndarray, B: int, seed: int) -> float:
    rows, cols = t.sum(axis=1), t.sum(axis=0)
    lf = _log_fact(int(t.sum()))
    stat = -float(lf[t].sum())
    rng = np.random.default_rng(seed)
    sims = _random_tables(rows, cols, B, rng)
    sim_stat = -lf[sims].sum(axis=(1, 2))
    return float((1 + np.sum(sim_stat <= stat / _ALMOST_1)) / (B + 1))


# ------------------------------------------------------------------- 2 x 2 (R's own code)
#
# R's fisher.test has its own code for 2 x 2 tables: the p-value, the conditional MLE of the
# odds ratio and its exact CI all come from the noncentral hypergeometric distribution of
# x = t[0, 0] given the margins, evaluated over the whole support from
# ``logdc = dhyper(support, m, n, k, log = TRUE)``.  scipy's ``odds_ratio(kind =
# "conditional")`` computes the same quantities but evaluates scipy's nchypergeom pmf point
# by point in Python (about 1 s per call at 10^5 patients) and scipy's hypergeom pmf is not
# R's dhyper to the last bits (which matters for R's "d <= d_obs (1 + 1e-7)" ties).  So the
# R code is written out here, vectorised over the support: R's dhyper (Loader's saddle-point
# algorithm: dbinom_raw, stirlerr, bd0 of R 4.x nmath), dnhyper/mnhyper/pnhyper, and R's
# root finder (R_zeroin2 of uniroot, ported below).

#: stirlerr(n) for n = 0, 0.5, ..., 15 (R nmath/stirlerr.c, sferr_halves)
_SFERR_HALVES = np.array([
    0.0, 0.1534264097200273452913848, 0.0810614667953272582196702,
    0.0548141210519176538961390, 0.0413406959554092940938221, 0.03316287351993628748511048,
    0.02767792568499833914878929, 0.02374616365629749597132920, 0.02079067210376509311152277,
    0.01848845053267318523077934, 0.01664469118982119216319487, 0.01513497322191737887351255,
    0.01387612882307074799874573, 0.01281046524292022692424986, 0.01189670994589177009505572,
    0.01110455975820691732662991, 0.010411265261972096497478567, 0.009799416126158803298389475,
    0.009255462182712732917728637, 0.008768700134139385462952823, 0.008330563433362871256469318,
    0.007934114564314020547248100, 0.007573675487951840794972024, 0.007244554301320383179543912,
    0.006942840107209529865664152, 0.006665247032707682442354394, 0.006408994188004207068439631,
    0.006171712263039457647532867, 0.005951370112758847735624416, 0.005746216513010115682023589,
    0.005554733551962801371038690])
_LN_2PI = 1.837877066409345483560659472811  # M_LN_2PI
#: R's default uniroot tolerance, .Machine$double.eps^0.25 (used by fisher.test)
R_UNIROOT_TOL = float(np.finfo(float).eps) ** 0.25


def _stirlerr(n: np.ndarray) -> np.ndarray:
    """R ``stirlerr(n)`` for non-negative integer-valued n (log n! - log Stirling's formula;
    R 4.2 nmath/stirlerr.c: table for n <= 15, else the series with 2..5 terms)."""
    n = np.asarray(n, dtype=float)
    S0, S1, S2, S3, S4 = (0.083333333333333333333, 0.00277777777777777777778,
                          0.00079365079365079365079365, 0.000595238095238095238095238,
                          0.0008417508417508417508417508)
    with np.errstate(divide="ignore", invalid="ignore"):
        nn = n * n
        out = (S0 - S1 / nn) / n  # n > 500 (the bulk); smaller n are overwritten below
    small = np.flatnonzero(n <= 500)
    if small.size:
        b = n[small]
        bb = b * b
        val = (S0 - (S1 - S2 / bb) / bb) / b  # 80 < n <= 500
        for sel, f in (
            (b <= 80, lambda c, cc: (S0 - (S1 - (S2 - S3 / cc) / cc) / cc) / c),
            (b <= 35, lambda c, cc: (S0 - (S1 - (S2 - (S3 - S4 / cc) / cc) / cc) / cc) / c),
        ):
            val[sel] = f(b[sel], bb[sel])
        tab = b <= 15
        val[tab] = _SFERR_HALVES[(2 * b[tab]).astype(np.int64)]
        out[small] = val
    return out


def _bd0(x: np.ndarray, mu: np.ndarray | float) -> np.ndarray:
    """R ``bd0(x, np) = x log(x / np) + np - x``, by R's Taylor series when x is close to np
    (same operations and stopping rule as R, vectorised: an entry stops when its sum stops
    changing)."""
    x = np.atleast_1d(np.asarray(x, dtype=float))
    mu = np.broadcast_to(np.asarray(mu, dtype=float), x.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = x * np.log(x / mu) + mu - x  # the "far" formula; the near ones are replaced
    pos = np.flatnonzero(np.abs(x - mu) < 0.1 * (x + mu))
    if pos.size == 0:
        return out
    xs, ms = x[pos], mu[pos]
    v = (xs - ms) / (xs + ms)
    s = (xs - ms) * v
    out[pos] = s  # R returns s when |s| < DBL_MIN, and s when the series stops
    go = np.abs(s) >= np.finfo(float).tiny
    pos, s, ej, v = pos[go], s[go], (2 * xs * v)[go], (v * v)[go]
    j = 1
    while pos.size and j < 1000:
        ej *= v
        s_new = s + ej / (2 * j + 1)
        done = s_new == s
        out[pos[done]] = s_new[done]
        keep = ~done
        pos, s, ej, v = pos[keep], s_new[keep], ej[keep], v[keep]
        j += 1
    return out


def _dbinom_raw_log(x: np.ndarray, n: float, p: float, q: float) -> np.ndarray:
    """R ``dbinom_raw(x, n, p, q, log = TRUE)`` (R 4.2 nmath/dbinom.c) for integer x in
    [0, n]."""
    x = np.atleast_1d(np.asarray(x, dtype=float))
    if p == 0:
        return np.where(x == 0, 0.0, -np.inf)
    if q == 0:
        return np.where(x == n, 0.0, -np.inf)
    if n == 0:
        return np.where(x == 0, 0.0, -np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        lc = (_stirlerr(np.array([n]))[0] - _stirlerr(x) - _stirlerr(n - x)
              - _bd0(x, n * p) - _bd0(n - x, n * q))
        lf = _LN_2PI + np.log(x) + np.log1p(-x / n)
        out = lc - 0.5 * lf
    # the end points (x = 0 or n: at most the ends of a support) have their own formulas
    at0 = x == 0
    if at0.any():
        out[at0] = float(-_bd0(n, n * q)[0] - n * p) if p < 0.1 else n * math.log(q)
    atn = x == n
    if atn.any():
        out[atn] = float(-_bd0(n, n * p)[0] - n * q) if q < 0.1 else n * math.log(p)
    return out


def _dhyper_log(x: np.ndarray, r: int, b: int, n: int) -> np.ndarray:
    """R ``dhyper(x, r, b, n, log = TRUE)`` (nmath/dhyper.c) for integer x in the support:
    log P(x white balls when drawing n from r white and b black)."""
    x = np.asarray(x, dtype=float)
    if n == 0:
        return np.where(x == 0, 0.0, -np.inf)
    p = float(n) / float(r + b)
    q = float(r + b - n) / float(r + b)
    p1 = _dbinom_raw_log(x, float(r), p, q)
    p2 = _dbinom_raw_log(n - x, float(b), p, q)
    p3 = _dbinom_raw_log(np.array([float(n)]), float(r + b), p, q)[0]
    return p1 + p2 - p3


def _zeroin(f: Any, ax: float, bx: float, fa: float, fb: float, tol: float,
            maxit: int = 1000) -> float:
    """R's ``R_zeroin2`` (stats/src/zeroin.c, Brent's method as netlib ``zeroin``): the root
    that ``uniroot(f, c(ax, bx), tol = tol)`` returns, given f(ax) and f(bx).

    A line-by-line port with the same floating-point operations, so that with R's tolerance
    it reproduces R's iterates (tests: fisher.test as printed, to ~1e-15).  scipy's
    ``brentq`` is also Brent's method but not these iterates: checked with the same stopping
    width (``xtol = tol, rtol = 4 eps`` is R's ``2 eps |b| + tol / 2``), its interpolation
    step (written differently) and acceptance test give other iterates in about half of
    fisher.test's root searches, and at R's default tolerance (``eps^0.25``) roots that
    differ from R's by up to 1.4e-4 relative (CI of [[12, 49988], [3, 49997]]).
    """
    if math.isnan(fa) or math.isnan(fb):
        raise ValueError("f() values at end points are NaN")
    if fa * fb > 0:
        raise ValueError("f() values at end points not of opposite sign")
    eps = float(np.finfo(float).eps)
    a, b = ax, bx
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    for _ in range(maxit + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * eps * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b  # R: iteration limit reached (uniroot warns); not reached with maxit = 1000


class Fisher2x2(NamedTuple):
    """R ``fisher.test`` for a 2 x 2 table (two-sided)."""

    p: float
    estimate: float  #: conditional MLE of the odds ratio of t[0, 0]
    lower: float
    upper: float


def _rsum(a: np.ndarray) -> float:
    """``sum(a)`` as R: R accumulates in long double (then R's results are matched to the
    last bit more often than with numpy's pairwise double sum; e.g. the demo's p-value)."""
    return float(np.sum(a, dtype=np.longdouble))


class _NCHyper:
    """R's dnhyper/mnhyper/pnhyper for the [1, 1] cell of a 2 x 2 table (fisher.test)."""

    #: terms with log-density this far below the maximum are exactly 0 after R's
    #: ``exp(d - max(d))`` (exp underflows to 0 below -745.2): they are left out of the sums
    _WINDOW = 800.0

    def __init__(self, t: np.ndarray):
        t = np.asarray(t, dtype=np.int64)
        # R: m, n = column totals, k = first row total, x = x[1, 1]
        self.m, self.n = int(t[:, 0].sum()), int(t[:, 1].sum())
        self.k = int(t[0].sum())
        self.x = int(t[0, 0])
        self.lo, self.hi = max(0, self.k - self.n), min(self.k, self.m)
        self.support = np.arange(self.lo, self.hi + 1, dtype=float)
        self.logdc = _dhyper_log(self.support, self.m, self.n, self.k)
        # -diff(logdc) increases (the hypergeometric is log-concave): the mode of
        # logdc + theta * support is where it crosses theta
        self._neg_dl = -np.diff(self.logdc)

    def _window(self, theta: float) -> tuple[int, int]:
        """Index range [i0, i1) outside of which ``logdc + theta * support`` is more than
        _WINDOW below its maximum (a unimodal sequence: binary searches from the mode)."""
        logdc, sup, size = self.logdc, self.support, self.support.size
        mode = int(np.searchsorted(self._neg_dl, theta, side="left"))
        thr = float(logdc[mode] + theta * sup[mode]) - self._WINDOW
        i0 = bisect.bisect_left(range(mode + 1), thr,
                                key=lambda i: float(logdc[i] + theta * sup[i]))
        i1 = mode + bisect.bisect_right(range(size - mode), -thr,
                                        key=lambda i: -float(logdc[mode + i]
                                                             + theta * sup[mode + i]))
        return i0, i1

    def dn(self, ncp: float) -> tuple[int, np.ndarray]:
        """R ``dnhyper(ncp)`` on the support indices [i0, i0 + len(d)): (i0, d); the
        densities outside are exactly 0 in R as well."""
        if ncp == 1.0:  # the whole support (p-value, pnhyper(., 1) goes through phyper)
            d = np.exp(self.logdc - self.logdc.max())
            return 0, d / _rsum(d)
        theta = math.log(ncp)
        i0, i1 = self._window(theta)
        d = self.logdc[i0:i1] + theta * self.support[i0:i1]
        d = np.exp(d - d.max())
        return i0, d / _rsum(d)

    def mn(self, ncp: float) -> float:
        if ncp == 0:
            return float(self.lo)
        if ncp == math.inf:
            return float(self.hi)
        i0, d = self.dn(ncp)
        return _rsum(self.support[i0:i0 + d.size] * d)

    def pn(self, q: int, ncp: float, upper: bool = False) -> float:
        if ncp == 1:
            return self._phyper(q - 1, lower=False) if upper else self._phyper(q, lower=True)
        if ncp == 0:
            return float(q <= self.lo) if upper else float(q >= self.lo)
        if ncp == math.inf:
            return float(q <= self.hi) if upper else float(q >= self.hi)
        i0, d = self.dn(ncp)
        i = q - self.lo - i0  # index of q in the window
        return _rsum(d[max(i, 0):]) if upper else _rsum(d[:max(i + 1, 0)])

    def _phyper(self, x: int, lower: bool) -> float:
        """R ``phyper(x, m, n, k, lower.tail)``: R sums the tail on the near side of the mean
        and returns 1 minus it for the other tail; the same here, from R's dhyper values."""
        m, n, k = self.m, self.n, self.k
        swap = x * (m + n) > k * m
        if swap:  # R swaps to the other colour: P(X >= x + 1) is summed
            lower = not lower
            if k - x - 1 < 0:
                return 1.0 if not lower else 0.0
            if k - x - 1 >= n or k - x - 1 >= k:
                return 0.0 if not lower else 1.0
            tail = _rsum(np.exp(self.logdc[x + 1 - self.lo:]))
        else:
            if x < 0:
                return 0.0 if lower else 1.0
            if x >= m or x >= k:
                return 1.0 if lower else 0.0
            tail = _rsum(np.exp(self.logdc[:x + 1 - self.lo]))
        return tail if lower else 0.5 - tail + 0.5

    def uniroot(self, f: Any, lower: float, upper: float, tol: float) -> float:
        return _zeroin(f, lower, upper, f(lower), f(upper), tol)


def fisher_2x2(table: Any, conf_level: float = 0.95, tol: float = 0.0) -> Fisher2x2:
    """Two-sided Fisher exact test of a 2 x 2 table with the conditional MLE of the odds
    ratio and its exact CI: R ``fisher.test(table, conf.level = conf_level)``.

    The odds ratio is that of ``table[0, 0]`` (rows = groups, columns = outcome).  Same code
    as R: p = sum of the null probabilities ``d <= d_obs * (1 + 1e-7)``; MLE 0 (x at the low
    end of the support) or Inf (high end), else the root of ``E(x; psi) = x_obs``; CI from
    ``P(X >= x; psi) = alpha / 2`` (0 at the low end) and ``P(X <= x; psi) = alpha / 2`` (Inf
    at the high end), each root found on R's scale (psi in (0, 1), or 1/psi in (eps, 1)).

    ``tol``: the root-finding tolerance.  R's ``fisher.test`` uses uniroot's default
    (:data:`R_UNIROOT_TOL`, about 1.2e-4 absolute on that scale); with that value the results
    are R's printed ones (same iterates).  The default 0 solves to machine precision (the
    limit of R's result as ``tol`` -> 0), which is what the study reports.
    """
    t = np.asarray(table)
    if t.shape != (2, 2):
        raise ValueError("fisher_2x2 needs a 2 x 2 table")
    if not 0 < conf_level < 1:
        raise ValueError("conf_level must be in (0, 1)")
    h = _NCHyper(t)
    x, lo, hi = h.x, h.lo, h.hi
    eps = float(np.finfo(float).eps)
    # p-value (or = 1)
    _, d = h.dn(1.0)
    p = _rsum(d[d <= d[x - lo] * R_REL_ERR])

    def root(f: Any, below_one: bool) -> float:
        """R's pattern: a root psi < 1 is searched in (0, 1), one above 1 as t = 1/psi in
        (eps, 1)."""
        if below_one:
            return h.uniroot(f, 0.0, 1.0, tol)
        return 1.0 / h.uniroot(lambda s: f(1.0 / s), eps, 1.0, tol)

    # MLE
    if x == lo:
        est = 0.0
    elif x == hi:
        est = math.inf
    else:
        mu = h.mn(1.0)
        est = 1.0 if mu == x else root(lambda psi: h.mn(psi) - x, mu > x)
    alpha = (1 - conf_level) / 2
    # lower limit: P(X >= x; psi) = alpha
    if x == lo:
        low = 0.0
    else:
        p1 = h.pn(x, 1.0, upper=True)
        low = 1.0 if p1 == alpha else root(lambda psi: h.pn(x, psi, upper=True) - alpha,
                                           p1 > alpha)
    # upper limit: P(X <= x; psi) = alpha
    if x == hi:
        up = math.inf
    else:
        p1 = h.pn(x, 1.0)
        up = 1.0 if p1 == alpha else root(lambda psi: h.pn(x, psi) - alpha, p1 < alpha)
    return Fisher2x2(p, est, low, up)


# ----------------------------------------------------------------------------- Fisher


def _fisher_2x2(t: np.ndarray) -> tuple[float, float, float, float]:
    """R's 2 x 2 branch: p (relErr 1 + 1e-7), conditional MLE OR and exact 95% CI."""
    r = fisher_2x2(t)
    return min(1.0, r.p), r.estimate, r.lower, r.upper


def fisher_exact(
    table: Any,
    *,
    simulate: bool = False,
    B: int = DEFAULT_B,
    seed: int = DEFAULT_SEED,
    max_work: int | None = None,
) -> FisherResult:
    """Fisher's exact test for an R x C table of counts, two-sided, as R ``fisher.test``.

    The p-value is the null (multiple hypergeometric, margins fixed) probability of all tables
    that are as or less probable than the observed one.  "As probable" uses R's tolerances:
    ``P <= P_obs * (1 + 1e-7)`` for 2 x 2 tables (R's own 2 x 2 code) and
    ``log P <= log P_obs + 3.45254e-7`` for larger tables (R's FEXACT).  All-zero rows and
    columns are dropped first (as FEXACT); if fewer than 2 non-empty rows or columns remain,
    p = 1 (only one table has these margins; R also gives 1).  A table with fewer than 2 rows
    or columns, negative or non-integer counts, or all counts 0 raises ValueError.

    **Algorithm** (network algorithm of Mehta & Patel 1983, J Am Stat Assoc 78:427-434, and
    1986, ACM Trans Math Softw 12:154-161, "FEXACT", the algorithm behind R ``fisher.test``).
    The null probability of a table is ``K prod_ij 1/x_ij!`` with ``K`` fixed by the margins,
    so only the weight ``prod 1/x!`` matters.  Tables are built column by column (the
    longer margin gives the stages, smallest column first); a node at stage k is the
    multiset of row totals not yet filled, so all partial tables leading to the same sorted
    remainder share one node (this merging is what makes the network much smaller than the
    set of tables).  Each path (partial table) carries its past weight; paths into a node with
    the same past weight are merged and counted.  For every node the total weight of all its
    completions is known in closed form (``N!/(prod r! prod c!)``) and the largest (LP) and
    smallest (SP) completion weight are bounded:

    * past x LP <= observed weight: every completion qualifies, the whole sub-tree is added at
      once; past x SP > observed weight: no completion qualifies, the path is dropped; only
      the remaining paths are extended along the node's arcs (the possible next columns);
    * LP and SP are exact (as FEXACT's f3xact/f4xact): with 2 remaining rows or columns LP by
      greedy allocation (exact for this concave separable problem) and SP by enumerating the
      vertices of the transportation polytope through subset sums; for larger sub-tables (up
      to 16 cells) LP by cycle cancelling (steepest unit moves along the simple cycles of the
      row-column graph from a rounded start: for a separable convex cost an integer flow with
      no improving cycle is optimal) and SP as the best spanning-tree basic solution (the
      vertices), both vectorised over all new nodes of a stage; beyond 16 cells LP is the
      Lagrangian bound with multipliers ``log(r_i c_j / n)`` and SP ``min(sum log c!, sum
      log r!)``.  Any valid bounds keep the result exact; tighter ones only save time.
    * For nodes two stages from the end (three for 2-row networks) the weights of all
      completions are tabulated (sorted, at most 100,000 per node): a path reaching such a
      node is resolved by one binary search in the cumulated weights instead of being
      extended (a meet-in-the-middle step between past and future weights; FEXACT extends
      every path along every arc there).

    The result is exact up to floating-point rounding (past weights are merged on a 1e-9 grid
    in log scale, far below R's 3.45e-7 tolerance).  The work (paths x arcs, arcs built,
    bounds computed, tabulated weights) is counted; beyond ``max_work`` units (default
    2e8, about 5-10 s on one core; config ``table1.fisher.max_work``) the exact computation
    stops and the Monte Carlo p-value is used; R's FEXACT instead stops with a workspace
    error ("consider using simulate.p.value=TRUE").  Measured (CPU, one core): 4 x 3 tables
    with n = 906: 2-6 s here against 3-96 s for R ``fisher.test``; 3 x 4 with n = 1500:
    20 s (3.7e8 units, above the default budget) against 205 s for R.

    **Monte Carlo** (``simulate=True`` or when the network needs more than ``max_work``
    path-arc steps): as R ``fisher.test(simulate.p.value = TRUE, B = B)``: B random tables with
    the observed margins (sequential conditional hypergeometric draws, the decomposition
    behind Patefield's algorithm, R ``r2dtable``), statistic ``-log P(table)`` up to a
    constant, ``p = (1 + #{sim <= obs / (1 + 64 eps)}) / (B + 1)``; numpy
    ``default_rng(seed)`` makes it deterministic.  The ``test`` string then names B and the
    seed.

    For 2 x 2 tables the p-value is R's own 2 x 2 code and the result also has R's conditional
    maximum likelihood odds ratio and its exact 95% CI (``estimate``, ``conf_int``; table
    rows = groups, columns = outcome; OR of ``t[0,0]``), all from :func:`fisher_2x2` (roots
    to machine precision).
    """
    t0 = _as_table(table)
    if min(t0.shape) < 2:
        raise ValueError(f"table must have at least 2 rows and 2 columns, got {t0.shape[0]} x "
                         f"{t0.shape[1]} (R: 'x' must have at least 2 rows and columns)")
    if max_work is None:
        max_work = DEFAULT_MAX_WORK
    if B < 1:
        raise ValueError("B must be >= 1")
    t = t0[t0.sum(axis=1) > 0][:, t0.sum(axis=0) > 0]
    n = int(t0.sum())
    if n == 0:
        raise ValueError("all counts are zero: no test possible")
    if t.shape[0] < 2 or t.shape[1] < 2:
        return FisherResult(p=1.0, test=fisher_test_name(), method="trivial", table=t0, n=n,
                            p_table=1.0,
                            notes=[("fewer than 2 non-empty rows or columns: only one table "
                                    "has these margins, p = 1 (as R)")])
    lf = _log_fact(n)
    rows, cols = t.sum(axis=1), t.sum(axis=0)
    p_table = math.exp(float(lf[rows].sum() + lf[cols].sum() - lf[n] - lf[t].sum()))
    is_2x2 = t0.shape == (2, 2)
    if not simulate:
        if is_2x2:
            p, est, lo, hi = _fisher_2x2(t0)
            return FisherResult(p=p, test=fisher_test_name(),
                                method="exact (hypergeometric, 2 x 2)", table=t0, n=n,
                                p_table=p_table, estimate=est, conf_int=(lo, hi),
                                ci_method="conditional MLE, exact (Fisher) 95%")
        try:
            p, work = _network_pvalue(t, FEXACT_TOL, max_work)
            return FisherResult(p=p, test=fisher_test_name(),
                                method="exact (network algorithm, Mehta & Patel)",
                                table=t0, n=n, p_table=p_table, work=work)
        except _TooMuchWork:
            notes = [(f"exact computation needs more than {max_work} work units: "
                     "Monte Carlo p-value used")]
    else:
        notes = ["Monte Carlo p-value requested (simulate=True)"]
    p = _monte_carlo_pvalue(t, B, seed)
    extra: dict[str, Any] = {}
    if is_2x2:
        _, est, lo, hi = _fisher_2x2(t0)
        extra = {"estimate": est, "conf_int": (lo, hi),
                 "ci_method": "conditional MLE, exact (Fisher) 95%"}
    return FisherResult(p=p, test=fisher_test_name(True, B, seed),
                        method=f"Monte Carlo (B = {B}, seed {seed})", table=t0, n=n,
                        p_table=p_table, B=B, seed=seed, notes=notes, **extra)


# ----------------------------------------------------------------------------- data helpers


def _complete_cases(df: Any, columns: Sequence[str]) -> tuple[Any, int, int]:
    """Rows of ``df`` complete in ``columns`` (R na.omit), n used and n missing."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    missing_cols = [c for c in columns if c not in df.columns]
    if missing_cols:
        raise ValueError(f"column(s) not found in data: {missing_cols}")
    ok = df[list(columns)].notna().all(axis=1)
    return df.loc[ok], int(ok.sum()), int((~ok).sum())


def _levels(values: Any, name: str, order: Sequence[Any] | None, need: int | None) -> list[Any]:
    import pandas as pd

    observed = list(pd.unique(values))
    if order is not None:
        levels = list(order)
        if len(set(levels)) != len(levels):
            raise ValueError(f"order for '{name}' has duplicated levels: {levels}")
        unknown = [v for v in observed if v not in levels]
        if unknown:
            raise ValueError(f"column '{name}' has values not in the given order: {unknown}")
    elif isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
        levels = [lv for lv in values.cat.categories if lv in observed]
    else:
        try:
            levels = sorted(observed)
        except TypeError as exc:
            raise ValueError(f"values of '{name}' cannot be sorted; give the level order") from exc
    if need is not None and len(levels) != need:
        raise ValueError(
            f"column '{name}' must have exactly {need} levels (after dropping missing "
            f"values), found {len(levels)}: {levels}"
        )
    return levels


# ----------------------------------------------------------------------------- Mantel-Haenszel


def _breslow_day(a: np.ndarray, m: np.ndarray, t: np.ndarray, N: np.ndarray,
                 psi: float) -> dict[str, Any]:
    """Breslow-Day homogeneity statistic (and Tarone's corrected version) at common OR psi.

    Breslow & Day (1980, IARC Sci Publ 32, section 4.4, eq. 4.30) and Tarone (1985,
    Biometrika 72:91-95).  For each stratum the expected count A of cell [1, 1] with the
    observed margins and odds ratio psi solves
    ``A (n0 - t + A) = psi (n1 - A)(t - A)`` (root inside the support), its variance is
    ``1 / (1/A + 1/(n1 - A) + 1/(t - A) + 1/(n0 - t + A))``;
    ``X2_BD = sum (a - A)^2 / Var``; Tarone: ``X2_BD - (sum a - sum A)^2 / sum Var``;
    df = number of strata used - 1.  Strata with a zero row or column margin have a single
    possible table (no variance) and are left out.
    """
    from scipy.stats import chi2

    n1, n0 = m, N - m
    use = (n1 > 0) & (n0 > 0) & (t > 0) & (t < N)
    out: dict[str, Any] = {"bd_strata_used": int(use.sum()), "bd_warning": None}
    nan = float("nan")
    if not np.isfinite(psi) or psi <= 0 or use.sum() < 2:
        why = ("Mantel-Haenszel odds ratio is 0 or infinite" if not (np.isfinite(psi) and psi > 0)
               else "fewer than 2 strata with all margins positive")
        out.update(bd_statistic=nan, bd_df=nan, bd_p=nan, tarone_statistic=nan, tarone_p=nan,
                   bd_warning=f"Breslow-Day test undefined: {why}")
        return out
    a, n1, n0, t = a[use].astype(float), n1[use].astype(float), n0[use].astype(float), \
        t[use].astype(float)
    lo, hi = np.maximum(0.0, t - n0), np.minimum(n1, t)
    if psi == 1.0:
        A = n1 * t / (n1 + n0)
    else:
        qa = 1.0 - psi
        qb = n0 - t + psi * (n1 + t)
        qc = -psi * n1 * t
        disc = np.sqrt(qb * qb - 4 * qa * qc)
        r1, r2 = (-qb + disc) / (2 * qa), (-qb - disc) / (2 * qa)
        eps = 1e-9 * np.maximum(1.0, hi)
        A = np.where((r1 >= lo - eps) & (r1 <= hi + eps), r1, r2)
    var = 1.0 / (1.0 / A + 1.0 / (n1 - A) + 1.0 / (t - A) + 1.0 / (n0 - t + A))
    bd = float(np.sum((a - A) ** 2 / var))
    tarone = bd - float((a.sum() - A.sum()) ** 2 / var.sum())
    df = int(use.sum()) - 1
    out.update(bd_statistic=bd, bd_df=df, bd_p=float(chi2.sf(bd, df)),
               tarone_statistic=tarone, tarone_p=float(chi2.sf(tarone, df)))
    return out


def _exact_2x2xk(a: np.ndarray, m: np.ndarray, t: np.ndarray, N: np.ndarray,
                 conf_level: float) -> dict[str, float]:
    """Exact conditional test and estimate for 2 x 2 x K tables, as R ``mantelhaen.test(exact =
    TRUE)``.

    Given all margins, S = sum of the [1, 1] cells has the convolution of the strata's
    (noncentral) hypergeometric distributions: ``P(S = s; psi) ~ dc(s) psi^s`` with ``dc`` the
    null distribution.  Two-sided p: sum of ``dc <= dc(s_obs) * (1 + 1e-7)``.  Estimate: the
    conditional MLE (``E(S; psi) = s_obs``; 0 or Inf at the ends of the support); CI: the
    psi with ``P(S >= s_obs; psi) = alpha / 2`` and ``P(S <= s_obs; psi) = alpha / 2``
    (R's ``ncp.L``/``ncp.U``).  R finds the roots with ``uniroot``'s default tolerance (about
    1e-4); here they are solved to machine precision on the log-odds scale.
    """
    from scipy.optimize import brentq
    from scipy.stats import hypergeom

    dist = np.ones(1)
    lo_tot = 0
    for mk, tk, nk in zip(m, t, N, strict=True):
        lo, hi = max(0, int(tk - (nk - mk))), min(int(mk), int(tk))
        d = hypergeom.pmf(np.arange(lo, hi + 1), int(nk), int(mk), int(tk))
        dist = np.convolve(dist, d)
        lo_tot += lo
    dc = dist / dist.sum()
    support = np.arange(lo_tot, lo_tot + dc.size, dtype=float)
    s_obs = int(a.sum())
    idx = s_obs - lo_tot
    p = float(min(1.0, np.sum(dc[dc <= dc[idx] * R_REL_ERR])))
    with np.errstate(divide="ignore"):
        logdc = np.log(dc)
    lo_s, hi_s = support[0], support[-1]

    def dens(theta: float) -> np.ndarray:
        d = logdc + theta * support
        d = np.exp(d - d.max())
        return d / d.sum()

    def solve(f: Any) -> float:
        # f is monotone in theta = log(psi); bracket the root, then solve on log scale
        lo_t, hi_t = -1.0, 1.0
        while f(lo_t) > 0:
            lo_t *= 2
        while f(hi_t) < 0:
            hi_t *= 2
        return math.exp(brentq(f, lo_t, hi_t, xtol=1e-13, rtol=4 * np.finfo(float).eps,
                               maxiter=500))

    if s_obs == lo_s:
        est = 0.0
    elif s_obs == hi_s:
        est = math.inf
    else:
        est = solve(lambda th: float(np.sum(support * dens(th))) - s_obs)
    alpha = (1 - conf_level) / 2
    lower = 0.0 if s_obs == lo_s else solve(
        lambda th: float(np.sum(dens(th)[support >= s_obs])) - alpha)
    upper = math.inf if s_obs == hi_s else solve(
        lambda th: alpha - float(np.sum(dens(th)[support <= s_obs])))
    return {"p_exact": p, "exact_estimate": est, "exact_lower": lower, "exact_upper": upper}


def mantel_haenszel(
    df: Any,
    outcome: str,
    exposure: str,
    strata: str,
    *,
    outcome_order: Sequence[Any] | None = None,
    exposure_order: Sequence[Any] | None = None,
    strata_order: Sequence[Any] | None = None,
    correct: bool = True,
    exact: bool = False,
    conf_level: float = 0.95,
) -> dict[str, Any]:
    """Cochran-Mantel-Haenszel test and common odds ratio for 2 x 2 x K tables.

    Same as R ``mantelhaen.test(table(exposure, outcome, strata), correct = correct,
    exact = exact)`` with factor levels in sorted order (or the given orders): table rows
    are the two exposure levels, columns the two outcome levels, so the odds ratio is
    ``x[1,1] x[2,2] / (x[1,2] x[2,1])`` per stratum, i.e. for 0/1 codings the odds of
    outcome 1 with exposure 1 versus exposure 0.

    Returns a dict with

    * ``statistic``/``p``/``test``: the MH chi-square (1 df) with Yates-type continuity
      correction when ``correct`` (R's default; the 0.5 is applied only when
      ``|sum(x11 - E x11)| >= 0.5``, as R) and ``statistic_corrected``, ``p_corrected``,
      ``statistic_uncorrected``, ``p_uncorrected`` for both versions;
    * ``estimate``, ``lower``, ``upper``, ``ci_method``: the Mantel-Haenszel common odds ratio
      with the Robins, Breslow & Greenland (1986, Biometrics 42:311-323) variance of its
      log, as R;
    * ``bd_statistic``, ``bd_df``, ``bd_p``, ``tarone_statistic``, ``tarone_p``,
      ``bd_test``: Breslow-Day test of homogeneity of the odds ratios at the MH estimate,
      with Tarone's (1985) correction (not in base R; see :func:`_breslow_day`);
    * when ``exact``: ``p_exact``, ``test_exact`` (the exact conditional test of R
      ``exact = TRUE``) and ``exact_estimate``, ``exact_lower``, ``exact_upper``,
      ``exact_ci_method`` (R's conditional MLE of the common odds ratio and its exact CI,
      roots solved to machine precision where R's ``uniroot`` stops at ~1e-4);
    * ``table`` (per-stratum counts), ``n``, ``n_missing``, ``n_total``, ``strata``,
      ``warning``.

    Missing values: rows with a missing outcome, exposure or stratum are dropped (na.omit).
    Strata: like R, a stratum with a zero row or column margin is kept and contributes
    nothing (its x11 equals its expectation and its variance and odds-ratio terms are 0); a
    stratum with fewer than 2 patients raises ValueError (R: "sample size in each stratum
    must be > 1"), as do fewer than 2 strata.  The Breslow-Day test leaves zero-margin
    strata out (df = strata used - 1).  Levels of a pandas Categorical that have no rows are
    ignored (R's ``table()`` would keep them and then stop on the empty stratum).
    """
    from scipy.stats import chi2, norm

    if not 0 < conf_level < 1:
        raise ValueError("conf_level must be in (0, 1)")
    data, n_used, n_missing = _complete_cases(df, [outcome, exposure, strata])
    if n_used == 0:
        raise ValueError("no complete rows for outcome, exposure and strata")
    y_lv = _levels(data[outcome], outcome, outcome_order, 2)
    e_lv = _levels(data[exposure], exposure, exposure_order, 2)
    s_lv = _levels(data[strata], strata, strata_order, None)
    if len(s_lv) < 2:
        raise ValueError(f"need at least 2 strata in '{strata}', found {len(s_lv)}")
    yv, ev, sv = (data[c].to_numpy(dtype=object) for c in (outcome, exposure, strata))
    K = len(s_lv)
    x = np.zeros((2, 2, K), dtype=np.int64)
    for i, el in enumerate(e_lv):
        for j, yl in enumerate(y_lv):
            for k, sl in enumerate(s_lv):
                x[i, j, k] = int(np.sum((ev == el) & (yv == yl) & (sv == sl)))
    N = x.sum(axis=(0, 1))
    small = [s_lv[k] for k in range(K) if N[k] < 2]
    if small:
        raise ValueError(f"sample size in each stratum must be > 1; strata with < 2 rows: "
                         f"{small}")
    a, b, c, d = x[0, 0], x[0, 1], x[1, 0], x[1, 1]
    m = a + b  # row-1 (first exposure level) totals
    t = a + c  # column-1 (first outcome level) totals
    Nf = N.astype(float)
    delta = float(np.sum(a - m * t / Nf))
    var = float(np.sum(m * (Nf - m) * t * (Nf - t) / (Nf**2 * (Nf - 1))))
    warn: list[str] = []
    res: dict[str, Any] = {}
    for lab, use_corr in (("corrected", True), ("uncorrected", False)):
        yates = 0.5 if (use_corr and abs(delta) >= 0.5) else 0.0
        if var > 0:
            stat = (abs(delta) - yates) ** 2 / var
            pval = float(chi2.sf(stat, 1))
        else:
            stat = pval = float("nan")
        res[f"statistic_{lab}"] = float(stat)
        res[f"p_{lab}"] = pval
    if var <= 0:
        warn.append("every stratum has a zero margin: MH statistic undefined (R gives NaN)")
    with np.errstate(divide="ignore", invalid="ignore"):
        s_diag = float(np.sum(a * d / Nf))
        s_offd = float(np.sum(b * c / Nf))
        est = s_diag / s_offd if s_offd > 0 else (float("inf") if s_diag > 0 else float("nan"))
        sd = math.sqrt(
            np.sum((a + d) * a * d / Nf**2) / (2 * s_diag**2)
            + np.sum(((a + d) * b * c + (b + c) * a * d) / Nf**2) / (2 * s_diag * s_offd)
            + np.sum((b + c) * b * c / Nf**2) / (2 * s_offd**2)
        ) if s_diag > 0 and s_offd > 0 else float("nan")
    z = float(norm.ppf((1 + conf_level) / 2))
    lower, upper = (est * math.exp(-z * sd), est * math.exp(z * sd)) if np.isfinite(sd) \
        else (float("nan"), float("nan"))
    if not np.isfinite(sd):
        warn.append("Mantel-Haenszel odds ratio is 0 or infinite (a sum of products is 0): "
                    "no confidence interval")
    bd = _breslow_day(a, m, t, N, est)
    if bd["bd_warning"]:
        warn.append(bd["bd_warning"])
    pct = f"{100 * conf_level:g}%"
    out: dict[str, Any] = {
        "test": "Cochran-Mantel-Haenszel chi-square" + (
            " with continuity correction" if correct else " without continuity correction"),
        "statistic": res["statistic_corrected" if correct else "statistic_uncorrected"],
        "df": 1,
        "p": res["p_corrected" if correct else "p_uncorrected"],
        **res,
        "estimate": est,
        "lower": lower,
        "upper": upper,
        "ci_method": f"Mantel-Haenszel odds ratio, Robins-Breslow-Greenland variance, {pct}",
        "bd_test": "Breslow-Day test of homogeneity of odds ratios (Tarone-corrected: "
                   "tarone_statistic, tarone_p)",
        **{k: v for k, v in bd.items() if k != "bd_warning"},
        "exposure_levels": e_lv,
        "outcome_levels": y_lv,
        "strata": s_lv,
        "n": n_used,
        "n_missing": n_missing,
        "n_total": n_used + n_missing,
    }
    if exact:
        out.update(_exact_2x2xk(a, m, t, N, conf_level))
        out["test_exact"] = "Exact conditional test of independence in 2 x 2 x K tables"
        out["exact_ci_method"] = f"conditional MLE, exact (conditional) {pct}"
    import pandas as pd

    out["table"] = pd.DataFrame({"stratum": s_lv, "x11": a, "x12": b, "x21": c, "x22": d,
                                 "n": N})
    out["warning"] = "; ".join(warn) if warn else None
    return out


# ----------------------------------------------------------------------------- trend


def trend_test(
    df: Any,
    outcome: str,
    ordered_group: str,
    scores: Sequence[float] | None = None,
    *,
    group_order: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """Chi-square test for trend in proportions, as R ``prop.trend.test(x, n, score)``.

    ``outcome`` is 0/1 (or boolean; 1 = event); groups are ordered by ``group_order``, else
    by the categories of an (ordered) pandas Categorical, else sorted.  ``scores`` default to
    1..k in that order (R's default ``seq_along(x)``).  The statistic is the regression sum
    of squares of the group proportions on the scores with weights ``n / (p (1 - p))``
    (p = overall proportion), as R's ``anova(lm(freq ~ score, weights = w))``, i.e. the
    Cochran-Armitage statistic without continuity correction; 1 df.  Levels in
    ``group_order`` with no rows are dropped with their scores (R: NaN proportions are
    dropped by ``lm``).  Rows with missing outcome or group are dropped (na.omit).
    """
    from scipy.stats import chi2

    data, n_used, n_missing = _complete_cases(df, [outcome, ordered_group])
    y = data[outcome]
    if y.dtype == bool:
        yv = y.to_numpy(dtype=float)
    else:
        try:
            yv = y.to_numpy(dtype=float)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"outcome column '{outcome}' must be coded 0/1") from exc
    if not np.all(np.isin(yv, (0.0, 1.0))):
        raise ValueError(f"outcome column '{outcome}' must be coded 0/1")
    if group_order is not None:
        levels = list(group_order)
        _levels(data[ordered_group], ordered_group, levels, None)
    else:
        levels = _levels(data[ordered_group], ordered_group, None, None)
    if scores is None:
        sc = np.arange(1, len(levels) + 1, dtype=float)
    else:
        sc = np.asarray(scores, dtype=float)
        if sc.size != len(levels):
            raise ValueError(f"{sc.size} scores for {len(levels)} groups")
    g = data[ordered_group].to_numpy(dtype=object)
    n = np.array([np.sum(g == lv) for lv in levels], dtype=float)
    x = np.array([np.sum(yv[g == lv]) for lv in levels], dtype=float)
    keep = n > 0
    n, x, sc = n[keep], x[keep], sc[keep]
    used_levels = [lv for lv, k in zip(levels, keep, strict=True) if k]
    if n.size < 2:
        raise ValueError(f"need at least 2 non-empty groups in '{ordered_group}'")
    p = x.sum() / n.sum()
    if p in (0.0, 1.0):
        raise ValueError(f"outcome '{outcome}' is constant: trend test undefined")
    w = n / p / (1 - p)
    freq = x / n
    s_bar = np.sum(w * sc) / w.sum()
    f_bar = np.sum(w * freq) / w.sum()
    sxx = float(np.sum(w * (sc - s_bar) ** 2))
    if sxx == 0:
        raise ValueError("all scores are equal: trend test undefined")
    stat = float(np.sum(w * (sc - s_bar) * (freq - f_bar)) ** 2 / sxx)
    import pandas as pd

    return {
        "test": "Chi-square test for trend in proportions",
        "statistic": stat,
        "df": 1,
        "p": float(chi2.sf(stat, 1)),
        "table": pd.DataFrame({"group": used_levels, "score": sc, "events": x.astype(int),
                               "n": n.astype(int)}),
        "n": n_used,
        "n_missing": n_missing,
        "n_total": n_used + n_missing,
    }
