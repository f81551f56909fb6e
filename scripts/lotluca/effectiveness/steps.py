"""The step functions of the effectiveness stage, one per rule: `effectiveness` (per-line endpoints of the
gold lines and of every lines source, KM / log-rank / Cox export tables) and `effectiveness_bias` (gold
vs each lines source, paired patient-bootstrap CIs)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyarrow as pa

from lotluca.effectiveness.analysis import EXPORT_COUNTS, bias_tables, build_endpoints, export_tables, read_table
from lotluca.effectiveness.settings import EffectivenessSettings
from lotluca.errors import InputError
from lotluca.io import write_parquet
from lotluca.privacy import PrivacySettings, write_export

EXPORT_TABLES = ("km_summary", "km_curves", "at_risk", "logrank", "cox")


def lines_of_sources(sources: Sequence[Sequence[str]], paths: Sequence[str]) -> list[tuple[str, str, str]]:
    """(algorithm, scenario, path) of every lines source: `sources` ([algorithm, scenario]) zipped with
    their files, in the same order."""
    paths = [str(p) for p in paths]
    if len(paths) != len(sources):
        raise InputError("lines", f"{len(paths)} lines file(s) for {len(sources)} source(s)")
    return [(str(a), str(s), p) for (a, s), p in zip(sources, paths, strict=True)]


def effectiveness(
    inputs: Mapping,
    outputs: Mapping,
    *,
    sources: Sequence[Sequence[str]],
    effectiveness: Mapping,
    privacy: Mapping,
    seed: int,
    study: Mapping,
) -> None:
    """inputs: gold, persons, lines (one file per source of `sources`); outputs: endpoints (private
    Parquet) and the export tables km_summary, km_curves, at_risk, logrank, cox (CSV)."""
    s = EffectivenessSettings.from_config(effectiveness)
    p = PrivacySettings.from_config(privacy)
    lines = lines_of_sources(sources, inputs["lines"])
    ep = build_endpoints(inputs["gold"], inputs["persons"], lines, s, p, int(seed), study["end_date"])
    write_parquet(pa.Table.from_pandas(ep, preserve_index=False), outputs["endpoints"])
    for name, table in export_tables(ep, s, p).items():
        write_export(table, outputs[name], EXPORT_COUNTS[name], int(p.min_cell))


def effectiveness_bias(
    inputs: Mapping, outputs: Mapping, *, effectiveness: Mapping, privacy: Mapping, seed: int
) -> None:
    """inputs: endpoints; outputs: csv and parquet (the suppressed bias table), summary (its ranking)."""
    s = EffectivenessSettings.from_config(effectiveness)
    p = PrivacySettings.from_config(privacy)
    table, ranking = bias_tables(read_table(inputs["endpoints"]).to_pandas(), s, p, int(seed))
    for key in ("csv", "parquet"):
        write_export(table, outputs[key], EXPORT_COUNTS["bias"], int(p.min_cell))
    write_export(ranking, outputs["summary"], EXPORT_COUNTS["bias_summary"], int(p.min_cell))
