"""Drug-combination reference models on a dose matrix: Bliss, HSA, Loewe and ZIP delta scores.

Input: a tidy frame with one row per well (or per dose pair), a column for the dose of drug A,
one for the dose of drug B and the response.  ``response="viability"`` (default: fraction of
vehicle, 1 = no effect) or ``"inhibition"`` (fraction inhibited, 0 = no effect).  Both
single-agent edges must be present (B = 0 for drug A alone, A = 0 for drug B alone; the
vehicle wells A = B = 0 anchor both single-agent curves).  Replicates of a dose pair are
averaged first.

Everything is computed and reported on the *inhibition* scale E = 1 - viability, as fractions
(SynergyFinder prints percent: multiply by 100).  ``delta = observed - expected``: > 0 means more
effect than the reference model expects (synergy), < 0 antagonism.  One row per dose pair with
both doses > 0 (on the single-agent edges every model's delta is 0 by construction, as in
SynergyFinder), columns ``a, b, observed, expected, delta, model, n, note``.

Definitions followed (SynergyFinder, He et al. 2018 Methods Mol Biol 1711:351-398; R package
``synergyfinder`` (github.com/shuyuzheng/synergyfinder, R/calculate_synergy_score.R), whose
formulas follow Yadav et al. 2015):

* Bliss (Bliss 1939): expected ``E_A + E_B - E_A E_B`` from the *observed* single-agent
  responses at the two doses (SynergyFinder's ``CalculateBliss``).
* HSA (highest single agent; Berenbaum 1989): expected ``max(E_A, E_B)``, observed single
  agents (``CalculateHSA``).
* Loewe additivity (Loewe 1953): expected ``y`` solving ``x_A / X_A(y) + x_B / X_B(y) = 1``,
  ``X_k(y)`` the dose of drug k alone that gives effect y on its fitted single-agent LL.4 curve
  (four free parameters, :func:`her2cohort.stats.doseresponse.fit_ll4`), i.e. Yadav et al.'s
  eq. 8 as in ``CalculateLoewe``.  ``X_k(y)`` exists only for y strictly inside the range of
  curve k, so y is sought where both exist; where the equation has no root there (typically
  the expected effect is beyond the weaker drug's maximal effect) the pair gets NaN and a note
  saying so.  **Differs from SynergyFinder**, which then silently falls back to
  ``max(f_A(x_A + x_B), f_B(x_A + x_B))``; a NaN with a reason is what this pipeline reports.
* ZIP (zero interaction potency; Yadav, Wennerberg, Aittokallio & Tang 2015, Comput Struct
  Biotechnol J 13:504-513): single agents fitted by LL.4 (four free parameters, as
  SynergyFinder 2 ``FitDoseResponse``); expected ``y_ZIP = f_A(x_A) + f_B(x_B) - f_A f_B`` from
  the *fitted* single agents; observed side: for every fixed dose of B the responses along the
  nonzero doses of A are fitted by LL.4 with the lower asymptote (effect at A = 0) fixed at
  ``f_B(x_B)`` and the upper at 1 (100% inhibition), and vice versa along B for every fixed
  dose of A; the two fitted surfaces are averaged; ``delta = fitted - y_ZIP``
  (``CalculateZIP``).  Where a row/column fit fails, its observed responses are used (as
  SynergyFinder does) and ``note`` says so.

Single-agent curves are fitted to the wells (replicates kept; SynergyFinder fits the matrix of
replicate means and falls back to drc's L.4 when LL.4 warns: the same estimates when every dose
has the same number of replicates).

Why own code: the ``synergy`` PyPI package (D. J. Wooten; read:
src/synergy/combination/zero_interaction_potency.py) differs from the published ZIP as
SynergyFinder computes it: by default it leaves the maximal effect of every row/column curve
free (only its ``synergyfinder=True`` option fixes it), fits those curves including the dose-0
well, uses one E0 (the mean of the two single-agent fits) in the reference, and works on the viability scale with
``delta = reference - fit``; it would also be a new GPL dependency.  SynergyFinder itself is
R-only (with drc).  The formulas are short; they are checked here on constructed data with
known answers (tests/test_synergy.py: Bliss-independent data give Bliss and ZIP delta 0, a drug
combined with itself gives Loewe delta 0, HSA-exact data give HSA delta 0) and against a base-R
transcription of the same definitions (tests/r/doseresponse.R, synergy_ref.csv, 5e-7).

No I/O.  Vectorised over dose pairs; loops only over the rows/columns of one matrix for ZIP.
"""

from __future__ import annotations

import math
from builtins import zip as _pairs  # the module exports its own ``zip``
from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy import optimize

from .doseresponse import LL4Fit, fit_ll4

__all__ = [
    "SYNERGY_COLUMNS",
    "bliss",
    "hsa",
    "loewe",
    "zip",
    "zip_delta",
    "synergy_summary",
]

SYNERGY_COLUMNS = ["a", "b", "observed", "expected", "delta", "model", "n", "note"]
MODEL_NAMES = {
    "bliss": "Bliss independence (observed single agents)",
    "hsa": "highest single agent (HSA)",
    "loewe": "Loewe additivity (fitted single-agent LL.4)",
    "zip": "ZIP delta (Yadav et al. 2015)",
}


# --------------------------------------------------------------------------- input
def _matrix(df: pd.DataFrame, a: str, b: str, resp: str, response: str) -> pd.DataFrame:
    """Mean inhibition per dose pair (columns a, b, e, n)."""
    if response not in ("viability", "inhibition"):
        raise ValueError(f"response must be 'viability' or 'inhibition', not {response!r}")
    d = pd.DataFrame({
        "a": pd.to_numeric(df[a], errors="coerce").astype(float),
        "b": pd.to_numeric(df[b], errors="coerce").astype(float),
        "y": pd.to_numeric(df[resp], errors="coerce").astype(float),
    })
    d = d.dropna()
    d = d[(d["a"] >= 0) & (d["b"] >= 0)]
    d["e"] = 1.0 - d["y"] if response == "viability" else d["y"]
    return d.groupby(["a", "b"], as_index=False).agg(e=("e", "mean"), n=("e", "size"))


def _wells(df, a, b, resp, response) -> pd.DataFrame:
    """Per-well inhibition (for the single-agent fits, replicates kept)."""
    d = pd.DataFrame({
        "a": pd.to_numeric(df[a], errors="coerce").astype(float),
        "b": pd.to_numeric(df[b], errors="coerce").astype(float),
        "y": pd.to_numeric(df[resp], errors="coerce").astype(float),
    }).dropna()
    d = d[(d["a"] >= 0) & (d["b"] >= 0)]
    d["e"] = 1.0 - d["y"] if response == "viability" else d["y"]
    return d


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=SYNERGY_COLUMNS)


def _combos_with_edges(m: pd.DataFrame) -> pd.DataFrame:
    """Combination pairs (both doses > 0) with the observed single-agent means beside them."""
    combo = m[(m["a"] > 0) & (m["b"] > 0)].copy()
    ea = m[(m["b"] == 0)].set_index("a")["e"]
    eb = m[(m["a"] == 0)].set_index("b")["e"]
    combo["e_a"] = combo["a"].map(ea)
    combo["e_b"] = combo["b"].map(eb)
    return combo


def _out(combo: pd.DataFrame, expected, model: str, notes) -> pd.DataFrame:
    res = pd.DataFrame({
        "a": combo["a"].to_numpy(float),
        "b": combo["b"].to_numpy(float),
        "observed": combo["e"].to_numpy(float),
        "expected": np.asarray(expected, float),
    })
    res["delta"] = res["observed"] - res["expected"]
    res["model"] = MODEL_NAMES[model]
    res["n"] = combo["n"].to_numpy(int)
    res["note"] = list(notes)
    return res[SYNERGY_COLUMNS].sort_values(["a", "b"], kind="stable").reset_index(drop=True)


def _edge_notes(combo) -> list[str]:
    miss_a = combo["e_a"].isna().to_numpy()
    miss_b = combo["e_b"].isna().to_numpy()
    return [
        "; ".join(s for s, f in (("no single-agent A well at this dose", ma),
                                 ("no single-agent B well at this dose", mb)) if f)
        for ma, mb in _pairs(miss_a, miss_b)
    ]


# --------------------------------------------------------------------------- Bliss / HSA
def bliss(df: pd.DataFrame, *, a: str, b: str, resp: str,
          response: str = "viability") -> pd.DataFrame:
    """Bliss excess per dose pair: observed - (E_A + E_B - E_A E_B), observed single agents."""
    combo = _combos_with_edges(_matrix(df, a, b, resp, response))
    if combo.empty:
        return _empty()
    ea, eb = combo["e_a"].to_numpy(float), combo["e_b"].to_numpy(float)
    return _out(combo, ea + eb - ea * eb, "bliss", _edge_notes(combo))


def hsa(df: pd.DataFrame, *, a: str, b: str, resp: str,
        response: str = "viability") -> pd.DataFrame:
    """Excess over the highest single agent: observed - max(E_A, E_B), observed single agents."""
    combo = _combos_with_edges(_matrix(df, a, b, resp, response))
    if combo.empty:
        return _empty()
    ea, eb = combo["e_a"].to_numpy(float), combo["e_b"].to_numpy(float)
    with np.errstate(invalid="ignore"):
        expected = np.fmax(ea, eb)
    expected[np.isnan(ea) | np.isnan(eb)] = np.nan
    return _out(combo, expected, "hsa", _edge_notes(combo))


# --------------------------------------------------------------------------- single agents
def _single_fits(w: pd.DataFrame) -> tuple[LL4Fit, LL4Fit]:
    """LL.4 fits of inhibition for A alone (B = 0) and B alone (A = 0), vehicle included."""
    sa = w[w["b"] == 0]
    sb = w[w["a"] == 0]
    return fit_ll4(sa["a"].to_numpy(), sa["e"].to_numpy()), \
        fit_ll4(sb["b"].to_numpy(), sb["e"].to_numpy())


def _inverse(fit: LL4Fit, y: float) -> float:
    """Dose of the single agent giving effect y on its fitted curve (nan outside its range)."""
    lo, hi = sorted((fit.c, fit.d))
    if not (lo < y < hi) or fit.b == 0:
        return math.nan
    return fit.e * ((fit.d - y) / (y - fit.c)) ** (1.0 / fit.b)


def _loewe_one(xa: float, xb: float, fa: LL4Fit, fb: LL4Fit) -> tuple[float, str]:
    lo = max(min(fa.c, fa.d), min(fb.c, fb.d))
    hi = min(max(fa.c, fa.d), max(fb.c, fb.d))
    rng_txt = (f"A reaches [{min(fa.c, fa.d):.4g}, {max(fa.c, fa.d):.4g}], "
               f"B [{min(fb.c, fb.d):.4g}, {max(fb.c, fb.d):.4g}]")
    if not lo < hi:
        return math.nan, f"no Loewe solution: the single-agent effect ranges do not overlap " \
                         f"({rng_txt})"

    def g(y):
        return xa / _inverse(fa, y) + xb / _inverse(fb, y) - 1.0

    width = hi - lo
    grid = lo + width * np.array([1e-12, 1e-9, 1e-6, 1e-3, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9,
                                  0.99, 1 - 1e-3, 1 - 1e-6, 1 - 1e-9, 1 - 1e-12])
    vals = np.array([g(y) for y in grid])
    ok = np.isfinite(vals)
    grid, vals = grid[ok], vals[ok]
    sign_change = np.flatnonzero(np.sign(vals[:-1]) * np.sign(vals[1:]) < 0)
    if vals.size and np.any(vals == 0):
        return float(grid[np.flatnonzero(vals == 0)[0]]), ""
    if sign_change.size == 0:
        return math.nan, ("no Loewe solution: the doses would need an effect outside the range "
                          f"both single agents reach ({rng_txt})")
    if sign_change.size > 1:
        return math.nan, "no unique Loewe solution (single-agent curves run in opposite " \
                         "directions)"
    k = sign_change[0]
    y = optimize.brentq(g, grid[k], grid[k + 1], xtol=1e-15, rtol=4 * np.finfo(float).eps,
                        maxiter=500)
    return float(y), ""


def loewe(df: pd.DataFrame, *, a: str, b: str, resp: str,
          response: str = "viability") -> pd.DataFrame:
    """Loewe additivity excess per dose pair: observed - y, where x_A/X_A(y) + x_B/X_B(y) = 1 on
    the fitted single-agent LL.4 curves.  NaN with a note where no solution exists."""
    w = _wells(df, a, b, resp, response)
    combo = _combos_with_edges(_matrix(df, a, b, resp, response))
    if combo.empty:
        return _empty()
    fa, fb = _single_fits(w)
    bad = [n for n, f in (("A", fa), ("B", fb)) if not (f.converged and f.has_curve)]
    if bad:
        why = "; ".join(f"{n}: {f.message}" for n, f in (("A", fa), ("B", fb)) if n in bad)
        return _out(combo, np.full(len(combo), np.nan), "loewe",
                    [f"no Loewe expectation: single-agent fit failed ({why})"] * len(combo))
    sols = [_loewe_one(xa, xb, fa, fb)
            for xa, xb in _pairs(combo["a"].to_numpy(float), combo["b"].to_numpy(float))]
    return _out(combo, [s[0] for s in sols], "loewe", [s[1] for s in sols])


# --------------------------------------------------------------------------- ZIP

def _curves_along(moving, fixed, edge_at: dict, obs: dict, key, names: tuple[str, str],
                  notes: dict) -> dict:
    """ZIP's combination curves: for each dose of the fixed drug, an LL.4 along the moving
    drug from the fixed drug's single-agent effect (lower) to 1; where it cannot be fitted
    the observed values stand, with a note per pair. ``key(moving, fixed)`` is the pair."""
    out: dict = {}
    for f in fixed:
        xs = np.array([m for m in moving if key(m, f) in obs])
        ys = np.array([obs[key(m, f)] for m in xs])
        fit = fit_ll4(xs, ys, lower=float(edge_at[f]), upper=1.0) if xs.size >= 3 else None
        if fit is not None and fit.converged:
            fitted = fit.predict(xs)
        else:
            fitted = ys
            for m in xs:
                notes[key(m, f)].append(f"curve along {names[0]} at {names[1]} = {f:g} not "
                                        "fitted: observed values used")
        out.update({key(m, f): v for m, v in _pairs(xs, fitted)})
    return out


def zip_delta(df: pd.DataFrame, *, a: str, b: str, resp: str,
              response: str = "viability") -> pd.DataFrame:
    """ZIP delta score per dose pair (Yadav et al. 2015, as SynergyFinder's ``CalculateZIP``):
    ``observed`` is the averaged row/column-fitted combination response, ``expected`` the ZIP
    (Bliss on fitted single agents) reference."""
    w = _wells(df, a, b, resp, response)
    m = _matrix(df, a, b, resp, response)
    combo = _combos_with_edges(m)
    if combo.empty:
        return _empty()
    fa, fb = _single_fits(w)
    bad = [n for n, f in (("A", fa), ("B", fb)) if not f.has_curve]
    if bad:
        return _out(combo, np.full(len(combo), np.nan), "zip",
                    ["no ZIP reference: single-agent fit failed for " + ", ".join(bad)]
                    * len(combo))
    notes = {}
    if not fa.converged:
        notes["A"] = f"single-agent A fit not converged ({fa.message})"
    if not fb.converged:
        notes["B"] = f"single-agent B fit not converged ({fb.message})"
    doses_a = np.sort(combo["a"].unique())
    doses_b = np.sort(combo["b"].unique())
    fa_at = dict(_pairs(doses_a, fa.predict(doses_a)))
    fb_at = dict(_pairs(doses_b, fb.predict(doses_b)))
    key = list(_pairs(combo["a"], combo["b"]))
    obs = dict(_pairs(key, combo["e"]))
    pair_notes: dict = {k: [] for k in key}
    # fitted surface from the curves along A (B fixed) and along B (A fixed)
    along_a = _curves_along(doses_a, doses_b, fb_at, obs, lambda m, f: (m, f), ("A", "B"),
                            pair_notes)
    along_b = _curves_along(doses_b, doses_a, fa_at, obs, lambda m, f: (f, m), ("B", "A"),
                            pair_notes)
    fitted_surface = np.array([(along_a[k] + along_b[k]) / 2 for k in key])
    ya = np.array([fa_at[k[0]] for k in key])
    yb = np.array([fb_at[k[1]] for k in key])
    expected = ya + yb - ya * yb
    note_list = ["; ".join(list(notes.values()) + pair_notes[k]) for k in key]
    res = pd.DataFrame({
        "a": combo["a"].to_numpy(float), "b": combo["b"].to_numpy(float),
        "observed": fitted_surface, "expected": expected,
    })
    res["delta"] = res["observed"] - res["expected"]
    res["model"] = MODEL_NAMES["zip"]
    res["n"] = combo["n"].to_numpy(int)
    res["note"] = note_list
    return res[SYNERGY_COLUMNS].sort_values(["a", "b"], kind="stable").reset_index(drop=True)


#: the contract's name for :func:`zip_delta` (inside this module the builtin is ``_pairs``)
zip = zip_delta  # noqa: A001


def synergy_summary(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """One row per model: mean and max delta over the dose pairs with a value, the number of
    such pairs and of pairs without one (``n_missing``, e.g. no Loewe solution)."""
    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        return pd.DataFrame(columns=["model", "mean_delta", "max_delta", "n_pairs", "n_missing"])
    allf = pd.concat(frames, ignore_index=True)
    g = allf.groupby("model", sort=False)["delta"]
    out = pd.DataFrame({
        "mean_delta": g.mean(),
        "max_delta": g.max(),
        "n_pairs": g.count(),
        "n_missing": g.apply(lambda s: int(s.isna().sum())),
    }).reset_index()
    return out[["model", "mean_delta", "max_delta", "n_pairs", "n_missing"]]
