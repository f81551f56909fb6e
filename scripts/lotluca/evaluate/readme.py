"""Render the evaluation metrics (metrics.csv) as the README's Markdown table, and splice it into README.md.

Rows: algorithms; columns: for each data-source scenario, line F1 and full-sequence exact match (the
headline stratum several_or_maintenance: persons with two or more gold lines or a maintenance phase) with
their CIs. `python -m lotluca.evaluate.readme METRICS.csv [--output FILE]
[--readme README.md]` writes the table and, with --readme, replaces the text between the markers
`<!-- evaluation-table:begin -->` and `<!-- evaluation-table:end -->` of the README.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from lotluca import io
from lotluca.errors import InputError
from lotluca.evaluate.metrics import HEADLINE_STRATUM
from lotluca.layout import path

BEGIN, END = "<!-- evaluation-table:begin -->", "<!-- evaluation-table:end -->"
COLUMNS = {"line_f1": "line F1", "sequence_exact": "full sequence"}


def _cell(row) -> str:
    if pd.isna(row["estimate"]):
        return "NA"
    if pd.isna(row["ci_low"]):
        return f"{row['estimate']:.3f}"
    return f"{row['estimate']:.3f} ({row['ci_low']:.3f}-{row['ci_high']:.3f})"


def readme_table(metrics: pd.DataFrame, scenarios: list[str] | None = None, algorithms: list[str] | None = None) -> str:
    """Markdown table (algorithms x scenarios: line F1 and full-sequence match, 95% CI) of a tidy
    metrics table; scenario and algorithm order as given, else as first seen."""
    need = {"scenario", "algorithm", "metric", "stratum", "estimate", "ci_low", "ci_high", "n"}
    if missing := need - set(metrics.columns):
        raise InputError("metrics table", f"missing column(s) {', '.join(sorted(missing))}")
    m = metrics[(metrics["stratum"] == HEADLINE_STRATUM) & metrics["metric"].isin(list(COLUMNS))]
    scenarios = scenarios or list(dict.fromkeys(m["scenario"]))
    algorithms = algorithms or list(dict.fromkeys(m["algorithm"]))
    cells = {(r["scenario"], r["algorithm"], r["metric"]): _cell(r) for _, r in m.iterrows()}
    n = m.loc[m["metric"] == "sequence_exact", "n"]
    head = ["algorithm"] + [f"{s}: {label}" for s in scenarios for label in COLUMNS.values()]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    for a in algorithms:
        lines.append(
            "| " + " | ".join([f"`{a}`"] + [cells.get((s, a, k), "") for s in scenarios for k in COLUMNS]) + " |"
        )
    persons = f"{int(n.max())} gold test persons of that stratum" if len(n) else "no scored persons"
    lines.append("")
    lines.append(
        f"Stratum {HEADLINE_STRATUM} (two or more gold lines or a maintenance phase; one-line persons inflate F1). "
        f"Estimates with patient-bootstrap 95% CIs; {persons}. Generated from {path('evaluate.metrics_csv')} by lotluca.evaluate.readme_table."
    )
    return "\n".join(lines) + "\n"


def splice(readme_text: str, table: str) -> str:
    """README text with the table between the BEGIN and END markers (which must both be present)."""
    return io.splice(readme_text, (BEGIN, END), table, where="README")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("metrics", help="metrics.csv written by the evaluate rule")
    ap.add_argument("--output", help="Markdown file to write (default: stdout)")
    ap.add_argument("--readme", help="README.md to update between the evaluation-table markers")
    args = ap.parse_args(argv)
    table = readme_table(pd.read_csv(args.metrics))
    if args.output:
        Path(args.output).write_text(table, encoding="utf-8")
    else:
        sys.stdout.write(table)
    if args.readme:
        p = Path(args.readme)
        p.write_text(splice(p.read_text(encoding="utf-8"), table), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
