"""Differential test of the `meng2021` preset against Merck's reference implementation (docs/lines.md).

The reference (github.com/Merck/Line-of-Therapy-Algorithm, GPL) is never part of lotluca: this tool runs
a checkout the user already has, as an outside program with its own Python interpreter (pandas 1.5.3),
in a scratch copy of its `Python/` folder, and only reads its output CSV.

    python tools/meng_oracle.py --seeds 11 12 13 --patients 2500 --out /tmp/oracle \
        --reference-dir ~/src/Line-of-Therapy-Algorithm --reference-python ~/venvs/merck/bin/python
    python tools/meng_oracle.py --merged results/merged/linked --out /tmp/oracle \
        --reference-dir ~/src/Line-of-Therapy-Algorithm --reference-python ~/venvs/merck/bin/python
    python tools/meng_oracle.py --input tests/data/meng_reference/input.csv \
        --reference-output tests/data/meng_reference/output_lot.csv --out /tmp/oracle   # no reference run

Steps: (1) export the antineoplastic exposures of a merged scenario (on or after the advanced diagnosis,
as meng2021 reads them; with --seeds, of a cohort simulated, extracted, linked and merged per seed) to the
reference's input format, PATIENT_ID numbered 1..n in sorted person order (the reference builds
`DataFrame.query` strings, so ids must be numeric), sorted by (patient, date, name); (2) run the reference
with the NSCLC parameters of issue 17 (its `reference/NSCLC` lists, 180-day gap) on those rows, written in
the order that its own unstable sort turns back into (date, name) order (OUT/reference_input.csv;
--file-order: as sorted); (3) run lotluca's preset on the same rows; (4) compare the line starts per
patient (the first day of each line number) and the rows with their maintenance phases, and classify
every difference by the first date where the two disagree, with example patients. Writes OUT/input.csv,
OUT/output_lot.csv (the reference's, verbatim), OUT/lotluca_lines.csv, OUT/differences.csv (one row per
differing patient), OUT/summary.json (printed; with --seeds one folder per seed and a table of agreement
per seed and per class), and the reference's scratch folder OUT/reference_run/ with its log.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from lotluca import drugs
from lotluca.lines import load_params, reconstruct

# the NSCLC parameters of issue 17: the reference's own reference/NSCLC lists, gap 180 (main()'s default)
NSCLC = {
    "par_general": "r_window,l_disgap,drug_switch_ignore,combo_dropped_line_advance\n28,180,False,False\n",
    "line_name": "treatment\n",
    "line_additions": "drug_name\n",
    "line_substitutions": "original,substitute\nCISPLATIN,CARBOPLATIN\nCARBOPLATIN,CISPLATIN\n"
    "PACLITAXEL,NAB-PACLITAXEL\nNAB-PACLITAXEL,PACLITAXEL\n",
    "line_maintenance": "drug_name,maintenance_type\nPEMETREXED,CONTINUATION\nBEVACIZUMAB,CONTINUATION\n"
    "ATEZOLIZUMAB,CONTINUATION\nGEMCITABINE,CONTINUATION\nPEMETREXED,SWITCH\nDOCETAXEL,SWITCH\n",
    "episode_gap": "drug_name\n"
    + "".join(
        f"{d}\n" for d in "ERLOTINIB AFATINIB BRIGATINIB CRIZOTINIB CERITINIB ALECTINIB GEFITINIB OSIMERTINIB".split()
    ),
}
EXAMPLES = 5  # example patients listed per class
WINDOW = 28  # the regimen window of the NSCLC parameters
CYCLE_DAYS = 4  # the reference's cycles: administrations at most this many days apart


def export_merged(merged_dir: str | Path) -> pd.DataFrame:
    """The reference's input rows (PATIENT_ID, MED_START, MED_END, MED_NAME, ISO dates) from a merged scenario:
    antineoplastic exposures on or after the person's advanced diagnosis; PATIENT_ID = rank of person_id."""
    merged_dir = Path(merged_dir)
    exp = pq.read_table(merged_dir / "exposures.parquet").to_pandas()
    per = pq.read_table(merged_dir / "persons.parquet", columns=["person_id", "diagnosis_date"]).to_pandas()
    ref_class = drugs.ingredient_class()  # as the engine: an ingredient unknown to drugs.csv is kept
    cls = exp["drug_class"].fillna(exp["ingredient"].map(lambda i: ref_class.get(i, "trial")))
    exp = exp[cls.isin(drugs.ANTINEOPLASTIC_CLASSES)]
    diag = exp["person_id"].map(dict(zip(per["person_id"], per["diagnosis_date"], strict=True)))
    exp = exp[diag.isna() | (exp["date"] >= diag)]
    ids = {p: i + 1 for i, p in enumerate(sorted(exp["person_id"].unique()))}
    out = pd.DataFrame(
        {
            "PATIENT_ID": exp["person_id"].map(ids),
            "MED_START": pd.to_datetime(exp["date"]).dt.strftime("%Y-%m-%d"),
            "MED_END": pd.to_datetime(exp["end_date"].fillna(exp["date"])).dt.strftime("%Y-%m-%d"),
            "MED_NAME": exp["ingredient"].str.lower(),
        }
    )
    return out.sort_values(["PATIENT_ID", "MED_START", "MED_NAME"], kind="stable").reset_index(drop=True)


# run by the reference's interpreter (its pandas sorts as the reference does): each patient's rows of a date
# written in the positions that its unstable `sort_values("MED_START")` turns into (date, name) order
REORDER = """
import sys
import pandas as pd
d = pd.read_csv(sys.argv[1])
parts = []
for _, g in d.groupby("PATIENT_ID", sort=False):
    g = g.reset_index(drop=True)
    perm = g.assign(MED_START=pd.to_datetime(g["MED_START"])).sort_values("MED_START").index.to_numpy()
    q = g.copy()
    q.iloc[perm] = g.to_numpy()
    check = q.assign(MED_START=pd.to_datetime(q["MED_START"])).sort_values("MED_START")
    assert (check["MED_NAME"].to_numpy() == g["MED_NAME"].to_numpy()).all(), "sort not reproducible"
    parts.append(q)
pd.concat(parts).to_csv(sys.argv[2], index=False)
"""


def reference_order(rows: pd.DataFrame, python: str, workdir: str | Path) -> pd.DataFrame:
    """`rows` (sorted by patient, date, name) in the file order that the reference's own sort turns back into
    (date, name) order. The reference sorts each patient's rows by date with pandas' default, unstable,
    quicksort, so the order of the rows of a date (which its two-cycle rule reads) would otherwise depend on
    the number of rows; lotluca's segment scan reads the rows of a date in name order (docs/lines.md)."""
    src, dst = Path(workdir) / "input_sorted.csv", Path(workdir) / "reference_input.csv"
    rows.to_csv(src, index=False)
    res = subprocess.run([python, "-c", REORDER, str(src), str(dst)], capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"reordering the input for the reference failed:\n{res.stderr[-2000:]}")
    return pd.read_csv(dst, dtype={"PATIENT_ID": "int64"})


def run_reference(rows: pd.DataFrame, reference_dir: str | Path, python: str, workdir: str | Path) -> Path:
    """Run the reference's `Python/rwToT_LoT_main_parallel.py NSCLC` on `rows` in a scratch copy of its Python
    folder (input written where its main() reads it, data/NSCLC/Test/example_input.csv; the NSCLC parameter
    files written in its reference/ folder); return the path of its output_lot.csv."""
    src = Path(reference_dir) / "Python"
    if not (src / "rwToT_LoT_main_parallel.py").exists():
        raise SystemExit(f"{src}: no rwToT_LoT_main_parallel.py (give the root of a reference checkout)")
    work = Path(workdir) / "reference_run"
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(src, work, ignore=shutil.ignore_patterns("output", "data"))
    # its worker processes read the lists of reference/MCC (a module-level default): same NSCLC lists there
    for folder in ("NSCLC", "MCC"):
        (work / "reference" / folder).mkdir(parents=True, exist_ok=True)
        for name, text in NSCLC.items():
            (work / "reference" / folder / f"{name}.csv").write_text(text, encoding="utf-8")
    (work / "data" / "NSCLC" / "Test").mkdir(parents=True)
    rows.to_csv(work / "data" / "NSCLC" / "Test" / "example_input.csv", index=False)
    res = subprocess.run(
        [python, "rwToT_LoT_main_parallel.py", "NSCLC"], cwd=work, capture_output=True, text=True, check=False
    )
    (Path(workdir) / "reference_run.log").write_text(res.stdout + res.stderr, encoding="utf-8")
    if res.returncode != 0:
        raise SystemExit(f"reference run failed (see {workdir}/reference_run.log):\n{res.stderr[-2000:]}")
    return work / "output" / "NSCLC" / "Test" / "output_lot.csv"


def run_lotluca(rows: pd.DataFrame, algorithm: str = "meng2021") -> pd.DataFrame:
    """lotluca's lines of the reference input rows with a preset (PATIENT_ID as person_id)."""
    exp = pd.DataFrame(
        {
            "person_id": rows["PATIENT_ID"].astype(str),
            "date": pd.to_datetime(rows["MED_START"]).dt.date,
            "end_date": pd.to_datetime(rows["MED_END"]).dt.date,
            "ingredient": rows["MED_NAME"].str.lower(),
        }
    )
    return reconstruct(exp, None, None, load_params(algorithm)).to_pandas()


def line_starts_lotluca(lines: pd.DataFrame) -> dict[str, list[str]]:
    """person -> ISO start of each line (first day of each line number, maintenance rows included in the min)."""
    g = lines.groupby(["person_id", "line_number"])["start_date"].min().reset_index()
    return {str(p): sorted(str(d) for d in s) for p, s in g.groupby("person_id")["start_date"]}


def line_starts_reference(lot: pd.DataFrame) -> dict[str, list[str]]:
    """person -> ISO start of each line of the reference's output_lot (min START_DATE per LINE_NUMBER)."""
    lot = lot.assign(START_DATE=pd.to_datetime(lot["START_DATE"]).dt.strftime("%Y-%m-%d"))
    g = lot.groupby(["PATIENT_ID", "LINE_NUMBER"])["START_DATE"].min().reset_index()
    return {str(p): sorted(s) for p, s in g.groupby("PATIENT_ID")["START_DATE"]}


def _ours_at(lines: pd.DataFrame, day: str) -> str:
    """What lotluca's lines of one person have on `day`: a maintenance phase, inside a line, or nothing."""
    d = pd.Timestamp(day).date()
    hit = lines[(lines["start_date"] <= d) & (lines["end_date"] >= d)]
    if hit.empty:
        after = lines[lines["start_date"] > d]
        return "ours: no line on that day" if after.empty else "ours: between lines"
    row = hit.iloc[-1]
    what = "maintenance phase" if row["is_maintenance"] else "line"
    return f"ours: inside {what} {min(int(row['line_number']), 3)}{'+' if row['line_number'] >= 3 else ''}"


def _ref_at(lot: pd.DataFrame, day: str) -> str:
    """What the reference's lines of one person have on `day`."""
    start = pd.to_datetime(lot["START_DATE"])
    end = pd.to_datetime(lot["END_DATE"])
    d = pd.Timestamp(day)
    hit = lot[(start <= d) & (end >= d)]
    if hit.empty:
        return "ref: no line on that day" if (start > d).sum() == 0 else "ref: between lines"
    row = hit.iloc[-1]
    what = "maintenance phase" if bool(row["IS_MAINTENANCE"]) else "line"
    n = int(row["LINE_NUMBER"])
    return f"ref: inside {what} {min(n, 3)}{'+' if n >= 3 else ''}"


def _boundary_reason(lot: pd.DataFrame, day: str) -> str:
    """The reference's LINE_END_REASON of the line ending before the line starting on `day`."""
    lot = lot.assign(_s=pd.to_datetime(lot["START_DATE"]).dt.strftime("%Y-%m-%d"))
    before = lot[lot["_s"] < day]
    return str(before.iloc[-1]["LINE_END_REASON"]) if len(before) else "first line"


def _cycle_starts(days: pd.Series) -> pd.Series:
    """Each date replaced by the start of its cycle, as the reference does: dates at most 4 days after the
    previous administration belong to its cycle."""
    u = pd.Series(sorted(days.unique()))
    new = u.diff().dt.days.fillna(99) > CYCLE_DAYS
    start = u.where(new).ffill()
    return days.map(dict(zip(u, start, strict=True)))


def reference_anomaly(rows: pd.DataFrame, lot: pd.DataFrame) -> str:
    """The signature of the reference's two-cycle rule on one patient's output (docs/lines.md), or "".

    Impossible under the published rules: a treatment day in no output row (the first cycle of a line
    dropped when a new drug follows a single cycle), two lines with the same start (the rule's new regimen
    emitted twice), or a line whose name is not the drugs given within the regimen window of its start (the
    regimen replaced by the drugs of a later cycle)."""
    if lot.empty:
        return "reference bug (two-cycle rule): patient without lines"
    start = pd.to_datetime(lot["START_DATE"]).to_numpy()
    end = pd.to_datetime(lot["END_DATE"]).to_numpy()
    days = _cycle_starts(pd.to_datetime(rows["MED_START"]))
    covered = [((start <= d) & (end >= d)).any() for d in days.unique()]
    if not all(covered):
        return "reference bug (two-cycle rule): treatment days in no line"
    first = lot[~lot["IS_MAINTENANCE"].astype(bool)]
    if first["START_DATE"].duplicated().any():
        return "reference bug (two-cycle rule): duplicated line"
    for s, name in zip(pd.to_datetime(first["START_DATE"]), first["LINE_NAME"].astype(str), strict=True):
        given = set(rows.loc[(days >= s) & (days <= s + pd.Timedelta(days=WINDOW)), "MED_NAME"])
        if given != set(name.split(",")):
            return "reference bug (two-cycle rule): regimen replaced by a later cycle's"
    return ""


def classify(rows: pd.DataFrame, ours: pd.DataFrame, ref: pd.DataFrame) -> pd.DataFrame:
    """One row per patient whose line starts differ: the first date where they disagree and its class."""
    a, b = line_starts_lotluca(ours), line_starts_reference(ref)
    patients = sorted({str(p) for p in rows["PATIENT_ID"]} | set(a) | set(b), key=int)
    ours_by = {p: g for p, g in ours.groupby(ours["person_id"].astype(str))}
    ref_by = {p: g for p, g in ref.groupby(ref["PATIENT_ID"].astype(str))}
    out = []
    for p in patients:
        sa, sb = a.get(p, []), b.get(p, [])
        if sa == sb:
            continue
        # multisets: the reference can start two lines on one day (its two-cycle rule)
        only_a = sorted((Counter(sa) - Counter(sb)).elements())
        only_b = sorted((Counter(sb) - Counter(sa)).elements())
        first = min(only_a[:1] + only_b[:1])
        ol, rl = ours_by.get(p, ours.iloc[:0]), ref_by.get(p, ref.iloc[:0])
        if only_a and only_a[0] == first:
            prev = ol[ol["start_date"] < pd.Timestamp(first).date()]
            side = f"lotluca starts a line ({prev['end_reason'].iloc[-1] if len(prev) else 'first line'})"
            where = _ref_at(rl, first)
        else:
            side = f"reference starts a line ({_boundary_reason(rl, first)})"
            where = _ours_at(ol, first)
        mine = rows[rows["PATIENT_ID"].astype(str) == p]
        drugs_on = ",".join(sorted(set(mine.loc[mine["MED_START"] == first, "MED_NAME"])))
        bug = reference_anomaly(mine, rl)
        out.append(
            {
                "patient": int(p),
                "n_lotluca": len(sa),
                "n_reference": len(sb),
                "first_difference": first,
                "drugs_that_day": drugs_on,
                "class": f"{side}; {where}",
                "two_cycle_signature": bug,
                "lotluca_starts": " ".join(sa),
                "reference_starts": " ".join(sb),
            }
        )
    return pd.DataFrame(
        out,
        columns=["patient", "n_lotluca", "n_reference", "first_difference", "drugs_that_day", "class",
                 "two_cycle_signature", "lotluca_starts", "reference_starts"],
    )  # fmt: skip


def anomalies(rows: pd.DataFrame, ref: pd.DataFrame) -> dict[str, str]:
    """patient -> the reference-bug signature of its reference output, for every patient that has one."""
    ref_by = {p: g for p, g in ref.groupby(ref["PATIENT_ID"].astype(str))}
    out = {}
    for p, mine in rows.groupby(rows["PATIENT_ID"].astype(str)):
        bug = reference_anomaly(mine, ref_by.get(p, ref.iloc[:0]))
        if bug:
            out[p] = bug
    return out


def summarise(rows: pd.DataFrame, ref: pd.DataFrame, diff: pd.DataFrame, algorithm: str) -> dict:
    """Agreement (all patients, and patients whose reference output has no bug signature) and the classes
    of difference with their counts and example patients."""
    n = int(rows["PATIENT_ID"].nunique())
    counts = Counter(diff["class"])
    bugs = anomalies(rows, ref)
    differing = set(diff["patient"].astype(str))
    clean_same = n - len(bugs) - len(differing - set(bugs))
    return {
        "algorithm": algorithm,
        "patients": n,
        "same_line_starts": n - len(diff),
        "agreement": round((n - len(diff)) / n, 4) if n else 1.0,
        "patients_with_reference_bug": len(bugs),
        "agreement_outside_reference_bugs": round(clean_same / (n - len(bugs)), 4) if n > len(bugs) else 1.0,
        "same_starts_reference_bug_patients": len(set(bugs) - differing),
        "classes": [
            {"class": c, "patients": k, "examples": diff.loc[diff["class"] == c, "patient"].head(EXAMPLES).tolist()}
            for c, k in counts.most_common()
        ],
    }


def line_rows(ours: pd.DataFrame, ref: pd.DataFrame) -> tuple[dict, dict]:
    """person -> sorted (line number, start, maintenance) rows, of lotluca's lines and of the reference's."""
    a = ours.assign(k=list(zip(ours["line_number"].astype(int), ours["start_date"].astype(str),
                               ours["is_maintenance"].astype(bool), strict=True)))  # fmt: skip
    starts = pd.to_datetime(ref["START_DATE"]).dt.strftime("%Y-%m-%d")
    b = ref.assign(k=list(zip(ref["LINE_NUMBER"].astype(int), starts, ref["IS_MAINTENANCE"].astype(bool), strict=True)))
    return (
        {str(p): sorted(g) for p, g in a.groupby(a["person_id"].astype(str))["k"]},
        {str(p): sorted(g) for p, g in b.groupby(b["PATIENT_ID"].astype(str))["k"]},
    )


def reference_output(rows: pd.DataFrame, out: Path, args) -> pd.DataFrame:
    """Write `rows` (sorted) as OUT/input.csv and the reference's output on them as OUT/output_lot.csv: run the
    reference, or copy --reference-output, or keep the saved one (--reuse); return the sorted rows."""
    out.mkdir(parents=True, exist_ok=True)
    rows = rows.sort_values(["PATIENT_ID", "MED_START", "MED_NAME"], kind="stable").reset_index(drop=True)
    rows.to_csv(out / "input.csv", index=False)
    if args.reference_output:
        if Path(args.reference_output).resolve() != (out / "output_lot.csv").resolve():
            shutil.copyfile(args.reference_output, out / "output_lot.csv")
    elif args.reuse and (out / "output_lot.csv").exists() and (out / "reference_input.csv").exists():
        pass  # the reference's output of a previous run on the same input (checked below)
    elif args.reference_dir:
        ref_rows = rows if args.file_order else reference_order(rows, args.reference_python, out)
        ref_rows.to_csv(out / "reference_input.csv", index=False)
        lot = run_reference(ref_rows, args.reference_dir, args.reference_python, out)
        shutil.copyfile(lot, out / "output_lot.csv")
    else:
        raise SystemExit("give --reference-dir (and --reference-python) or --reference-output")
    if args.reuse and not args.reference_output:
        given = pd.read_csv(out / "reference_input.csv", dtype={"PATIENT_ID": "int64"})
        key = ["PATIENT_ID", "MED_START", "MED_NAME"]
        if not given.sort_values(key, kind="stable").reset_index(drop=True)[key].equals(rows[key]):
            raise SystemExit(f"{out}: the saved reference output is for another input (drop --reuse)")
    return rows


def compare(rows: pd.DataFrame, out: Path, args) -> dict:
    """Compare lotluca with the reference's output in `out` on `rows`; write the comparison files into `out`
    and return the summary."""
    ref = pd.read_csv(out / "output_lot.csv")
    ours = run_lotluca(rows, args.algorithm)
    ours.to_csv(out / "lotluca_lines.csv", index=False)
    diff = classify(rows, ours, ref)
    diff.to_csv(out / "differences.csv", index=False)
    summary = summarise(rows, ref, diff, args.algorithm)
    a, b = line_rows(ours, ref)
    same_rows = sum(a.get(str(p), []) == b.get(str(p), []) for p in rows["PATIENT_ID"].unique())
    summary["same_rows_with_maintenance"] = int(same_rows)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def simulate_cohort(seed: int, patients: int, folder: Path) -> Path:
    """A simulated cohort's merged linked scenario (simulate, extract, link, merge with the default config),
    made once in `folder`; returns the merged scenario folder."""
    merged = folder / "merged" / "linked"
    if (merged / "exposures.parquet").exists():
        return merged
    lot = [sys.executable, "-m", "lotluca"]
    steps = [
        ["simulate", "--patients", str(patients), "--seed", str(seed), "--out", folder / "sim"],
        ["extract", "--snds", folder / "sim" / "snds", "--odh", folder / "sim" / "odh", "--out", folder / "extract"],
        ["link", "--odh-dir", folder / "extract" / "odh", "--snds-dir", folder / "extract" / "snds", "--truth", "",
         "--out", folder / "linkage"],
        ["merge", "--odh-dir", folder / "extract" / "odh", "--snds-dir", folder / "extract" / "snds",
         "--links", folder / "linkage" / "links.parquet", "--scenario", "linked", "--out", folder / "merged"],
    ]  # fmt: skip
    for step in steps:
        res = subprocess.run(lot + [str(x) for x in step], capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise SystemExit(f"lotluca {step[0]} failed (seed {seed}):\n{res.stderr[-2000:]}")
    return merged


def print_table(summaries: dict[int, dict]) -> None:
    """Agreement per seed, then the classes of difference with their patients per seed."""
    print("| seed | patients | same line starts | with the reference's two-cycle signature | same starts among them "
          "| same rows incl. maintenance |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for seed, s in summaries.items():
        n, bug = s["patients"], s["patients_with_reference_bug"]
        print(f"| {seed} | {n} | {s['same_line_starts']} ({100 * s['agreement']:.1f}%) | {bug} "
              f"| {s['same_starts_reference_bug_patients']} / {bug} "
              f"| {s['same_rows_with_maintenance']} ({100 * s['same_rows_with_maintenance'] / n:.1f}%) |")  # fmt: skip
    classes = sorted({c["class"] for s in summaries.values() for c in s["classes"]})
    if classes:
        print("\n| class of difference | " + " | ".join(f"seed {k}" for k in summaries) + " |")
        print("|---|" + "---|" * len(summaries))
    for cls in classes:
        cells = []
        for s in summaries.values():
            hit = [c for c in s["classes"] if c["class"] == cls]
            cells.append(f"{hit[0]['patients']} (e.g. {', '.join(map(str, hit[0]['examples'][:3]))})" if hit else "0")
        print(f"| {cls} | " + " | ".join(cells) + " |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--merged", help="a merged scenario folder (exposures.parquet, persons.parquet)")
    src.add_argument("--input", help="a reference-format input CSV (PATIENT_ID, MED_START, MED_END, MED_NAME)")
    src.add_argument("--seeds", type=int, nargs="+", help="simulate a cohort per seed (with --patients) and compare")
    ap.add_argument("--patients", type=int, default=2500, help="patients simulated per seed (with --seeds)")
    ap.add_argument("--reference-dir", help="root of a Merck/Line-of-Therapy-Algorithm checkout")
    ap.add_argument("--reference-python", default=sys.executable, help="its interpreter (pandas 1.5.3)")
    ap.add_argument("--reference-output", help="an output_lot.csv of the reference already run on this input")
    ap.add_argument("--algorithm", default="meng2021", help="lotluca preset to compare (default meng2021)")
    ap.add_argument(
        "--file-order",
        action="store_true",
        help="give the reference its input sorted by (patient, date, name) as is, not in the order its unstable "
        "sort turns into that order (the rows of a date then reach it in an order that depends on their number)",
    )
    ap.add_argument(
        "--reuse", action="store_true", help="reuse the reference output of a previous run in --out on the same input"
    )
    ap.add_argument("--out", required=True, help="output folder")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if args.seeds:
        if args.reference_output:
            ap.error("--seeds runs the reference: give --reference-dir, not --reference-output")
        exported = {
            s: export_merged(simulate_cohort(s, args.patients, out / f"seed{s}" / "cohort")) for s in args.seeds
        }
        with ThreadPoolExecutor(len(args.seeds)) as pool:  # the reference runs, one process per seed
            jobs = {s: pool.submit(reference_output, exported[s], out / f"seed{s}", args) for s in args.seeds}
            rows = {s: job.result() for s, job in jobs.items()}
        summaries = {s: compare(rows[s], out / f"seed{s}", args) for s in args.seeds}
        (out / "summary.json").write_text(json.dumps(summaries, indent=2) + "\n", encoding="utf-8")
        print_table(summaries)
        return 0
    rows = export_merged(args.merged) if args.merged else pd.read_csv(args.input, dtype={"PATIENT_ID": "int64"})
    summary = compare(reference_output(rows, out, args), out, args)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
