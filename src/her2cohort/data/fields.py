"""The canonical (harmonized) data model: one row per patient record received from a centre.

Every centre mapping in ``config/centres/*.yaml`` maps the centre's own columns and codes onto
these fields. The model is study-generic for neoadjuvant breast cancer cohorts; study choices
(which events count, which criteria apply) live in ``config/config.yaml``, not here.

Kinds:
- ``id``: free text identifier (hospital record number); never leaves ``data/processed``
  except as a pseudonymous key.
- ``date``: parsed with the centre's date format (strftime pattern, ``excel_serial`` or ``iso``);
  a typed Parquet date or timestamp column is read as dates without it.
- ``number``: parsed with the centre's decimal mark; ``unit`` gives the canonical unit and
  ``UNIT_FACTORS`` the allowed source units.
- ``code``: a closed vocabulary; a raw value must be in ``values`` or be mapped onto one of
  them by the centre mapping (an unmapped value is an error, never a guess).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # id | date | number | code
    label: str
    required: bool = False  # the identifier only: every other field is required when an
    # enabled analysis needs it (study/requirements.py), unless the centre lists it under
    # ``not_recorded:``
    values: tuple[str, ...] = ()
    unit: str | None = None
    low: float | None = None  # plausible range (inclusive) for numbers
    high: float | None = None
    integer: bool = False


YPT = ("ypT0", "ypTis", "ypT1mi", "ypT1a", "ypT1b", "ypT1c", "ypT2", "ypT3", "ypT4")
YPN = ("ypN0", "ypN0(i+)", "ypN1mi", "ypN1", "ypN2", "ypN3")
PT = ("pT0", "pTis", "pT1", "pT1mi", "pT1a", "pT1b", "pT1c", "pT2", "pT3", "pT4")  # pT1: subcategory not recorded
PN = ("pN0", "pN0(i+)", "pN1mi", "pN1", "pN2", "pN3")
IHC = ("0", "1+", "2+", "3+")
RECURRENCE_TYPES = (
    "ipsilateral_breast",
    "local_regional",
    "distant",
    "contralateral_breast",
    "second_primary",
    "dcis",
)

FIELDS: tuple[Field, ...] = (
    Field("patient_id", "id", "Hospital patient identifier", True),
    Field("birth_date", "date", "Date of birth"),
    Field("sex", "code", "Sex", values=("female", "male")),
    Field("prior_therapy", "code",
          "Prior systemic therapy or prior breast cancer before this diagnosis",
          values=("yes", "no")),
    Field("laterality", "code", "Side of the index tumour", values=("left", "right")),
    Field("diagnosis_date", "date", "Date of histological diagnosis"),
    Field("nst_start_date", "date", "Start of neoadjuvant systemic therapy"),
    Field("surgery_date", "date", "Date of definitive breast surgery (blank: no surgery)"),
    Field("last_contact_date", "date", "Date of last contact (alive or dead)"),
    Field("recurrence_date", "date", "Date of first recurrence or new cancer"),
    Field("recurrence_type", "code", "Type of first recurrence", values=RECURRENCE_TYPES),
    Field("death_date", "date", "Date of death"),
    Field("vital_status", "code", "Vital status at last contact", values=("alive", "dead")),
    Field("menopausal_status", "code", "Menopausal status at diagnosis", values=("pre", "post")),
    Field("ct", "code", "Clinical T category (AJCC 8)", values=("T1", "T2", "T3", "T4")),
    Field("cn", "code", "Clinical N category (AJCC 8)", values=("N0", "N1", "N2", "N3")),
    Field("cm", "code", "Clinical M category (AJCC 8)", values=("M0", "M1")),
    Field("pt", "code", "Pathological T category (surgery without neoadjuvant therapy)",
          values=PT),
    Field("pn", "code", "Pathological N category (surgery without neoadjuvant therapy)",
          values=PN),
    Field("pm", "code", "M category at pathological staging", values=("M0", "M1")),
    Field("ajcc_edition", "code", "AJCC staging edition of the TNM categories",
          values=("7", "8")),
    Field("tumour_size_mm", "number", "Clinical tumour size", unit="mm", low=1, high=250),
    Field("histology", "code", "Histological type", values=("IDC", "ILC", "other")),
    Field("grade", "code", "Histological grade", values=("1", "2", "3")),
    Field("er_pct", "number", "ER-positive tumour cells", unit="%", low=0, high=100),
    Field("pr_pct", "number", "PR-positive tumour cells", unit="%", low=0, high=100),
    Field("ki67_pct", "number", "Ki-67 index", unit="%", low=0, high=100),
    Field("her2_ihc", "code", "HER2 IHC score at diagnosis", values=IHC),
    Field("her2_ihc0_subtype", "code", "IHC 0 subtype", values=("null", "ultralow")),
    Field("ish_probe", "code", "ISH probe type", values=("dual", "single")),
    Field("ish_ratio", "number", "HER2/CEP17 ratio", unit="ratio", low=0.01, high=50),
    Field("her2_copies", "number", "Mean HER2 copies/cell", unit="copies", low=0.1, high=100),
    Field("her2_signals", "number", "HER2 signals counted in all cells (ISH signal total)",
          unit="signals", low=1, high=100000, integer=True),
    Field("cep17_signals", "number", "CEP17 signals counted in all cells (ISH signal total)",
          unit="signals", low=1, high=100000, integer=True),
    Field("cells_counted", "number", "Tumour cells counted for ISH", unit="cells", low=1,
          high=10000, integer=True),
    Field("ish_result", "code", "ISH result reported by the centre",
          values=("positive", "negative", "equivocal")),
    Field("regimen", "code", "Neoadjuvant regimen"),  # vocabulary in config
    Field("cycles", "number", "Neoadjuvant cycles", unit="cycles", low=1, high=12,
          integer=True),
    Field("surgery_type", "code", "Type of breast surgery", values=("BCS", "mastectomy")),
    Field("ypt", "code", "Pathological T after NST", values=YPT),
    Field("ypn", "code", "Pathological N after NST", values=YPN),
    Field("rcb_class", "code", "Residual cancer burden class", values=("0", "I", "II", "III")),
    Field("post_her2_ihc", "code", "HER2 IHC of residual tumour after NST", values=IHC),
    Field("post_ish_result", "code", "ISH of residual tumour after NST",
          values=("positive", "negative", "equivocal")),
    # --- other ways to record the same facts (study/requirements.py says which form serves
    # which analysis; where a centre gives both forms, validation cross-checks them) ---
    Field("age_years", "number", "Age at diagnosis in years (instead of birth date)",
          unit="years", low=0, high=120),
    Field("er_status", "code", "ER status as recorded (instead of ER %)",
          values=("positive", "negative")),
    Field("pr_status", "code", "PR status as recorded (instead of PR %)",
          values=("positive", "negative")),
    Field("hr_status", "code", "Hormone receptor status as recorded",
          values=("positive", "negative")),
    Field("her2_status", "code", "Final HER2 status as recorded (when no IHC/ISH detail)",
          values=("positive", "negative")),
    Field("anti_her2", "code", "Anti-HER2 therapy class as recorded (instead of a regimen)",
          values=("single", "dual", "none")),
    Field("pcr", "code", "pCR as recorded by the centre (definition stated in config)",
          values=("yes", "no")),
    Field("dfs_time", "number", "Time to DFS event or censoring (instead of dates)",
          unit="months", low=0, high=600),
    Field("dfs_event", "code", "DFS event indicator as recorded (with dfs_time)",
          values=("event", "censored")),
    Field("os_time", "number", "Time to death or censoring (overall survival as a duration)",
          unit="months", low=0, high=600),
    Field("os_event", "code", "OS status as recorded (with os_time): death or censored",
          values=("event", "censored")),
    Field("efs_time", "number", "Time to EFS event or censoring (EFS as a duration)",
          unit="months", low=0, high=600),
    Field("efs_event", "code", "EFS event indicator as recorded (with efs_time)",
          values=("event", "censored")),
)

BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}

# Allowed source units and their factor to the canonical unit.
UNIT_FACTORS: dict[str, dict[str, float]] = {
    "mm": {"mm": 1.0, "cm": 10.0},
    "%": {"%": 1.0, "fraction": 100.0},
    "years": {"years": 1.0},
    "months": {"months": 1.0, "days": 12 / 365.25, "weeks": 7 * 12 / 365.25, "years": 12.0},
}

DATE_FIELDS = tuple(f.name for f in FIELDS if f.kind == "date")
NUMBER_FIELDS = tuple(f.name for f in FIELDS if f.kind == "number")
CODE_FIELDS = tuple(f.name for f in FIELDS if f.kind == "code")

# Provenance columns added by ingestion in front of the canonical fields.
PROVENANCE = ("centre", "source_file", "source_row")
