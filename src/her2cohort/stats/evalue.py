"""E-values for unmeasured confounding of a hazard ratio.

VanderWeele TJ, Ding P. Sensitivity analysis in observational research: introducing the
E-value. Ann Intern Med 2017;167:268-274.  For a risk ratio RR (RR < 1 is inverted first)
the E-value is ``RR + sqrt(RR * (RR - 1))``; for the confidence interval it is computed
for the limit closer to 1, and is 1 when the interval includes 1.

A hazard ratio is first put on the risk-ratio scale:

* ``rare_outcome=True`` (outcome < 15 % by the end of follow-up): RR ≈ HR
  (VanderWeele & Ding 2017, Table);
* ``rare_outcome=False`` (common outcome): RR ≈ (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR)),
  the square-root transformation of VanderWeele TJ, "Optimal approximate conversions of
  odds ratios and hazard ratios to risk ratios", Biometrics 2020;76:746-752 (first given in
  VanderWeele & Ding 2017 and the R package EValue, ``evalues.HR(rare = FALSE)``).

The outcome frequency is a study fact, not something this module can infer, so
``rare_outcome`` has no default.
"""

from __future__ import annotations

import math

import pandas as pd

__all__ = ["evalue_hr", "evalue_rr", "hr_to_rr"]

_RARE = "rare outcome (<15%): RR ≈ HR"
_COMMON = "common outcome: RR ≈ (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR))"


def evalue_rr(rr: float) -> float:
    """E-value of a risk ratio (VanderWeele & Ding 2017, eq. in Box): RR + sqrt(RR(RR-1))."""
    if not (isinstance(rr, int | float) and math.isfinite(rr) and rr > 0):
        raise ValueError(f"risk ratio must be a positive finite number, got {rr!r}")
    r = 1.0 / rr if rr < 1 else float(rr)
    return r + math.sqrt(r * (r - 1.0))


def hr_to_rr(hr: float, rare_outcome: bool) -> float:
    """Approximate risk ratio of a hazard ratio (see module docstring)."""
    if not (isinstance(hr, int | float) and math.isfinite(hr) and hr > 0):
        raise ValueError(f"hazard ratio must be a positive finite number, got {hr!r}")
    if rare_outcome:
        return float(hr)
    return (1.0 - 0.5 ** math.sqrt(hr)) / (1.0 - 0.5 ** math.sqrt(1.0 / hr))


def evalue_hr(hr: float, lower: float, upper: float, *, rare_outcome: bool) -> pd.DataFrame:
    """E-values for a hazard ratio and its confidence interval, as R ``EValue::evalues.HR``.

    Returns two rows (``quantity`` = "estimate", "CI limit closer to 1") with columns
    ``quantity, hr, rr, evalue, method``; the CI row uses the lower limit when HR > 1 and
    the upper limit when HR < 1, and its E-value is 1 when the interval includes 1.
    """
    if not isinstance(rare_outcome, bool):
        raise TypeError(
            "rare_outcome must be True or False (outcome < 15% at the end of follow-up)"
        )
    for name, v in (("hr", hr), ("lower", lower), ("upper", upper)):
        if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a positive finite number, got {v!r}")
    if not lower <= hr <= upper:
        raise ValueError(f"need lower <= hr <= upper, got {lower}, {hr}, {upper}")
    method = (
        f"E-value (VanderWeele & Ding 2017); {_RARE if rare_outcome else _COMMON}"
    )
    rr = hr_to_rr(hr, rare_outcome)
    if lower <= 1.0 <= upper:
        limit, ev_limit = (lower if hr >= 1 else upper), 1.0
    else:
        limit = lower if hr > 1 else upper
        ev_limit = evalue_rr(hr_to_rr(limit, rare_outcome))
    return pd.DataFrame(
        {
            "quantity": ["estimate", "CI limit closer to 1"],
            "hr": [float(hr), float(limit)],
            "rr": [rr, hr_to_rr(limit, rare_outcome)],
            "evalue": [evalue_rr(rr), ev_limit],
            "method": [method, method],
        }
    )
