"""Merged history of the study population (the ODH patients) per data-source scenario: `odh_only`,
`snds_only` (the linked SNDS person's rows re-keyed to the ODH id) and `linked` (both, the same exposure
seen by both sources kept once). The scenarios' rules: docs/merge.md. Nothing is dropped silently:
every step counts rows in the merge report.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)

from lotluca.config import Settings, default_config
from lotluca.contracts import CHEMO_SESSIONS, EXPOSURES, EXPOSURES_OPTIONAL, LINKS, PERSONS, PERSONS_OPTIONAL, conform
from lotluca.errors import InputError
from lotluca.io import read_parquet, write_parquet
from lotluca.link.inputs import read_table

log = logging.getLogger(__name__)

SCENARIOS = ("odh_only", "snds_only", "linked")
KEY = ["person_id", "ingredient", "date"]


@dataclass(frozen=True)
class MergeSettings(Settings):
    """The `merge:` block of the config (docs/merge.md)."""

    drop_sessions_covered_by_odh: bool  # linked: drop SNDS chemo sessions on a day with an ODH exposure
    merge_day_tolerance: int  # linked: an SNDS exposure joins the ODH row of its ingredient within this many days


def _df(t: pa.Table) -> pd.DataFrame:
    return t.to_pandas(date_as_object=False)


def _table(df: pd.DataFrame, schema: pa.Schema, name: str) -> pa.Table:
    t = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
    optional = {id(EXPOSURES): EXPOSURES_OPTIONAL, id(PERSONS): PERSONS_OPTIONAL}.get(id(schema), ())
    return conform(t, schema, name, optional)


def _empty(schema: pa.Schema) -> pd.DataFrame:
    return _df(schema.empty_table())


def _rekey(df: pd.DataFrame, link_map: pd.Series) -> tuple[pd.DataFrame, int]:
    """SNDS rows of linked persons with person_id replaced by the ODH id; also the count left out."""
    odh = df["person_id"].map(link_map)
    out = df[odh.notna()].copy()
    out["person_id"] = odh[odh.notna()].to_numpy()
    return out, int(odh.isna().sum())


def _matched_odh_day(odh: pd.DataFrame, snds: pd.DataFrame, tolerance_days: int) -> pd.Series:
    """For each SNDS row, the date of the nearest ODH row of the same person and ingredient within
    +/- `tolerance_days` (its own date when there is none)."""
    own = snds["date"]
    if tolerance_days <= 0 or odh.empty or snds.empty:
        return own
    ok_s = snds["ingredient"].notna() & snds["date"].notna()
    left = snds.loc[ok_s, ["person_id", "ingredient", "date"]].assign(_i=snds.index[ok_s]).sort_values("date")
    right = odh.loc[odh["ingredient"].notna() & odh["date"].notna(), ["person_id", "ingredient", "date"]]
    right = right.drop_duplicates().assign(_odh_date=lambda x: x["date"]).sort_values("date")
    m = pd.merge_asof(
        left,
        right,
        on="date",
        by=["person_id", "ingredient"],
        direction="nearest",
        tolerance=pd.Timedelta(days=int(tolerance_days)),
    )
    matched = pd.Series(m["_odh_date"].to_numpy(), index=m["_i"].to_numpy())
    return matched.reindex(snds.index).fillna(own)


def dedup_exposures(odh: pd.DataFrame, snds: pd.DataFrame, tolerance_days: int) -> tuple[pd.DataFrame, int]:
    """ODH + SNDS exposures, the same (person, ingredient, day) from both sources kept once.

    With `tolerance_days` > 0, an SNDS row also joins the nearest ODH row of the same ingredient within
    that many days (date jitter between sources). The kept row is the group's first ODH row (by origin);
    its origin becomes the ODH origin followed by the SNDS origins joined by "|", its end_date the latest
    of the group. Returns (rows, SNDS rows merged away).
    """
    snds = snds.reset_index(drop=True)
    odh = odh.reset_index(drop=True)
    key_day = pd.concat([odh["date"], _matched_odh_day(odh, snds, tolerance_days)], ignore_index=True)
    e = pd.concat([odh.assign(_src=0), snds.assign(_src=1)], ignore_index=True)
    if e.empty:
        return e.drop(columns="_src"), 0
    e["_kday"] = key_day.to_numpy()
    gkey = ["person_id", "ingredient", "_kday"]
    e = e.sort_values([*gkey, "_src", "origin"], kind="stable", ignore_index=True)
    keyed = e["ingredient"].notna() & e["_kday"].notna()
    e["_snds"] = e["_src"]
    e["_odh"] = 1 - e["_src"]
    g = e[keyed].groupby(gkey, sort=False)
    n_odh = g["_odh"].transform("sum").reindex(e.index).fillna(0)
    n_snds = g["_snds"].transform("sum").reindex(e.index).fillna(0)
    e = e.drop(columns=["_odh", "_snds"])
    both = keyed & (n_odh > 0) & (n_snds > 0)
    drop = both & (e["_src"] == 1)
    first_odh = both & (e["_src"] == 0) & ~e[gkey].duplicated()
    if drop.any():
        grp = e[both].groupby(gkey, sort=False)
        snds_orig = e[drop].groupby(gkey, sort=False)["origin"].agg(lambda s: "|".join(s.astype(str)))
        last_end = grp["end_date"].max()
        idx = pd.MultiIndex.from_frame(e.loc[first_odh, gkey])
        e.loc[first_odh, "origin"] = (
            e.loc[first_odh, "origin"].astype(str).to_numpy() + "|" + snds_orig.reindex(idx).to_numpy()
        )
        e.loc[first_odh, "end_date"] = last_end.reindex(idx).to_numpy()
    out = (
        e[~drop]
        .drop(columns=["_src", "_kday"])
        .sort_values(["person_id", "date", "ingredient", "origin"], kind="stable", ignore_index=True)
    )
    return out, int(drop.sum())


def snds_cohort(
    identified: pd.DataFrame, snds_persons: pd.DataFrame, scoring_links: pd.DataFrame
) -> tuple[pd.DataFrame, pd.Series, dict]:
    """`snds_only` = the SNDS-only cohort: the identified persons (lotluca.identify) with the SNDS's
    demographics, death and follow-up, and the identification's diagnosis date, histology, EGFR and ALK.
    A person linked to an ODH patient by `scoring_links` (the linkage truth when simulated) takes the ODH
    id, only so that the gold standard finds them. Returns (persons, SNDS id -> study id, counts)."""
    rekey = pd.Series(scoring_links["odh_patient_id"].to_numpy(), index=scoring_links["snds_person_id"].to_numpy())
    rekey = rekey[~rekey.index.duplicated()]
    sp = snds_persons.groupby("person_id", sort=False, as_index=False).first().set_index("person_id")
    ids = identified.set_index("person_id")
    p = sp.reindex(ids.index).reset_index()
    for col in ("diagnosis_date", "histology", "egfr", "alk"):
        p[col] = ids[col].to_numpy()
    p["pdl1"] = "unknown"
    p["centre"] = None
    snds_ids = ids.index.to_numpy()
    linked = ids.index.isin(rekey.index)
    study_id = pd.Series(snds_ids.copy(), index=pd.Index(snds_ids.copy()))  # values edited: no shared buffer
    study_id.iloc[np.flatnonzero(linked)] = rekey.reindex(snds_ids[linked]).to_numpy()
    p["person_id"] = study_id.reindex(p["person_id"]).to_numpy()
    p["end_of_followup"] = p["death_date"].fillna(p["end_of_followup"])
    stats = {"identified_persons": int(len(ids)), "identified_persons_with_odh_id": int(linked.sum())}
    return p, study_id, stats


def merge_scenario(
    scenario: str,
    odh_persons: pa.Table,
    odh_exposures: pa.Table,
    snds_persons: pa.Table,
    snds_exposures: pa.Table,
    snds_sessions: pa.Table,
    links: pa.Table,
    settings: MergeSettings,
    identified: pa.Table | None = None,
    scoring_links: pa.Table | None = None,
) -> tuple[dict[str, pa.Table], dict]:
    """Merged persons / exposures / chemo_sessions of one scenario, and its counts. `snds_only` with
    `identified` (lotluca.identify) is the SNDS-only cohort (`snds_cohort`); without, the ODH population."""
    if scenario not in SCENARIOS:
        raise InputError(
            "config.yaml", f"unknown scenario {scenario!r}", column="scenarios", expected=f"one of {list(SCENARIOS)}"
        )
    op, oe = _df(odh_persons), _df(odh_exposures)
    lk = _df(links)
    link_map = pd.Series(lk["odh_patient_id"].to_numpy(), index=lk["snds_person_id"].to_numpy())
    sp = _df(snds_persons).groupby("person_id", sort=False, as_index=False).first()
    sp = sp.assign(odh_id=sp["person_id"].map(link_map)).dropna(subset=["odh_id"]).set_index("odh_id")
    linked = op["person_id"].isin(lk["odh_patient_id"])
    stats: dict = {
        "scenario": scenario,
        "odh_patients": int(len(op)),
        "linked_odh_patients": int(linked.sum()),
        "unlinked_odh_patients": int((~linked).sum()),
    }

    persons = op.copy()
    s_death = persons["person_id"].map(sp["death_date"])
    s_eof = persons["person_id"].map(sp["end_of_followup"])
    # last seen alive: the ODH last contact, the last SNDS care activity, or the later of both when linked
    o_seen = persons["last_seen_date"] if "last_seen_date" in persons else pd.Series(pd.NaT, index=persons.index)
    s_seen = persons["person_id"].map(sp["last_seen_date"]) if "last_seen_date" in sp else o_seen.where(False)
    if scenario == "snds_only":
        persons["death_date"] = s_death.where(linked)
        persons["end_of_followup"] = s_death.fillna(s_eof).where(linked, persons["end_of_followup"])
        persons["last_seen_date"] = s_seen.where(linked)
    elif scenario == "linked":
        filled = persons["death_date"].isna() & s_death.notna()
        stats["death_dates_filled_from_snds"] = int(filled.sum())
        stats["death_dates_disagreeing"] = int(
            (persons["death_date"].notna() & s_death.notna() & (persons["death_date"] != s_death)).sum()
        )
        persons["death_date"] = persons["death_date"].fillna(s_death)
        later = pd.concat([persons["end_of_followup"], s_eof], axis=1).max(axis=1)
        persons["end_of_followup"] = persons["death_date"].where(persons["death_date"].notna(), later)
        persons["last_seen_date"] = pd.concat([o_seen, s_seen], axis=1).max(axis=1)

    exposures, sessions = _empty(EXPOSURES), _empty(CHEMO_SESSIONS)
    if scenario == "snds_only" and identified is not None:
        sl = _df(scoring_links if scoring_links is not None else links)
        persons, study_id, s_stats = snds_cohort(_df(identified), _df(snds_persons), sl)
        stats.update(s_stats)
        se, _ = _rekey(_df(snds_exposures), study_id)
        ss, _ = _rekey(_df(snds_sessions), study_id)
        scenario = "snds_cohort"
    if scenario in ("snds_only", "linked"):
        se, n_out = _rekey(_df(snds_exposures), link_map)
        ss, n_sess_out = _rekey(_df(snds_sessions), link_map)
        stats["snds_exposure_rows_of_unlinked_persons"] = n_out
        stats["snds_session_rows_of_unlinked_persons"] = n_sess_out
    if scenario == "odh_only":
        exposures = oe
    elif scenario in ("snds_only", "snds_cohort"):
        exposures, sessions = se, ss
    else:
        exposures, n_merged = dedup_exposures(oe, se, settings.merge_day_tolerance)
        stats["exposure_rows_merged_across_sources"] = n_merged
        if settings.drop_sessions_covered_by_odh and len(ss):
            covered = pd.MultiIndex.from_frame(ss[["person_id", "date"]]).isin(
                pd.MultiIndex.from_frame(oe[["person_id", "date"]])
            )
            stats["chemo_sessions_covered_by_odh_dropped"] = int(covered.sum())
            ss = ss[~covered]
        sessions = ss
    exposures = exposures.sort_values(["person_id", "date", "ingredient", "origin"], kind="stable", ignore_index=True)
    sessions = sessions.sort_values(["person_id", "date", "origin"], kind="stable", ignore_index=True)
    persons = persons.sort_values("person_id", ignore_index=True)
    stats.update({"persons": int(len(persons)), "exposures": int(len(exposures)), "chemo_sessions": int(len(sessions))})
    stats["exposures_by_source"] = (
        {str(k): int(v) for k, v in exposures["source"].value_counts().sort_index().items()} if len(exposures) else {}
    )
    out = {
        "persons": _table(persons, PERSONS, f"{scenario}/persons"),
        "exposures": _table(exposures, EXPOSURES, f"{scenario}/exposures"),
        "chemo_sessions": _table(sessions, CHEMO_SESSIONS, f"{scenario}/chemo_sessions"),
    }
    return out, stats


def _scoring_links(path, links: pa.Table) -> pa.Table:
    """The links that find the gold persons of the SNDS-only cohort: the linkage truth (odh_patient_id,
    ben_idt_ano) when given, else the linkage's links."""
    if not path:
        return links
    t = read_parquet(path)
    if "ben_idt_ano" in t.column_names:
        t = t.rename_columns(["snds_person_id" if c == "ben_idt_ano" else c for c in t.column_names])
    return t.select(["odh_patient_id", "snds_person_id"]).filter(pa.compute.is_valid(t["odh_patient_id"]))


def run_merge(
    scenario: str,
    files: dict[str, str | Path],
    out: dict[str, str | Path],
    report_path,
    settings: MergeSettings | None = None,
) -> dict:
    """Read the extracts and links, write the scenario's tables and its report.

    `files` maps odh_persons, odh_exposures, snds_persons, snds_exposures, snds_chemo_sessions, links
    to Parquet files; `out` maps persons, exposures, chemo_sessions to output files; `settings`: the
    `merge:` block (None: the schema's defaults).
    """
    t = {
        "odh_persons": read_table(files["odh_persons"], PERSONS, "persons", PERSONS_OPTIONAL),
        "odh_exposures": read_table(files["odh_exposures"], EXPOSURES, "exposures", EXPOSURES_OPTIONAL),
        "snds_persons": read_table(files["snds_persons"], PERSONS, "persons", PERSONS_OPTIONAL),
        "snds_exposures": read_table(files["snds_exposures"], EXPOSURES, "exposures", EXPOSURES_OPTIONAL),
        "snds_sessions": read_table(files["snds_chemo_sessions"], CHEMO_SESSIONS, "chemo_sessions"),
        "links": read_table(files["links"], LINKS, "links"),
    }
    settings = settings or MergeSettings.from_config(default_config()["merge"])
    extra = {}
    if scenario == "snds_only" and files.get("identified"):
        extra["identified"] = read_parquet(files["identified"])
        extra["scoring_links"] = _scoring_links(files.get("scoring_links"), t["links"])
    tables, stats = merge_scenario(scenario, *t.values(), settings, **extra)
    for name, table in tables.items():
        write_parquet(table, out[name])
    Path(report_path).parent.mkdir(parents=True, exist_ok=True)
    Path(report_path).write_text(json.dumps(stats, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    log.info("merge %s: %s", scenario, stats)
    return stats
