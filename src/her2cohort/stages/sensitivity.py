"""Rule ``sensitivity``: one alternative definition (a config variant: pCR definition, DFS
origin or events, HER2 guideline, KM CI type, ...) applied from the validated records on: derive,
criteria, headline estimates. One job per variant, so the scheduler runs them in parallel."""

from __future__ import annotations


def variant_config(config: dict, name: str) -> dict:
    """The study config with the variant's overrides merged in (nested keys replace only
    what they name). ``main`` is the study config itself."""
    import copy

    def merge(base: dict, over: dict) -> dict:
        out = copy.deepcopy(base)
        for k, v in over.items():
            out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) \
                else copy.deepcopy(v)
        return out

    if name == "main":
        return config
    variants = (config.get("sensitivity") or {}).get("variants") or {}
    return merge(config, variants[name].get("overrides") or {})


def main(*, in_validated, in_quarantine, out_csv, variant, config) -> None:
    import pandas as pd

    from ..study.cohort import apply_criteria
    from ..study.derive import derive
    from .common import write_csv
    from .headline import headline
    from .params import stage_params

    derived = derive(pd.read_parquet(in_validated), **stage_params(config, "derive"))
    analysed, _, _ = apply_criteria(derived, pd.read_parquet(in_quarantine),
                                    config["criteria"], config["groups"])
    rows = headline(analysed, groups=config["groups"],
                    pcr_test=str(config["pcr"].get("test", "pearson")),
                    km_ci=str((config.get("dfs") or {}).get("km_ci", "log")),
                    landmark=float(max((config.get("dfs") or {}).get("landmarks_months")
                                       or [60])))
    out = pd.DataFrame(rows)
    out.insert(0, "variant", variant)
    write_csv(out, out_csv, digits=17)
