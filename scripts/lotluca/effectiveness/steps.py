"""The step functions of the effectiveness stage, one per rule: `effectiveness` (per-line endpoints of the
gold lines and of every lines source, KM / log-rank / Cox export tables) and `effectiveness_bias` (gold
vs each lines source, paired patient-bootstrap CIs)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyarrow as pa

from lotluca.effectiveness.analysis import EXPORT_COUNTS, bias_tables, build_endpoints, export_tables, read_table
from lotluca.effectiveness.bias import GOLD
from lotluca.effectiveness.comparative import COMPARATIVE_COUNTS, comparative_export, comparative_tables
from lotluca.effectiveness.endpoints import endpoints_long
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
    """inputs: gold, persons, lines (one file per source of `sources`) and, optional, diagnoses (SNDS)
    and links (ODH-SNDS) for the confounder proxies; outputs: endpoints (private Parquet) and the export
    tables km_summary, km_curves, at_risk, logrank, cox (CSV)."""
    s = EffectivenessSettings.from_config(effectiveness)
    p = PrivacySettings.from_config(privacy)
    lines = lines_of_sources(sources, inputs["lines"])
    proxies = {k: inputs[k] if k in inputs and inputs[k] else None for k in ("diagnoses", "links")}
    ep = build_endpoints(
        inputs["gold"],
        inputs["persons"],
        lines,
        s,
        p,
        int(seed),
        study["end_date"],
        proxies["diagnoses"],
        proxies["links"],
    )
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


def simulated_truth(simulate: Mapping) -> dict:
    """{(comparison, endpoint): true hazard ratio} that the simulator put in the data (empty on real data
    or when `simulate.confounding` is disabled)."""
    from lotluca.simulate.confounding import COMPARISON

    conf = (simulate or {}).get("confounding") or {}
    if not (simulate or {}).get("enabled") or not conf.get("enabled"):
        return {}
    return {(COMPARISON["name"], "rwTTNT"): float(conf["carboplatin_hr"])}


def effectiveness_comparative(
    inputs: Mapping,
    outputs: Mapping,
    *,
    effectiveness: Mapping,
    privacy: Mapping,
    simulate: Mapping,
    figures: Mapping,
) -> None:
    """inputs: endpoints; outputs: comparative, balance, comparative_km (suppressed CSV) and the love plot
    (love_png, love_pdf). Gold lines only (docs/effectiveness.md, "Comparative effectiveness")."""
    from lotluca.figures.love import plot_love

    s = EffectivenessSettings.from_config(effectiveness)
    p = PrivacySettings.from_config(privacy)
    k = int(p.min_cell)
    ep = read_table(inputs["endpoints"]).to_pandas()
    long = endpoints_long(ep[ep["algorithm"] == GOLD], entry=s.delayed_entry)
    raw = comparative_tables(long, s.comparative, s.alpha, k, simulated_truth(simulate))
    tables = comparative_export(raw, k, p.method)
    for name, table in tables.items():
        write_export(table, outputs[name], COMPARATIVE_COUNTS[name], k)
    plot_love(tables["balance"], [outputs["love_png"], outputs["love_pdf"]], dpi=int(figures["dpi"]))


def effectiveness_grow(inputs: Mapping, outputs: Mapping, *, effectiveness: Mapping, privacy: Mapping) -> None:
    """inputs: km_summary, comparative, balance (export CSVs) and endpoints (private); outputs: page (the
    ESMO-GROW reporting page, markdown, from those outputs only)."""
    from pathlib import Path

    import pandas as pd

    from lotluca.config import default_config
    from lotluca.effectiveness.grow import grow_page

    cfg = default_config(effectiveness=dict(effectiveness))["effectiveness"]
    k = int(PrivacySettings.from_config(privacy).min_cell)
    km = pd.read_csv(inputs["km_summary"], dtype={"stratum": str})
    page = grow_page(
        km,
        pd.read_csv(inputs["comparative"]),
        pd.read_csv(inputs["balance"]),
        read_table(inputs["endpoints"]).to_pandas(),
        cfg,
        k,
    )
    Path(outputs["page"]).parent.mkdir(parents=True, exist_ok=True)
    Path(outputs["page"]).write_text(page)
