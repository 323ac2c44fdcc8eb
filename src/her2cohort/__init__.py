"""her2cohort: reproducible pipeline for retrospective HER2-positive neoadjuvant cohort studies."""

__version__ = "0.1.0"
