"""Quality of the SNDS-only identification against the simulated truth (truth/identification_truth):
sensitivity, PPV and the advanced-diagnosis date error, overall and by person type (the cohort's ODH and
SNDS-only patients, each decoy type), and the decoys that fool the rules. docs/identify.md."""

from __future__ import annotations

import pandas as pd


def _median_abs_days(d: pd.Series) -> float | None:
    return None if d.empty else float(d.abs().median())


def quality(identified: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """The quality dict written to identification_quality.json (`identified`: IDENTIFIED rows; `truth`:
    identification_truth rows)."""
    t = truth.rename(columns={"ben_idt_ano": "person_id", "diagnosis_date": "true_date"})
    t = t.drop_duplicates("person_id").set_index("person_id")
    found = t.index.isin(identified["person_id"])
    pos = t["advanced_nsclc"].to_numpy().astype(bool)
    tp = int((found & pos).sum())
    n_found = int(identified["person_id"].nunique())
    err = identified.set_index("person_id")["diagnosis_date"].reindex(t.index) - t["true_date"]
    days = err.dt.days[found & pos]
    by_type = {}
    types = t["person_type"].to_numpy()
    for kind in sorted(set(types)):  # a handful of person types, not persons
        m = types == kind
        is_pos = bool(pos[m].all())
        by_type[kind] = {
            "persons": int(m.sum()),
            "identified": int((found & m).sum()),
            "share_identified": round(float(found[m].mean()), 4) if m.any() else None,
            "advanced_nsclc": is_pos,
            "diagnosis_date_median_abs_days": _median_abs_days(err.dt.days[found & m]),
        }
    fooling = {k: v["identified"] for k, v in by_type.items() if not v["advanced_nsclc"] and v["identified"]}
    return {
        "persons": int(len(t)),
        "advanced_nsclc": int(pos.sum()),
        "identified": n_found,
        "true_positives": tp,
        "unknown_identified": int((~identified["person_id"].isin(t.index)).sum()),
        "sensitivity": round(tp / max(int(pos.sum()), 1), 4),
        "ppv": round(tp / max(n_found, 1), 4),
        "diagnosis_date_median_abs_days": _median_abs_days(days),
        "diagnosis_date_within_30_days": round(float((days.abs() <= 30).mean()), 4) if len(days) else None,
        "by_type": by_type,
        "false_positives_by_decoy_type": dict(sorted(fooling.items(), key=lambda kv: -kv[1])),
    }
