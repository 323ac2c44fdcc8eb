"""Rule ``her2_loss``: HER2 loss after therapy among re-tested residual tumours, by group
(rates with CI, Fisher's exact test); its own rule, run only when ``analyses.her2_loss`` is on,
so that a study without it has no such table in its report."""

from __future__ import annotations


def main(*, in_analysis, out_csv, out_docx, out_html, groups, pcr_ci, her2_guideline,
         simulated, variables=(), treatment=None, her2_rule="ASCO/CAP", criteria=(),
         page="A4", orientation="portrait") -> None:
    from ..study.wording import BASIS_COLUMNS, her2_basis, her2_relevant
    from .columns import PCR_FIELDS, read_analysis, stage_params_of
    from .common import group_setup
    from .response import G, _her2_loss, _Labels

    # the columns read: those the configuration names (variables: labels and level orders;
    # criteria: whether HER2 is spoken of; neither reads a column)
    reads = stage_params_of({k: v for k, v in locals().items()
                             if k not in ("variables", "criteria")})
    df, labels = group_setup(groups, read_analysis(in_analysis, reads, *PCR_FIELDS,
                                                   *BASIS_COLUMNS))
    df = df[df[G].notna()].copy()
    df[G] = df[G].astype(object)
    lab = _Labels(variables, groups, labels, treatment)
    her2_text = her2_basis(df, her2_rule, her2_guideline) if her2_relevant(
        groups, list(criteria)) else ""
    out = {"out_her2_loss": out_csv, "out_her2_loss_docx": out_docx,
           "out_her2_loss_html": out_html, "page": page, "orientation": orientation}
    _her2_loss(df, labels, pcr_ci, her2_guideline, her2_text, simulated, lab, out)
