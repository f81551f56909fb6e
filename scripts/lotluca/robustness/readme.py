"""Render robustness.csv as the Markdown tables of docs/robustness.md and splice them between its markers.

`python -m lotluca.robustness.readme ROBUSTNESS.csv [--docs docs/robustness.md]`: per data-source
scenario, one row per grid point (setting = value), one column per algorithm: the headline metric
(line F1, stratum several_or_maintenance) and its change from the baseline point; then the points where
each algorithm loses the most, and the leave-one-centre-out summary (the held-out centres' mean; no
change is shown for those points: their cohort is another one). The text between `<!-- robustness-table:begin -->` and
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
from lotluca.robustness.settings import BASELINE, LOCO

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
            plain = point == BASELINE or grp["setting"].iloc[0] == LOCO  # another cohort: no change shown
            cells = [
                f"{est.get(a, float('nan')):.3f}"
                if plain
                else _cell(est.get(a, float("nan")), base.get(a, float("nan")))
                for a in algorithms
            ]
            out.append(f"| {point} | " + " | ".join(cells) + " |")
        out.append("")
        worst = []
        for a in algorithms:
            d = sc[(sc["algorithm"] == a) & ~sc["setting"].isin([BASELINE, LOCO])].copy()
            d["drop"] = d["estimate"] - base.get(a, float("nan"))
            if d["drop"].notna().any():
                w = d.loc[d["drop"].idxmin()]
                worst.append(f"`{a}` {w['point']} ({w['drop']:+.3f})")
        out += [f"Largest loss per algorithm ({scenario}): " + "; ".join(worst) + ".", ""]
        out += _loco_line(sc, algorithms, scenario)
    out.append(
        f"Generated from {path('robustness.csv')} by `python -m lotluca.robustness.readme`; simulated cohorts: "
        "properties of the simulator."
    )
    return "\n".join(out) + "\n"


def _loco_line(sc: pd.DataFrame, algorithms: list[str], scenario: str) -> list[str]:
    """The leave-one-centre-out summary of a scenario: each algorithm's mean over the held-out centres and
    its rank among the algorithms on each centre (none without such rows)."""
    lo = sc[sc["setting"] == LOCO]
    if lo.empty:
        return []
    wide = lo.pivot_table(index="value", columns="algorithm", values="estimate")
    ranks = wide.rank(axis=1, ascending=False, method="min")
    cells = [
        f"`{a}` {wide[a].mean():.3f} (ranks {', '.join(str(int(r)) for r in ranks[a])})"
        for a in algorithms
        if a in wide
    ]
    head = f"Leave one centre out ({scenario}, {len(wide)} held-out centres; mean and rank per centre): "
    return [head + "; ".join(cells) + ".", ""]


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
