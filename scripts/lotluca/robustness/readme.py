"""Render robustness.csv as the Markdown tables of docs/robustness.md and splice them between its markers.

`python -m lotluca.robustness.readme ROBUSTNESS.csv [--docs docs/robustness.md]`: per data-source
scenario, one row per grid point (setting = value), one column per algorithm: the headline metric
(line F1, stratum several_or_maintenance) and its change from the baseline point; then the points where
each algorithm loses the most. The text between `<!-- robustness-table:begin -->` and
`<!-- robustness-table:end -->` is replaced.
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
from lotluca.robustness.figure import check_table
from lotluca.robustness.settings import BASELINE

BEGIN, END = "<!-- robustness-table:begin -->", "<!-- robustness-table:end -->"


def _cell(est: float, base: float) -> str:
    if pd.isna(est):
        return "NA"
    if pd.isna(base) or est is base:
        return f"{est:.3f}"
    delta = round(est - base, 3) or 0.0  # no "-0.000"
    return f"{est:.3f} ({delta:+.3f})"


def tables(table: pd.DataFrame, metric: str = "line_f1", stratum: str = HEADLINE_STRATUM) -> str:
    """Markdown: per scenario, points x algorithms (estimate and change from the baseline), then the
    worst point of each algorithm."""
    check_table(table)
    t = table[(table["metric"] == metric) & (table["stratum"] == stratum)].copy()
    if t.empty:
        raise InputError("robustness.csv", f"no {metric} rows in stratum {stratum!r}")
    t["point"] = [BASELINE if s == BASELINE else f"{s} = {v}" for s, v in zip(t["setting"], t["value"], strict=True)]
    algorithms = list(dict.fromkeys(t["algorithm"]))
    out = []
    for scenario, sc in t.groupby("scenario", sort=False):
        base = sc[sc["setting"] == BASELINE].set_index("algorithm")["estimate"]
        out += [f"**{scenario}**: {metric}, stratum {stratum} (change from the baseline point)", ""]
        out += ["| point | " + " | ".join(f"`{a}`" for a in algorithms) + " |", "|---|" + "---:|" * len(algorithms)]
        for point, grp in sc.groupby("point", sort=False):
            est = grp.set_index("algorithm")["estimate"]
            cells = [
                f"{est.get(a, float('nan')):.3f}"
                if point == BASELINE
                else _cell(est.get(a, float("nan")), base.get(a, float("nan")))
                for a in algorithms
            ]
            out.append(f"| {point} | " + " | ".join(cells) + " |")
        out.append("")
        worst = []
        for a in algorithms:
            d = sc[(sc["algorithm"] == a) & (sc["setting"] != BASELINE)].copy()
            d["drop"] = d["estimate"] - base.get(a, float("nan"))
            if d["drop"].notna().any():
                w = d.loc[d["drop"].idxmin()]
                worst.append(f"`{a}` {w['point']} ({w['drop']:+.3f})")
        out += [f"Largest loss per algorithm ({scenario}): " + "; ".join(worst) + ".", ""]
    out.append(
        f"Generated from {path('robustness.csv')} by `python -m lotluca.robustness.readme`; simulated cohorts: "
        "properties of the simulator."
    )
    return "\n".join(out) + "\n"


def splice(text: str, section: str) -> str:
    return io.splice(text, (BEGIN, END), section)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", help="robustness.csv written by the robustness rule")
    ap.add_argument("--docs", help="Markdown page to update between the robustness-table markers")
    args = ap.parse_args(argv)
    section = tables(pd.read_csv(args.csv, dtype={"value": str}))
    if args.docs:
        p = Path(args.docs)
        p.write_text(splice(p.read_text(encoding="utf-8"), section), encoding="utf-8")
    else:
        sys.stdout.write(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
