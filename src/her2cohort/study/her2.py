"""HER2 status from IHC score and in-situ hybridisation (ISH) numbers.

Implements the ASCO/CAP HER2 testing rules for breast cancer:

* ASCO/CAP 2018: Wolff AC, Hammond MEH, Allison KH, et al. Human Epidermal Growth Factor
  Receptor 2 Testing in Breast Cancer: American Society of Clinical Oncology/College of American
  Pathologists Clinical Practice Guideline Focused Update. J Clin Oncol 2018;36:2105-2122.
  (Affirmed unchanged by the 2023 update.) Dual-probe results fall into groups 1-5; groups 2-4
  need the concurrent IHC result for the final ISH call.
* ASCO/CAP 2013: Wolff AC, Hammond MEH, Hicks DG, et al. Recommendations for Human Epidermal
  Growth Factor Receptor 2 Testing in Breast Cancer. J Clin Oncol 2013;31:3997-4013.
  ISH positive if the HER2/CEP17 ratio >= 2.0 OR the mean HER2 copy number >= 6.0 signals/cell;
  equivocal if ratio < 2.0 and 4.0 <= copies < 6.0.

All functions are vectorised over pandas Series (boolean masks, no row-wise ``apply``), keep no
global state and do no I/O. Canonical input vocabularies (harmonised upstream):

* IHC score: ``"0"``, ``"1+"``, ``"2+"``, ``"3+"`` or missing;
* ISH ratio (HER2/CEP17) and mean HER2 copies per cell: floats or missing;
* ISH probe: ``"dual"``, ``"single"`` or missing (missing means dual if a ratio is present,
  else single if only copies are present);
* centre-reported ISH result: ``"positive"``, ``"negative"``, ``"equivocal"`` or missing;
* IHC-0 subtype: ``"null"``, ``"ultralow"`` or missing.

Missing values may be ``None``, ``np.nan`` or ``pd.NA``; string columns may be object dtype or
pandas ``string`` dtype. String outputs use the pandas ``string`` dtype, flags use the nullable
``boolean`` dtype and the ISH group uses ``Int8``.

Threshold comparisons use the raw floats as given: no rounding to one or two decimals is applied
(so a ratio of 1.999999 is < 2.0 and belongs to groups 3-5).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = [
    "GUIDELINES",
    "IHC_SCORES",
    "classify_her2",
    "her2_loss",
    "ish_from_totals",
    "ish_group",
    "ish_status",
]

IHC_SCORES: tuple[str, ...] = ("0", "1+", "2+", "3+")
GUIDELINES: tuple[str, ...] = ("2018", "2013")

ISH_PROBES: tuple[str, ...] = ("dual", "single")
ISH_RESULTS: tuple[str, ...] = ("positive", "negative", "equivocal")
IHC0_SUBTYPES: tuple[str, ...] = ("null", "ultralow")
DISCORDANCE_POLICIES: tuple[str, ...] = ("recompute", "reported")

# ASCO/CAP cut-offs. Compared against the raw floats (no rounding).
RATIO_CUTOFF = 2.0
COPIES_LOW = 4.0
COPIES_HIGH = 6.0


# --------------------------------------------------------------------------------------------
# input coercion helpers
# --------------------------------------------------------------------------------------------


def _check_index(index: pd.Index, other: pd.Series, name: str) -> None:
    if not index.equals(other.index):
        raise ValueError(f"{name!r} must have the same index as the other inputs")


def _as_series(values: object, index: pd.Index, name: str) -> pd.Series:
    """Return ``values`` as a Series on ``index`` (scalars are broadcast)."""
    if isinstance(values, pd.Series):
        _check_index(index, values, name)
        return values
    if not pd.api.types.is_list_like(values):
        return pd.Series([values] * len(index), index=index, dtype=object)
    return pd.Series(values, index=index)


def _categorical(values: pd.Series, name: str, allowed: Iterable[str]) -> np.ndarray:
    """Object ndarray of the canonical strings with ``None`` for missing; rejects other values."""
    allowed = tuple(allowed)
    s = values.astype("string")
    bad = s.notna() & ~s.isin(allowed)
    if bad.any():
        examples = sorted(set(s[bad].tolist()))[:5]
        raise ValueError(
            f"{name}: unexpected values {examples}; allowed: {list(allowed)} or missing"
        )
    return s.to_numpy(dtype=object, na_value=None)


def _numeric(values: pd.Series, name: str) -> np.ndarray:
    """Float ndarray with ``nan`` for missing."""
    try:
        num = pd.to_numeric(values, errors="raise")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: values must be numeric or missing ({exc})") from exc
    return (
        pd.Series(num, index=values.index).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    )


def _check_guideline(guideline: object) -> str:
    if guideline not in GUIDELINES:
        hint = " (pass it as a string)" if str(guideline) in GUIDELINES else ""
        raise ValueError(f"guideline must be one of {list(GUIDELINES)}, got {guideline!r}{hint}")
    return str(guideline)


def _string_series(values: np.ndarray, index: pd.Index) -> pd.Series:
    """Object ndarray (``None`` = missing) -> pandas ``string`` Series."""
    return pd.Series(pd.array(values, dtype="string"), index=index)


def _boolean_series(true: np.ndarray, known: np.ndarray, index: pd.Index) -> pd.Series:
    """Nullable boolean Series: value ``true`` where ``known``, NA elsewhere."""
    arr = pd.arrays.BooleanArray(np.asarray(true, dtype=bool), ~np.asarray(known, dtype=bool))
    return pd.Series(arr, index=index)


def _fill(index_len: int, rules: list[tuple[np.ndarray, str]]) -> np.ndarray:
    """Object ndarray: the label of the first matching rule, ``None`` where none matches.

    The rules used in this module are mutually exclusive; an overlap is a programming error.
    """
    out = np.full(index_len, None, dtype=object)
    taken = np.zeros(index_len, dtype=bool)
    for mask, label in rules:
        if (mask & taken).any():  # pragma: no cover - guards the rule tables below
            raise AssertionError(f"overlapping HER2 rules for {label!r}")
        out[mask] = label
        taken |= mask
    return out


def _resolve_probe(
    probe: object, has_ratio: np.ndarray, has_copies: np.ndarray, index: pd.Index
) -> np.ndarray:
    """Per-row probe: the given value, else dual if a ratio is present, else single if only
    copies are present, else ``None``."""
    given = _categorical(_as_series(probe, index, "probe"), "probe", ISH_PROBES)
    inferred = np.where(has_ratio, "dual", np.where(has_copies, "single", None)).astype(object)
    missing = np.array([v is None for v in given], dtype=bool)
    return np.where(missing, inferred, given).astype(object)


# --------------------------------------------------------------------------------------------
# ISH
# --------------------------------------------------------------------------------------------

# A recorded ratio or copy number agrees with the one computed from the signal totals when they
# differ by at most this much (a value rounded to one decimal agrees).
TOTALS_TOLERANCE = 0.05


def ish_from_totals(df: pd.DataFrame) -> pd.DataFrame:
    """ISH ratio and mean HER2 copies per cell from signal totals, where they are not recorded.

    ``her2_copies = her2_signals / cells_counted`` and ``ish_ratio = her2_signals /
    cep17_signals`` (the per-cell means of ASCO/CAP; the ratio of totals equals the ratio of
    the means over the same cells). Returns ``ish_ratio``, ``her2_copies`` (recorded value
    where given, else computed), ``ish_source`` (``"recorded"``, ``"signal totals"``,
    ``"recorded and signal totals"`` when one number was given and the other computed, or NA),
    and ``ratio_from_totals``/``copies_from_totals``
    (the computed values, NA where the totals are incomplete) for cross-checks. Absent input
    columns count as all missing."""
    def col(name: str) -> pd.Series:
        if name in df.columns:
            return pd.to_numeric(df[name], errors="coerce").astype("float64")
        return pd.Series(np.nan, index=df.index, dtype="float64")

    her2, cep17, cells = col("her2_signals"), col("cep17_signals"), col("cells_counted")
    ratio_t = (her2 / cep17.where(cep17 > 0)).astype("float64")
    copies_t = (her2 / cells.where(cells > 0)).astype("float64")
    ratio_r, copies_r = col("ish_ratio"), col("her2_copies")
    ratio = ratio_r.where(ratio_r.notna(), ratio_t)
    copies = copies_r.where(copies_r.notna(), copies_t)
    computed = ((ratio_r.isna() & ratio_t.notna()) | (copies_r.isna() & copies_t.notna()))
    recorded = (ratio_r.notna() | copies_r.notna())
    source = np.select([computed & recorded, computed, recorded],
                       ["recorded and signal totals", "signal totals", "recorded"],
                       default=None).astype(object)
    return pd.DataFrame({
        "ish_ratio": ratio, "her2_copies": copies,
        "ish_source": pd.array(source, dtype="string"),
        "ratio_from_totals": ratio_t, "copies_from_totals": copies_t,
    }, index=df.index)



def ish_group(ratio: pd.Series, copies: pd.Series) -> pd.Series:
    """Dual-probe ISH group 1-5 (ASCO/CAP 2018; Wolff et al., J Clin Oncol 2018;36:2105).

    ====== ======================================== =========================================
    group  rule                                     2018 ISH result
    ====== ======================================== =========================================
    1      ratio >= 2.0 and copies >= 4.0           positive
    2      ratio >= 2.0 and copies < 4.0            negative unless IHC 3+
    3      ratio < 2.0 and copies >= 6.0            positive if IHC 2+/3+, negative if 0/1+
    4      ratio < 2.0 and 4.0 <= copies < 6.0      negative unless IHC 3+
    5      ratio < 2.0 and copies < 4.0             negative
    ====== ======================================== =========================================

    ``ratio`` is HER2/CEP17, ``copies`` the mean HER2 signals per cell. Returns pandas ``Int8``
    on the index of ``ratio``; NA where ratio or copies is missing. Values are compared as raw
    floats, without rounding.
    """
    if not isinstance(ratio, pd.Series):
        ratio = pd.Series(ratio)
    index = ratio.index
    r = _numeric(ratio, "ratio")
    c = _numeric(_as_series(copies, index, "copies"), "copies")
    known = ~np.isnan(r) & ~np.isnan(c)
    # Raw float comparisons, deliberately no rounding (1.999999 < 2.0).
    high_ratio = r >= RATIO_CUTOFF
    groups = np.select(
        [
            known & high_ratio & (c >= COPIES_LOW),
            known & high_ratio & (c < COPIES_LOW),
            known & ~high_ratio & (c >= COPIES_HIGH),
            known & ~high_ratio & (c >= COPIES_LOW) & (c < COPIES_HIGH),
            known & ~high_ratio & (c < COPIES_LOW),
        ],
        [1, 2, 3, 4, 5],
        default=0,
    ).astype(np.int8)
    return pd.Series(pd.arrays.IntegerArray(groups, ~known), index=index, name="ish_group")


def ish_status(
    ihc: pd.Series,
    ratio: pd.Series,
    copies: pd.Series,
    probe: pd.Series | str | None = None,
    guideline: str = "2018",
) -> pd.Series:
    """ISH result computed from the numbers: ``"positive"``, ``"negative"`` or NA
    (and ``"equivocal"`` under the 2013 rules).

    ASCO/CAP 2018 (Wolff et al., J Clin Oncol 2018;36:2105), dual probe (see :func:`ish_group`):
    group 1 positive; group 2 negative unless IHC 3+; group 3 positive if IHC 2+/3+ and
    negative if IHC 0/1+; group 4 negative unless IHC 3+; group 5 negative. Groups 2-4 need the
    concurrent IHC: with IHC missing the result is NA (not decidable).

    ASCO/CAP 2018 single probe (copies only): >= 6.0 positive; < 4.0 negative;
    4.0 to < 6.0: positive if IHC 3+, NA if IHC 2+ (a dual-probe assay is needed), negative if
    IHC 0/1+, NA if IHC missing.

    ASCO/CAP 2013 (Wolff et al., J Clin Oncol 2013;31:3997), no IHC dependence:
    dual probe positive if ratio >= 2.0 OR copies >= 6.0 (either alone suffices, so the other
    number may be missing), negative if ratio < 2.0 and copies < 4.0, equivocal if ratio < 2.0
    and 4.0 <= copies < 6.0; single probe positive if copies >= 6.0, negative if < 4.0,
    otherwise equivocal.

    ``probe`` may be None (infer per row), a scalar or a Series of ``"dual"``/``"single"``/NA;
    NA means dual if a ratio is present, else single if only copies are present. An explicit
    ``"single"`` ignores the ratio; an explicit ``"dual"`` without a ratio gives NA under 2018.
    Returns a pandas ``string`` Series on the index of ``ihc``.
    """
    guideline = _check_guideline(guideline)
    if not isinstance(ihc, pd.Series):
        ihc = pd.Series(ihc)
    index = ihc.index
    n = len(index)
    score = _categorical(ihc, "ihc", IHC_SCORES)
    r = _numeric(_as_series(ratio, index, "ratio"), "ratio")
    c = _numeric(_as_series(copies, index, "copies"), "copies")
    has_r = ~np.isnan(r)
    has_c = ~np.isnan(c)
    probe_a = _resolve_probe(probe, has_r, has_c, index)
    dual = probe_a == "dual"
    single = probe_a == "single"

    ihc3 = score == "3+"
    ihc2 = score == "2+"
    ihc01 = (score == "0") | (score == "1+")

    # Raw float comparisons, deliberately no rounding.
    r_high = has_r & (r >= RATIO_CUTOFF)
    r_low = has_r & (r < RATIO_CUTOFF)
    c_ge6 = has_c & (c >= COPIES_HIGH)
    c_mid = has_c & (c >= COPIES_LOW) & (c < COPIES_HIGH)
    c_lt4 = has_c & (c < COPIES_LOW)

    if guideline == "2018":
        d = dual & has_r & has_c
        g1 = d & r_high & (c >= COPIES_LOW)
        g2 = d & r_high & c_lt4
        g3 = d & r_low & c_ge6
        g4 = d & r_low & c_mid
        g5 = d & r_low & c_lt4
        s = single & has_c
        positive = g1 | (g2 & ihc3) | (g3 & (ihc2 | ihc3)) | (g4 & ihc3)
        positive |= (s & c_ge6) | (s & c_mid & ihc3)
        negative = g5 | (g2 & (ihc2 | ihc01)) | (g3 & ihc01) | (g4 & (ihc2 | ihc01))
        negative |= (s & c_lt4) | (s & c_mid & ihc01)
        rules = [(positive, "positive"), (negative, "negative")]
    else:  # "2013"
        positive = (dual & (r_high | c_ge6)) | (single & c_ge6)
        negative = (dual & r_low & c_lt4) | (single & c_lt4)
        equivocal = (dual & r_low & c_mid) | (single & c_mid)
        rules = [(positive, "positive"), (negative, "negative"), (equivocal, "equivocal")]
    return _string_series(_fill(n, rules), index).rename("ish_status")


# --------------------------------------------------------------------------------------------
# combined classification
# --------------------------------------------------------------------------------------------


def _column(df: pd.DataFrame, name: str | None) -> pd.Series:
    if name is not None and name in df.columns:
        return df[name]
    return pd.Series([None] * len(df), index=df.index, dtype=object)


def classify_her2(
    df: pd.DataFrame,
    *,
    ihc: str = "her2_ihc",
    ratio: str = "ish_ratio",
    copies: str = "her2_copies",
    probe: str = "ish_probe",
    reported: str = "ish_result",
    ihc0_subtype: str = "her2_ihc0_subtype",
    guideline: str = "2018",
    discordance: str = "recompute",
) -> pd.DataFrame:
    """Derive HER2 status columns per ASCO/CAP 2018 (Wolff et al., J Clin Oncol
    2018;36:2105) or 2013 (J Clin Oncol 2013;31:3997).

    The IHC column is required; the other input columns are optional and treated as all-NA
    when absent from ``df``. Returns a new DataFrame on ``df.index`` with:

    ``ish_group``
        dual-probe group 1-5 (``Int8``; NA for single-probe rows or missing numbers).
    ``ish_status_computed``
        ISH result recomputed from the numbers under ``guideline`` (see :func:`ish_status`).
    ``ish_status_reported``
        copy of the centre-reported ISH result.
    ``ish_discordant``
        True where both computed and reported results exist and differ, False otherwise.
    ``ish_status``
        final ISH result. ``discordance="recompute"``: computed where available, else
        reported; ``"reported"``: reported where available, else computed.
    ``her2_status``
        ``"positive"`` (IHC 3+, or ISH positive: IHC 2+ with ISH group 1 or 3, or any IHC with
        ISH group 1 as in ISH-first laboratories), ``"negative"`` (IHC 0/1+ without positive
        ISH, or IHC 2+ with ISH negative), ``"unknown"`` otherwise.
    ``her2_class``
        ``"3+"``, ``"2+/ISH+"``, ``"2+/ISH-"``, ``"2+/ISH unknown"``, ``"1+/ISH+"``,
        ``"0/ISH+"``, ``"1+"``, ``"0"`` or ``"unknown"`` (IHC missing).
    ``her2_low``
        True for IHC 1+ (not ISH-positive) or 2+/ISH-; False for 3+, ISH-positive and IHC 0;
        NA otherwise.
    ``her2_ultralow``
        True for IHC 0 with subtype ``"ultralow"``; False for IHC 0 with subtype ``"null"``
        and for IHC > 0; NA for IHC 0 with unknown subtype or IHC missing.
    """
    guideline = _check_guideline(guideline)
    if discordance not in DISCORDANCE_POLICIES:
        raise ValueError(
            f"discordance must be one of {list(DISCORDANCE_POLICIES)}, got {discordance!r}"
        )
    if ihc not in df.columns:
        raise KeyError(f"IHC column {ihc!r} not found in the data frame")

    index = df.index
    n = len(index)
    score = _categorical(df[ihc], ihc, IHC_SCORES)
    ratio_s = _column(df, ratio)
    copies_s = _column(df, copies)
    probe_s = _column(df, probe)

    # ish_group only for dual-probe rows (explicit or inferred).
    has_r = ~np.isnan(_numeric(ratio_s, ratio))
    has_c = ~np.isnan(_numeric(copies_s, copies))
    dual = _resolve_probe(probe_s, has_r, has_c, index) == "dual"
    group = ish_group(ratio_s, copies_s)
    group = group.where(pd.Series(dual, index=index), pd.NA).astype("Int8")

    computed = ish_status(df[ihc], ratio_s, copies_s, probe=probe_s, guideline=guideline)
    rep = _categorical(_column(df, reported), reported, ISH_RESULTS)
    comp = computed.to_numpy(dtype=object, na_value=None)
    has_comp = np.array([v is not None for v in comp], dtype=bool)
    has_rep = np.array([v is not None for v in rep], dtype=bool)
    discordant = has_comp & has_rep & (comp != rep)

    if discordance == "recompute":
        final = np.where(has_comp, comp, rep).astype(object)
    else:
        final = np.where(has_rep, rep, comp).astype(object)

    ihc3 = score == "3+"
    ihc2 = score == "2+"
    ihc1 = score == "1+"
    ihc0 = score == "0"
    ish_pos = final == "positive"
    ish_neg = final == "negative"

    status = _fill(
        n,
        [
            # ASCO/CAP 2018: ISH group 1 is positive whatever the IHC score (ISH-first labs);
            # group 3 with IHC 0/1+ is already negative in ish_status.
            (ihc3 | ((ihc2 | ihc1 | ihc0) & ish_pos), "positive"),
            (((ihc0 | ihc1) & ~ish_pos) | (ihc2 & ish_neg), "negative"),
        ],
    )
    status[np.array([v is None for v in status], dtype=bool)] = "unknown"

    her2_class = np.select(
        [ihc3, ihc2 & ish_pos, ihc2 & ish_neg, ihc2, ihc1 & ish_pos, ihc0 & ish_pos, ihc1, ihc0],
        ["3+", "2+/ISH+", "2+/ISH-", "2+/ISH unknown", "1+/ISH+", "0/ISH+", "1+", "0"],
        default="unknown",
    ).astype(object)

    low_true = (ihc1 & ~ish_pos) | (ihc2 & ish_neg)
    low_known = low_true | ihc3 | ((ihc2 | ihc1 | ihc0) & ish_pos) | ihc0

    subtype = _categorical(_column(df, ihc0_subtype), ihc0_subtype, IHC0_SUBTYPES)
    ultra_true = ihc0 & (subtype == "ultralow")
    ultra_known = ultra_true | (ihc0 & (subtype == "null")) | ihc1 | ihc2 | ihc3

    return pd.DataFrame(
        {
            "ish_group": group.array,
            "ish_status_computed": computed.array,
            "ish_status_reported": pd.array(rep, dtype="string"),
            "ish_discordant": discordant,
            "ish_status": pd.array(final, dtype="string"),
            "her2_status": pd.array(status, dtype="string"),
            "her2_class": pd.array(her2_class, dtype="string"),
            "her2_low": pd.arrays.BooleanArray(low_true, ~low_known),
            "her2_ultralow": pd.arrays.BooleanArray(ultra_true, ~ultra_known),
        },
        index=index,
    )


# --------------------------------------------------------------------------------------------
# post-treatment
# --------------------------------------------------------------------------------------------


def her2_loss(post_ihc: pd.Series, post_ish_status: pd.Series) -> pd.Series:
    """HER2 loss after neoadjuvant therapy (residual tumour re-tested), per the usual
    definition built on ASCO/CAP 2018 (Wolff et al., J Clin Oncol 2018;36:2105).

    True if the post-treatment IHC is 0 or 1+, or 2+ with ISH negative; False if IHC 3+, or 2+
    with ISH positive; NA if the post-treatment IHC is missing or 2+ with ISH missing or
    equivocal. Only meaningful for tumours HER2-positive at baseline. Returns nullable
    ``boolean`` on the index of ``post_ihc``.
    """
    if not isinstance(post_ihc, pd.Series):
        post_ihc = pd.Series(post_ihc)
    index = post_ihc.index
    score = _categorical(post_ihc, "post_ihc", IHC_SCORES)
    ish = _categorical(
        _as_series(post_ish_status, index, "post_ish_status"), "post_ish_status", ISH_RESULTS
    )
    ihc2 = score == "2+"
    lost = (score == "0") | (score == "1+") | (ihc2 & (ish == "negative"))
    kept = (score == "3+") | (ihc2 & (ish == "positive"))
    return _boolean_series(lost, lost | kept, index).rename("her2_loss")
