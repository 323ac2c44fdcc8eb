"""Tests for her2cohort.study.her2 (ASCO/CAP 2018 and 2013 HER2 rules)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from her2cohort.study.her2 import (
    GUIDELINES,
    IHC_SCORES,
    classify_her2,
    her2_loss,
    ish_group,
    ish_status,
)

NA = None  # expected-missing marker in the tables below
IHCS = ("0", "1+", "2+", "3+", None)


def _s(values, dtype=object, index=None):
    return pd.Series(list(values), dtype=dtype, index=index)


def _values(series: pd.Series) -> list:
    """Series -> plain list with None for missing (so tables compare exactly)."""
    return [None if pd.isna(v) else v for v in series.tolist()]


def _status1(ihc, ratio, copies, probe=None, guideline="2018"):
    out = ish_status(_s([ihc]), _s([ratio]), _s([copies]), probe=_s([probe]), guideline=guideline)
    return _values(out)[0]


# --------------------------------------------------------------------------------------------
# constants
# --------------------------------------------------------------------------------------------


def test_constants():
    assert IHC_SCORES == ("0", "1+", "2+", "3+")
    assert GUIDELINES == ("2018", "2013")


# --------------------------------------------------------------------------------------------
# ish_group
# --------------------------------------------------------------------------------------------

GROUP_CASES = [
    # ratio, copies, group
    (2.0, 4.0, 1),
    (2.000001, 4.000001, 1),
    (8.5, 20.0, 1),
    (2.0, 3.9, 2),
    (2.0, 3.999999, 2),
    (5.0, 1.0, 2),
    (1.999999, 6.0, 3),
    (1.0, 12.0, 3),
    (1.99, 4.0, 4),
    (1.5, 5.999999, 4),
    (1.999999, 3.999999, 5),
    (1.0, 2.0, 5),
]


@pytest.mark.parametrize(("ratio", "copies", "expected"), GROUP_CASES)
def test_ish_group_table(ratio, copies, expected):
    out = ish_group(_s([ratio], float), _s([copies], float))
    assert str(out.dtype) == "Int8"
    assert out.iloc[0] == expected


def test_ish_group_missing_and_dtype():
    ratio = _s([2.5, None, np.nan, pd.NA, 1.0, 1.0], object)
    copies = _s([None, 5.0, 5.0, 5.0, pd.NA, 7.0], object)
    out = ish_group(ratio, copies)
    assert str(out.dtype) == "Int8"
    assert _values(out) == [None, None, None, None, None, 3]


def test_ish_group_no_rounding():
    # 1.995 would round to 2.0 (2 decimals) -- the raw float is < 2.0, so group 3 not 1.
    out = ish_group(_s([1.995, 1.95], float), _s([6.0, 3.95], float))
    assert _values(out) == [3, 5]


def test_ish_group_keeps_index_and_rejects_misaligned():
    idx = pd.Index(["a", "b"])
    out = ish_group(_s([2.0, 1.0], float, idx), _s([4.0, 1.0], float, idx))
    assert list(out.index) == ["a", "b"]
    with pytest.raises(ValueError, match="index"):
        ish_group(_s([2.0, 1.0], float, idx), _s([4.0, 1.0], float))


# --------------------------------------------------------------------------------------------
# ish_status: exact tables
# --------------------------------------------------------------------------------------------

# group representative (ratio, copies) -> expected 2018 result by IHC, and 2013 result
DUAL_TABLE = {
    1: (
        (2.0, 4.0),
        {"0": "positive", "1+": "positive", "2+": "positive", "3+": "positive", None: "positive"},
        "positive",
    ),
    2: (
        (2.0, 3.9),
        {"0": "negative", "1+": "negative", "2+": "negative", "3+": "positive", None: NA},
        "positive",
    ),
    3: (
        (1.99, 6.0),
        {"0": "negative", "1+": "negative", "2+": "positive", "3+": "positive", None: NA},
        "positive",
    ),
    4: (
        (1.5, 4.0),
        {"0": "negative", "1+": "negative", "2+": "negative", "3+": "positive", None: NA},
        "equivocal",
    ),
    5: (
        (1.999999, 3.999999),
        {"0": "negative", "1+": "negative", "2+": "negative", "3+": "negative", None: "negative"},
        "negative",
    ),
}

DUAL_CASES = [
    (group, ihc, ratio_copies[0], ratio_copies[1], by_ihc[ihc], res2013)
    for group, (ratio_copies, by_ihc, res2013) in DUAL_TABLE.items()
    for ihc in IHCS
]


@pytest.mark.parametrize(("group", "ihc", "ratio", "copies", "exp2018", "exp2013"), DUAL_CASES)
@pytest.mark.parametrize("probe", ["dual", None])
def test_ish_status_dual_table(group, ihc, ratio, copies, exp2018, exp2013, probe):
    assert _values(ish_group(_s([ratio]), _s([copies]))) == [group]
    assert _status1(ihc, ratio, copies, probe, "2018") == exp2018
    assert _status1(ihc, ratio, copies, probe, "2013") == exp2013


def test_group2_ihc2_negative_2018_positive_2013():
    # The example from the brief: IHC 2+, ratio 2.0, copies 3.9 -> group 2.
    df = pd.DataFrame({"her2_ihc": ["2+"], "ish_ratio": [2.0], "her2_copies": [3.9]})
    new = classify_her2(df, guideline="2018").iloc[0]
    old = classify_her2(df, guideline="2013").iloc[0]
    assert new["ish_group"] == 2
    assert new["ish_status"] == "negative" and new["her2_status"] == "negative"
    assert new["her2_class"] == "2+/ISH-" and bool(new["her2_low"]) is True
    assert old["ish_group"] == 2
    assert old["ish_status"] == "positive" and old["her2_status"] == "positive"
    assert old["her2_class"] == "2+/ISH+" and bool(old["her2_low"]) is False


SINGLE_TABLE = [
    # copies, {ihc: 2018}, 2013
    (
        6.0,
        {"0": "positive", "1+": "positive", "2+": "positive", "3+": "positive", None: "positive"},
        "positive",
    ),
    (
        12.0,
        {"0": "positive", "1+": "positive", "2+": "positive", "3+": "positive", None: "positive"},
        "positive",
    ),
    (
        5.999999,
        {"0": "negative", "1+": "negative", "2+": NA, "3+": "positive", None: NA},
        "equivocal",
    ),
    (4.0, {"0": "negative", "1+": "negative", "2+": NA, "3+": "positive", None: NA}, "equivocal"),
    (
        3.999999,
        {"0": "negative", "1+": "negative", "2+": "negative", "3+": "negative", None: "negative"},
        "negative",
    ),
]

SINGLE_CASES = [
    (ihc, copies, by_ihc[ihc], res2013) for copies, by_ihc, res2013 in SINGLE_TABLE for ihc in IHCS
]


@pytest.mark.parametrize(("ihc", "copies", "exp2018", "exp2013"), SINGLE_CASES)
def test_ish_status_single_table(ihc, copies, exp2018, exp2013):
    # explicit single probe: any ratio present is ignored
    assert _status1(ihc, 1.0, copies, "single", "2018") == exp2018
    assert _status1(ihc, 9.0, copies, "single", "2013") == exp2013
    # probe missing and no ratio -> inferred single
    assert _status1(ihc, None, copies, None, "2018") == exp2018
    assert _status1(ihc, None, copies, None, "2013") == exp2013


def test_ish_status_missing_numbers():
    ihc = _s(["2+"] * 6)
    ratio = _s([None, 2.5, None, 1.5, None, 2.5])
    copies = _s([None, None, None, None, 7.0, None])
    probe = _s([None, None, "dual", "dual", "dual", "single"])
    assert _values(ish_status(ihc, ratio, copies, probe, "2018")) == [NA] * 6
    # 2013: ratio >= 2.0 alone, or copies >= 6.0 alone, is enough for positive
    assert _values(ish_status(ihc, ratio, copies, probe, "2013")) == [
        NA,
        "positive",
        NA,
        NA,
        "positive",
        NA,
    ]


def test_ish_status_probe_none_infers_per_row():
    ihc = _s(["2+", "2+", "2+"])
    ratio = _s([2.5, None, None])
    copies = _s([4.5, 5.0, 3.0])
    assert _values(ish_status(ihc, ratio, copies)) == ["positive", NA, "negative"]
    assert _values(ish_status(ihc, ratio, copies, probe="single")) == [NA, NA, "negative"]


def test_ish_status_string_dtype_inputs_and_output():
    ihc = _s(["3+", None, "2+"], "string")
    ratio = pd.Series([1.5, 1.5, 2.2], dtype="Float64")
    copies = pd.Series([5.0, 5.0, pd.NA], dtype="Float64")
    out = ish_status(ihc, ratio, copies, probe=_s([pd.NA, np.nan, None], "string"))
    assert str(out.dtype) == "string"
    assert _values(out) == ["positive", NA, NA]


@pytest.mark.parametrize("bad", ["2019", "2023", 2018, None, "ASCO"])
def test_bad_guideline_raises(bad):
    with pytest.raises(ValueError, match="2018"):
        ish_status(_s(["2+"]), _s([2.0]), _s([4.0]), guideline=bad)
    df = pd.DataFrame({"her2_ihc": ["2+"]})
    with pytest.raises(ValueError, match="2013"):
        classify_her2(df, guideline=bad)


def test_bad_vocabulary_raises():
    with pytest.raises(ValueError, match="ihc"):
        ish_status(_s(["2"]), _s([2.0]), _s([4.0]))
    with pytest.raises(ValueError, match="probe"):
        ish_status(_s(["2+"]), _s([2.0]), _s([4.0]), probe=_s(["FISH"]))
    with pytest.raises(ValueError, match="numeric"):
        ish_status(_s(["2+"]), _s(["high"]), _s([4.0]))


# --------------------------------------------------------------------------------------------
# classify_her2
# --------------------------------------------------------------------------------------------

EXPECTED_COLUMNS = [
    "ish_group",
    "ish_status_computed",
    "ish_status_reported",
    "ish_discordant",
    "ish_status",
    "her2_status",
    "her2_class",
    "her2_low",
    "her2_ultralow",
]


def test_classify_columns_dtypes_index_and_no_mutation():
    df = pd.DataFrame(
        {
            "her2_ihc": ["3+", "2+", "1+", "0", None],
            "ish_ratio": [None, 2.3, None, None, None],
            "her2_copies": [None, 5.1, None, None, None],
        },
        index=pd.Index([10, 20, 30, 40, 50], name="patient"),
    )
    before = df.copy()
    out = classify_her2(df)
    pd.testing.assert_frame_equal(df, before)
    assert out is not df
    assert list(out.columns) == EXPECTED_COLUMNS
    assert out.index.equals(df.index)
    assert str(out["ish_group"].dtype) == "Int8"
    assert out["ish_discordant"].dtype == bool
    assert str(out["her2_low"].dtype) == "boolean"
    assert str(out["her2_ultralow"].dtype) == "boolean"
    for col in ("ish_status_computed", "ish_status", "her2_status", "her2_class"):
        assert str(out[col].dtype) == "string"
    assert _values(out["her2_status"]) == [
        "positive",
        "positive",
        "negative",
        "negative",
        "unknown",
    ]
    assert _values(out["her2_class"]) == ["3+", "2+/ISH+", "1+", "0", "unknown"]
    assert _values(out["her2_low"]) == [False, False, True, False, None]
    # no subtype column -> IHC 0 ultralow unknown
    assert _values(out["her2_ultralow"]) == [False, False, False, None, None]
    assert _values(out["ish_group"]) == [None, 1, None, None, None]


# (ihc, ish_status) -> her2_status, her2_class, her2_low
STATUS_TABLE = {
    ("3+", "positive"): ("positive", "3+", False),
    ("3+", "negative"): ("positive", "3+", False),
    ("3+", None): ("positive", "3+", False),
    ("2+", "positive"): ("positive", "2+/ISH+", False),
    ("2+", "negative"): ("negative", "2+/ISH-", True),
    ("2+", "equivocal"): ("unknown", "2+/ISH unknown", None),
    ("2+", None): ("unknown", "2+/ISH unknown", None),
    ("1+", "positive"): ("positive", "1+/ISH+", False),  # ISH group 1 whatever the IHC
    ("1+", None): ("negative", "1+", True),
    ("0", "negative"): ("negative", "0", False),
    ("0", None): ("negative", "0", False),
    (None, "positive"): ("unknown", "unknown", None),
    (None, None): ("unknown", "unknown", None),
}


@pytest.mark.parametrize(("key", "expected"), list(STATUS_TABLE.items()))
def test_classify_status_from_reported_only(key, expected):
    ihc, reported = key
    df = pd.DataFrame({"her2_ihc": [ihc], "ish_result": [reported]}, dtype=object)
    row = classify_her2(df).iloc[0]
    assert row["her2_status"] == expected[0]
    assert row["her2_class"] == expected[1]
    assert (None if pd.isna(row["her2_low"]) else bool(row["her2_low"])) == expected[2]
    assert pd.isna(row["ish_status_computed"])
    assert pd.isna(row["ish_group"])
    assert bool(row["ish_discordant"]) is False
    assert (None if pd.isna(row["ish_status"]) else row["ish_status"]) == reported


def test_classify_ihc_by_group_2018():
    ihc = [s for s in IHCS for _ in DUAL_TABLE]
    rc = [DUAL_TABLE[g][0] for _ in IHCS for g in DUAL_TABLE]
    df = pd.DataFrame(
        {"her2_ihc": ihc, "ish_ratio": [r for r, _ in rc], "her2_copies": [c for _, c in rc]}
    )
    out = classify_her2(df)
    exp_status = []
    for score, g in zip(ihc, [g for _ in IHCS for g in DUAL_TABLE], strict=True):
        ish = DUAL_TABLE[g][1][score]
        if score == "3+" or (score is not None and ish == "positive"):  # any known IHC score
            exp_status.append("positive")
        elif score in ("0", "1+") or (score == "2+" and ish == "negative"):
            exp_status.append("negative")
        else:
            exp_status.append("unknown")
    assert _values(out["her2_status"]) == exp_status
    assert _values(out["ish_group"]) == [1, 2, 3, 4, 5] * len(IHCS)
    # 2+ rows specifically
    two = out[df["her2_ihc"] == "2+"]
    assert _values(two["her2_class"]) == ["2+/ISH+", "2+/ISH-", "2+/ISH+", "2+/ISH-", "2+/ISH-"]


def test_discordance_recompute_vs_reported():
    # Group 2 with IHC 2+: reported positive by a centre applying the 2013 rule.
    df = pd.DataFrame(
        {
            "her2_ihc": ["2+", "2+", "2+", "3+"],
            "ish_ratio": [2.0, 2.5, None, 1.2],
            "her2_copies": [3.9, 5.0, 5.0, 2.0],
            "ish_result": ["positive", "positive", "positive", "negative"],
        }
    )
    rec = classify_her2(df, discordance="recompute")
    assert _values(rec["ish_status_computed"]) == ["negative", "positive", NA, "negative"]
    assert _values(rec["ish_status_reported"]) == ["positive", "positive", "positive", "negative"]
    assert rec["ish_discordant"].tolist() == [True, False, False, False]
    # row 2 is single-probe 4-6 copies with IHC 2+ -> not computable -> falls back to reported
    assert _values(rec["ish_status"]) == ["negative", "positive", "positive", "negative"]
    assert _values(rec["her2_class"]) == ["2+/ISH-", "2+/ISH+", "2+/ISH+", "3+"]
    assert _values(rec["her2_low"]) == [True, False, False, False]
    assert _values(rec["ish_group"]) == [2, 1, NA, 5]

    rep = classify_her2(df, discordance="reported")
    assert rep["ish_discordant"].tolist() == [True, False, False, False]
    assert _values(rep["ish_status"]) == ["positive", "positive", "positive", "negative"]
    assert _values(rep["her2_class"]) == ["2+/ISH+", "2+/ISH+", "2+/ISH+", "3+"]
    assert _values(rep["her2_status"]) == ["positive"] * 4

    # under 2013 the recomputed group-2 call agrees with the centre; the single-probe
    # 5.0-copy row is equivocal under 2013, which differs from the reported "positive"
    old = classify_her2(df, guideline="2013")
    assert old["ish_discordant"].tolist() == [False, False, True, False]
    assert _values(old["ish_status_computed"]) == ["positive", "positive", "equivocal", "negative"]


def test_discordance_reported_falls_back_to_computed_and_equivocal():
    df = pd.DataFrame(
        {
            "her2_ihc": ["2+", "2+", "2+"],
            "ish_ratio": [1.5, 2.5, None],
            "her2_copies": [6.5, 4.5, None],
            "ish_result": [None, "equivocal", "equivocal"],
        }
    )
    rep = classify_her2(df, discordance="reported")
    assert _values(rep["ish_status"]) == ["positive", "equivocal", "equivocal"]
    assert _values(rep["her2_class"]) == ["2+/ISH+", "2+/ISH unknown", "2+/ISH unknown"]
    assert _values(rep["her2_status"]) == ["positive", "unknown", "unknown"]
    assert _values(rep["her2_low"]) == [False, None, None]
    assert rep["ish_discordant"].tolist() == [False, True, False]
    rec = classify_her2(df, discordance="recompute")
    assert _values(rec["ish_status"]) == ["positive", "positive", "equivocal"]


@pytest.mark.parametrize("bad", ["computed", "", None, "RECOMPUTE"])
def test_bad_discordance_raises(bad):
    df = pd.DataFrame({"her2_ihc": ["2+"]})
    with pytest.raises(ValueError, match="recompute"):
        classify_her2(df, discordance=bad)


def test_classify_requires_ihc_column_only():
    with pytest.raises(KeyError):
        classify_her2(pd.DataFrame({"ish_ratio": [2.0]}))
    out = classify_her2(pd.DataFrame({"score": ["2+", "0"]}), ihc="score")
    assert _values(out["her2_class"]) == ["2+/ISH unknown", "0"]
    assert _values(out["ish_status"]) == [NA, NA]
    assert out["ish_discordant"].tolist() == [False, False]


def test_classify_custom_column_names_and_probe():
    df = pd.DataFrame(
        {
            "ihc_dx": ["2+", "2+", "3+"],
            "r": [2.4, 2.4, 1.0],
            "cn": [7.0, 7.0, 5.0],
            "p": ["dual", "single", "single"],
        }
    )
    out = classify_her2(df, ihc="ihc_dx", ratio="r", copies="cn", probe="p")
    assert _values(out["ish_group"]) == [1, NA, NA]
    assert _values(out["ish_status"]) == ["positive", "positive", "positive"]


@pytest.mark.parametrize("missing", [None, np.nan, pd.NA])
def test_classify_missing_value_spellings(missing):
    df = pd.DataFrame(
        {
            "her2_ihc": pd.Series([missing, "2+", "0"], dtype=object),
            "ish_ratio": pd.Series([2.5, missing, missing], dtype=object),
            "her2_copies": pd.Series([5.0, missing, missing], dtype=object),
            "ish_result": pd.Series([missing, missing, missing], dtype=object),
            "her2_ihc0_subtype": pd.Series([missing, missing, missing], dtype=object),
        }
    )
    out = classify_her2(df)
    assert _values(out["her2_status"]) == ["unknown", "unknown", "negative"]
    assert _values(out["her2_class"]) == ["unknown", "2+/ISH unknown", "0"]
    assert _values(out["ish_status"]) == ["positive", NA, NA]
    assert _values(out["her2_low"]) == [None, None, False]
    assert _values(out["her2_ultralow"]) == [None, False, None]


def test_classify_string_dtype_columns():
    df = pd.DataFrame(
        {
            "her2_ihc": pd.array(["2+", "0", "0", "0", "1+", None], dtype="string"),
            "ish_ratio": pd.array([1.8, None, None, None, None, None], dtype="Float64"),
            "her2_copies": pd.array([6.2, None, None, None, None, None], dtype="Float64"),
            "ish_probe": pd.array(["dual", None, None, None, None, None], dtype="string"),
            "ish_result": pd.array(["positive", None, None, None, None, None], dtype="string"),
            "her2_ihc0_subtype": pd.array(
                [None, "ultralow", "null", None, "ultralow", "ultralow"], dtype="string"
            ),
        }
    )
    out = classify_her2(df)
    assert _values(out["ish_group"]) == [3, NA, NA, NA, NA, NA]
    assert _values(out["her2_class"]) == ["2+/ISH+", "0", "0", "0", "1+", "unknown"]
    assert _values(out["her2_ultralow"]) == [False, True, False, None, False, None]
    assert _values(out["her2_low"]) == [False, False, False, False, True, None]


def test_classify_bad_vocabulary_raises():
    with pytest.raises(ValueError, match="ish_result"):
        classify_her2(pd.DataFrame({"her2_ihc": ["2+"], "ish_result": ["amplified"]}))
    with pytest.raises(ValueError, match="her2_ihc0_subtype"):
        classify_her2(pd.DataFrame({"her2_ihc": ["0"], "her2_ihc0_subtype": ["faint"]}))
    with pytest.raises(ValueError, match="her2_ihc"):
        classify_her2(pd.DataFrame({"her2_ihc": ["4+"]}))


def test_classify_empty_frame():
    out = classify_her2(pd.DataFrame({"her2_ihc": pd.Series([], dtype=object)}))
    assert list(out.columns) == EXPECTED_COLUMNS
    assert len(out) == 0


# --------------------------------------------------------------------------------------------
# her2_loss
# --------------------------------------------------------------------------------------------

LOSS_EXPECTED = {
    "0": {"positive": True, "negative": True, "equivocal": True, None: True},
    "1+": {"positive": True, "negative": True, "equivocal": True, None: True},
    "2+": {"positive": False, "negative": True, "equivocal": None, None: None},
    "3+": {"positive": False, "negative": False, "equivocal": False, None: False},
    None: {"positive": None, "negative": None, "equivocal": None, None: None},
}


def test_her2_loss_truth_table():
    pairs = list(itertools.product(IHCS, ("positive", "negative", "equivocal", None)))
    idx = pd.RangeIndex(100, 100 + len(pairs))
    out = her2_loss(_s([p[0] for p in pairs], index=idx), _s([p[1] for p in pairs], index=idx))
    assert str(out.dtype) == "boolean"
    assert out.index.equals(idx)
    assert _values(out) == [LOSS_EXPECTED[ihc][ish] for ihc, ish in pairs]


def test_her2_loss_missing_spellings_and_string_dtype():
    out = her2_loss(
        _s(["2+", "2+", "2+", "1+"], "string"), _s([pd.NA, np.nan, None, "negative"], object)
    )
    assert _values(out) == [None, None, None, True]


def test_her2_loss_bad_values():
    with pytest.raises(ValueError):
        her2_loss(_s(["2+"]), _s(["amplified"]))


# --------------------------------------------------------------------------------------------
# property-based tests over the threshold boundaries
# --------------------------------------------------------------------------------------------

RATIOS = st.sampled_from([1.99, 1.999999, 2.0, 2.000001, 2.01]) | st.floats(
    0.1, 20, allow_nan=False
)
COPIES = st.sampled_from(
    [3.99, 3.999999, 4.0, 4.000001, 4.01, 5.99, 5.999999, 6.0, 6.000001, 6.01]
) | st.floats(0.1, 30, allow_nan=False)
IHC = st.sampled_from(IHCS)
ROWS = st.lists(st.tuples(IHC, RATIOS, COPIES), min_size=1, max_size=40)
RANK = {"negative": 0, None: 1, "equivocal": 1, "positive": 2}


def _frame(rows):
    ihc, ratio, copies = zip(*rows, strict=True)
    return _s(ihc), _s(ratio, float), _s(copies, float)


def _reference_2018_dual(ihc, ratio, copies):
    """Scalar restatement of the 2018 dual-probe table, used as an oracle."""
    if ratio >= 2.0:
        if copies >= 4.0:
            return "positive"
        return None if ihc is None else ("positive" if ihc == "3+" else "negative")
    if copies >= 6.0:
        return None if ihc is None else ("positive" if ihc in ("2+", "3+") else "negative")
    if copies >= 4.0:
        return None if ihc is None else ("positive" if ihc == "3+" else "negative")
    return "negative"


def _reference_2013_dual(ratio, copies):
    if ratio >= 2.0 or copies >= 6.0:
        return "positive"
    return "negative" if copies < 4.0 else "equivocal"


@settings(max_examples=300, deadline=None)
@given(ROWS)
def test_prop_group_partitions_plane(rows):
    _, ratio, copies = _frame(rows)
    groups = _values(ish_group(ratio, copies))
    for (_, r, c), g in zip(rows, groups, strict=True):
        memberships = [
            r >= 2.0 and c >= 4.0,
            r >= 2.0 and c < 4.0,
            r < 2.0 and c >= 6.0,
            r < 2.0 and 4.0 <= c < 6.0,
            r < 2.0 and c < 4.0,
        ]
        assert sum(memberships) == 1
        assert g == memberships.index(True) + 1


@settings(max_examples=300, deadline=None)
@given(ROWS)
def test_prop_status_matches_reference(rows):
    ihc, ratio, copies = _frame(rows)
    new = _values(ish_status(ihc, ratio, copies, guideline="2018"))
    old = _values(ish_status(ihc, ratio, copies, guideline="2013"))
    for (i, r, c), n, o in zip(rows, new, old, strict=True):
        assert n == _reference_2018_dual(i, r, c)
        assert o == _reference_2013_dual(r, c)


@settings(max_examples=300, deadline=None)
@given(ROWS, st.sampled_from(GUIDELINES))
def test_prop_amplified_always_positive(rows, guideline):
    ihc, ratio, copies = _frame(rows)
    out = _values(ish_status(ihc, ratio, copies, guideline=guideline))
    for (_, r, c), res in zip(rows, out, strict=True):
        if r >= 2.0 and c >= 4.0:
            assert res == "positive"


@settings(max_examples=300, deadline=None)
@given(
    ROWS,
    st.sampled_from(GUIDELINES),
    st.sampled_from(["recompute", "reported"]),
    st.lists(
        st.sampled_from(["positive", "negative", "equivocal", None]), min_size=40, max_size=40
    ),
)
def test_prop_ihc_3_positive_and_0_1_negative_unless_ish_positive(rows, guideline, policy, reported):
    ihc, ratio, copies = _frame(rows)
    df = pd.DataFrame(
        {
            "her2_ihc": ihc,
            "ish_ratio": ratio,
            "her2_copies": copies,
            "ish_result": _s(reported[: len(rows)]),
        }
    )
    out = classify_her2(df, guideline=guideline, discordance=policy)
    for (i, _, _), status, klass, low, ish in zip(
        rows,
        _values(out["her2_status"]),
        _values(out["her2_class"]),
        _values(out["her2_low"]),
        _values(out["ish_status"]),
        strict=True,
    ):
        if i == "3+":
            assert (status, klass, low) == ("positive", "3+", False)
        elif i in ("0", "1+") and ish == "positive":
            # ISH group 1 is positive at any IHC score (ASCO/CAP 2018)
            assert (status, klass, low) == ("positive", f"{i}/ISH+", False)
        elif i in ("0", "1+"):
            assert status == "negative" and klass == i
            assert low is (i == "1+")
        elif i is None:
            assert (status, klass, low) == ("unknown", "unknown", None)
        else:
            assert klass.startswith("2+/")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(RATIOS, COPIES), min_size=1, max_size=40))
def test_prop_2013_positive_superset_of_2018_for_ihc2_dual(pairs):
    ratio = _s([p[0] for p in pairs], float)
    copies = _s([p[1] for p in pairs], float)
    ihc = _s(["2+"] * len(pairs))
    new = _values(ish_status(ihc, ratio, copies, probe="dual", guideline="2018"))
    old = _values(ish_status(ihc, ratio, copies, probe="dual", guideline="2013"))
    for n, o in zip(new, old, strict=True):
        if n == "positive":
            assert o == "positive"


@settings(max_examples=300, deadline=None)
@given(
    IHC,
    RATIOS,
    st.lists(COPIES, min_size=2, max_size=20),
    st.sampled_from(GUIDELINES),
    st.sampled_from(["dual", "single"]),
)
def test_prop_monotone_in_copies(ihc, ratio, copies, guideline, probe):
    copies = sorted(copies)
    n = len(copies)
    out = _values(
        ish_status(
            _s([ihc] * n),
            _s([ratio] * n, float),
            _s(copies, float),
            probe=probe,
            guideline=guideline,
        )
    )
    for lo, hi in itertools.pairwise(out):
        # raising copies never turns positive into anything else, never goes back down
        if lo == "positive":
            assert hi == "positive"
        assert RANK[hi] >= RANK[lo]


@settings(max_examples=300, deadline=None)
@given(IHC, COPIES, st.lists(RATIOS, min_size=2, max_size=20), st.sampled_from(GUIDELINES))
def test_prop_monotone_in_ratio(ihc, copies, ratios, guideline):
    ratios = sorted(ratios)
    n = len(ratios)
    out = _values(
        ish_status(
            _s([ihc] * n),
            _s(ratios, float),
            _s([copies] * n, float),
            probe="dual",
            guideline=guideline,
        )
    )
    for lo, hi in itertools.pairwise(out):
        assert RANK[hi] >= RANK[lo]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(IHC, COPIES), min_size=1, max_size=40), st.sampled_from(GUIDELINES))
def test_prop_single_probe_ignores_ratio(rows, guideline):
    ihc = _s([r[0] for r in rows])
    copies = _s([r[1] for r in rows], float)
    no_ratio = ish_status(ihc, _s([None] * len(rows)), copies, guideline=guideline)
    with_ratio = ish_status(
        ihc, _s([9.9] * len(rows), float), copies, probe="single", guideline=guideline
    )
    assert _values(no_ratio) == _values(with_ratio)
