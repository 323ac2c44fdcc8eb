"""HER2 status with the IHC score missing: every combination against the guideline text
(/work/shared/STUDY.md section 2; ASCO/CAP 2018, Wolff et al. J Clin Oncol 2018;36:2105, and
ASCO/CAP 2013, J Clin Oncol 2013;31:3997).

The expectations below are written from the guideline, not from the code:

- 2018 dual probe: group 1 positive and group 5 negative whatever the IHC score; groups 2-4
  depend on the IHC score, so without it the status is unknown ("ISH group N needs the IHC
  score").
- 2013 dual probe: positive when ratio >= 2.0 OR copies >= 6.0; negative when ratio < 2.0 and
  copies < 4.0; ratio < 2.0 with 4.0-6.0 copies is equivocal (unknown without IHC).
- single probe (both guidelines): copies >= 6.0 positive, < 4.0 negative, 4.0-6.0 needs IHC.
- A positive ISH result reported by the centre is HER2-positive whatever the IHC score, used
  where the numbers do not settle it (discordance policy ``recompute``: the numbers first);
  a reported negative ISH does not settle a case the numbers leave open (IHC 3+ would be
  positive). A final status recorded by the centre is used where nothing else settles it.
"""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from her2cohort.study.derive import settle_her2
from her2cohort.study.her2 import classify_her2

# (ratio, copies) of one case per dual-probe group; group 1 twice (copies 4-6 and >= 6)
POINTS = {
    "g1_4to6": (2.5, 4.5),
    "g1_ge6": (2.5, 6.5),
    "g2": (2.5, 3.0),
    "g3": (1.5, 6.5),
    "g4": (1.5, 5.0),
    "g5": (1.5, 3.0),
}
GROUP_OF = {"g1_4to6": 1, "g1_ge6": 1, "g2": 2, "g3": 3, "g4": 4, "g5": 5}

NEEDS = "needs the IHC score"
SINGLE_MID = "single-probe ISH with 4.0-6.0 HER2 copies needs the IHC score"
EQUIVOCAL_2013 = ("ISH equivocal under ASCO/CAP 2013 (ratio < 2.0, 4.0-6.0 copies) needs the "
                  "IHC score")

# What the ISH numbers alone settle: (guideline, probe, point) -> (status or None, reason)
ISH_ALONE = {
    ("2018", "dual", "g1_4to6"): ("positive", None),
    ("2018", "dual", "g1_ge6"): ("positive", None),
    ("2018", "dual", "g2"): (None, f"ISH group 2 {NEEDS}"),
    ("2018", "dual", "g3"): (None, f"ISH group 3 {NEEDS}"),
    ("2018", "dual", "g4"): (None, f"ISH group 4 {NEEDS}"),
    ("2018", "dual", "g5"): ("negative", None),
    ("2013", "dual", "g1_4to6"): ("positive", None),
    ("2013", "dual", "g1_ge6"): ("positive", None),
    ("2013", "dual", "g2"): ("positive", None),  # ratio >= 2.0
    ("2013", "dual", "g3"): ("positive", None),  # copies >= 6.0
    ("2013", "dual", "g4"): (None, EQUIVOCAL_2013),
    ("2013", "dual", "g5"): ("negative", None),
}
for _g in ("2018", "2013"):  # single probe: copies only, the same in both guidelines
    ISH_ALONE.update({
        (_g, "single", "g1_4to6"): (None, SINGLE_MID),  # 4.5 copies
        (_g, "single", "g1_ge6"): ("positive", None),  # 6.5
        (_g, "single", "g2"): ("negative", None),  # 3.0
        (_g, "single", "g3"): ("positive", None),  # 6.5
        (_g, "single", "g4"): (None, SINGLE_MID),  # 5.0
        (_g, "single", "g5"): ("negative", None),  # 3.0
    })

RECORDED = (None, "positive", "negative")
CASES = list(itertools.product(("2018", "2013"), ("dual", "single"), POINTS, RECORDED,
                               RECORDED))


def expected(guideline, probe, point, ish_result, her2_status):
    status, reason = ISH_ALONE[(guideline, probe, point)]
    if status is None and ish_result == "positive":
        status = "positive"
    if status is None and her2_status is not None:
        status = her2_status
    if status is None:
        return "unknown", reason
    return status, "IHC score not recorded"


def _run(rows: pd.DataFrame, guideline: str, discordance: str = "recompute") -> pd.DataFrame:
    her2 = classify_her2(rows, guideline=guideline, discordance=discordance)
    return settle_her2(her2, rows["her2_ihc"], rows["her2_status"], copies=rows["her2_copies"],
                       guideline=guideline)


def _frame(cases) -> pd.DataFrame:
    return pd.DataFrame({
        "her2_ihc": pd.Series([None] * len(cases), dtype="string"),
        "ish_probe": [c[1] for c in cases],
        "ish_ratio": [POINTS[c[2]][0] for c in cases],
        "her2_copies": [POINTS[c[2]][1] for c in cases],
        "ish_result": pd.Series([c[3] for c in cases], dtype="string"),
        "her2_status": pd.Series([c[4] for c in cases], dtype="string"),
    })


def test_every_ihc_missing_combination_follows_the_guideline():
    assert len(CASES) == 2 * 2 * 6 * 3 * 3  # every combination, none left out
    wrong = []
    for guideline in ("2018", "2013"):
        cases = [c for c in CASES if c[0] == guideline]
        out = _run(_frame(cases), guideline)
        for (g, probe, point, rep, rec), st, why, cls in zip(
                cases, out["her2_status"], out["her2_class_reason"], out["her2_class"]):
            exp = expected(g, probe, point, rep, rec)
            if (st, why) != exp or cls != "unknown":
                wrong.append(((g, probe, point, rep, rec), (st, why, cls), exp))
    assert not wrong, f"{len(wrong)} case(s) differ from the guideline: {wrong[:5]}"


@pytest.mark.parametrize("guideline", ["2018", "2013"])
def test_ish_group_of_dual_cases(guideline):
    cases = [(guideline, "dual", p, None, None) for p in POINTS]
    out = classify_her2(_frame(cases), guideline=guideline)
    assert out["ish_group"].tolist() == [GROUP_OF[p] for p in POINTS]


def test_reported_policy_reported_positive_settles_only_positive():
    # discordance 'reported': the centre's ISH call first. A reported positive is positive
    # whatever the IHC; a reported negative of a group 1 case does not turn it negative
    # (only numbers that are negative on their own settle negative)
    cases = [("2018", "dual", "g2", "positive", None), ("2018", "dual", "g1_ge6", "negative", None),
             ("2018", "dual", "g5", "negative", None)]
    out = _run(_frame(cases), "2018", discordance="reported")
    assert out["her2_status"].tolist() == ["positive", "unknown", "negative"]


def test_no_ish_numbers_reported_result_only():
    rows = pd.DataFrame({
        "her2_ihc": pd.Series([None] * 4, dtype="string"),
        "ish_result": pd.Series(["positive", "negative", "equivocal", None], dtype="string"),
        "her2_status": pd.Series([None, None, None, "negative"], dtype="string"),
        "her2_copies": [None] * 4,
    })
    out = _run(rows, "2018")
    assert out["her2_status"].tolist() == ["positive", "unknown", "unknown", "negative"]
    assert out["her2_class_reason"].tolist() == ["IHC score not recorded"] * 4


def test_with_ihc_nothing_changes():
    # the IHC-missing rules never touch a record with an IHC score (the demo's 3+ and 2+/ISH+)
    rows = pd.DataFrame({
        "her2_ihc": pd.Series(["3+", "2+", "2+", "1+"], dtype="string"),
        "ish_probe": ["dual"] * 4, "ish_ratio": [None, 2.5, 1.5, 1.5],
        "her2_copies": [None, 4.5, 5.0, 3.0],
        "ish_result": pd.Series([None] * 4, dtype="string"),
        "her2_status": pd.Series(["negative"] * 4, dtype="string"),
    })
    out = _run(rows, "2018")
    assert out["her2_status"].tolist() == ["positive", "positive", "negative", "negative"]
    assert out["her2_class"].tolist() == ["3+", "2+/ISH+", "2+/ISH-", "1+"]
    assert out["her2_class_reason"].isna().all()
