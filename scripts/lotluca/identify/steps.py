"""The step functions of the identify stage: `identify` (the SNDS-only cohort) and `identify_quality` (its
quality against the simulated truth). docs/identify.md."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from lotluca.contracts import ALD, CHEMO_SESSIONS, DIAGNOSES, EXPOSURES, EXPOSURES_OPTIONAL, IDENTIFIED, conform
from lotluca.identify.quality import quality
from lotluca.identify.rules import identify as run_rules
from lotluca.identify.settings import IdentifySettings
from lotluca.io import read_parquet, write_parquet

log = logging.getLogger(__name__)


def _frame(path, schema, optional=()) -> pd.DataFrame:
    t = conform(read_parquet(path), schema, str(path), optional)
    df = t.to_pandas(date_as_object=False)
    for c in df.columns:  # dates as datetime64 for arithmetic
        if str(df[c].dtype).startswith("datetime64"):
            df[c] = df[c].astype("datetime64[ns]")
    return df


def _write_json(obj: dict, path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def identify_tables(files: Mapping, identify: Mapping, study: Mapping) -> tuple[pd.DataFrame, dict]:
    """Run the rules on the extracted SNDS tables (`files`: exposures, chemo_sessions, diagnoses, ald)."""
    s = IdentifySettings.from_config(identify)
    start, end = pd.Timestamp(str(study["start_date"])), pd.Timestamp(str(study["end_date"]))
    return run_rules(
        _frame(files["diagnoses"], DIAGNOSES),
        _frame(files["ald"], ALD),
        _frame(files["exposures"], EXPOSURES, EXPOSURES_OPTIONAL),
        _frame(files["chemo_sessions"], CHEMO_SESSIONS),
        start,
        end,
        s,
    )


def identify(inputs: Mapping, outputs: Mapping, *, identify: Mapping, study: Mapping) -> None:
    """Rule `identify`: the persons identified as incident advanced NSCLC from the SNDS alone (inputs
    exposures, chemo_sessions, diagnoses, ald of the SNDS extract) into `identified` (Parquet) and the
    counts of each rule into `report` (JSON)."""
    out, counts = identify_tables(inputs, identify, study)
    write_parquet(conform(pa_table(out), IDENTIFIED, "identified"), outputs["identified"])
    _write_json(counts, outputs["report"])
    log.info("identify: %s", counts)


def pa_table(df: pd.DataFrame):
    import pyarrow as pa

    return pa.Table.from_pandas(df.sort_values("person_id").reset_index(drop=True), preserve_index=False)


def identify_quality(inputs: Mapping, outputs: Mapping) -> None:
    """Rule `identify_quality`: the identified persons (`identified`) against the simulated truth
    (`truth`: truth/identification_truth) into `quality` (JSON)."""
    ident = read_parquet(inputs["identified"]).to_pandas(date_as_object=False)
    truth = read_parquet(inputs["truth"]).to_pandas(date_as_object=False)
    for df in (ident, truth):
        df["diagnosis_date"] = df["diagnosis_date"].astype("datetime64[ns]")
    q = quality(ident, truth)
    _write_json(q, outputs["quality"])
    log.info("identify quality: sensitivity %s, ppv %s", q["sensitivity"], q["ppv"])
