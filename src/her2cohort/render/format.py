"""Number and label formatting for manuscript tables and figure annotations.

Every helper returns a string and never uses scientific notation. Conventions (one rule per
kind of number, used by every table and figure of the project):

* rounding is half away from zero with a small tolerance for binary storage error, exactly as
  gtsummary's internal ``round2()`` (``sign(x) * trunc(abs(x) * 10^d + 0.5 +
  sqrt(.Machine$double.eps)) / 10^d``), so ``0.125`` shows as ``0.13`` as in R gtsummary and
  not ``0.12`` as Python's round-half-even would give; a value that rounds to zero shows
  without a minus sign (``"0.0"``, never ``"-0.0"``);
* p-values follow gtsummary ``style_pvalue()`` (``digits = 2`` by default; 1 and 3 as in
  gtsummary, see :func:`format_p`);
* counts: thousands separators only from 10,000 up (``"9999"``, ``"10,000"``; AMA Manual of
  Style 11th ed., 18.7.1);
* intervals: ``"0.42 (0.25–0.70)"`` with an en dash; when a bound is negative the dash would
  read as a minus sign, so ``" to "`` is used instead (``"-0.14 (-0.61 to 0.32)"``);
* missing values (NaN, None, pd.NA) show as :data:`NA_TEXT` (an em dash) unless ``na=`` says
  otherwise.

Superscript footnote marks are carried inside strings as ``SUP_OPEN + mark + SUP_CLOSE``
(:func:`sup`); the Word and HTML renderers turn them into real superscripts and
:func:`plain_text` turns them into ``^a`` for CSV or console output.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "EM_DASH",
    "EN_DASH",
    "NA_TEXT",
    "SUP_CLOSE",
    "SUP_OPEN",
    "footnote_mark",
    "format_ci",
    "format_estimate",
    "format_int",
    "format_n_pct",
    "format_number",
    "format_p",
    "format_pct",
    "format_sig",
    "label_for",
    "plain_text",
    "round_half_away",
    "sig_decimals",
    "split_superscripts",
    "split_term",
    "sup",
]

EN_DASH = "\u2013"
EM_DASH = "\u2014"
#: Text shown for a missing value.
NA_TEXT = EM_DASH
#: Markers around superscript text inside a formatted string (ASCII SO / SI control characters,
#: which never occur in data).
SUP_OPEN = "\x0e"
SUP_CLOSE = "\x0f"

_EPS = math.sqrt(2.220446049250313e-16)  # sqrt(.Machine$double.eps) in R


def _is_na(x: Any) -> bool:
    if x is None:
        return True
    if isinstance(x, str):
        return False
    try:
        return math.isnan(float(x))
    except TypeError:  # pd.NA, pd.NaT and other missing markers cannot become floats
        return type(x).__name__ in ("NAType", "NaTType")
    except ValueError:
        return False


def round_half_away(x: float, digits: int) -> float:
    """Round half away from zero, as gtsummary's ``round2()`` (tolerance sqrt(eps))."""
    scale = 10.0**digits
    return math.copysign(math.trunc(abs(x) * scale + 0.5 + _EPS) / scale, x)


def _group_thousands(s: str) -> str:
    """Insert commas into the integer part of a plain decimal string when |x| >= 10,000."""
    sign = "-" if s.startswith("-") else ""
    body = s[1:] if sign else s
    int_part, dot, frac = body.partition(".")
    if len(int_part) >= 5:
        int_part = f"{int(int_part):,}"
    return f"{sign}{int_part}{dot}{frac}"


def format_number(x: Any, digits: int = 1, *, na: str = NA_TEXT) -> str:
    """Fixed-point number with ``digits`` decimals, never scientific.

    ``5.55e-15`` with 1 digit gives ``"0.0"``; ``-0.0004`` gives ``"0.000"`` (no minus);
    ``12345.6`` gives ``"12,345.6"``. NaN/None -> ``na``; +-inf -> ``"Inf"``/``"-Inf"`` (as R).
    """
    if _is_na(x):
        return na
    x = float(x)
    if math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    if digits < 0:
        raise ValueError("digits must be >= 0")
    r = round_half_away(x, digits)
    if r == 0:
        r = 0.0  # drops the sign of -0.0
    return _group_thousands(f"{r:.{digits}f}")


def sig_decimals(x: Any, sig: int = 3) -> int:
    """Decimals that show ``x`` with ``sig`` significant digits (never fewer than 0):
    ``0.01234`` -> 4, ``1.234`` -> 2, ``123.4`` -> 0, ``12345`` -> 0. A value that rounds up to
    the next power of ten (``9.996`` at 3 digits is ``10.0``) gets the decimals of the rounded
    value. Zero, missing and infinite values give ``sig - 1``."""
    if sig < 1:
        raise ValueError("sig must be >= 1")
    if _is_na(x) or math.isinf(float(x)) or float(x) == 0:
        return sig - 1
    x = abs(float(x))
    d = max(0, sig - 1 - math.floor(math.log10(x)))
    r = round_half_away(x, d)
    if r > 0 and math.floor(math.log10(r)) > math.floor(math.log10(x)):
        d = max(0, sig - 1 - math.floor(math.log10(r)))
    return d


def format_sig(x: Any, sig: int = 3, *, na: str = NA_TEXT) -> str:
    """A number with ``sig`` significant digits, fixed point, never scientific, rounded as
    :func:`format_number` (half away from zero): ``0.012345`` -> ``"0.0123"``, ``1.2345`` ->
    ``"1.23"``, ``123.45`` -> ``"123"``, ``12345.6`` -> ``"12,346"`` (no digits are dropped
    left of the decimal point). For quantities without a fixed scale (concentrations, IC50s),
    where a fixed number of decimals shows 0.00 for one drug and 1234.567 for another."""
    if _is_na(x):
        return na
    return format_number(x, sig_decimals(x, sig), na=na)


def format_int(n: Any, *, na: str = NA_TEXT) -> str:
    """An integer count; thousands separators from 10,000 up (``"9999"``, ``"10,000"``)."""
    if _is_na(n):
        return na
    f = float(n)
    if not f.is_integer():
        raise ValueError(f"not an integer count: {n!r}")
    return _group_thousands(str(int(f)))


def format_pct(pct: Any, digits: int = 1, *, na: str = NA_TEXT) -> str:
    """A percentage (already 0-100) with ``digits`` decimals and no % sign."""
    return format_number(pct, digits, na=na)


def format_n_pct(n: Any, pct: Any, digits: int = 1, *, na: str = NA_TEXT) -> str:
    """``"211 (46.1%)"`` (gtsummary's ``"{n} ({p}%)"``); a missing percentage -> ``"0 (—)"``."""
    if _is_na(n):
        return na
    return f"{format_int(n)} ({format_pct(pct, digits, na=na)}{'' if _is_na(pct) else '%'})"


def format_p(
    p: Any, digits: int = 2, *, prefix: bool = False, na: str = ""
) -> str:
    """p-value as gtsummary ``style_pvalue(x, digits)`` (gtsummary 2.0, R/style_pvalue.R).

    ``digits = 2`` (default): ``> 0.99`` -> ``">0.99"``; rounded to 2 decimals >= 0.10 ->
    2 decimals (``"0.32"``); >= 0.001 -> 3 decimals (``"0.020"``, ``"0.001"``); else
    ``"<0.001"``. ``digits = 1``: ``">0.9"``; >= 0.2 after rounding -> 1 decimal; >= 0.1 ->
    2 decimals; then as above. ``digits = 3``: ``">0.999"``; >= 0.0001 -> 3 decimals; else
    ``"<0.0001"``. ``prefix=True`` gives ``"p = 0.32"``, ``"p < 0.001"``, ``"p > 0.99"``.
    NaN/None -> ``na`` (blank by default). A value outside [0, 1] (beyond 1e-15, as
    gtsummary) raises ``ValueError``.
    """
    if _is_na(p):
        return na
    x = float(p)
    if x > 1 + 1e-15 or x < -1e-15:
        raise ValueError(f"p-value outside [0, 1]: {p!r}")
    if digits == 1:
        if x > 0.9:
            op, s = ">", "0.9"
        elif round_half_away(x, 1) >= 0.2:
            op, s = "=", format_number(x, 1)
        elif round_half_away(x, 2) >= 0.1:
            op, s = "=", format_number(x, 2)
        elif x >= 0.001:
            op, s = "=", format_number(x, 3)
        else:
            op, s = "<", "0.001"
    elif digits == 2:
        if x > 0.99:
            op, s = ">", "0.99"
        elif round_half_away(x, 2) >= 0.1:
            op, s = "=", format_number(x, 2)
        elif x >= 0.001:
            op, s = "=", format_number(x, 3)
        else:
            op, s = "<", "0.001"
    elif digits == 3:
        if x > 0.999:
            op, s = ">", "0.999"
        elif x >= 0.0001:
            op, s = "=", format_number(x, 3)
        else:
            op, s = "<", "0.0001"
    else:
        raise ValueError("digits must be 1, 2 or 3 (as gtsummary style_pvalue)")
    if prefix:
        return f"p {op} {s}"
    return s if op == "=" else f"{op}{s}"


def format_ci(lower: Any, upper: Any, digits: int = 2, *, na: str = NA_TEXT) -> str:
    """``"0.25–0.70"``; ``"-0.61 to 0.32"`` when a bound shows a minus sign; NaN -> ``na``."""
    if _is_na(lower) or _is_na(upper):
        return na
    lo, hi = format_number(lower, digits), format_number(upper, digits)
    sep = " to " if lo.startswith("-") or hi.startswith("-") else EN_DASH
    return f"{lo}{sep}{hi}"


def format_estimate(
    estimate: Any, lower: Any, upper: Any, digits: int = 2, *, na: str = NA_TEXT
) -> str:
    """``"0.42 (0.25–0.70)"``: an estimate with its interval (see :func:`format_ci`).

    A missing estimate gives ``na``; a missing interval gives ``"0.42 (—)"``.
    """
    if _is_na(estimate):
        return na
    return f"{format_number(estimate, digits)} ({format_ci(lower, upper, digits, na=na)})"


def label_for(value: Any, labels: Mapping[Any, str] | None = None) -> str:
    """Display label of a term, level or column name: ``labels[value]``, else ``str(value)``.

    Keys are tried as given and as ``str(value)``, so ``{"1": "Grade 1"}`` matches ``1``.
    """
    if labels:
        if value in labels:
            return str(labels[value])
        if str(value) in labels:
            return str(labels[str(value)])
    return str(value)


_TERM = re.compile(r"^(?P<var>[^\[]+)\[(?:T\.)?(?P<level>.*)\]$")


def split_term(term: str) -> tuple[str, str | None]:
    """Split a model term ``"group[IHC 2+/ISH+]"`` (or patsy ``"group[T.x]"``) into
    ``("group", "IHC 2+/ISH+")``; a term without brackets gives ``(term, None)``."""
    m = _TERM.match(str(term))
    if m is None:
        return str(term), None
    return m.group("var"), m.group("level")


def sup(mark: str) -> str:
    """Wrap ``mark`` as a superscript for the table renderers (``"0.32" + sup("a")``)."""
    return f"{SUP_OPEN}{mark}{SUP_CLOSE}" if mark else ""


def split_superscripts(text: str) -> list[tuple[str, bool]]:
    """Split a string into ``(segment, is_superscript)`` pieces (empty pieces dropped)."""
    out: list[tuple[str, bool]] = []
    for i, part in enumerate(re.split(f"[{SUP_OPEN}{SUP_CLOSE}]", str(text))):
        if part:
            out.append((part, i % 2 == 1))
    return out


def plain_text(text: str, marker: str = "^") -> str:
    """Text without superscript markers: ``"0.32" + sup("a")`` -> ``"0.32^a"``."""
    return "".join(f"{marker}{s}" if is_sup else s for s, is_sup in split_superscripts(text))


def footnote_mark(i: int) -> str:
    """The ``i``-th (0-based) footnote mark: a, b, ..., z, aa, ab, ..."""
    if i < 0:
        raise ValueError("i must be >= 0")
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(ord("a") + r) + s
    return s
