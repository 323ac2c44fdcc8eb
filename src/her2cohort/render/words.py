"""Words from numbers: the one display path of every sentence the pipeline writes (the Results
paragraph, the abstract sentence, notes). Numbers go through :mod:`her2cohort.render.format`
(one rounding rule, p-values as gtsummary); the hedging of a comparison follows
:data:`HEDGING_RULE`, applied by :func:`evidence` and nowhere else; lists of group labels,
endpoint names and drug names are joined here.

Nothing here knows a study: group labels, endpoint names and abbreviations, treatment names and
drugs are passed in (they come from the study definition, ``study/definition.py``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

from .format import EN_DASH, format_int, format_number, format_p

__all__ = [
    "HEDGING_RULE",
    "ci_text",
    "count_text",
    "drugs_text",
    "endpoint_first",
    "endpoint_short",
    "evidence",
    "join",
    "lower_first",
    "num",
    "p_text",
    "pct",
    "slug",
    "upper_first",
]

#: Significance level of a stated difference, and the upper limit of "tended to".
ALPHA = 0.05
TREND = 0.10

#: The hedging rule, stated once (printed with the Results text).
HEDGING_RULE = (
    f"Wording follows the p-value of the named test: p < {ALPHA:g} states a difference and its "
    f"direction; {ALPHA:g} <= p < {TREND:.2f} says the difference 'tended to' go that way; "
    f"p >= {TREND:.2f} says that no difference was detected, without a direction.")

#: Numbers whose magnitude is below this are zero (a Wilson bound of 0 computed as 1e-17).
_ZERO = 1e-9


def evidence(p: Any) -> str | None:
    """``"difference"`` (p < 0.05), ``"trend"`` (0.05 <= p < 0.10), ``"none"`` (p >= 0.10), or
    None when there is no p-value (no sentence about a comparison then)."""
    if p is None:
        return None
    try:
        x = float(p)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(x):
        return None
    if x < ALPHA:
        return "difference"
    if x < TREND:
        return "trend"
    return "none"


def slug(text: Any) -> str:
    """The key form of a quantity or group: lower case, runs of other characters -> ``_``
    (``+`` kept: ``IHC 2+/ISH+`` -> ``ihc_2+_ish+``)."""
    return re.sub(r"[^a-z0-9+]+", "_", str(text).lower()).strip("_")


def num(x: Any, digits: int = 2) -> str:
    """A number with ``digits`` decimals; a numerical zero (a Wilson bound of 0, -0.0, 1e-17) is
    ``"0"``; infinite is ``"infinite"``; missing is ``"not estimable"``."""
    if x is None:
        return "not estimable"
    x = float(x)
    if math.isnan(x):
        return "not estimable"
    if math.isinf(x):
        return "infinite"
    if abs(x) < _ZERO:
        return "0"
    return format_number(x, digits)


def pct(x: Any, digits: int = 1) -> str:
    """``"46.1%"``; zero is ``"0%"``."""
    text = num(x, digits)
    return text + "%" if text[0].isdigit() or text[0] == "-" else text


def count_text(events: Any, n: Any) -> str:
    """``"211/458"``."""
    return f"{format_int(events)}/{format_int(n)}"


def p_text(p: Any) -> str:
    """``"p = 0.32"``, ``"p < 0.001"``, ``"p > 0.99"`` (gtsummary ``style_pvalue``)."""
    return format_p(p, prefix=True, na="p not available")


def ci_text(estimate: Any, lower: Any, upper: Any, digits: int = 2, unit: str = "") -> str:
    """``"0.23 (95% CI 0.13–0.38)"``; with a unit ``"84.2% (95% CI 80.5–88.0%)"``; a bound of
    0 is ``0``; a bound that reads as a minus sign gets ``" to "``."""
    est = num(estimate, digits)
    if est == "not estimable":
        return est
    lo, hi = num(lower, digits), num(upper, digits)
    if "not estimable" in (lo, hi):
        return f"{est}{unit} (95% CI not estimable)"
    u = lambda s: s + unit if s[0].isdigit() or s[0] == "-" else s
    sep = " to " if lo.startswith("-") or hi.startswith("-") else EN_DASH
    return f"{est}{unit} (95% CI {u(lo)}{sep}{u(hi)})"


def join(items: Iterable[Any], last: str = "and") -> str:
    """``"A"``, ``"A and B"``, ``"A, B and C"``."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def upper_first(text: str) -> str:
    """Capital first letter for a sentence start, unless the first word is written with a
    capital inside (``"pCR"``, ``"iDFS"``: left as they are)."""
    word = text.split(" ", 1)[0]
    if word[1:] != word[1:].lower():
        return text
    return text[:1].upper() + text[1:]


def lower_first(text: str) -> str:
    """``"Overall survival"`` -> ``"overall survival"``; a word that starts with an
    abbreviation (``"iDFS ..."``, ``"HER2-..."``) is left as it is."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def endpoint_first(name: str, abbreviation: str, definition: str | None = None) -> str:
    """First mention: ``"overall survival (OS; from surgery; event: death from any cause)"``."""
    if definition and definition.startswith(abbreviation + " "):
        definition = definition[len(abbreviation) + 1:]
    inner = abbreviation if not definition else f"{abbreviation}; {definition}"
    if lower_first(name) == abbreviation or name == abbreviation:
        return abbreviation if not definition else f"{abbreviation} ({definition})"
    return f"{lower_first(name)} ({inner})"


def endpoint_short(abbreviation: str) -> str:
    """Later mentions: the abbreviation."""
    return abbreviation


def drugs_text(label: str, drugs: Sequence[str] = ()) -> str:
    """How a treatment arm is named in a sentence: its drugs (``"trastuzumab plus
    pertuzumab"``), else its label."""
    drugs = [str(d) for d in drugs or ()]
    if drugs:
        return join(drugs, "plus") if len(drugs) <= 2 else join(drugs, "and")
    return lower_first(label)
