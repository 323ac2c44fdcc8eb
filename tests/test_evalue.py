"""E-values (her2cohort.stats.evalue) on published worked examples and by hand.

VanderWeele TJ, Ding P. Ann Intern Med 2017;167:268-274:
* leukaemia example (also EValue::evalues.RR documentation): RR 0.80 (95% CI 0.71-0.91)
  -> E-values 1.81 (estimate) and 1.43 (CI limit closer to 1);
* breastfeeding / respiratory death example: RR 3.9 (95% CI 1.8-8.7) -> E-value
  3.9 + sqrt(3.9 * 2.9) = 7.26 for the estimate and 1.8 + sqrt(1.8 * 0.8) = 3.0 for the CI.
Common-outcome HR conversion: VanderWeele, Biometrics 2020;76:746-752 (EValue::evalues.HR
with rare = FALSE; documented example HR 0.56, CI 0.46-0.69).
"""

from __future__ import annotations

import math

import pytest

from her2cohort.stats.evalue import evalue_hr, evalue_rr, hr_to_rr


def test_leukaemia_example_vanderweele_ding_2017():
    out = evalue_hr(0.80, 0.71, 0.91, rare_outcome=True).set_index("quantity")
    assert round(out.loc["estimate", "evalue"], 2) == 1.81
    assert round(out.loc["CI limit closer to 1", "evalue"], 2) == 1.43
    assert out.loc["CI limit closer to 1", "hr"] == 0.91  # upper limit for a protective HR
    assert "rare outcome" in out["method"].iloc[0]


def test_breastfeeding_example_vanderweele_ding_2017():
    assert evalue_rr(3.9) == pytest.approx(3.9 + math.sqrt(3.9 * 2.9), rel=1e-15)
    assert round(evalue_rr(3.9), 2) == 7.26
    assert evalue_rr(1.8) == pytest.approx(3.0, rel=1e-15)  # 1.8 + sqrt(1.44)
    out = evalue_hr(3.9, 1.8, 8.7, rare_outcome=True)
    assert out["evalue"].tolist() == pytest.approx([evalue_rr(3.9), 3.0], rel=1e-15)
    assert out["hr"].iloc[1] == 1.8  # lower limit for a harmful HR


def test_common_outcome_square_root_conversion():
    hr = 0.56
    rr = (1 - 0.5 ** math.sqrt(hr)) / (1 - 0.5 ** math.sqrt(1 / hr))
    assert hr_to_rr(hr, rare_outcome=False) == pytest.approx(rr, rel=1e-15)
    out = evalue_hr(0.56, 0.46, 0.69, rare_outcome=False)
    r = 1 / rr
    assert out["evalue"].iloc[0] == pytest.approx(r + math.sqrt(r * (r - 1)), rel=1e-15)
    rr_hi = hr_to_rr(0.69, rare_outcome=False)
    assert out["rr"].iloc[1] == pytest.approx(rr_hi)
    assert out["evalue"].iloc[1] == pytest.approx(evalue_rr(rr_hi))
    assert "common outcome" in out["method"].iloc[0]
    # the conversion pulls the ratio towards 1, so the common-outcome E-value is smaller
    assert out["evalue"].iloc[0] < evalue_hr(0.56, 0.46, 0.69, rare_outcome=True)["evalue"][0]
    assert hr_to_rr(1.0, rare_outcome=False) == pytest.approx(1.0)


def test_interval_including_one_gives_one():
    out = evalue_hr(1.3, 0.9, 1.8, rare_outcome=True)
    assert out["evalue"].iloc[1] == 1.0
    assert evalue_rr(1.0) == 1.0


def test_validation():
    with pytest.raises(TypeError, match="rare_outcome"):
        evalue_hr(1.5, 1.1, 2.0, rare_outcome=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lower <= hr <= upper"):
        evalue_hr(1.5, 1.6, 2.0, rare_outcome=True)
    with pytest.raises(ValueError, match="positive"):
        evalue_rr(-1.0)
