"""Generate the README's bias table and its "closest to the gold standard" sentence from the bias outputs.

    python -m lotluca.effectiveness.readme BIAS_DIR --readme README.md

(BIAS_DIR: the folder of the bias tables, by default the layout's `effectiveness.bias_csv` folder)

replaces the text between `<!-- bias-table:begin -->` and `<!-- bias-table:end -->` in README.md (or
prints it without --readme). The sentence is computed from `bias_summary.csv`, never written by hand.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from lotluca import io
from lotluca.layout import path

BEGIN, END = "<!-- bias-table:begin -->", "<!-- bias-table:end -->"


def _fmt(x, digits=2):
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def _ci(row, est, lo, hi, digits=2):
    return f"{_fmt(row[est], digits)} [{_fmt(row[lo], digits)}; {_fmt(row[hi], digits)}]"


def render(bias_dir: str | Path, scenario: str = "linked") -> str:
    """Markdown: the sentence naming the closest algorithm per scenario, and the headline table."""
    bias_dir = Path(bias_dir)
    bias = pd.read_csv(bias_dir / "bias.csv", dtype={"line_group": str})
    ranking = pd.read_csv(bias_dir / "bias_summary.csv")
    lo = next(c for c in bias.columns if c.startswith("median_diff_lower_"))
    level = lo.rsplit("_", 1)[1]
    hi, rlo, rhi = f"median_diff_upper_{level}", f"hr_ratio_lower_{level}", f"hr_ratio_upper_{level}"
    out = []
    for scen, grp in ranking.groupby("scenario", sort=False):
        ranked = grp.sort_values("rank_in_scenario")
        best = ranked.iloc[0]
        runner = (
            f"{ranked.iloc[1]['algorithm']} {_fmt(ranked.iloc[1]['mean_abs_median_diff_months'])} months"
            if len(ranked) > 1
            else "none"
        )
        out.append(
            f"- scenario `{scen}`: **{best['algorithm']}** keeps the effectiveness estimates closest to the gold "
            f"standard: mean absolute difference of KM medians {_fmt(best['mean_abs_median_diff_months'])} months "
            f"over the {int(best['common_cells'])} endpoint x line-group cells every algorithm has "
            f"(runner-up {runner}), mean |log ratio| of the first-line hazard ratios "
            f"{_fmt(best['mean_abs_log_hr_ratio'], 3)}."
        )
    headline = bias[(bias["scenario"] == scenario) & (bias["line_group"] == "1")]
    rows = [
        "| algorithm | rwTTNT 1L median diff (months) | rwOS 1L median diff | rwTTD 1L median diff | "
        "HR ratio rwTTNT (chemo-IO vs chemo) | HR ratio rwOS |",
        "|---|---|---|---|---|---|",
    ]
    order = ranking[ranking["scenario"] == scenario].sort_values("rank_in_scenario")["algorithm"]
    for alg in order:
        h = headline[headline["algorithm"] == alg].set_index("endpoint")
        if h.empty:
            continue
        cells = [_ci(h.loc[e], "median_diff", lo, hi) if e in h.index else "n/a" for e in ("rwTTNT", "rwOS", "rwTTD")]
        cells += [_ci(h.loc[e], "hr_ratio", rlo, rhi) if e in h.index else "n/a" for e in ("rwTTNT", "rwOS")]
        rows.append(f"| {alg} | " + " | ".join(cells) + " |")
    first = bias[bias["line_group"] == "1"]["n_lines_gold"]
    cohort = int(first.max()) if first.notna().any() else 0
    text = (
        f"On {cohort} gold-cohort persons with a first line, {int(bias['algorithm'].nunique())} algorithms x "
        f"{int(bias['scenario'].nunique())} scenarios (ranking on point estimates; the CIs below say which "
        "differences from the gold standard are distinguishable from zero):\n\n"
    )
    text += "\n".join(out)
    text += (
        f"\n\nFirst line, scenario `{scenario}`: algorithm - gold difference of medians and algorithm / gold "
        f"ratio of hazard ratios, with {level}% paired patient-bootstrap CIs (from `{path('effectiveness.bias_csv')}`):\n\n"
    )
    return text + "\n".join(rows) + "\n"


def update_readme(readme: str | Path, block: str) -> None:
    path = Path(readme)
    text = path.read_text()
    path.write_text(io.splice(text, (BEGIN, END), block, where=str(path)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "bias_dir",
        nargs="?",
        default=str(Path(path("effectiveness.bias_csv")).parent),
        help="folder with bias.csv and bias_summary.csv (default: %(default)s)",
    )
    ap.add_argument("--readme", help="README.md to update in place (else print)")
    ap.add_argument("--scenario", default="linked", help="scenario of the headline table")
    args = ap.parse_args(argv)
    block = render(args.bias_dir, args.scenario)
    if args.readme:
        update_readme(args.readme, block)
    else:
        sys.stdout.write(block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
