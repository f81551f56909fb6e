"""Tables 1-4 of the paper as DataFrames (small counts suppressed with `lotluca.privacy`) and their
CSV + Markdown rendering.

- Table 1 `baseline_table`: baseline characteristics of the advanced NSCLC persons and of the
  gold-standard subset (n and % per level, median (IQR) of age and follow-up).
- Table 2: `lotluca.figures.accuracy.accuracy_table`.
- Table 3 `medians_table`: KM medians (95% CI) by line and first-line regimen class, gold vs the best
  algorithm, from the exported km_summary.
- Table 4 `calibration_table`: the simulator's calibration table (simulated vs published targets).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lotluca.errors import InputError
from lotluca.figures.style import ENDPOINT_LABELS, class_label
from lotluca.privacy import assert_exportable, suppress_counts
from lotluca.privacy.suppress import complementary_suppress

DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = 30.4375
CATEGORICAL = {
    "sex": ("Sex", {"M": "Male", "F": "Female"}),
    "age_class": ("Age at advanced diagnosis", {"< 65": "< 65 years", "65-74": "65-74 years", ">= 75": ">= 75 years"}),
    "histology": ("Histology", {"non_squamous": "Non-squamous", "squamous": "Squamous", "nos": "NOS"}),
    "egfr": ("EGFR", {"mutated": "Mutated", "wild_type": "Wild type", "unknown": "Unknown"}),
    "alk": ("ALK", {"mutated": "Rearranged", "wild_type": "Wild type", "unknown": "Unknown"}),
    "pdl1": ("PD-L1 (TPS)", {"<1%": "< 1%", "1-49%": "1-49%", ">=50%": ">= 50%", "unknown": "Unknown"}),
    "era": ("Year of advanced diagnosis", {}),
    "dead": ("Death observed", {True: "Yes", False: "No"}),
}
BASELINE_COLUMNS = ["group", "characteristic", "level", "n", "percent", "summary", "suppressed"]


def _age_class(age: pd.Series) -> pd.Series:
    out = pd.cut(age, [-np.inf, 65, 75, np.inf], right=False, labels=["< 65", "65-74", ">= 75"])
    return out.astype(object).where(age.notna(), "Unknown")


def _era(dates: pd.Series, start_years) -> pd.Series:
    ys = sorted(start_years)
    labels = [f"{a}-{b - 1}" for a, b in zip(ys[:-1], ys[1:], strict=True)] + [f"{ys[-1]}+"]
    idx = np.clip(
        np.searchsorted(np.asarray(ys), pd.to_datetime(dates).dt.year.to_numpy(), side="right") - 1, 0, len(ys) - 1
    )
    return pd.Series(np.asarray(labels, dtype=object)[idx], index=dates.index).where(dates.notna(), "Unknown")


def _median_iqr(x: pd.Series, digits: int = 1) -> str:
    x = x.dropna()
    if x.empty:
        return "NA"
    q1, q2, q3 = np.percentile(x, [25, 50, 75])
    return f"{q2:.{digits}f} ({q1:.{digits}f}-{q3:.{digits}f})"


def baseline_table(
    persons: pd.DataFrame,
    groups: dict,
    min_cell: int,
    method: str,
    era_start_years,
) -> pd.DataFrame:
    """Table 1 (tidy): for each group ({label: set of person ids, or None for every person}) the number of
    persons, then n and % per level of sex, age class, histology, EGFR, ALK, PD-L1, era and death, and
    the median (IQR) age and follow-up. Counts 1..min_cell-1 blanked, with secondary suppression inside
    each characteristic (so a blanked level cannot be recovered from the group total)."""
    need = [
        "person_id",
        "sex",
        "birth_year",
        "diagnosis_date",
        "histology",
        "egfr",
        "alk",
        "pdl1",
        "death_date",
        "end_of_followup",
    ]
    missing = [c for c in need if c not in persons.columns]
    if missing:
        raise InputError("persons", f"missing column(s) {missing}", expected="the persons contract")
    p = persons.drop_duplicates("person_id").copy()
    diag = pd.to_datetime(p["diagnosis_date"])
    bm = p["birth_month"].fillna(7) if "birth_month" in p.columns else 7
    birth = pd.to_datetime(
        dict(year=p["birth_year"].fillna(1900).astype(int), month=pd.Series(bm, index=p.index).astype(int), day=1)
    )
    p["age"] = ((diag - birth).dt.days / DAYS_PER_YEAR).where(p["birth_year"].notna())
    p["age_class"] = _age_class(p["age"])
    p["era"] = _era(diag, era_start_years)
    p["dead"] = p["death_date"].notna()
    end = pd.to_datetime(p["death_date"]).fillna(pd.to_datetime(p["end_of_followup"]))
    p["followup_months"] = (end - diag).dt.days / DAYS_PER_MONTH
    for c in ("sex", "histology", "egfr", "alk", "pdl1"):
        p[c] = p[c].fillna("unknown")
    rows = []
    for g, ids in groups.items():
        d = p if ids is None else p[p["person_id"].astype(str).isin({str(i) for i in ids})]
        n = len(d)
        rows.append(
            {
                "group": g,
                "characteristic": "Persons",
                "level": "",
                "n": n,
                "percent": 100.0 if n else np.nan,
                "summary": "",
            }
        )
        rows.append(
            {
                "group": g,
                "characteristic": "Age at advanced diagnosis, years",
                "level": "median (IQR)",
                "n": int(d["age"].notna().sum()),
                "percent": np.nan,
                "summary": _median_iqr(d["age"]),
            }
        )
        for col, (label, names) in CATEGORICAL.items():
            vc = d[col].value_counts()
            levels = [lv for lv in names if lv in vc.index]  # documented order; levels absent from the data omitted
            levels += [v for v in sorted(vc.index, key=str) if v not in levels]
            for lv in levels:
                k = int(vc.get(lv, 0))
                rows.append(
                    {
                        "group": g,
                        "characteristic": label,
                        "level": names.get(lv, str(lv)),
                        "n": k,
                        "percent": 100.0 * k / n if n else np.nan,
                        "summary": "",
                    }
                )
        rows.append(
            {
                "group": g,
                "characteristic": "Follow-up from advanced diagnosis, months",
                "level": "median (IQR)",
                "n": int(d["followup_months"].notna().sum()),
                "percent": np.nan,
                "summary": _median_iqr(d["followup_months"]),
            }
        )
    out = pd.DataFrame(rows)
    out["percent"] = out["percent"].round(1)
    out["n_raw"] = out["n"]
    out = suppress_counts(out, ["n"], min_cell, method, dependent={"n": ["percent", "summary"]})
    if method == "suppress":
        cat = out["characteristic"].isin([v[0] for v in CATEGORICAL.values()])
        out.loc[cat] = complementary_suppress(out.loc[cat], "n", ["group", "characteristic"], min_cell)
        out.loc[out["n"].isna(), ["percent", "summary"]] = [np.nan, ""]
    out["n"] = out["n"].astype("Int64")
    return out.drop(columns=["n_raw"])[BASELINE_COLUMNS]


def baseline_wide(tidy: pd.DataFrame) -> pd.DataFrame:
    """Display form of Table 1: one row per characteristic/level, one 'n (%)' or 'median (IQR)' column per group."""
    t = tidy.copy()

    def cell(r):
        if r["summary"]:
            return r["summary"]
        if pd.isna(r["n"]):
            return "suppressed"
        return f"{int(r['n'])} ({r['percent']:.1f}%)" if pd.notna(r["percent"]) else f"{int(r['n'])}"

    t["cell"] = t.apply(cell, axis=1)
    order = list(dict.fromkeys(zip(t["characteristic"], t["level"], strict=True)))
    w = t.pivot_table(index=["characteristic", "level"], columns="group", values="cell", aggfunc="first", sort=False)
    w = w.reindex(pd.MultiIndex.from_tuples(order, names=["characteristic", "level"]))
    w = w[list(dict.fromkeys(t["group"]))]
    return w.reset_index()


def medians_table(
    km_summary: pd.DataFrame,
    algorithm: str,
    scenario: str,
    endpoints,
    min_cell: int,
    method: str,
) -> pd.DataFrame:
    """Table 3: per endpoint x stratum (line, first-line regimen class), gold and `algorithm` side by
    side: lines, events, KM median (95% CI) in months. Counts come already suppressed from the
    effectiveness export; they are re-checked here."""
    need = ["algorithm", "scenario", "endpoint", "stratum_type", "stratum", "n_lines", "n_events", "median_months"]
    missing = [c for c in need if c not in km_summary.columns]
    if missing:
        raise InputError("km_summary", f"missing column(s) {missing}")
    lo = next((c for c in km_summary.columns if c.startswith("median_lower_")), None)
    hi = next((c for c in km_summary.columns if c.startswith("median_upper_")), None)
    s = km_summary[km_summary["endpoint"].isin(endpoints)]
    src = {
        "gold": s[s["algorithm"] == "gold"],
        "algorithm": s[(s["algorithm"] == algorithm) & (s["scenario"] == scenario)],
    }

    def med(r):
        if pd.isna(r["median_months"]):
            return None  # not estimated (blanked by the effectiveness export on fewer than min_cell lines)
        m = "not reached" if np.isinf(r["median_months"]) else f"{r['median_months']:.1f}"
        if lo and hi and pd.notna(r[lo]):
            h = "NR" if pd.isna(r[hi]) or np.isinf(r[hi]) else f"{r[hi]:.1f}"
            return f"{m} ({r[lo]:.1f}-{h})"
        return m

    parts = []
    for key, d in src.items():
        d = d.assign(median_ci=d.apply(med, axis=1) if len(d) else pd.Series(dtype=object))
        d = d[["endpoint", "stratum_type", "stratum", "n_lines", "n_events", "median_ci"]]
        parts.append(
            d.rename(columns={"n_lines": f"n_lines_{key}", "n_events": f"n_events_{key}", "median_ci": f"median_{key}"})
        )
    out = parts[0].merge(parts[1], on=["endpoint", "stratum_type", "stratum"], how="outer")
    out["stratum_type"] = pd.Categorical(out["stratum_type"], ["line", "first_line_regimen_class"], ordered=True)
    out["_ep"] = out["endpoint"].map({e: i for i, e in enumerate(endpoints)})
    out = out.sort_values(["_ep", "stratum_type", "stratum"], kind="mergesort").drop(columns="_ep")
    out["stratum_type"] = out["stratum_type"].astype(str)
    out["endpoint"] = out["endpoint"].map(lambda e: ENDPOINT_LABELS.get(e, e))
    out["stratum"] = [
        f"line {s}" if t == "line" else f"1L {class_label(s)}"
        for t, s in zip(out["stratum_type"], out["stratum"], strict=True)
    ]
    counts = ["n_lines_gold", "n_events_gold", "n_lines_algorithm", "n_events_algorithm"]
    out = suppress_counts(
        out,
        counts,
        min_cell,
        method,
        dependent={"n_lines_gold": ["median_gold"], "n_lines_algorithm": ["median_algorithm"]},
    )
    out = out.rename(columns={c: c.replace("_algorithm", f"_{algorithm}") for c in out.columns})
    return out.reset_index(drop=True)


COUNT_NAMES = ("n", "count", "persons", "n_persons", "n_lines", "n_patients")


def count_columns(df: pd.DataFrame) -> list[str]:
    """Columns holding counts of persons or lines (by name: n, n_*, count*, *_persons, *_count)."""
    return [
        c
        for c in df.columns
        if c in COUNT_NAMES or c.startswith(("n_", "count")) or c.endswith(("_persons", "_count", "_n"))
    ]


def calibration_table(calibration: pd.DataFrame, min_cell: int, method: str) -> pd.DataFrame:
    """Table 4: the simulator's calibration table as it is (simulated value next to its published target),
    floats rounded to 3 decimals, count columns suppressed."""
    out = calibration.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].round(3)
    counts = [c for c in count_columns(out) if pd.api.types.is_numeric_dtype(out[c])]
    return suppress_counts(out, counts, min_cell, method) if counts else out


def _md_cell(v) -> str:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1e4 else f"{v:,.0f}"
    return str(v).replace("|", "\\|")


def to_markdown(df: pd.DataFrame, title: str = "", note: str = "", count_cols=()) -> str:
    """Pipe-table Markdown of `df` (no external dependency); blank count cells print as 'supp.'."""
    cols = [c for c in df.columns if c != "suppressed"]
    lines = [f"**{title}**", ""] if title else []
    lines.append("| " + " | ".join(_md_cell(str(c)) for c in cols) + " |")
    lines.append("|" + "|".join("---:" if pd.api.types.is_numeric_dtype(df[c]) else "---" for c in cols) + "|")
    for r in df[cols].itertuples(index=False):
        cells = []
        for c, v in zip(cols, r, strict=True):
            cells.append("supp." if c in count_cols and pd.isna(v) else _md_cell(v))
        lines.append("| " + " | ".join(cells) + " |")
    if note:
        lines += ["", note]
    return "\n".join(lines) + "\n"


def write_table(
    df: pd.DataFrame,
    csv_path,
    md_path,
    count_cols,
    min_cell: int,
    title: str = "",
    note: str = "",
    display: pd.DataFrame | None = None,
) -> None:
    """Check no count column holds 1..min_cell-1 (`assert_exportable`), then write the CSV (`df`) and the
    Markdown (`display` when given, else `df`)."""
    assert_exportable(df, list(count_cols), min_cell, name=str(csv_path))
    for p in (csv_path, md_path):
        Path(p).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(csv_path, index=False, lineterminator="\n", float_format="%.6g")
    shown = df if display is None else display
    Path(md_path).write_text(to_markdown(shown, title, note, count_cols), encoding="utf-8")
