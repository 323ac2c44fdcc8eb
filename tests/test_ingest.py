"""Ingestion details: number and date parsing, pseudonymous keys, shared columns, units."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from her2cohort.data.ingest import _parse_dates, _parse_numbers, harmonize, pseudonym


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=-10000, max_value=10000, places=3, allow_nan=False),
       st.sampled_from([".", ","]))
def test_numbers_round_trip_with_either_decimal_mark(x, mark):
    text = format(x, "f").replace(".", mark)
    num, bad = _parse_numbers(pd.Series([text], dtype="string"), mark)
    assert not bad.iloc[0]
    assert num.iloc[0] == float(x)


def test_numbers_with_the_other_mark_or_text_are_errors():
    s = pd.Series(["1,5", "1.5", "1 000", "about 3", None, "7"], dtype="string")
    num, bad = _parse_numbers(s, ",")
    assert bad.tolist() == [False, True, True, True, False, False]
    assert num.iloc[0] == 1.5 and num.iloc[5] == 7.0 and pd.isna(num.iloc[4])


def test_dates_formats_and_excel_serials():
    s = pd.Series(["31/12/2019", "2019-12-31", "43830", "29/02/2019"], dtype="string")
    d, bad = _parse_dates(s, "%d/%m/%Y")
    assert bad.tolist() == [False, True, True, True]  # 2019 has no 29 February
    assert d.iloc[0] == pd.Timestamp("2019-12-31")
    d, bad = _parse_dates(s, "excel_serial")
    assert d.iloc[2] == pd.Timestamp("2019-12-31")  # Excel day 43830
    assert bad.tolist() == [True, True, False, True]


def test_pseudonym_is_stable_salted_and_not_the_id():
    a = pseudonym("JS1-000123", "salt-one")
    assert a == pseudonym(" JS1-000123 ", "salt-one")
    assert a != pseudonym("JS1-000123", "salt-two")
    assert a.startswith("P") and len(a) == 13 and "000123" not in a


def test_harmonize_shared_column_units_and_missing_markers():
    """One column feeds two fields (HER2 '2+ FISH+'), cm become mm, 'NA' is missing."""
    from her2cohort.data.fields import FIELDS

    cols = {f.name: f.name for f in FIELDS if f.required}
    cols["tumour_size_mm"] = "tumour_size_mm"
    cols["her2_ihc"] = "HER2"
    cols["ish_result"] = "HER2"
    raw = pd.DataFrame({c: ["NA", "NA"] for c in set(cols.values())})
    raw["patient_id"] = ["a", "b"]
    raw["HER2"] = ["2+ FISH+", "3+"]
    raw["tumour_size_mm"] = ["2.5", "0.7"]
    raw["_row"] = [2, 3]
    mapping = {"file": "x.csv", "centre": "X", "columns": cols, "missing": ["NA"],
               "units": {"tumour_size_mm": "cm"}, "_path": "x.yaml",
               "values": {"her2_ihc": {"2+ FISH+": "2+"},
                          "ish_result": {"2+ FISH+": "positive", "3+": None}}}
    out, problems = harmonize(raw, mapping, salt="s")
    assert [p.rule for p in problems] == []
    assert out["her2_ihc"].tolist() == ["2+", "3+"]
    assert out["ish_result"].tolist() == ["positive", pd.NA]
    assert out["tumour_size_mm"].tolist() == [25.0, 7.0]
    assert out["ct"].isna().all() and out["source_row"].tolist() == [2, 3]
