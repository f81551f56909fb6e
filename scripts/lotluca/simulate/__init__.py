"""Synthetic cohort generator: a faithful synthetic ODH + SNDS + gold-standard cohort of advanced NSCLC.

The clinical truth is drawn first (`cohort` persons, `treatment` lines, cycles, dispensations,
progression, death, `concomitant` medications), then rendered per source (`render_odh`, `render_snds`),
then the gold standard (`gold`), the truth tables and the calibration table (`calibration`), and written
(`write`), block by block (`blocks`). What is simulated, every knob, the truth <-> raw-row mapping and the
outputs: docs/simulate.md. Entry points: `simulate(settings, seed)` (tables in memory), `write_shard`
(one shard to the files it is given), `gather_shards` (the cohort's gold, truth and calibration) and
`simulate_to_files` (everything under one folder, for the command line); the workflow's steps are in
`lotluca.simulate.steps`.
"""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from lotluca.config import default_config
from lotluca.errors import LotlucaError
from lotluca.io import read_parquet, write_parquet
from lotluca.sharding import gather
from lotluca.simulate import (
    abstraction,
    blocks,
    calibration,
    centre_styles,
    changes,
    cohort,
    concomitant,
    confounding,
    decoys,
    gold,
    nomenclature,
    render_odh,
    render_snds,
    treatment,
)
from lotluca.simulate import arrowcols as A
from lotluca.simulate.blocks import Block
from lotluca.simulate.params import SimSettings
from lotluca.simulate.write import TableAppender, write_table

log = logging.getLogger(__name__)

SNDS_OUT = [
    "IR_BEN_R",
    "KI_CCI_R",
    "ER_PRS_F",
    "ER_PHA_F",
    "ER_UCD_F",
    "ER_ETE_F",
    "T_MCOaaB",
    "T_MCOaaC",
    "T_MCOaaD",
    "T_MCOaaMED",
    "T_MCOaaMEDATU",
    "T_MCOaaFH",
    "T_MCOaaCSTC",
    "T_MCOaaFHSTC",
    "IR_PHA_R",
    "NU_UCD_R",
    "IR_IMB_R",
]
ODH_OUT = ["odh_patients", "odh_administrations", "odh_stays", "odh_prescriptions"]
CONCOMITANT_OUT = "concomitant_truth"  # truth/<name>.parquet (exposure flags false when concomitant disabled)
# truth/<name>.parquet gathered over shards, sorted by these keys (then every other column)
TRUTH_SORT_KEYS = {
    "linkage_truth": ["odh_patient_id"],
    "clinical_truth": ["truth_person_id", "date"],
    CONCOMITANT_OUT: ["truth_person_id", "line_number"],
    "persons_truth": ["truth_person_id"],
    "lines_truth": ["truth_person_id", "line_number"],
    "changes_truth": ["truth_person_id", "line_number", "date", "kind"],
    "gold_agreement": ["person_id"],  # per gold person: gold lines != true lines, and the abstraction errors drawn
    "identification_truth": ["ben_idt_ano"],
}
GOLD_AGREEMENT = "gold_agreement"
# the gold and truth tables of a simulation result (concatenated over blocks, emptied for an empty shard)
RESULT_TABLES = (
    "gold",
    "linkage_truth",
    "clinical_truth",
    "persons_truth",
    "lines_truth",
    "changes_truth",
    GOLD_AGREEMENT,
    "identification_truth",
)
AGREEMENT_CSV = "gold_agreement.csv"  # beside gold_lines.parquet in a simulated folder
GOLD_SORT_KEYS = ["person_id", "line_number", "is_maintenance", "start_date"]

CLINICAL_TRUTH = pa.schema(
    [
        ("truth_person_id", pa.string()),
        ("odh_patient_id", pa.string()),
        ("ben_idt_ano", pa.string()),
        ("date", pa.date32()),
        ("end_date", pa.date32()),
        ("ingredient", pa.string()),
        ("route", pa.string()),
        ("setting", pa.string()),
        ("hospital", pa.string()),
        ("line_number", pa.int16()),
        ("is_maintenance", pa.bool_()),
        ("cycle", pa.int16()),
        ("observed_odh", pa.bool_()),
        ("odh_table", pa.string()),
        ("odh_row_id", pa.string()),
        ("odh_date", pa.date32()),
        ("odh_extra_keys", pa.string()),
        ("observed_snds", pa.bool_()),
        ("snds_channel", pa.string()),
        ("snds_table", pa.string()),
        ("snds_key", pa.string()),
        ("snds_date", pa.date32()),
        ("snds_extra_keys", pa.string()),
    ]
)
LINKAGE_TRUTH = pa.schema([("odh_patient_id", pa.string()), ("ben_idt_ano", pa.string())])


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _progress(what: str, t0: float) -> None:
    log.info(
        "%s at %.1f s (CPU %.1f s, peak RSS %.0f MB)", what, time.perf_counter() - t0, time.process_time(), _rss_mb()
    )


def truth_table(persons: pd.DataFrame, events: pd.DataFrame, snds_cols: dict, odh_cols: dict) -> pa.Table:
    """truth/clinical_truth: one row per true event with its ODH and SNDS rendering (docs/simulate.md,
    "From the truth to the raw rows")."""
    pid = events["pid"].to_numpy().astype(np.int64)
    m = pid.size
    odh_id = persons["odh_patient_id"].to_numpy()
    never = treatment.NEVER
    adm, presc, dup = odh_cols["adm_num"], odh_cols["presc_num"], odh_cols["dup_num"]
    null = pa.nulls(m, pa.string())
    odh_row = A.where(adm > 0, A.int_text(adm, 9, "A"), A.where(presc > 0, A.int_text(presc, 9, "P"), null))
    odh_tab = A.take(
        A.vocab(["odh_administrations", "odh_prescriptions"]), np.where(adm > 0, 0, np.where(presc > 0, 1, -1))
    )
    odh_extra = A.where(dup > 0, A.int_text(dup, 9, "odh_administrations:A"), null)
    oral = events["oral"].to_numpy()
    return pa.Table.from_arrays(
        [
            A.take(A.vocab(persons["truth_person_id"].to_numpy()), pid),
            A.take(A.vocab(odh_id), pid, null_mask=(odh_id == "")[pid]),
            A.take(A.vocab(persons["ben_idt_ano"].to_numpy()), pid),
            A.date32(events["date"].to_numpy()),
            A.date32(events["end_date"].to_numpy()),
            A.take(A.vocab(treatment.ING_NAMES), events["ing"].to_numpy()),
            A.take(A.vocab(["iv", "oral"]), oral.astype(np.int64)),
            A.take(A.vocab(treatment.SETTING_NAMES), events["setting"].to_numpy()),
            snds_cols["hospital"],
            pa.array(events["line_number"].to_numpy(), type=pa.int16()),
            pa.array(events["is_maint"].to_numpy()),
            pa.array(events["cycle"].to_numpy().astype(np.int16), mask=oral),
            pa.array((adm > 0) | (presc > 0)),
            odh_tab,
            odh_row,
            A.date32(odh_cols["odh_date"], mask=odh_cols["odh_date"] == never),
            odh_extra,
            pa.array(snds_cols["observed_snds"]),
            snds_cols["snds_channel"],
            snds_cols["snds_table"],
            snds_cols["snds_key"],
            snds_cols["snds_date"],
            snds_cols["snds_extra_keys"],
        ],
        schema=CLINICAL_TRUTH,
    )


def simulate_block(
    s: SimSettings, seed: int, block: Block, hosp: cohort.Hospitals, odh_key: tuple[int, int], emit=None
) -> dict:
    """Draw one block of the cohort (its own random streams and id ranges, see `blocks`) and render every
    table. Returns {"snds": {...}, "odh": {...}, "gold", "linkage_truth", "clinical_truth", "concomitant",
    "persons_truth", "lines_truth", "counts", "_persons", "_lines", "_death"}; with `emit(group, name,
    table)` every table is handed over as soon as it is built and the result holds what emit returned."""
    t0 = time.perf_counter()
    rng = blocks.block_streams(seed, block)  # the 10th: concomitant dispensations
    s = block.settings(s)
    persons = cohort.draw_persons(rng[0], s)
    persons = persons.assign(**confounding.draw_frailty(rng[0].spawn(1)[0], len(persons), s.confounding))
    persons = cohort.make_twins(rng[1], persons, s)
    persons = cohort.assign_identifiers(rng[2], persons, s, first_person=block.first_person, odh_key=odh_key)
    styles = centre_styles.draw(seed, s, persons["centre"].to_numpy())  # None at spread 0 (own stream)
    lines, death = treatment.draw_lines(rng[4], persons, s, styles)
    events = treatment.draw_events(rng[5], lines, persons, death, s, styles)
    lines = treatment.finalise_lines(lines, events, death, s)
    conc = None
    if s.concomitant.enabled:
        end = cohort.to_days(s.end_date)
        conc = concomitant.draw_dispensations(rng[9], persons, lines, death, end, s.concomitant.background_rate)
    _progress(
        f"block {block.index}: truth drawn ({len(persons)} persons, {len(lines)} lines, {len(events)} events)", t0
    )
    dec = decoys.block_decoys(seed, block, s, persons, events, death, hosp)  # identification decoys
    snds_tables, snds_cols, _ = render_snds.render(
        rng[6],
        *dec["render"],
        hosp,
        s,
        emit,
        conc,
        rsa_base=block.row_base,
        dct_base=block.dct_base,
        extra_stays=dec["stays"],
    )
    snds_cols = {k: v[: len(events)] for k, v in snds_cols.items()}  # the cohort's events (decoys' after)
    snds_tables["IR_IMB_R"] = render_snds._emit(emit, "IR_IMB_R", dec["ald"])
    odh_tables, odh_cols = render_odh.render(rng[7], persons, events, lines, death, s, emit, row_base=block.row_base)
    changes_t = changes.changes_truth(lines, events, persons["truth_person_id"].to_numpy())
    in_gold, test = gold.gold_persons(rng[8], persons, s)
    gold_t, agree_t = gold.gold_standard(rng[8], lines, events, persons, death, in_gold, test, s, changes_t)

    truth = truth_table(persons, events, snds_cols, odh_cols)
    del snds_cols, odh_cols
    pat = ~persons["is_decoy"].to_numpy()
    odh_id = persons["odh_patient_id"].to_numpy()
    linkage = pa.Table.from_arrays(
        [pa.array(odh_id[pat]), pa.array(persons["ben_idt_ano"].to_numpy()[pat])], schema=LINKAGE_TRUTH
    )
    persons_t = calibration.persons_truth(persons, death, s.end_date)
    lines_t = calibration.lines_truth(lines, persons)
    conc_t = concomitant.truth_tables(persons, lines, conc, cohort.EPOCH)  # flags all false when disabled
    out = {
        "gold": gold_t,
        "linkage_truth": linkage,
        "clinical_truth": truth,
        CONCOMITANT_OUT: conc_t[0],
        "persons_truth": persons_t,
        "lines_truth": lines_t,
        "changes_truth": changes_t,
        GOLD_AGREEMENT: agree_t,
        "identification_truth": decoys.truth_table(persons, dec["persons"]),
    }
    if emit is not None:
        out = {
            name: emit("gold", "gold_lines", t) if name == "gold" else emit("truth", name, t) for name, t in out.items()
        }
    _progress(f"block {block.index}: all tables built", t0)
    return {
        "snds": snds_tables,
        "odh": odh_tables,
        "gold": out["gold"],
        "linkage_truth": out["linkage_truth"],
        "clinical_truth": out["clinical_truth"],
        "concomitant": (out[CONCOMITANT_OUT], conc_t[1]),
        "persons_truth": out["persons_truth"],
        "lines_truth": out["lines_truth"],
        "changes_truth": out["changes_truth"],
        GOLD_AGREEMENT: out[GOLD_AGREEMENT],
        "identification_truth": out["identification_truth"],
        "counts": {"patients": int(pat.sum()), "decoys": int((~pat).sum()), "lines": len(lines), "events": len(events)},
        "_persons": persons,
        "_lines": lines,
        "_death": death,
    }


def _cohort_draws(seed: int) -> tuple[cohort.Hospitals, tuple[int, int]]:
    """The draws shared by every block: hospitals outside the centres and the ODH id bijection."""
    rng = blocks.cohort_stream(seed)
    hosp = cohort.Hospitals.draw(rng)
    return hosp, cohort.odh_id_key(rng)


def _concat(tables: list[pa.Table]) -> pa.Table:
    return pa.concat_tables(tables).combine_chunks()


def _empty_block(s: SimSettings) -> Block:
    """A one-patient block whose tables, emptied, give the schemas of a shard that has no block."""
    return Block(index=0, patients=1, decoys=blocks.n_decoys(1, s), first_person=0)


def simulate(settings: SimSettings, seed: int, emit=None, shard: int = 0, n_shards: int = 1) -> dict:
    """Draw the blocks of shard `shard` of `n_shards` (the whole cohort by default) and render every table;
    returns {"snds": {...}, "odh": {...}, "gold", "linkage_truth", "clinical_truth", "concomitant",
    "persons_truth", "lines_truth", "calibration" (DataFrame), "counts", "_persons", "_lines", "_death"},
    tables concatenated over the blocks in block order. With `emit(group, name, table)`, every table of
    every block is handed over as soon as it is built and only "counts" is returned (simulate_to_files
    appends and drops the tables that way, keeping memory at one block). A shard without blocks emits
    empty tables with the right schemas. Every shard holds the whole nomenclatures (IR_PHA_R, NU_UCD_R)."""
    s = settings
    hosp, odh_key = _cohort_draws(seed)
    if emit is not None:
        for name, table in nomenclature.tables().items():
            emit("snds", name, table)
    todo = blocks.shard_blocks(s, shard, n_shards)
    counts = {"patients": 0, "decoys": 0, "lines": 0, "events": 0}
    if not todo:  # the tables of a one-patient block, emptied
        if emit is not None:
            simulate_block(s, seed, _empty_block(s), hosp, odh_key, lambda g, n, t: emit(g, n, t.slice(0, 0)))
            return {"counts": counts}
        results = [_empty_result(simulate_block(s, seed, _empty_block(s), hosp, odh_key))]
    else:
        results = []
        for b in todo:
            r = simulate_block(s, seed, b, hosp, odh_key, emit)
            counts = {k: counts[k] + r["counts"][k] for k in counts}
            if emit is None:
                results.append(r)
        if emit is not None:
            return {"counts": counts}
    out = {"counts": counts}
    for name in RESULT_TABLES:
        out[name] = _concat([r[name] for r in results])
    out["calibration"] = calibration.from_truth(out["persons_truth"], out["lines_truth"], s)
    out["snds"] = {n: _concat([r["snds"][n] for r in results]) for n in results[0]["snds"]} | nomenclature.tables()
    out["odh"] = {n: _concat([r["odh"][n] for r in results]) for n in results[0]["odh"]}
    out["concomitant"] = tuple(_concat([r["concomitant"][i] for r in results]) for i in (0, 1))
    offsets = np.cumsum([0] + [len(r["_persons"]) for r in results])
    out["_persons"] = pd.concat([r["_persons"] for r in results], ignore_index=True)
    out["_persons"]["pid"] = np.arange(len(out["_persons"]), dtype=np.int32)
    out["_lines"] = pd.concat(
        [r["_lines"].assign(pid=r["_lines"]["pid"].to_numpy() + off) for r, off in zip(results, offsets, strict=False)],
        ignore_index=True,
    )
    out["_death"] = np.concatenate([r["_death"] for r in results])
    return out


def _empty_result(r: dict) -> dict:
    """The result of a block with every table emptied (a shard without blocks)."""
    out = dict(r)
    out["snds"] = {n: t.slice(0, 0) for n, t in r["snds"].items()}
    out["odh"] = {n: t.slice(0, 0) for n, t in r["odh"].items()}
    for name in RESULT_TABLES:
        out[name] = r[name].slice(0, 0)
    out["concomitant"] = tuple(t.slice(0, 0) for t in r["concomitant"])
    out["_persons"] = r["_persons"].iloc[:0]
    out["_lines"] = r["_lines"].iloc[:0]
    out["_death"] = r["_death"][:0]
    return out


TABLES = [*SNDS_OUT, *ODH_OUT, "gold_lines", *TRUTH_SORT_KEYS]  # every table a shard writes


def folder_files(out_dir: str | Path, fmt: str) -> dict[str, Path]:
    """The files of every table under one folder, as the command line writes them: OUT/snds/<T>.<fmt>,
    OUT/odh/<T>.<fmt>, OUT/gold/gold_lines.parquet, OUT/truth/<T>.parquet."""
    out = Path(out_dir)
    files = {n: out / "snds" / f"{n}.{fmt}" for n in SNDS_OUT} | {n: out / "odh" / f"{n}.{fmt}" for n in ODH_OUT}
    return (
        files
        | {"gold_lines": out / "gold" / "gold_lines.parquet"}
        | {n: out / "truth" / f"{n}.parquet" for n in TRUTH_SORT_KEYS}
    )


def _format(name: str, fmt: str) -> str:
    """SNDS and ODH tables are written in `fmt`, gold and truth tables always in Parquet."""
    return fmt if name in SNDS_OUT or name in ODH_OUT else "parquet"


def _check_format(fmt: str) -> None:
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"format must be parquet or csv, got {fmt!r}")


def _write_calibration(calib: pd.DataFrame, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(calib.to_csv(index=False, lineterminator="\n", float_format="%.4f"), encoding="utf-8")


def _write_agreement(per_person: pa.Table, path: str | Path) -> None:
    """The gold standard's agreement with the truth over the cohort (abstraction.agreement_table) as CSV."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = abstraction.agreement_table(per_person.to_pandas())
    path.write_text(table.to_csv(index=False, lineterminator="\n", float_format="%.4f"), encoding="utf-8")


def write_outputs(result: dict, out_dir: str | Path, fmt: str = "parquet") -> dict:
    """Write the in-memory tables of `simulate` under out_dir (`folder_files`, and calibration.csv);
    returns rows per table."""
    _check_format(fmt)
    files = folder_files(out_dir, fmt)
    tables = {**result["snds"], **result["odh"], "gold_lines": result["gold"]}
    tables |= {n: result[n] for n in ("linkage_truth", "clinical_truth")}
    tables |= {CONCOMITANT_OUT: result["concomitant"][0]}
    tables |= {n: result[n] for n in ("persons_truth", "lines_truth", "changes_truth", GOLD_AGREEMENT)}
    tables |= {n: result[n] for n in ("persons_truth", "lines_truth", "changes_truth", "identification_truth")}
    for name, table in tables.items():
        write_table(table, files[name], _format(name, fmt), snds_table=name if name in SNDS_OUT else None)
    _write_calibration(result["calibration"], Path(out_dir) / "calibration.csv")
    _write_agreement(result[GOLD_AGREEMENT], files["gold_lines"].with_name(AGREEMENT_CSV))
    return {name: table.num_rows for name, table in tables.items()}


def _calibrate(persons_t: pa.Table, lines_t: pa.Table, s: SimSettings, path: str | Path) -> None:
    """Write the calibration table of a whole cohort (its truth tables) and log the figures off target."""
    calib = calibration.from_truth(persons_t, lines_t, s)
    _write_calibration(calib, path)
    level = logging.WARNING if s.patients >= 2000 else logging.INFO  # small cohorts are too noisy to calibrate
    for _, r in calib[~calib["within"]].iterrows():
        log.log(
            level,
            "calibration: %s = %s outside [%s, %s] (%s)",
            r["metric"],
            r["simulated"],
            r["target_low"],
            r["target_high"],
            r["source"],
        )


def sim_settings(settings, study=None) -> SimSettings:
    """A SimSettings as given, or built from the config's simulate and study blocks (dicts; the schema fills
    the keys they lack)."""
    if isinstance(settings, SimSettings):
        return settings
    cfg = default_config(simulate=dict(settings or {}), study=dict(study or {}))
    return SimSettings.from_config(cfg["simulate"], study=cfg["study"])


def write_shard(
    settings: SimSettings,
    seed: int,
    files: Mapping[str, str | Path],
    fmt: str = "parquet",
    shard: int = 0,
    n_shards: int = 1,
    calibration_csv: str | Path | None = None,
    agreement_csv: str | Path | None = None,
) -> dict:
    """Simulate shard `shard` of `n_shards` and write each table to its file in `files` (table name ->
    path: the SNDS and ODH tables in `fmt`, gold_lines and the truth tables in Parquet); tables absent
    from `files` are not written. With `calibration_csv` (a whole cohort: n_shards 1), also the
    calibration table, and with `agreement_csv` (a whole cohort) the gold standard's agreement with the truth.
    Returns a summary (counts and rows per table).

    Each block's tables are appended to their files by a background thread as soon as they are built,
    then dropped, so the peak memory is about one block; Arrow releases the GIL while encoding, so
    writing overlaps with drawing the next tables. The bytes of a file do not depend on timing."""
    _check_format(fmt)
    unknown = sorted(set(files) - set(TABLES))
    if unknown:
        raise LotlucaError(f"simulate: no table named {unknown} (tables: {TABLES})")
    if calibration_csv is not None and n_shards != 1:
        raise LotlucaError("simulate: the calibration table needs the whole cohort (n_shards 1); gather the shards")
    s = settings
    rows: dict[str, int] = {}
    writers: dict[str, TableAppender] = {}
    kept: dict[str, list] = {"persons_truth": [], "lines_truth": []} if calibration_csv is not None else {}
    if agreement_csv is not None:
        if n_shards != 1:
            raise LotlucaError("simulate: the gold agreement needs the whole cohort (n_shards 1); gather the shards")
        kept[GOLD_AGREEMENT] = []
    futures = []
    with ThreadPoolExecutor(max_workers=1) as pool:  # one thread: appends to a file stay in block order

        def emit(group, name, table):
            rows[name] = rows.get(name, 0) + table.num_rows
            if name in kept:
                kept[name].append(table)
            if name in files:
                if name not in writers:
                    writers[name] = TableAppender(files[name], _format(name, fmt), name if group == "snds" else None)
                futures.append(pool.submit(writers[name].append, table))
            return table.num_rows

        try:
            result = simulate(s, seed, emit, shard=shard, n_shards=n_shards)
            for fut in futures:
                fut.result()  # re-raise any writing error
        finally:
            for fut in futures:
                fut.cancel()
            for w in writers.values():
                pool.submit(w.close).result()
    if calibration_csv is not None:
        _calibrate(_concat(kept["persons_truth"]), _concat(kept["lines_truth"]), s, calibration_csv)
    if agreement_csv is not None:
        _write_agreement(_concat(kept[GOLD_AGREEMENT]), agreement_csv)
    return {**result["counts"], "rows": rows}


def simulate_to_files(
    settings, study, seed: int, out_dir: str | Path, fmt: str = "parquet", shard: int = 0, n_shards: int = 1
) -> dict:
    """Simulate shard `shard` of `n_shards` (the whole cohort by default) and write every table under
    out_dir (`folder_files`), with OUT/calibration.csv and OUT/gold/gold_agreement.csv for a whole cohort
    (n_shards 1; a sharded cohort gets them from `gather_shards`). `settings`: a SimSettings or the config's simulate block (a dict, then
    with the study block `study`). Returns a summary."""
    _check_format(fmt)
    s = sim_settings(settings, study)
    whole = n_shards == 1
    calib = Path(out_dir) / "calibration.csv" if whole else None
    files = folder_files(out_dir, fmt)
    agree = files["gold_lines"].with_name(AGREEMENT_CSV) if whole else None
    return write_shard(s, seed, files, fmt, shard, n_shards, calibration_csv=calib, agreement_csv=agree)


def gather_shards(
    shard_files: Mapping[str, Sequence[str | Path]],
    outputs: Mapping[str, str | Path],
    calibration_csv: str | Path,
    settings: SimSettings,
    agreement_csv: str | Path | None = None,
) -> dict:
    """Gather the gold and truth tables of simulated shards (`shard_files`: table name -> its file in
    every shard, shard order) into `outputs` (table name -> file), each sorted canonically so the files do
    not depend on the number of shards, and write the calibration table of the whole cohort. The
    tables are gold_lines and the truth tables (`TRUTH_SORT_KEYS`); persons_truth and lines_truth are
    needed for the calibration. With `agreement_csv`, the gold standard's agreement with the truth over the
    cohort (from gold_agreement). The SNDS and ODH tables stay in their shards (extraction reads them per
    shard). Returns rows per table."""
    sort_keys = {"gold_lines": GOLD_SORT_KEYS, **TRUTH_SORT_KEYS}
    unknown = sorted((set(shard_files) | set(outputs)) - set(sort_keys))
    missing = sorted({"persons_truth", "lines_truth"} - set(shard_files))
    if unknown or missing or set(outputs) - set(shard_files):
        raise LotlucaError(
            f"simulate_gather: tables {sorted(shard_files)} -> {sorted(outputs)}: unknown {unknown}, "
            f"missing {missing} (every output needs its shard files; the calibration needs persons_truth and "
            "lines_truth)"
        )
    kept = {}  # what the calibration needs
    rows = {}
    for name, keys in sort_keys.items():
        if name not in shard_files:
            continue
        files = [Path(f) for f in shard_files[name]]
        table = gather([read_parquet(f) for f in files], keys, sources=[str(f) for f in files])
        if name in outputs:
            write_parquet(table, outputs[name])
        if name in ("persons_truth", "lines_truth", GOLD_AGREEMENT):
            kept[name] = table
        rows[name] = table.num_rows
    _calibrate(kept["persons_truth"], kept["lines_truth"], settings, calibration_csv)
    if agreement_csv is not None:
        if GOLD_AGREEMENT not in kept:
            raise LotlucaError(f"simulate_gather: the gold agreement needs the shards' {GOLD_AGREEMENT} files")
        _write_agreement(kept[GOLD_AGREEMENT], agreement_csv)
    return rows


__all__ = [
    "SimSettings",
    "folder_files",
    "gather_shards",
    "sim_settings",
    "simulate",
    "simulate_to_files",
    "write_outputs",
    "write_shard",
]
