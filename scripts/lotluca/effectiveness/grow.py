"""The reporting page of a run's effectiveness analyses, following the ESMO Guidance for Reporting Oncology
real-World evidence (ESMO-GROW): population, index date, endpoints, censoring, missing data,
adjustment. Every number comes from the run's (suppressed) export tables and its private endpoints
table aggregated here (shares of persons with a missing covariate, shown only when the numerator and
the rest are both at least `min_cell`); nothing is typed by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lotluca.effectiveness.endpoints import CENSORING, ENDPOINT_LABELS

MISSING = {"pdl1": "unknown", "histology": "nos", "ecog": None}


def _num(v, fmt="{:.1f}") -> str:
    return "-" if v is None or (isinstance(v, float) and not np.isfinite(v)) or pd.isna(v) else fmt.format(v)


def _table(df: pd.DataFrame) -> list[str]:
    if df.empty:
        return ["(no row)"]
    cols = list(df.columns)
    rows = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    fmts = [
        "{:.0f}" if c.startswith("n_") else "{:.1f}" if c.startswith(("median", "missing_percent")) else "{:.2f}"
        for c in cols
    ]
    for r in df.itertuples(index=False):
        cells = (_num(v, f) if isinstance(v, float) else str(v) for v, f in zip(r, fmts, strict=True))
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def missing_shares(endpoints: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """Per covariate, persons of the gold first lines with the value missing: n and % (blank under min_cell)."""
    gold = endpoints[(endpoints["algorithm"] == "gold") & (endpoints["line_number"] == 1)]
    gold = gold[gold["exclusion"].isna()].drop_duplicates("person_id")
    n = len(gold)
    out = []
    for col, code in MISSING.items():
        if col not in gold:
            continue
        miss = int((gold[col].isna() if code is None else gold[col].astype(str).eq(code) | gold[col].isna()).sum())
        ok = min(miss, n - miss) >= min_cell or miss == 0
        out.append(
            {
                "covariate": col,
                "missing_persons": str(miss) if ok else f"<{min_cell}" if miss < min_cell else f">{n - min_cell}",
                "missing_percent": 100.0 * miss / n if ok and n else float("nan"),
            }
        )
    return pd.DataFrame(out, columns=["covariate", "missing_persons", "missing_percent"])


def grow_page(
    km_summary: pd.DataFrame,
    comparative: pd.DataFrame,
    balance: pd.DataFrame,
    endpoints: pd.DataFrame,
    effectiveness: dict,
    min_cell: int,
) -> str:
    """The markdown page (see the module docstring) of one run."""
    e = effectiveness
    gold = km_summary[(km_summary["algorithm"] == "gold") & (km_summary["stratum_type"] == "line")]
    first = gold[(gold["stratum"] == "1") & (gold["endpoint"] == "rwOS")]
    n_persons = first["n_persons"].iloc[0] if len(first) else None
    lines = [
        "# Effectiveness analyses: reporting following ESMO-GROW",
        "",
        "Generated from this run's outputs (`lotluca.effectiveness.grow`); on simulated data every figure",
        "is a property of the simulator.",
        "",
        "## Population",
        f"- Data source scenario giving death and follow-up: `{e['vital_status_scenario']}`.",
        f"- Cohort: gold-standard persons of the splits {list(e['gold_splits'])}; first-line persons analysed:"
        f" {_num(n_persons, '{:.0f}')} (counts under {min_cell} suppressed).",
        "",
        "## Index date",
        "- The start of each line of therapy (lines grouped 1, 2, "
        f"{e['pooled_line_from']}+); time in months (days / 30.4375).",
        "",
        "## Endpoints (gold lines, Kaplan-Meier median in months with 95% CI)",
    ]
    med = (
        [c for c in gold.columns if c.startswith("median_lower")],
        [c for c in gold.columns if c.startswith("median_upper")],
    )
    show = gold.assign(definition=gold["endpoint"].map(ENDPOINT_LABELS))
    cols = ["endpoint", "definition", "stratum", "n_lines", "n_events", "median_months", *med[0][:1], *med[1][:1]]
    lines += _table(show[cols].rename(columns={"stratum": "line"}))
    lines += [
        "",
        "## Censoring",
        f"- `effectiveness.censoring` = `{e['censoring']}`: {CENSORING[e['censoring']]}.",
        f"- Delayed entry (left truncation at the first date the centre saw the person): {e['delayed_entry']}.",
        f"- rwTTD: discontinuation after {e['ttd_gap_days']} days without the line's drugs.",
        "",
        "## Missing data (persons with a gold first line)",
        '- Missing categorical values are their own level ("unknown") in the adjusted models; a missing numeric'
        " covariate (the SNDS proxies charlson and prior_stays of a person without SNDS link) gets the mean and a"
        " missing indicator.",
        "",
        *_table(missing_shares(endpoints, min_cell)),
        "",
        "## Adjustment",
        "- Propensity score (logistic regression) on "
        f"{list(e['comparative']['numeric']) + list(e['comparative']['categorical'])}; stabilised IPTW;"
        " weighted Cox with robust variance; covariate-adjusted Cox; variance clustered on persons when a"
        " person has several lines.",
        "",
    ]
    hr = comparative[["comparison", "endpoint", "method", "estimate", "ci_low", "ci_high", "true_hr"]]
    lines += _table(hr)
    if len(balance):
        worst = (
            balance.assign(before=balance["smd_unadjusted"].abs(), after=balance["smd_iptw"].abs())
            .groupby(["comparison", "endpoint"], sort=True)[["before", "after"]]
            .max()
        )
        lines += ["", "Largest absolute standardised mean difference before / after IPTW:", ""]
        lines += _table(worst.reset_index())
    return "\n".join(lines) + "\n"
