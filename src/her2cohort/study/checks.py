"""Validation rules that need domain knowledge (ASCO/CAP, pathology), handed to the generic
validator of the data layer as extra row rules."""

from __future__ import annotations

import pandas as pd

from ..data.validate import Rule
from .derive import residual_invasive
from .her2 import ish_status


def _ish_computed(df: pd.DataFrame, guideline: str) -> pd.Series:
    return ish_status(df["her2_ihc"], df["ish_ratio"], df["her2_copies"], df["ish_probe"],
                      guideline=guideline)


def domain_rules(her2_guideline: str = "2018") -> list[Rule]:
    """Row rules: reported ISH against ASCO/CAP recomputed from ratio and copies (HER2
    classification decides which one is used, config her2.discordance); a HER2 re-test after
    therapy without residual invasive tumour."""

    def ish_ok(df: pd.DataFrame) -> pd.Series:
        computed = _ish_computed(df, her2_guideline)
        rep = df["ish_result"]
        disagree = (computed.notna() & rep.notna()
                    & (computed.astype("string") != rep)).fillna(False)
        return ~disagree.astype(bool)

    def ish_message(r: pd.Series) -> str:
        computed = _ish_computed(pd.DataFrame([r]), her2_guideline).iloc[0]
        return (f"reported ISH '{r['ish_result']}' disagrees with ASCO/CAP {her2_guideline} "
                f"from ratio {r['ish_ratio']} and copies {r['her2_copies']} ('{computed}')")

    return [
        Rule("ish_inconsistent", "ish_inconsistent", "ish_result", ish_ok, ish_message),
        Rule("retest_without_residual", "retest_without_residual", "post_her2_ihc",
             lambda df: ~(df["post_her2_ihc"].notna()
                          & residual_invasive(df["ypt"], df["ypn"]).eq(False)
                          ).fillna(False).astype(bool),
             lambda r: "a HER2 re-test after therapy is recorded but no invasive cancer remains "
                       "(ypT0/is ypN0); it is not used for HER2 loss"),
    ]
