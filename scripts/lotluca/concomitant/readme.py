"""README block of the concomitant analysis, generated from the exported table (concomitant_hr.csv).

Usage: python -m lotluca.concomitant.readme CONCOMITANT_HR.csv [--scenario linked]
[--readme README.md]: prints the Markdown (and with --readme replaces the text between the
`<!-- concomitant-table:begin -->` / `<!-- concomitant-table:end -->` markers)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

BEGIN, END = "<!-- concomitant-table:begin -->", "<!-- concomitant-table:end -->"


def _fmt(r, lo, hi) -> str:
    if not np.isfinite(r["hr"]):
        return "n/a"
    return f"{r['hr']:.2f} ({r[lo]:.2f}-{r[hi]:.2f})"


def render(table: pd.DataFrame, scenario: str = "linked") -> str:
    """One row per (exposure, endpoint): gold HR (CI), then each algorithm of `scenario`: HR (CI) and
    its ratio to the gold HR (1 = no shift)."""
    lo = [c for c in table.columns if c.startswith("lower_")][0]
    hi = [c for c in table.columns if c.startswith("upper_")][0]
    gold = table[table["algorithm"] == "gold"].set_index(["exposure", "endpoint"])
    algo = table[(table["algorithm"] != "gold") & (table["scenario"] == scenario)]
    algs = sorted(algo["algorithm"].unique())
    head = ["exposure", "endpoint", "simulated HR (rwTTNT)", "gold"] + algs
    rows = []
    for (ex, ep), g in gold.iterrows():
        sim = f"{g['simulated_hr']:.2f}" if "simulated_hr" in g and np.isfinite(g["simulated_hr"]) else "-"
        cells = [ex, ep, sim, _fmt(g, lo, hi)]
        for a in algs:
            r = algo[(algo["algorithm"] == a) & (algo["exposure"] == ex) & (algo["endpoint"] == ep)]
            if len(r) and np.isfinite(r["hr"].iloc[0]) and np.isfinite(g["hr"]):
                cells.append(f"{_fmt(r.iloc[0], lo, hi)} x{r['hr'].iloc[0] / g['hr']:.2f}")
            else:
                cells.append("n/a")
        rows.append(cells)
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(c) + " |" for c in rows]
    return "\n".join(out)


def update_readme(readme: str | Path, block: str) -> None:
    text = Path(readme).read_text(encoding="utf-8")
    a, b = text.index(BEGIN) + len(BEGIN), text.index(END)
    Path(readme).write_text(text[:a] + "\n" + block + "\n" + text[b:], encoding="utf-8")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("table")
    ap.add_argument("--scenario", default="linked")
    ap.add_argument("--readme")
    a = ap.parse_args(argv)
    block = render(pd.read_csv(a.table), a.scenario)
    print(block)
    if a.readme:
        update_readme(a.readme, block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
