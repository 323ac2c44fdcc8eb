"""Rule ``invitro_fit``: per cell line x drug the four-parameter log-logistic fit (drc's
LL.4, :mod:`her2cohort.stats.doseresponse`) on the used wells' viability; comparisons (shared-
IC50 extra-sum-of-squares F tests between lines within a drug and between drugs within a line,
IC50 ratios with CIs); synergy scores on each configured drug pair's dose matrix
(:mod:`her2cohort.stats.synergy`); the figures, the tables (CSV at full precision, HTML,
Word) and ``invitro/summary.json``, which the summary stage turns into the in-vitro sentences.

Vehicle wells are not added to the fits as concentration 0: they define viability 1 through
the normalisation, and adding them to every drug would count them once per drug in the tests
between drugs."""

from __future__ import annotations

from typing import Any

MODELS = ("bliss", "hsa", "loewe", "zip")
MODEL_NAMES = {"bliss": "Bliss", "hsa": "HSA", "loewe": "Loewe", "zip": "ZIP"}


def _order(lines: dict, classes: dict, groups: dict | None, found) -> list[str]:
    levels = list((groups or {}).get("levels") or [])
    rank = {lv: i for i, lv in enumerate(levels)}
    listed = [ln for ln in lines if ln in set(found)]
    return sorted(listed, key=lambda ln: (rank.get(lines[ln], len(levels)),
                                          listed.index(ln)))


def _read(in_wells):
    import pandas as pd

    w = pd.read_csv(in_wells, dtype={"plate": str, "line": str, "drug": str, "drug2": str,
                                     "replicate": str, "rule": str})
    for c in ("line", "drug", "drug2", "rule", "reason"):
        w[c] = w[c].fillna("")
    return w


def _key(s):
    return s.map(lambda v: float(f"{v:.6g}") if v == v else v)


def synergy_frame(use, line: str, a: str, b: str):
    """The dose matrix of drugs ``a`` x ``b`` on ``line`` as a tidy frame (``a``, ``b``,
    ``viability``, one row per used well): the pair's wells, the single-agent wells at the
    matrix's doses (the other dose 0) and the line's vehicle wells (both 0)."""
    import pandas as pd

    pair = use[(use["line"] == line) & (use["drug"] == a) & (use["drug2"] == b)]
    if pair.empty:
        return pd.DataFrame(columns=["a", "b", "viability"])
    da, db = set(_key(pair["conc"])), set(_key(pair["conc2"]))
    single = use[(use["line"] == line) & (use["drug2"] == "") & (use["content"] == "sample")]
    ea = single[(single["drug"] == a) & _key(single["conc"]).isin(da)]
    eb = single[(single["drug"] == b) & _key(single["conc"]).isin(db)]
    veh = use[(use["line"] == line) & (use["content"] == "vehicle")]
    parts = [pd.DataFrame({"a": _key(pair["conc"]), "b": _key(pair["conc2"]),
                           "viability": pair["viability"]}),
             pd.DataFrame({"a": _key(ea["conc"]), "b": 0.0, "viability": ea["viability"]}),
             pd.DataFrame({"a": 0.0, "b": _key(eb["conc"]), "viability": eb["viability"]}),
             pd.DataFrame({"a": 0.0, "b": 0.0, "viability": veh["viability"]})]
    return pd.concat(parts, ignore_index=True)


def main(*, in_wells, out_ic50, out_ic50_html, out_ic50_docx, out_comparisons,
         out_comparisons_html, out_comparisons_docx, out_synergy, out_synergy_pairs,
         out_synergy_html, out_synergy_docx, out_curves_png, out_curves_pdf, out_synergy_png,
         out_synergy_pdf, out_summary, unit="nM", lines=None, drugs=None, combinations=(),
         ci_level=0.95, groups=None, simulated=False, page="A4",
         orientation="portrait") -> None:
    import json
    from pathlib import Path

    import pandas as pd

    from ..render.doseresponse import dose_response_grid, synergy_maps
    from ..render.figures import save_figure
    from ..stats.doseresponse import fit_table, ic50_ratio, shared_ic50_test, fit_ll4
    from ..study.invitro import line_classes
    from .common import write_csv

    lines = dict(lines or {})
    drugs_cfg = dict(drugs or {})
    classes = line_classes(lines, groups)
    w = _read(in_wells)
    use = w[w["status"] != "excluded"]
    single = use[(use["content"] == "sample") & (use["drug2"] == "")
                 & use["viability"].notna()].copy()
    order = _order(lines, classes, groups, single["line"])
    drug_ids = [d for d in drugs_cfg if d in set(single["drug"])] + sorted(
        set(single["drug"]) - set(drugs_cfg))
    labels = {d: (drugs_cfg.get(d) or {}).get("label", d) for d in drug_ids}
    single = single[single["line"].isin(order) & single["drug"].isin(drug_ids)]
    if single.empty:  # stops with status 1 and this sentence (stages.run)
        raise ValueError("no usable single-agent wells to fit: every plate failed QC or every "
                         "sample well was excluded (see tables/invitro_wells_accounting.csv)")

    # -- fits -------------------------------------------------------------------------------
    fits = fit_table(single, conc="conc", resp="viability", by=["line", "drug"])
    fits.insert(1, "her2_class", fits["line"].map(classes))
    fits["drug_label"] = fits["drug"].map(labels)
    fits["max_conc"] = fits.apply(lambda r: single.loc[
        (single["line"] == r["line"]) & (single["drug"] == r["drug"]), "conc"].max(), axis=1)
    fits["unit"] = unit
    fits["_l"] = fits["line"].map(order.index)
    fits["_d"] = fits["drug"].map(drug_ids.index)
    fits = fits.sort_values(["_d", "_l"]).drop(columns=["_l", "_d"]).reset_index(drop=True)
    write_csv(fits, out_ic50, digits=17)
    objs = {(ln, d): (fit_ll4(g["conc"].to_numpy(float), g["viability"].to_numpy(float)),
                      g["conc"][g["conc"] > 0].min(), g["conc"].max())
            for (ln, d), g in single.groupby(["line", "drug"])}

    # -- comparisons ------------------------------------------------------------------------
    cls_order = list(dict.fromkeys(classes[ln] for ln in order))
    ref_lines = [ln for ln in order if classes[ln] == cls_order[0]]
    other = [ln for ln in order if classes[ln] != cls_order[0]]
    rows: list[dict[str, Any]] = []
    for d in drug_ids:
        sub = single[single["drug"] == d]
        if sub["line"].nunique() > 2:
            t = shared_ic50_test(sub, conc="conc", resp="viability", group="line")
            rows.append({"comparison": "between lines", "drug": d, "line": "all lines",
                         "versus": "", **_test(t)})
        for lb in other:
            for la in ref_lines[:1]:  # versus the reference class's first line
                pair = sub[sub["line"].isin([la, lb])]
                if pair["line"].nunique() < 2:
                    continue
                t = shared_ic50_test(pair, conc="conc", resp="viability", group="line")
                rows.append({"comparison": "between lines", "drug": d, "line": lb,
                             "versus": la, **_ratio(objs, (lb, d), (la, d), ci_level,
                                                    ic50_ratio), **_test(t)})
    for ln in order:
        sub = single[single["line"] == ln]
        if sub["drug"].nunique() < 2:
            continue
        t = shared_ic50_test(sub, conc="conc", resp="viability", group="drug")
        rows.append({"comparison": "between drugs", "drug": "all drugs", "line": ln,
                     "versus": "", **_test(t)})
        for d in drug_ids[1:]:
            if (ln, d) not in objs or (ln, drug_ids[0]) not in objs:
                continue
            rows.append({"comparison": "between drugs", "drug": d, "line": ln,
                         "versus": drug_ids[0], **_ratio(objs, (ln, d), (ln, drug_ids[0]),
                                                         ci_level, ic50_ratio)})
    comp = pd.DataFrame(rows)
    if not comp.empty:
        comp.insert(2, "line_class", comp["line"].map(classes).fillna(""))
        comp.insert(4, "versus_class", comp["versus"].map(classes).fillna(""))
    write_csv(comp, out_comparisons, digits=17)

    # -- synergy ----------------------------------------------------------------------------
    pairs, summ = [], []
    if combinations:
        from ..stats import synergy as syn
    for combo in combinations or ():
        a, b = combo["a"], combo["b"]
        for ln in order:
            fr = synergy_frame(use[use["viability"].notna()], ln, a, b)
            if fr.empty:
                continue
            frames = []
            for m in MODELS:
                res = getattr(syn, m)(fr, a="a", b="b", resp="viability")
                frames.append(res)
            s = syn.synergy_summary(frames)
            for res in frames:
                pairs.append(res.assign(line=ln, her2_class=classes[ln], drug_a=a, drug_b=b))
            summ.append(s.assign(line=ln, her2_class=classes[ln], drug_a=a, drug_b=b))
    pairs_df = pd.concat(pairs, ignore_index=True) if pairs else pd.DataFrame(
        columns=["line", "model", "a", "b", "delta"])
    summ_df = pd.concat(summ, ignore_index=True) if summ else pd.DataFrame(
        columns=["line", "model", "mean_delta", "max_delta", "n_pairs"])
    if combinations:  # the models' ids beside their names (stats.synergy.MODEL_NAMES)
        ids = {v: k for k, v in syn.MODEL_NAMES.items()}
        for fr in (pairs_df, summ_df):
            fr["model_id"] = fr["model"].map(lambda m: ids.get(m, m))
    front = ["line", "her2_class", "drug_a", "drug_b", "model_id"]
    pairs_df = pairs_df[[c for c in front if c in pairs_df] + [c for c in pairs_df
                                                              if c not in front]]
    summ_df = summ_df[[c for c in front if c in summ_df] + [c for c in summ_df
                                                           if c not in front]]
    write_csv(pairs_df, out_synergy_pairs, digits=17)
    write_csv(summ_df, out_synergy, digits=17)

    # -- figures ----------------------------------------------------------------------------
    note = "SIMULATED data." if simulated else ""
    pts = (single.groupby(["line", "drug", "conc"])["viability"]
           .agg(mean="mean", sd="std", n="size").reset_index())
    colours = {d: (drugs_cfg.get(d) or {}).get("colour") for d in drug_ids}
    fig = dose_response_grid(pts, fits, lines=order, drugs=drug_ids, line_class=classes,
                             drug_labels=labels, colours=colours, unit=unit, note=note)
    save_figure(fig, out_curves_png, out_curves_pdf)
    if len(pairs_df) and combinations:
        a, b = combinations[0]["a"], combinations[0]["b"]
        sc = pairs_df[(pairs_df["drug_a"] == a) & (pairs_df["drug_b"] == b)
                      & (pairs_df["a"] > 0) & (pairs_df["b"] > 0)
                      & pairs_df["model_id"].isin(["bliss", "zip"])]
        sc = sc.assign(model=sc["model_id"].map(lambda m: MODEL_NAMES.get(m, m)))
        fig = synergy_maps(sc, lines=order, models=[MODEL_NAMES[m] for m in ("bliss", "zip")],
                           line_class=classes, a_label=labels.get(a, a),
                           b_label=labels.get(b, b), unit=unit, note=note)
    else:
        from ..render.message import message_figure

        fig = message_figure("Synergy: not analysed",
                             "no drug pair is configured (invitro: combinations:) or the "
                             "plates hold no dose matrix of it")
    save_figure(fig, out_synergy_png, out_synergy_pdf)

    # -- tables -----------------------------------------------------------------------------
    _tables(fits, comp, summ_df, labels, unit, ci_level, simulated, page, orientation,
            out_ic50_html, out_ic50_docx, out_comparisons_html, out_comparisons_docx,
            out_synergy_html, out_synergy_docx)

    # -- summary for the Results text -------------------------------------------------------
    doc = _summary_doc(fits, comp, summ_df, order, classes, drug_ids, labels, unit,
                       combinations, simulated)
    Path(out_summary).parent.mkdir(parents=True, exist_ok=True)
    with open(out_summary, "w", encoding="utf-8", newline="\n") as fh:
        json.dump(doc, fh, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
        fh.write("\n")
    print(results_paragraph(doc))


def _test(t: dict) -> dict:
    return {"F": t.get("F"), "df1": t.get("df1"), "df2": t.get("df2"), "p": t.get("p"),
            "test": t.get("test", ""), "test_note": t.get("note", "")}


def _ratio(objs, num, den, level, ic50_ratio) -> dict:
    """IC50 ratio of two fits; none where a fit did not converge or its relative IC50 lies
    outside its tested range (never an extrapolated number)."""
    fa, fb = objs.get(num), objs.get(den)
    none = {"ratio": None, "ratio_lo": None, "ratio_hi": None, "ci_method": ""}
    if fa is None or fb is None or not (fa[0].converged and fb[0].converged):
        return {**none, "note": "a fit did not converge"}
    if any(not lo <= f.e <= hi for f, lo, hi in (fa, fb)):
        return {**none, "note": "IC50 beyond the doses tested"}
    fa, fb = fa[0], fb[0]
    r = ic50_ratio(fa, fb, level)
    return {"ratio": r["ratio"], "ratio_lo": r["lo"], "ratio_hi": r["hi"],
            "ci_method": r["ci_method"], "note": ""}


def _f(v: Any, digits: int = 3) -> str:
    import math

    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    return f"{v:,.0f}" if abs(v) >= 10 ** digits else f"{v:.{digits}g}"


def _p(v: Any) -> str:
    from ..render.format import format_p

    return format_p(v) if v is not None and v == v else ""


def _tables(fits, comp, summ, labels, unit, level, simulated, page, orientation, ic50_html,
            ic50_docx, comp_html, comp_docx, syn_html, syn_docx) -> None:
    import pandas as pd

    from ..render.tables import DisplayTable, write_docx, write_html
    from .common import simulated_notes

    pct = f"{level * 100:g}%"
    ci = fits.apply(lambda r: "not estimated" if not r["converged"] else
                    f"> {_f(r['max_conc'])} (beyond the doses)" if r["ic50"] > r["max_conc"]
                    else f"{_f(r['ic50'])} ({_f(r['ic50_lo'])}\u2013{_f(r['ic50_hi'])})",
                    axis=1)
    absc = fits.apply(lambda r: _f(r["abs_ic50"]) if r["abs_ic50"] == r["abs_ic50"]
                      and r["abs_ic50"] is not None else f"> {_f(r['max_conc'])}", axis=1)
    body = pd.DataFrame({"Drug": fits["drug"].map(labels), "Cell line": fits["line"],
                         "Class": fits["her2_class"],
                         f"IC50, {unit} ({pct} CI)": ci, f"Absolute IC50, {unit}": absc,
                         "Hill slope": fits["hill"].map(lambda v: _f(v, 2)),
                         "Emax": fits["emax"].map(lambda v: _f(v, 2)),
                         "AUC": fits["auc"].map(lambda v: _f(v, 2))})
    # a fit's message goes to a footnote (cells never wrap): marked a, b, ... in the table
    bad = [i for i, ok in enumerate(fits["converged"]) if not ok]
    marks = {i: "abcdefghijklmnopqrstuvwxyz"[k % 26] for k, i in enumerate(bad)}
    body[f"IC50, {unit} ({pct} CI)"] = [f"{t} ({marks[i]})" if i in marks else t
                                          for i, t in enumerate(body[f"IC50, {unit} ({pct} CI)"])]
    method = next((m for m in fits["ci_method"].dropna().unique() if m), "")
    notes = ["Four-parameter log-logistic fit (drc LL.4) per line and drug on the viability of "
             "the used wells (vehicle = 1, blank = 0). IC50: relative IC50 (midpoint between "
             "the fitted asymptotes); absolute IC50: concentration where the curve crosses 50% "
             "viability, '>' the highest dose tested where it does not.",
             f"CI: {method}." if method else "",
             "Emax: fractional kill at the highest dose; AUC: normalised area under the fitted "
             "curve over the tested log10 dose range."] + [
                 f"({marks[i]}) {fits['line'].iloc[i]}, {labels.get(fits['drug'].iloc[i])}: "
                 f"{fits['note'].iloc[i]}" for i in bad] + simulated_notes(simulated)
    disp = DisplayTable(body, title="In vitro drug sensitivity",
                        footnotes=[n for n in notes if n])
    write_html(disp, ic50_html)
    write_docx(disp, ic50_docx, page=page, orientation="landscape")
    if comp.empty:
        cbody = pd.DataFrame({"Comparison": ["none possible"]})
    else:
        cbody = pd.DataFrame({
            "Comparison": comp["comparison"],
            "Drug": comp["drug"].map(lambda d: labels.get(d, d)),
            "Line": comp["line"], "Versus": comp["versus"].map(lambda d: labels.get(d, d)),
            f"IC50 ratio ({pct} CI)": comp.apply(
                lambda r: f"{_f(r.get('ratio'))} ({_f(r.get('ratio_lo'))}\u2013"
                          f"{_f(r.get('ratio_hi'))})" if r.get("ratio") == r.get("ratio")
                and r.get("ratio") is not None else "", axis=1),
            "F": comp["F"].map(lambda v: _f(v, 3)), "p": comp["p"].map(_p),
        })
        # why a ratio or a test is missing: one footnote per reason, marked in the row
        why = []
        for r in comp.to_dict("records"):
            parts = []
            if r.get("versus") and not _num(r.get("ratio")) and _text(r.get("note")):
                parts.append(f"no ratio: {_text(r.get('note'))}")
            if _num(r.get("p")) is None and _text(r.get("test_note")):
                parts.append("no F test: " + _text(r.get("test_note")).removeprefix(
                    "no test: "))
            why.append("; ".join(parts))
        reasons = list(dict.fromkeys(x for x in why if x))
        letter = {x: "abcdefghijklmnopqrstuvwxyz"[i % 26] for i, x in enumerate(reasons)}
        cbody["Note"] = [f"({letter[x]})" if x else "" for x in why]
    tests = sorted({t for t in comp.get("test", pd.Series(dtype=str)).dropna() if t})
    cms = sorted({t for t in comp.get("ci_method", pd.Series(dtype=str)).dropna() if t})
    notes = ([f"p: {t}: full model (each curve its own IC50) versus shared IC50." for t in tests]
             + [f"Ratio CI: {m}." for m in cms]
             + ([f"({letter[x]}) {x}." for x in reasons] if not comp.empty else [])
             + simulated_notes(simulated))
    disp = DisplayTable(cbody.astype(str), title="In vitro comparisons of IC50", footnotes=notes)
    write_html(disp, comp_html)
    write_docx(disp, comp_docx, page=page, orientation="landscape")
    if summ.empty:
        sbody = pd.DataFrame({"Synergy": ["no drug pair analysed"]})
    else:
        sbody = pd.DataFrame({
            "Pair": summ["drug_a"].map(labels) + " + " + summ["drug_b"].map(labels),
            "Cell line": summ["line"], "Class": summ["her2_class"],
            "Model": summ["model_id"].map(lambda m: MODEL_NAMES.get(m, m)),
            "Mean score": summ["mean_delta"].map(lambda v: f"{v:.3f}" if v == v
                                                 else "not estimable"),
            "Max score": summ["max_delta"].map(lambda v: f"{v:.3f}" if v == v else ""),
            "Dose pairs scored": [f"{int(a)} of {int(a) + int(b)}" for a, b in
                                  zip(summ["n_pairs"], summ["n_missing"], strict=True)]})
    notes = ["Synergy score: observed minus expected effect (fraction of cells killed) per "
             "dose pair; > 0 synergy, < 0 antagonism. Bliss independence; HSA: highest single "
             "agent; Loewe additivity from the single-agent fits; ZIP: zero interaction "
             "potency (Yadav et al. 2015).",
             "Loewe: a dose pair is not scored where its expected effect lies beyond a single "
             "agent's fitted maximal effect (no Loewe solution)."] + simulated_notes(simulated)
    disp = DisplayTable(sbody, title="In vitro drug combination (synergy)", footnotes=notes)
    write_html(disp, syn_html)
    write_docx(disp, syn_docx, page=page, orientation=orientation)


def _num(v):
    import math

    if v is None:
        return None
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _text(v) -> str:
    return "" if v is None or (isinstance(v, float) and v != v) else str(v)


def _summary_doc(fits, comp, summ, order, classes, drug_ids, labels, unit, combinations,
                 simulated) -> dict:
    ic50 = {}
    for r in fits.to_dict("records"):
        ic50[f"{r['line']}|{r['drug']}"] = {
            "line": r["line"], "drug": r["drug"], "estimate": _num(r["ic50"]),
            "lower": _num(r["ic50_lo"]), "upper": _num(r["ic50_hi"]),
            "abs_ic50": _num(r["abs_ic50"]), "max_conc": _num(r["max_conc"]),
            "converged": bool(r["converged"]), "ci_method": str(r.get("ci_method") or ""),
            "emax": _num(r["emax"]), "note": str(r.get("note") or "")}
    ratios = [{"drug": r["drug"], "line": r["line"], "versus": r["versus"],
               "comparison": r["comparison"], "estimate": _num(r.get("ratio")),
               "lower": _num(r.get("ratio_lo")), "upper": _num(r.get("ratio_hi")),
               "ci_method": str(r.get("ci_method") or ""), "p": _num(r.get("p")),
               "test": str(r.get("test") or ""), "note": _text(r.get("note")),
               "test_note": _text(r.get("test_note"))}
              for r in comp.to_dict("records")] if not comp.empty else []
    synergy = [{"line": r["line"], "model": r["model_id"], "drug_a": r["drug_a"],
                "drug_b": r["drug_b"], "mean_delta": _num(r["mean_delta"]),
                "max_delta": _num(r["max_delta"])} for r in summ.to_dict("records")]
    return {"simulated": bool(simulated), "unit": unit,
            "lines": [{"line": ln, "class": classes[ln]} for ln in order],
            "drugs": [{"id": d, "label": labels[d]} for d in drug_ids],
            "combinations": [dict(c) for c in combinations or ()],
            "ic50": ic50, "ratios": ratios, "synergy": synergy}


def results_paragraph(doc: dict) -> str:
    """The in-vitro sentences of the Results (from ``invitro/summary.json``): which lines and
    drugs, each drug's IC50 per line, the IC50 ratios of each line of the other class(es)
    versus the first line of the reference class with their CIs and p-values (test named),
    and the synergy of the drug pair(s)."""
    from ..render import words as w

    if not doc or not doc.get("lines"):
        return ""
    unit = doc["unit"]
    by_class: dict[str, list[str]] = {}
    for x in doc["lines"]:
        by_class.setdefault(x["class"], []).append(x["line"])
    lab = {d["id"]: d["label"] for d in doc["drugs"]}
    combos = [f"{w.lower_first(lab.get(c['a'], c['a']))} + "
              f"{w.lower_first(lab.get(c['b'], c['b']))}"
              for c in doc.get("combinations") or []]
    sim = " (SIMULATED)" if doc.get("simulated") else ""
    out = [f"In vitro{sim}, {len(doc['lines'])} cell lines were tested, "
           + w.join(f"{w.join(ls)} ({c})" for c, ls in by_class.items())
           + ", with " + w.join([w.lower_first(lab[d["id"]]) for d in doc["drugs"]]
                                + [w.lower_first(c) for c in combos]) + "."]
    ref = doc["lines"][0]["line"]
    tests, methods = set(), set()
    for d in doc["drugs"]:
        vals = []
        for x in doc["lines"]:
            r = doc["ic50"].get(f"{x['line']}|{d['id']}")
            if not r:
                continue
            if not r["converged"] or r["estimate"] is None:
                vals.append(f"not estimated in {x['line']}")
                continue
            if r["estimate"] > r["max_conc"]:
                txt = f"> {w.num_sig(r['max_conc'])} (beyond the doses tested)"
            else:  # IC50s span orders of magnitude: significant digits (words.num_sig)
                txt = w.ci_text(r["estimate"], r["lower"], r["upper"], sig=3)
                if r["abs_ic50"] is None:  # relative IC50 of a curve that stays above 50%
                    txt = txt[:-1] + "; viability stayed above 50%)"
            vals.append(f"{txt} in {x['line']}")
            if r.get("ci_method"):
                methods.add(r["ci_method"])
        if not vals:
            continue
        s = f"The IC50 ({unit}) of {w.lower_first(d['label'])} was " + w.join(vals) + "."
        rat = [r for r in doc["ratios"] if r["drug"] == d["id"] and r["versus"] == ref
               and r["comparison"] == "between lines"]
        parts = []
        for r in rat:
            bit = f"{r['line']} {w.ci_text(r['estimate'], r['lower'], r['upper'], 2)}" \
                if r["estimate"] is not None else \
                f"{r['line']}: ratio not estimated ({r.get('note') or 'no ratio'})"
            if r["p"] is not None:
                bit += f" ({w.p_text(r['p'])})" if r["estimate"] is not None else \
                    f", IC50s differing by the F test ({w.p_text(r['p'])})"
                tests.add(r["test"])
            elif r["estimate"] is not None:
                bit += " (no F test: " + (r.get("test_note") or "not computable") + ")"
            if r.get("ci_method"):
                methods.add(r["ci_method"])
            parts.append(bit)
        if parts:
            s += f" IC50 ratios versus {ref}: " + "; ".join(parts) + "."
        out.append(s)
    for c in doc.get("combinations") or []:
        rows = [r for r in doc["synergy"] if r["drug_a"] == c["a"] and r["drug_b"] == c["b"]
                and r["model"] == "bliss" and r["mean_delta"] is not None]
        if rows:
            out.append(f"For {w.lower_first(lab.get(c['a'], c['a']))} + "
                       f"{w.lower_first(lab.get(c['b'], c['b']))}, the mean "
                       "Bliss excess over the dose matrix was " + w.join(
                           f"{w.num(r['mean_delta'], 3)} in {r['line']}" for r in rows)
                       + " (> 0: more effect than independent action).")
    notes = []
    if tests:
        notes.append("P-values: " + "; ".join(sorted(tests)) + " for the in-vitro IC50s.")
    if methods:
        notes.append("Intervals of the in-vitro estimates: " + "; ".join(sorted(methods))
                     + ".")
    return " ".join(out + notes)
