"""Tests for her2cohort.render.format: exact strings, including edge cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from her2cohort.render.format import (
    EM_DASH,
    EN_DASH,
    footnote_mark,
    format_ci,
    format_estimate,
    format_int,
    format_n_pct,
    format_number,
    format_p,
    format_pct,
    label_for,
    plain_text,
    round_half_away,
    split_superscripts,
    split_term,
    sup,
)


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        (4.14648e-09, "<0.001"),
        (0.0, "<0.001"),
        (0.000999, "<0.001"),
        (0.001, "0.001"),  # exactly 0.001 is not "<0.001" (gtsummary: x >= 0.001)
        (0.0200649, "0.020"),
        (0.05, "0.050"),
        (0.0949, "0.095"),  # 3 decimals below 0.1 unless it rounds to 0.10 at 2 decimals
        (0.095, "0.10"),  # round2(x, 2) = 0.10 >= 0.1 -> 2 decimals
        (0.32, "0.32"),
        (0.125, "0.13"),  # half away from zero, as gtsummary round2
        (0.474546, "0.47"),
        (0.99, "0.99"),
        (0.995, ">0.99"),
        (1.0, ">0.99"),
        (1 + 1e-16, ">0.99"),
    ],
)
def test_format_p_gtsummary_digits2(p, expected):
    assert format_p(p) == expected


def test_format_p_other_digits_prefix_and_na():
    assert format_p(0.32, digits=1) == "0.3"
    assert format_p(0.14, digits=1) == "0.14"
    assert format_p(0.15, digits=1) == "0.2"  # round2(0.15, 1) = 0.2 >= 0.2
    assert format_p(0.95, digits=1) == ">0.9"
    assert format_p(0.0412, digits=1) == "0.041"
    assert format_p(0.00005, digits=3) == "<0.0001"
    assert format_p(0.32, digits=3) == "0.320"
    assert format_p(0.9995, digits=3) == ">0.999"
    assert format_p(4e-9, prefix=True) == "p < 0.001"
    assert format_p(0.32, prefix=True) == "p = 0.32"
    assert format_p(1.0, prefix=True) == "p > 0.99"
    assert format_p(float("nan")) == ""
    assert format_p(None) == ""
    assert format_p(pd.NA) == ""
    assert format_p(np.nan, na=EM_DASH) == EM_DASH
    with pytest.raises(ValueError, match="outside"):
        format_p(1.2)
    with pytest.raises(ValueError, match="outside"):
        format_p(-0.01)
    with pytest.raises(ValueError, match="digits"):
        format_p(0.5, digits=4)


def test_format_number_never_scientific_and_no_negative_zero():
    assert format_number(5.55112e-15, 1) == "0.0"
    assert format_number(-5.55112e-15, 2) == "0.00"
    assert format_number(-0.0, 1) == "0.0"
    assert format_number(-0.04, 1) == "0.0"
    assert format_number(-0.05, 1) == "-0.1"  # half away from zero
    assert format_number(2.675, 2) == "2.68"  # binary 2.67499.. rounds up as gtsummary
    assert format_number(1e-20, 3) == "0.000"
    assert format_number(123456789.0, 0) == "123,456,789"
    assert format_number(9999.94, 1) == "9999.9"
    assert format_number(12345.67, 1) == "12,345.7"
    assert format_number(-12345.67, 1) == "-12,345.7"
    assert format_number(1.5e22, 0) == "15,000,000,000,000,000,000,000"
    assert format_number(float("nan")) == EM_DASH
    assert format_number(None, na="") == ""
    assert format_number(float("inf")) == "Inf"
    assert format_number(-math.inf) == "-Inf"
    assert round_half_away(0.125, 2) == 0.13
    assert round_half_away(-0.125, 2) == -0.13


def test_format_int_thousands_rule():
    assert format_int(0) == "0"
    assert format_int(575) == "575"
    assert format_int(9999) == "9999"
    assert format_int(10000) == "10,000"
    assert format_int(30000.0) == "30,000"
    assert format_int(np.int64(1234567)) == "1,234,567"
    assert format_int(-12000) == "-12,000"
    assert format_int(np.nan) == EM_DASH
    assert format_int(pd.NA, na="") == ""
    with pytest.raises(ValueError, match="integer"):
        format_int(2.5)


def test_format_pct_and_n_pct():
    assert format_pct(46.0699) == "46.1"
    assert format_pct(100.0) == "100.0"
    assert format_pct(16.25, 1) == "16.3"
    assert format_n_pct(211, 46.0699) == "211 (46.1%)"
    assert format_n_pct(12000, 20.0) == "12,000 (20.0%)"
    assert format_n_pct(0, float("nan")) == f"0 ({EM_DASH})"
    assert format_n_pct(np.nan, 5.0) == EM_DASH


def test_format_estimate_and_ci():
    assert format_estimate(0.42, 0.25, 0.70) == f"0.42 (0.25{EN_DASH}0.70)"
    assert format_estimate(1.18078, 0.748181, 1.8635) == f"1.18 (0.75{EN_DASH}1.86)"
    assert format_estimate(46.0699, 41.5565, 50.6486, 1) == f"46.1 (41.6{EN_DASH}50.6)"
    # a bound that is numerically zero is "0.0", not 5.55e-15
    assert format_estimate(3.2, 5.55112e-15, 9.1, 1) == f"3.2 (0.0{EN_DASH}9.1)"
    assert format_estimate(-0.1437, -0.61, 0.32) == "-0.14 (-0.61 to 0.32)"
    assert format_estimate(0.2, -0.001, 0.5) == f"0.20 (0.00{EN_DASH}0.50)"  # "-0.00" -> "0.00"
    assert format_estimate(np.nan, 0.1, 0.2) == EM_DASH
    assert format_estimate(0.5, np.nan, np.nan) == f"0.50 ({EM_DASH})"
    assert format_ci(0.1, 0.2, 1) == f"0.1{EN_DASH}0.2"
    assert format_ci(None, 0.2) == EM_DASH


def test_labels_terms_and_superscripts():
    labels = {"pre": "Premenopausal", "1": "Grade 1", "pcr_int": "pCR"}
    assert label_for("pre", labels) == "Premenopausal"
    assert label_for(1, labels) == "Grade 1"
    assert label_for("post", labels) == "post"
    assert label_for("x", None) == "x"
    assert split_term("group[IHC 2+/ISH+]") == ("group", "IHC 2+/ISH+")
    assert split_term("group[T.dual]") == ("group", "dual")
    assert split_term("pcr_int") == ("pcr_int", None)
    s = "0.32" + sup("a")
    assert split_superscripts(s) == [("0.32", False), ("a", True)]
    assert plain_text(s) == "0.32^a"
    assert plain_text(s, marker="") == "0.32a"
    assert sup("") == ""
    assert [footnote_mark(i) for i in (0, 1, 25, 26, 27)] == ["a", "b", "z", "aa", "ab"]
