"""The quality table of docs/identify.md, generated from identification_quality.json and spliced between
`<!-- identification-table:begin -->` and `<!-- identification-table:end -->`:
`python -m lotluca.identify.readme QUALITY.json --doc docs/identify.md`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lotluca import io

BEGIN, END = "<!-- identification-table:begin -->", "<!-- identification-table:end -->"


def quality_table(q: dict) -> str:
    """Markdown: the overall figures, then one row per person type."""
    lines = [
        f"Overall: sensitivity **{q['sensitivity']}**, PPV **{q['ppv']}**, median |date error| "
        f"**{q['diagnosis_date_median_abs_days']}** days ({q['identified']} identified of {q['persons']} SNDS "
        f"persons, {q['advanced_nsclc']} incident advanced NSCLC).",
        "",
        "| person type | advanced NSCLC | persons | identified | share identified | median abs date error (days) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for kind, v in q["by_type"].items():
        err = "" if v["diagnosis_date_median_abs_days"] is None else f"{v['diagnosis_date_median_abs_days']:.0f}"
        lines.append(
            f"| {kind} | {'yes' if v['advanced_nsclc'] else 'no (decoy)'} | {v['persons']} | {v['identified']} | "
            f"{v['share_identified']} | {err} |"
        )
    fooled = q.get("false_positives_by_decoy_type") or {}
    lines += ["", "Decoys that fool it: " + (", ".join(f"{k} ({n})" for k, n in fooled.items()) or "none") + "."]
    return "\n".join(lines)


def splice(text: str, table: str) -> str:
    return io.splice(text, (BEGIN, END), table)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="write the identification quality table into a Markdown page")
    ap.add_argument("quality", help="identification_quality.json")
    ap.add_argument("--doc", help="page to update between the markers (else print the table)")
    args = ap.parse_args(argv)
    table = quality_table(json.loads(Path(args.quality).read_text(encoding="utf-8")))
    if args.doc:
        p = Path(args.doc)
        p.write_text(splice(p.read_text(encoding="utf-8"), table), encoding="utf-8")
    else:
        print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
