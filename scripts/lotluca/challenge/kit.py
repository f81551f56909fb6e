"""The participant data of the challenge: the de-identified SNDS and ODH tables of the challenge persons, the
linkage, the train labels, the test persons, the data dictionary and the linked scenario built from them
(docs/challenge.md). Also the hidden reference data of each test split and the organisers' key table."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pyarrow as pa

from lotluca.challenge import deidentify as deid
from lotluca.challenge.dictionary import dictionary, dictionary_markdown
from lotluca.challenge.settings import ChallengeSettings
from lotluca.contracts import CHEMO_SESSIONS, EXPOSURES, EXPOSURES_OPTIONAL, LINES, LINKS, PERSONS, STAYS, conform
from lotluca.io import read_parquet, write_parquet

log = logging.getLogger(__name__)
SOURCES = ("odh", "snds")
TABLES = {"persons": PERSONS, "exposures": EXPOSURES, "chemo_sessions": CHEMO_SESSIONS, "stays": STAYS}
VARIABLES = {"persons": "PERSONS", "exposures": "EXPOSURES", "chemo_sessions": "CHEMO_SESSIONS", "stays": "STAYS"}


def read_sources(files: dict[str, str]) -> dict[str, dict[str, pd.DataFrame]]:
    """source -> table -> frame, from inputs named <source>_<table>."""
    return {s: {t: read_parquet(files[f"{s}_{t}"]).to_pandas(date_as_object=False) for t in TABLES} for s in SOURCES}


def participant_tables(original, links: pd.DataFrame, keys: pd.DataFrame, settings: ChallengeSettings, key: bytes):
    """ "<source>/<table>" -> de-identified frame of the challenge persons, and the linkage table."""
    maps = {
        "odh": keys.set_index("odh_id")[["odh_pseudonym", "shift_days"]],
        "snds": keys.dropna(subset=["snds_id"]).set_index("snds_id")[["snds_pseudonym", "shift_days"]],
    }
    fin = deid.finess_map(
        pd.concat(
            [df[c] for tabs in original.values() for df in tabs.values() for c in deid.FINESS_COLUMNS if c in df]
        ),
        key,
    )
    out = {}
    for source in SOURCES:
        m = maps[source]
        shifted = {
            t: deid.shift_table(df, t, m.iloc[:, 0], m.iloc[:, 0], m["shift_days"])
            for t, df in original[source].items()
        }
        out.update({f"{source}/{t}": df for t, df in deid.coarsen(shifted, fin).items()})
    pairs = keys.dropna(subset=["snds_pseudonym"])
    to_study = dict(zip(pairs["snds_pseudonym"], pairs["odh_pseudonym"], strict=True))
    frames = [(name.split("/")[1], df) for name, df in out.items()]
    rare = deid.rare_values(
        frames, lambda df: df["person_id"].map(lambda p: to_study.get(p, p)), settings.rare_min_persons
    )
    for source in SOURCES:
        tabs = deid.apply_rare({t: out[f"{source}/{t}"] for t in TABLES}, rare)
        out.update({f"{source}/{t}": df for t, df in tabs.items()})
    linked = keys.dropna(subset=["snds_id"])
    lk = links.set_index("odh_patient_id").reindex(linked["odh_id"])
    linkage = pd.DataFrame(
        {
            "odh_patient_id": linked["odh_pseudonym"].to_numpy(),
            "snds_person_id": linked["snds_pseudonym"].to_numpy(),
            "method": lk["method"].to_numpy(),
            "match_probability": lk["match_probability"].to_numpy(),
        }
    )
    return out, linkage


def gold_of(gold: pd.DataFrame, keys: pd.DataFrame, persons) -> pd.DataFrame:
    """Gold lines of `persons` (original ids) with pseudonyms and shifted dates (lines contract, no split)."""
    m = keys.set_index("odh_id")
    g = deid.shift_table(gold, "lines", m["odh_pseudonym"].loc[list(persons)], m["odh_pseudonym"], m["shift_days"])
    return g.sort_values(["person_id", "line_number", "is_maintenance", "start_date"], kind="stable")


def write_table(df: pd.DataFrame, schema: pa.Schema, path: Path, name: str) -> None:
    optional = EXPOSURES_OPTIONAL if schema is EXPOSURES else ()
    write_parquet(
        conform(pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False), schema, name, optional), path
    )


def write_participant(folder: Path, tables, linkage, train_labels, test_persons) -> None:
    """participant/: <source>/<table>.parquet, linkage.parquet, train_labels.parquet, test_persons.csv,
    dictionary.md and dictionary.csv."""
    files = {}
    for name, df in tables.items():
        table = name.split("/")[1]
        write_table(df, TABLES[table], folder / f"{name}.parquet", name)
        files[f"{name}.parquet"] = (VARIABLES[table], TABLES[table])
    write_table(linkage, LINKS, folder / "linkage.parquet", "linkage")
    write_table(train_labels, LINES, folder / "train_labels.parquet", "train_labels")
    pd.DataFrame({"person_id": sorted(test_persons)}).to_csv(folder / "test_persons.csv", index=False)
    files["linkage.parquet"] = ("LINKS", LINKS)
    files["train_labels.parquet"] = ("LINES", LINES)
    files["test_persons.csv"] = ("PERSONS", pa.schema([PERSONS.field("person_id")]))
    d = dictionary(files)
    d.to_csv(folder / "dictionary.csv", index=False, lineterminator="\n")
    (folder / "dictionary.md").write_text(dictionary_markdown(d), encoding="utf-8")


def write_lines_csv(df: pd.DataFrame, path: Path) -> None:
    """Lines as the challenge's CSV (lines contract columns, ISO dates)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = df[[f.name for f in LINES]].copy()
    for col in ("start_date", "end_date"):
        out[col] = pd.to_datetime(out[col]).dt.strftime("%Y-%m-%d")
    out.to_csv(path, index=False, lineterminator="\n")
