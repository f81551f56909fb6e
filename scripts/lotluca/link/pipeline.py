"""The link stage end to end: persons + stays of both sources -> links table and quality report.

`link_records` works on frames (library use); `run_linkage` reads the canonical Parquet files, writes
`links.parquet` (contracts.LINKS), the JSON report and the CSV quality table (docs/link.md).
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from lotluca.config import Settings
from lotluca.contracts import LINKS, PERSONS, PERSONS_OPTIONAL, STAYS
from lotluca.errors import InputError
from lotluca.io import write_parquet
from lotluca.link.deterministic import deterministic_links
from lotluca.link.inputs import prepare_persons, prepare_stays, read_table
from lotluca.link.probabilistic import stay_key_records, train_and_predict
from lotluca.link.quality import linkage_quality, quality_table
from lotluca.link.resolve import one_to_one

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkSettings(Settings):
    """The `link:` block of the config (docs/link.md), and the master seed (`from_config(block, seed=...)`)."""

    deterministic_min_stays: int
    deterministic_day_tolerance: int
    probabilistic_day_window: int
    match_probability_threshold: float
    require_event_evidence: bool
    m_floor: float
    ambiguity_margin: float
    u_max_pairs: int | float  # kept as written (the report shows it so)
    em_max_odh_patients: int
    threads: int
    seed: int


def score_candidates(
    odh_persons,
    odh_stays,
    snds_persons,
    snds_stays,
    params: LinkSettings,
    files: dict | None = None,
    threads: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Deterministic links and the Splink-scored pairs of the records it left (DuckDB runs on `threads`
    threads, by default `params.threads`).

    Returns (deterministic links: odh_id, snds_id, n_stays; scored pairs: odh_id, snds_id,
    match_probability, match_weight, stay_weight; statistics).
    """
    files = files or {}
    t0 = time.perf_counter()
    op, dup_o = prepare_persons(odh_persons, files.get("odh_persons", "odh persons"), "ODH")
    sp, dup_s = prepare_persons(snds_persons, files.get("snds_persons", "snds persons"), "SNDS")
    if dup_o:
        raise InputError(
            files.get("odh_persons", "odh persons"),
            f"{dup_o} duplicated ODH person_id rows",
            column="person_id",
            expected="one row per ODH patient",
        )
    centre_of = op.set_index("person_id")["centre"]
    os_ = prepare_stays(odh_stays, files.get("odh_stays", "odh stays"), "ODH", default_hospital=centre_of)
    ss = prepare_stays(snds_stays, files.get("snds_stays", "snds stays"), "SNDS")
    con = duckdb.connect()
    con.execute(f"SET threads TO {int(threads or params.threads)}").fetchall()

    det, det_stats = deterministic_links(
        op, os_, sp, ss, params.deterministic_day_tolerance, params.deterministic_min_stays, con
    )
    t_det = time.perf_counter()

    log.info("deterministic done in %.1f s", t_det - t0)
    centres = sorted(set(os_["hospital"]))
    stay_key_records("odh_records", op, os_, centres, (0, 0), con)
    stay_key_records("snds_records", sp, ss, centres, (1, params.probabilistic_day_window), con, role="snds")
    log.info("stay-key records built at %.1f s", time.perf_counter() - t0)
    rest_o = op.loc[~op["person_id"].isin(det["odh_id"]), "person_id"].to_numpy()
    rest_s = sp.loc[~sp["person_id"].isin(det["snds_id"]), "person_id"].to_numpy()
    pairs, model_info = train_and_predict(
        con,
        "odh_records",
        "snds_records",
        rest_o,
        rest_s,
        params.probabilistic_day_window,
        params.seed,
        params.u_max_pairs,
        params.em_max_odh_patients,
        m_floor=params.m_floor,
    )
    stats = {
        "odh_persons": int(len(op)),
        "snds_persons": int(len(sp)),
        "snds_duplicate_person_rows_collapsed": int(dup_s),
        "odh_centre_stays": int(len(os_)),
        "snds_stays": int(len(ss)),
        "snds_persons_with_a_centre_stay": int(ss.loc[ss["hospital"].isin(centres), "person_id"].nunique()),
        "deterministic": det_stats,
        "probabilistic": {"odh_left": int(len(rest_o)), "snds_left": int(len(rest_s)), "pairs_scored": int(len(pairs))},
        "seconds": {"deterministic": round(t_det - t0, 2), "probabilistic": round(time.perf_counter() - t_det, 2)},
        "model": _model_summary(model_info.get("model")),
        "em_failures": model_info.get("em_failures", []),
    }
    return det, pairs, stats


def resolve_links(
    det: pd.DataFrame, pairs: pd.DataFrame, threshold: float, margin: float, require_evidence: bool = True
) -> tuple[pd.DataFrame, dict]:
    """Deterministic links plus the one-to-one probabilistic links at `threshold` (contracts.LINKS columns).

    With `require_evidence`, a pair is eligible only if the two records share an event (a centre stay,
    the diagnosis stay or the death date): identical demographics alone never make a link.
    """
    above = pairs[(pairs["match_probability"] >= threshold) & (pairs["evidence"] | (not require_evidence))]
    prob, ambiguous = one_to_one(above, margin)
    links = pd.concat(
        [
            pd.DataFrame(
                {
                    "odh_patient_id": det["odh_id"],
                    "snds_person_id": det["snds_id"],
                    "method": "deterministic",
                    "match_probability": 1.0,
                }
            ),
            pd.DataFrame(
                {
                    "odh_patient_id": prob["odh_id"],
                    "snds_person_id": prob["snds_id"],
                    "method": "probabilistic",
                    "match_probability": prob["match_probability"],
                }
            ),
        ],
        ignore_index=True,
    ).sort_values("odh_patient_id", ignore_index=True)
    if not (links["odh_patient_id"].is_unique and links["snds_person_id"].is_unique):  # pragma: no cover - invariant
        raise AssertionError("linkage: links are not one-to-one")
    stats = {
        "threshold": threshold,
        "pairs_above_threshold": int(len(above)),
        "links": int(len(prob)),
        "ambiguous_pairs_withdrawn": int(len(ambiguous)),
    }
    return links, stats


def link_records(
    odh_persons,
    odh_stays,
    snds_persons,
    snds_stays,
    params: LinkSettings,
    files: dict | None = None,
    threads: int | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Link ODH patients to SNDS persons. Inputs: canonical persons/stays (Arrow tables or frames).

    Returns (links as a frame with contracts.LINKS columns, stage statistics).
    """
    t0 = time.perf_counter()
    det, pairs, stats = score_candidates(odh_persons, odh_stays, snds_persons, snds_stays, params, files, threads)
    links, rstats = resolve_links(
        det, pairs, params.match_probability_threshold, params.ambiguity_margin, params.require_event_evidence
    )
    stats["probabilistic"].update(rstats)
    stats["seconds"]["total"] = round(time.perf_counter() - t0, 2)
    return links, stats


def _model_summary(model: dict | None) -> dict | None:
    """m and u probabilities per comparison level (for the report)."""
    if not model:
        return None
    out = {}
    for comp in model.get("comparisons", []):
        levels = []
        for lev in comp.get("comparison_levels", []):
            if lev.get("is_null_level"):
                continue
            levels.append(
                {
                    "level": lev.get("label_for_charts") or lev.get("sql_condition"),
                    "m": lev.get("m_probability"),
                    "u": lev.get("u_probability"),
                }
            )
        out[comp.get("output_column_name")] = levels
    return out


def links_table(links: pd.DataFrame) -> pa.Table:
    """The links as contracts.LINKS; probabilities rounded to 6 decimals (DuckDB's parallel sums make EM
    differ in the last bits between runs: rounding keeps reruns byte-identical)."""
    out = links[LINKS.names].assign(match_probability=links["match_probability"].astype(float).round(6))
    return pa.Table.from_pandas(out, schema=LINKS, preserve_index=False)


def _clean(obj):
    """JSON-safe: NaN -> null, numpy scalars -> Python, floats to 6 significant digits (reproducible)."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return None if math.isnan(obj) else float(f"{obj:.6g}")
    return obj


def run_linkage(
    files: dict[str, str | Path],
    truth_path: str | None,
    params: LinkSettings,
    links_out: str | Path,
    report_out: str | Path,
    quality_csv: str | Path,
    threads: int | None = None,
) -> dict:
    """Read the canonical tables, link, write links / report JSON / quality CSV; return the report.

    `files` maps odh_persons, odh_stays, snds_persons, snds_stays to canonical Parquet files; `threads`:
    DuckDB's threads (default `params.threads`; the report shows the configured `params`).
    """
    files = {k: Path(files[k]) for k in ("odh_persons", "odh_stays", "snds_persons", "snds_stays")}
    tables = {
        k: read_table(f, *((PERSONS, k, PERSONS_OPTIONAL) if k.endswith("persons") else (STAYS, k)))
        for k, f in files.items()
    }
    links, stats = link_records(
        tables["odh_persons"], tables["odh_stays"], tables["snds_persons"], tables["snds_stays"], params, files, threads
    )
    truth = None
    if truth_path:
        tt = read_table(
            truth_path, pa.schema([("odh_patient_id", pa.string()), ("ben_idt_ano", pa.string())]), "linkage_truth"
        )
        truth = tt.to_pandas()
    odh_ids = tables["odh_persons"].column("person_id").to_pandas()
    quality = linkage_quality(links, odh_ids, truth)
    # timings go to the log only: the report stays byte-identical between reruns
    log.info("linkage timings (s): %s", stats.get("seconds"))
    report = _clean(
        {"params": asdict(params), "quality": quality, "stages": {k: v for k, v in stats.items() if k != "seconds"}}
    )
    write_parquet(links_table(links), links_out)
    Path(report_out).parent.mkdir(parents=True, exist_ok=True)
    Path(report_out).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    Path(quality_csv).parent.mkdir(parents=True, exist_ok=True)
    quality_table(quality).to_csv(quality_csv, index=False, float_format="%.4f")
    log.info("linkage: %d links (%s), link rate %.4f", len(links), quality["links_by_method"], quality["link_rate"])
    return report
