"""Model adequacy: events per variable (EPV) of Cox and logistic models.

EPV is the number of outcome events available per estimated regression coefficient
(Peduzzi et al. 1995, J Clin Epidemiol 48:1503-10 for Cox; 1996, 49:1373-9 for logistic).
Below about 10 the coefficients may be biased and their intervals unreliable.

* Cox: events / number of estimated coefficients (a factor with k levels counts k - 1).
* Logistic: min(events, non-events) / number of non-intercept coefficients.

Plain arithmetic, no fitting; the functions only make the rule and its wording one thing.
:func:`her2cohort.stats.cox.cox_table` carries the per-model ``epv`` in a column, as
:func:`her2cohort.stats.logistic.regression_table` does for its multivariable model.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["EPV_THRESHOLD", "PEDUZZI_COX", "PEDUZZI_LOGISTIC", "RATIO_BOUNDS", "cox_epv",
           "events_per_variable", "logistic_epv", "ratio_not_estimable", "ratio_rule",
           "too_few_events"]

#: default threshold below which a model is flagged
EPV_THRESHOLD = 10.0
PEDUZZI_COX = "Peduzzi et al. 1995, J Clin Epidemiol 48:1503-10"
PEDUZZI_LOGISTIC = "Peduzzi et al. 1996, J Clin Epidemiol 49:1373-9"


def events_per_variable(
    n_events: int,
    n_parameters: int,
    *,
    n_nonevents: int | None = None,
    threshold: float = EPV_THRESHOLD,
) -> dict[str, Any]:
    """Events per estimated coefficient and whether it is below ``threshold``.

    ``n_parameters`` counts estimated coefficients (no intercept; a k-level factor gives
    k - 1).  With ``n_nonevents`` (logistic models) the limiting count is
    min(events, non-events); without it (Cox) the events.

    Returns a dict: ``epv`` (float; NaN when ``n_parameters`` is 0), ``n_limiting`` and
    ``limiting`` ("events" or "non-events"), ``n_parameters``, ``threshold``,
    ``below_threshold`` (bool; False when epv is NaN) and ``note`` (a sentence for a table
    footnote when below the threshold, else None).
    """
    for name, v in (("n_events", n_events), ("n_parameters", n_parameters)):
        if v is None or int(v) != v or v < 0:
            raise ValueError(f"{name} must be a whole number >= 0, got {v!r}")
    if n_nonevents is not None and (int(n_nonevents) != n_nonevents or n_nonevents < 0):
        raise ValueError(f"n_nonevents must be a whole number >= 0, got {n_nonevents!r}")
    if not threshold > 0:
        raise ValueError(f"threshold must be > 0, got {threshold!r}")
    n_events, n_parameters = int(n_events), int(n_parameters)
    limiting, n_lim = "events", n_events
    if n_nonevents is not None and int(n_nonevents) < n_events:
        limiting, n_lim = "non-events", int(n_nonevents)
    epv = n_lim / n_parameters if n_parameters else math.nan
    below = bool(n_parameters and epv < threshold)
    note = None
    if below:
        ref = PEDUZZI_COX if n_nonevents is None else PEDUZZI_LOGISTIC
        note = (f"events per variable {epv:.1f} < {threshold:g} ({n_lim} {limiting} / "
                f"{n_parameters} coefficient{'s' if n_parameters != 1 else ''}; {ref}): "
                "estimates may be biased and intervals unreliable")
    return {"epv": epv, "n_limiting": n_lim, "limiting": limiting,
            "n_parameters": n_parameters, "threshold": float(threshold),
            "below_threshold": below, "note": note}


#: a ratio estimate outside (lo, hi) has run off to 0 or infinity: the likelihood has no
#: maximum (a group without events, separation) and the number is an artefact of where the
#: fit stopped (R: "Loglik converged before variable ...; coefficient may be infinite")
RATIO_BOUNDS = (1e-6, 1e6)


def too_few_events(n_events: int, min_events: int,
                   setting: str = "survival.min_events") -> str | None:
    """The reason a comparison of time-to-event data is not tested or modelled, or None.

    The one rule of the survival tables, the headline estimates and the Results text: with
    no event, or fewer than ``min_events`` events (config ``setting``), no log-rank test,
    Cox model, IPTW or RMST comparison is reported (curves are still drawn).
    """
    n_events = int(n_events)
    if n_events == 0:
        return "no events"
    if n_events < int(min_events):
        return f"{n_events} event(s) < {setting} ({int(min_events)})"
    return None


def ratio_not_estimable(estimate: float | None, lower: float | None = None,
                        upper: float | None = None, what: str = "hazard ratio") -> str | None:
    """The reason a ratio estimate (hazard or odds ratio) is not estimable, or None.

    Not estimable: the estimate is missing or not finite, or outside :data:`RATIO_BOUNDS`
    (a coefficient running to +-infinity), or a given confidence limit is missing, not
    finite or 0 (the interval runs to 0 or infinity). ``lower``/``upper`` left as None are
    not checked (an estimate reported without an interval).
    """
    def bad(v) -> bool:
        try:
            return v is None or not math.isfinite(float(v))
        except (TypeError, ValueError):
            return True

    if bad(estimate) or not RATIO_BOUNDS[0] < float(estimate) < RATIO_BOUNDS[1]:
        example = "e.g. a group without events" if "hazard" in what else "e.g. separation"
        return f"the {what} runs to 0 or infinity (the likelihood has no maximum: {example})"
    limits = [v for v in (lower, upper) if v is not None]
    if any(bad(v) or float(v) <= 0 for v in limits):
        return f"the confidence interval of the {what} runs to 0 or infinity"
    return None


def ratio_rule(table: Any, estimate: str, lower: str, upper: str, p: str | None = None,
               note: str = "warning", what: str = "hazard ratio", rows: Any = None) -> Any:
    """A copy of ``table`` (a DataFrame of model terms) where every ratio that
    :func:`ratio_not_estimable` refuses has no estimate, limits or ``p`` and the reason,
    "not estimable: ...", first in ``note``. ``rows``: a boolean mask of the rows to judge
    (default: every row with an estimate); rows without an estimate are left as they are
    (their own reason is already there). A loop over model terms, not patients."""
    out = table.copy()
    if note not in out:
        out[note] = None
    mask = out[estimate].notna() if rows is None else (rows & out[estimate].notna())
    cols = [c for c in (estimate, lower, upper, p) if c and c in out]
    for i in out.index[mask]:
        why = ratio_not_estimable(out.at[i, estimate], out.at[i, lower], out.at[i, upper],
                                  what=what)
        if why:
            out.loc[i, cols] = float("nan")
            old = out.at[i, note]
            out.at[i, note] = f"not estimable: {why}" + (
                f"; {old}" if isinstance(old, str) and old else "")
    return out


def cox_epv(fit: Any, threshold: float = EPV_THRESHOLD) -> dict[str, Any]:
    """:func:`events_per_variable` of a :class:`her2cohort.stats.cox.CoxFit`: its events
    over its estimated (non-singular) coefficients."""
    n_par = int((~fit.singular).sum())
    return events_per_variable(fit.nevent, n_par, threshold=threshold)


def logistic_epv(fit: Any, threshold: float = EPV_THRESHOLD) -> dict[str, Any]:
    """:func:`events_per_variable` of a :class:`her2cohort.stats.logistic.LogisticFit`:
    min(events, non-events) over the non-aliased, non-intercept coefficients."""
    n_par = int((~fit.aliased).sum()) - 1
    return events_per_variable(fit.events, n_par, n_nonevents=fit.n_used - fit.events,
                               threshold=threshold)
