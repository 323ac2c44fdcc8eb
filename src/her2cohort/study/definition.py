"""The study definition (config ``study:``): what is compared, which treatments, which
endpoints, with every name and label a table, figure or sentence uses. Stages and renderers take
their words from here and hold none of their own.

Typed, immutable objects built from the validated config (defaults already filled from the
schema by ``data.config.load_config``). Light: no pandas, so that the Snakefile can import it.

Older configs (``groups:``, ``dfs: {origin, events}``, ``survival: {endpoints, os_origin}``,
``analyses: {dfs}``) are translated into the study definition by :func:`upgrade_config`, so
that one form reaches the stages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..data.upgrade import (  # noqa: F401 (the older config form: re-exported)
    LEGACY_KEYS,
    deep_merge,
    has_legacy_keys,
    upgrade_config,
)

# Canonical duration + status pairs an endpoint can be recorded as (data/fields.py).
RECORDED_PAIRS = {"dfs": ("dfs_time", "dfs_event"), "os": ("os_time", "os_event"),
                  "efs": ("efs_time", "efs_event")}
ORIGIN_FIELDS = {"surgery": "surgery_date", "diagnosis": "diagnosis_date",
                 "nst_start": "nst_start_date"}
ORIGIN_TEXT = {"surgery": "surgery", "diagnosis": "diagnosis",
               "nst_start": "start of neoadjuvant therapy"}
EVENT_TEXT = {"ipsilateral_breast": "ipsilateral invasive breast recurrence",
              "local_regional": "local/regional invasive recurrence",
              "distant": "distant recurrence",
              "contralateral_breast": "contralateral invasive breast cancer",
              "second_primary": "second primary invasive cancer",
              "dcis": "ductal carcinoma in situ",
              "death": "death from any cause"}

@dataclass(frozen=True)
class Level:
    """One compared group: its id (used in keys), label (printed) and the values of the
    exposure column it holds (several values = a merged level)."""
    id: str
    label: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Exposure:
    name: str
    column: str
    levels: tuple[Level, ...]
    ordered: bool = False
    pairwise_adjust: str = "holm"

    @property
    def labels(self) -> list[str]:
        return [lv.label for lv in self.levels]

    def value_to_label(self) -> dict[Any, str]:
        return {v: lv.label for lv in self.levels for v in lv.values}

    def as_groups(self) -> dict:
        """The ``groups`` dict the stages take (column, levels, labels, values, name)."""
        return {"name": self.name, "column": self.column,
                "levels": [lv.id for lv in self.levels],
                "labels": {lv.id: lv.label for lv in self.levels},
                "values": {lv.id: list(lv.values) for lv in self.levels},
                "ordered": self.ordered, "pairwise_adjust": self.pairwise_adjust}


@dataclass(frozen=True)
class Arm:
    id: str
    label: str
    drugs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Treatment:
    column: str
    name: str
    arms: tuple[Arm, ...]

    @property
    def ids(self) -> list[str]:
        return [a.id for a in self.arms]

    def label(self, arm_id: str) -> str:
        return next((a.label for a in self.arms if a.id == arm_id), str(arm_id))


@dataclass(frozen=True)
class Endpoint:
    """A time-to-event endpoint: from ``origin`` to the first of ``events`` (recurrence types
    and/or ``death``), censored at last contact; or as recorded (duration + status)."""
    id: str
    name: str
    abbreviation: str
    origin: str = "surgery"
    events: tuple[str, ...] = ("death",)
    form: str = "auto"  # auto | dates | recorded
    recorded: tuple[str, str] | None = None  # canonical (time, event) pair

    @property
    def time(self) -> str:
        """Column of the derived time in months."""
        return f"{self.id}_months"

    @property
    def event(self) -> str:
        return f"{self.id}_event"

    @property
    def source(self) -> str:
        return f"{self.id}_source"

    @property
    def death_only(self) -> bool:
        return tuple(self.events) == ("death",)

    @property
    def date_fields(self) -> list[str]:
        """Canonical fields the endpoint is computed from when given as dates."""
        f = [ORIGIN_FIELDS[self.origin], "last_contact_date"]
        if any(e != "death" for e in self.events):
            f += ["recurrence_date", "recurrence_type"]
        if "death" in self.events:
            f.append("vital_status")
        return f

    def forms(self) -> list[list[str]]:
        """The ways a centre can record this endpoint (requirements)."""
        out = []
        if self.form in ("auto", "recorded") and self.recorded:
            out.append(list(self.recorded))
        if self.form in ("auto", "dates"):
            out.append(self.date_fields)
        return out

    def definition(self, from_dates: bool = True, recorded_too: bool = False) -> str:
        """One line for captions and footnotes."""
        ev = "; ".join(EVENT_TEXT.get(e, e.replace("_", " ")) for e in self.events)
        dated = (f"{self.abbreviation} from {ORIGIN_TEXT.get(self.origin, self.origin)}; "
                 f"event{'s' if len(self.events) > 1 else ''}: {ev}")
        if from_dates and not recorded_too:
            return dated
        if not from_dates:
            return f"{self.abbreviation} as recorded by the centre (time and event)"
        return f"{dated} (dates), or as recorded by the centre"


@dataclass(frozen=True)
class Study:
    id: str
    title: str
    design: str
    population: str
    simulated: bool
    exposure: Exposure
    treatment: Treatment | None
    endpoints: tuple[Endpoint, ...]
    primary_endpoint: str
    her2_rule_name: str = "ASCO/CAP"

    def endpoint(self, eid: str) -> Endpoint:
        for e in self.endpoints:
            if e.id == eid:
                return e
        raise KeyError(f"endpoint {eid!r} is not defined under study: endpoints:")

    @property
    def endpoint_ids(self) -> list[str]:
        return [e.id for e in self.endpoints]

    @classmethod
    def from_config(cls, cfg: dict) -> Study:
        return from_dict(cfg["study"])


def _level(raw: Any) -> Level:
    if not isinstance(raw, dict):
        raw = {"id": raw}
    lid = raw["id"]
    vals = raw.get("values")
    return Level(id=str(lid), label=str(raw.get("label", lid)),
                 values=tuple(vals) if vals else (lid,))


def endpoint_from(eid: str, e: dict) -> Endpoint:
    """The typed endpoint ``eid`` of ``study.endpoints``."""
    rec = e.get("recorded")
    pair = (rec["time"], rec["event"]) if rec else RECORDED_PAIRS.get(eid)
    return Endpoint(id=eid, name=e.get("name", eid),
                    abbreviation=e.get("abbreviation", eid.upper()),
                    origin=e.get("origin", "surgery"),
                    events=tuple(e.get("events") or ("death",)), form=e.get("form", "auto"),
                    recorded=pair)


def from_dict(s: dict) -> Study:
    """The typed study definition of a (validated, upgraded) ``study:`` section."""
    ex = s["exposure"]
    exposure = Exposure(name=ex.get("name") or ex["column"], column=ex["column"],
                        levels=tuple(_level(x) for x in ex["levels"]),
                        ordered=bool(ex.get("ordered", False)),
                        pairwise_adjust=str(ex.get("pairwise_adjust", "holm")))
    tr = s.get("treatment")
    treatment = None
    if tr:
        treatment = Treatment(column=tr["column"], name=tr.get("name") or tr["column"],
                              arms=tuple(Arm(id=str(a["id"]), label=str(a.get("label", a["id"])),
                                             drugs=tuple(a.get("drugs") or ()))
                                         for a in tr["arms"]))
    eps = [endpoint_from(eid, e) for eid, e in (s.get("endpoints") or {}).items()]
    return Study(id=s.get("id", "study"), title=s.get("title", ""),
                 design=s.get("design", "neoadjuvant"), population=s.get("population", ""),
                 simulated=bool(s.get("simulated", False)), exposure=exposure,
                 treatment=treatment, endpoints=tuple(eps),
                 primary_endpoint=s.get("primary_endpoint") or "pcr",
                 her2_rule_name=(s.get("her2") or {}).get("name", "ASCO/CAP"))
