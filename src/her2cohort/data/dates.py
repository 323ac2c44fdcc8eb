"""Date arithmetic shared by validation and derivation, and the guess of a date column's
format from the values that failed the mapping's ``date_format`` (for the problem report)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


def completed_years(birth: pd.Series, on: pd.Series) -> pd.Series:
    """Age in completed years on a date (a birthday counts on the day itself)."""
    b = pd.to_datetime(birth)
    d = pd.to_datetime(on)
    before = (d.dt.month < b.dt.month) | ((d.dt.month == b.dt.month) & (d.dt.day < b.dt.day))
    years = d.dt.year - b.dt.year - before.astype("Int64")
    return years.astype("Int64").where(b.notna() & d.notna())


# Date formats tried when a date column does not read with the mapping's date_format: the
# usual ways hospital systems and spreadsheets write dates (day-first and month-first, two-
# and four-digit years, month names, a time of day after the date).
COMMON_DATE_FORMATS = (
    "%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d", "%Y.%m.%d",
    "%Y%m%d", "%d/%m/%y", "%m/%d/%y", "%d.%m.%y", "%d-%m-%y", "%d-%b-%Y", "%d %b %Y",
    "%d-%b-%y", "%b %d, %Y", "%d %B %Y", "%B %d, %Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
    "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%d.%m.%Y %H:%M",
)


@dataclass(frozen=True)
class DateGuess:
    """The common format that reads most of a set of date texts: ``formats`` (one, or several
    that read equally many, e.g. day-first and month-first when no day exceeds 12), how many
    values it reads (``parsed``) of ``total`` (missing values not counted), and the most common
    shape of the values (``shape``, e.g. 'dddd-dd-dd')."""

    formats: tuple[str, ...]
    parsed: int
    total: int
    shape: str

    def advice(self) -> str:
        """'dates look like dddd-dd-dd: try date_format '%Y-%m-%d' (it reads 12 of 12)'."""
        look = f"dates look like {self.shape}"
        if not self.formats:
            return f"{look}; none of the common date formats reads them"
        tried = " or ".join(f"'{f}'" for f in self.formats)
        both = (f" (each reads {self.parsed} of {self.total}: the values do not tell which; "
                "check with the centre)" if len(self.formats) > 1
                else f" (it reads {self.parsed} of {self.total})")
        return f"{look}: try date_format {tried}{both}"


def guess_date_format(values: pd.Series | list, formats=COMMON_DATE_FORMATS,
                      low_year: int = 1900, high_year: int = 2100) -> DateGuess | None:
    """Which of ``formats`` reads most of ``values`` (texts that failed the mapping's format).

    Vectorised: each format is tried once with ``pandas.to_datetime(format=..., errors=
    'coerce')`` on the distinct values, and each distinct value counts as often as it occurs;
    a parsed year outside ``low_year``-``high_year`` does not count. None when there are no
    values."""
    from .safety import shape

    s = pd.Series(values, dtype="string").str.strip().dropna()
    s = s[s != ""]
    if s.empty:
        return None
    counts = s.value_counts()
    uniq = pd.Series(counts.index, dtype="string")
    weights = counts.to_numpy()
    best: list[str] = []
    best_n = 0
    for fmt in formats:
        parsed = pd.to_datetime(uniq, format=fmt, errors="coerce")
        ok = (parsed.notna() & parsed.dt.year.between(low_year, high_year)).to_numpy()
        n = int(weights[ok].sum())
        if n > best_n:
            best, best_n = [fmt], n
        elif n == best_n and n > 0:
            best.append(fmt)
    # the most common shape, computed on the distinct values only
    shp = pd.Series([shape(v) for v in uniq]).repeat(weights).value_counts().index[0]
    return DateGuess(tuple(best), best_n, int(weights.sum()), shp)
