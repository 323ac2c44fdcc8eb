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
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .format import EN_DASH, format_int, format_number, format_p, sig_decimals

__all__ = [
    "ALPHA",
    "HEDGING_RULE",
    "REF_FORMAT",
    "ci_text",
    "cite",
    "count_text",
    "drugs_text",
    "endpoint_first",
    "endpoint_short",
    "evidence",
    "figure_table_order",
    "hedging_rule",
    "join",
    "lower_first",
    "num",
    "p_text",
    "pct",
    "ref",
    "refs_in",
    "resolve_refs",
    "slug",
    "upper_first",
]

#: Default significance level (two-sided) of a stated difference (config ``study.alpha``).
ALPHA = 0.05


def hedging_rule(alpha: float = ALPHA) -> str:
    """The wording rule, stated once in the text (the Statistical methods paragraph)."""
    return (f"Direction words (higher, lower, better, worse) are used only where the named "
            f"two-sided test gave p < {alpha:g}; otherwise the groups are said not to differ "
            "significantly, without a direction.")


#: The hedging rule at the default level.
HEDGING_RULE = hedging_rule(ALPHA)

#: Numbers whose magnitude is below this are zero (a Wilson bound of 0 computed as 1e-17).
_ZERO = 1e-9


def evidence(p: Any, alpha: float = ALPHA) -> str | None:
    """The one hedging rule: ``"difference"`` when p < ``alpha`` (a difference and its
    direction may be stated), ``"none"`` otherwise ("did not differ significantly", no
    direction word), None when there is no p-value (no sentence about a comparison then)."""
    if p is None:
        return None
    try:
        x = float(p)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(x):
        return None
    return "difference" if x < alpha else "none"


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


def num_sig(x: Any, sig: int = 3) -> str:
    """A number with ``sig`` significant digits (:func:`her2cohort.render.format.format_sig`):
    for quantities without a fixed scale (IC50s, concentrations); zero, infinite and missing as
    :func:`num`."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return num(x)
    return num(x, sig_decimals(x, sig))


def ci_text(estimate: Any, lower: Any, upper: Any, digits: int = 2, unit: str = "",
            sig: int | None = None) -> str:
    """``"0.23 (95% CI 0.13–0.38)"``; with a unit ``"84.2% (95% CI 80.5–88.0%)"``; a bound of
    0 is ``0``; a bound that reads as a minus sign gets ``" to "``. With ``sig``, the
    estimate has ``sig`` significant digits and the bounds the same decimals
    (``"2.04 (95% CI 1.60–2.59)"``, ``"0.316 (95% CI 0.289–0.347)"``)."""
    if sig is not None:
        try:
            digits = sig_decimals(float(estimate), sig)
        except (TypeError, ValueError):
            pass
    est = num(estimate, digits)
    if est == "not estimable":
        return est
    lo, hi = num(lower, digits), num(upper, digits)
    if "not estimable" in (lo, hi):
        return f"{est}{unit} (95% CI not estimable)"
    u = lambda s: s + unit if s[0].isdigit() or s[0] == "-" else s
    sep = " to " if lo.startswith("-") or hi.startswith("-") else EN_DASH
    return f"{est}{unit} (95% CI {u(lo)}{sep}{u(hi)})"


def variable_label(name: str, labels: Mapping[str, str] | None = None) -> str:
    """A variable's label: the config's (``labels``), else its canonical field's, else its
    name in words ("ki67_group" -> "ki67 group"), never a raw column name."""
    if labels and name in labels:
        return str(labels[name])
    from ..data.fields import BY_NAME

    f = BY_NAME.get(name)
    return f.label if f is not None and getattr(f, "label", None) else name.replace("_", " ")


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


# --- table and figure references --------------------------------------------------------------
#: A reference to a table or figure of the run, written into the text before numbering:
#: ``[[table:<stem>]]`` / ``[[figure:<stem>]]``, ``<stem>`` the results file's stem
#: (``tables/pcr_logistic.csv`` -> ``[[table:pcr_logistic]]``, ``figures/dfs_km.png`` ->
#: ``[[figure:dfs_km]]``). References are cited in parentheses, several separated by "; ":
#: ``([[table:pcr_rates]]; [[figure:pcr_rates]])``. :func:`resolve_refs` numbers them.
REF_FORMAT = "[[{kind}:{stem}]]"
_REF = re.compile(r"\[\[(table|figure):([A-Za-z0-9_.+-]+)\]\]")
_GROUP = re.compile(r"( ?)\(((?:\[\[(?:table|figure):[A-Za-z0-9_.+-]+\]\](?:; )?)+)\)")


def ref(kind: str, stem: str) -> str:
    """``ref("table", "pcr_rates")`` -> ``"[[table:pcr_rates]]"``."""
    if kind not in ("table", "figure"):
        raise ValueError(f"a reference is to a table or a figure, not {kind!r}")
    return REF_FORMAT.format(kind=kind, stem=stem)


def cite(keys: Iterable[str]) -> str:
    """A citation of ``keys`` (``"table:pcr_rates"``, ...) in parentheses, with a leading
    space: ``" ([[table:pcr_rates]]; [[figure:pcr_rates]])"``; ``""`` for none."""
    keys = list(dict.fromkeys(keys))
    if not keys:
        return ""
    return " (" + "; ".join(ref(*k.split(":", 1)) for k in keys) + ")"


def refs_in(text: str) -> list[str]:
    """The references of ``text`` (``"table:pcr_rates"``, ...) in order of first citation."""
    return list(dict.fromkeys(f"{k}:{s}" for k, s in _REF.findall(text)))


def figure_table_order(outputs: Iterable[str], cited: Iterable[str] = ()) -> dict[str, str]:
    """The numbering rule of tables and figures, stated once: ``{"table:<stem>": "Table n",
    "figure:<stem>": "Figure n"}``. Tables and figures are numbered separately, in order of
    first citation in the text (``cited``, e.g. :func:`refs_in` of the Results text, as
    journals number them); the outputs the text does not cite follow in the order
    ``outputs`` lists them. A cited key that is not among ``outputs`` gets no number
    (:func:`resolve_refs` drops it). ``outputs``: keys ``"<kind>:<stem>"`` of the run's
    tables and figures."""
    outputs = list(dict.fromkeys(outputs))
    have = set(outputs)
    order = [k for k in dict.fromkeys(cited) if k in have]
    order += [k for k in outputs if k not in order]
    count = {"table": 0, "figure": 0}
    out = {}
    for k in order:
        kind = k.split(":", 1)[0]
        if kind not in count:
            continue
        count[kind] += 1
        out[k] = f"{kind.capitalize()} {count[kind]}"
    return out


def _merge(labels: list[str]) -> str:
    """``["Table 2", "Table 3", "Figure 1"]`` -> ``"Tables 2 and 3; Figure 1"``."""
    by_kind: dict[str, list[str]] = {}
    for lab in labels:
        kind, n = lab.rsplit(" ", 1) if " " in lab else (lab, "")
        by_kind.setdefault(kind, []).append(n)
    parts = []
    for kind, ns in by_kind.items():
        ns = list(dict.fromkeys(ns))
        parts.append(f"{kind} {ns[0]}" if len(ns) == 1 or not all(ns) else
                     f"{kind}s {join(ns)}")
    return "; ".join(parts)


def resolve_refs(text: str, numbers: dict[str, str]) -> str:
    """``text`` with every reference replaced by its number from ``numbers`` (``{"table:
    pcr_rates": "Table 2", ...}``, e.g. :func:`figure_table_order`). A citation in
    parentheses becomes ``"(Tables 2 and 3; Figure 1)"``; a reference not in ``numbers`` is
    dropped, and so is a citation left empty (with the space before it): the raw token is
    never printed."""
    def group(m: re.Match) -> str:
        labels = [numbers[f"{k}:{s}"] for k, s in _REF.findall(m.group(2))
                  if f"{k}:{s}" in numbers]
        return f"{m.group(1)}({_merge(labels)})" if labels else ""

    text = _GROUP.sub(group, text)
    return _REF.sub(lambda m: numbers.get(f"{m.group(1)}:{m.group(2)}", ""), text)
