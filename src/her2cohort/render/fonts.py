"""Font resolution shared by figures and tables: ask for a font that is installed, and say so
(through :mod:`logging`, logger ``her2cohort.render``) when a fallback is used, never silently.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence

__all__ = ["DEFAULT_SANS", "METRIC_EQUIVALENTS", "font_file", "resolve_font"]

log = logging.getLogger("her2cohort.render")

#: Preferred sans-serif families, in order.
DEFAULT_SANS: tuple[str, ...] = ("Arial", "Helvetica", "Liberation Sans", "DejaVu Sans")

#: Fonts with the same advance widths (Liberation Sans was designed metric-compatible with
#: Arial and Helvetica), so text measured with one fits when shown in the other.
METRIC_EQUIVALENTS: dict[str, tuple[str, ...]] = {
    "Arial": ("Liberation Sans", "Arimo", "Helvetica"),
    "Helvetica": ("Liberation Sans", "Arimo", "Arial"),
    "Times New Roman": ("Liberation Serif", "Tinos"),
    "Courier New": ("Liberation Mono", "Cousine"),
}


def _installed(family: str, bold: bool = False) -> str | None:
    from matplotlib import font_manager

    prop = font_manager.FontProperties(family=family, weight="bold" if bold else "normal")
    try:
        path = font_manager.findfont(prop, fallback_to_default=False, rebuild_if_missing=False)
    except ValueError:
        return None
    name = font_manager.get_font(path).family_name
    return path if name.lower() == family.lower() else None


@functools.lru_cache(maxsize=64)
def _resolve(preferred: tuple[str, ...]) -> str:
    for i, fam in enumerate(preferred):
        if _installed(fam) is not None:
            if i > 0:
                log.info("font %r is not installed; using %r", preferred[0], fam)
            return fam
        for eq in METRIC_EQUIVALENTS.get(fam, ()):
            if _installed(eq) is not None:
                log.info("font %r is not installed; using metric-compatible %r", fam, eq)
                return eq
    log.warning("none of the fonts %s is installed; using 'DejaVu Sans' (matplotlib's own)",
                list(preferred))
    return "DejaVu Sans"


def resolve_font(preferred: str | Sequence[str] = DEFAULT_SANS) -> str:
    """The first installed family of ``preferred`` (or a metric-compatible substitute).

    A fallback is logged once per request (INFO; WARNING when nothing asked for exists).
    """
    pref = (preferred,) if isinstance(preferred, str) else tuple(preferred)
    if not pref:
        raise ValueError("no font family given")
    return _resolve(pref)


@functools.lru_cache(maxsize=64)
def font_file(family: str, bold: bool = False) -> str:
    """Path of the font file used to measure ``family`` (resolved as :func:`resolve_font`)."""
    fam = resolve_font((family, *DEFAULT_SANS[2:]))
    path = _installed(fam, bold) or _installed(fam)
    if path is None:  # pragma: no cover - DejaVu Sans ships with matplotlib
        from matplotlib import font_manager

        path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"))
    return path
