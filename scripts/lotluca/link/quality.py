"""Linkage quality: link rate, and precision / recall / F1 against a known truth, overall and by method."""

from __future__ import annotations

import pandas as pd

METHODS = ("deterministic", "probabilistic")


def _prf(tp: int, n_links: int, n_true: int) -> dict:
    p = tp / n_links if n_links else float("nan")
    r = tp / n_true if n_true else float("nan")
    f = 2 * p * r / (p + r) if n_links and n_true and (p + r) > 0 else float("nan")
    return {"links": n_links, "true_positives": tp, "precision": p, "recall": r, "f1": f}


def linkage_quality(links: pd.DataFrame, odh_ids: pd.Series, truth: pd.DataFrame | None) -> dict:
    """Quality figures. `links`: contracts.LINKS columns; `truth`: odh_patient_id, ben_idt_ano (or None).

    Recall of a method is its true positives over all true pairs (its contribution to overall recall).
    Truth pairs whose ODH patient is not in `odh_ids` are ignored.
    """
    n_odh = int(odh_ids.nunique())
    out: dict = {
        "odh_patients": n_odh,
        "linked_odh_patients": int(links["odh_patient_id"].nunique()),
        "unlinked_odh_patients": n_odh - int(links["odh_patient_id"].nunique()),
        "link_rate": links["odh_patient_id"].nunique() / n_odh if n_odh else float("nan"),
        "links_by_method": {m: int((links["method"] == m).sum()) for m in METHODS},
        "truth_available": truth is not None,
    }
    if truth is None:
        return out
    t = truth.dropna(subset=["odh_patient_id", "ben_idt_ano"])
    t = t[t["odh_patient_id"].isin(set(odh_ids))]
    true_pairs = set(zip(t["odh_patient_id"].astype(str), t["ben_idt_ano"].astype(str), strict=True))
    hit = pd.Series(
        [(o, s) in true_pairs for o, s in zip(links["odh_patient_id"], links["snds_person_id"], strict=True)],
        index=links.index,
        dtype=bool,
    )
    out["true_pairs"] = len(true_pairs)
    out["overall"] = _prf(int(hit.sum()), len(links), len(true_pairs))
    out["by_method"] = {
        m: _prf(int(hit[links["method"] == m].sum()), int((links["method"] == m).sum()), len(true_pairs))
        for m in METHODS
    }
    return out


def quality_table(q: dict) -> pd.DataFrame:
    """The report as rows (scope, links, true_positives, precision, recall, f1, link_rate) for the CSV."""
    rows = [
        {
            "scope": "all",
            "links": q["linked_odh_patients"],
            "odh_patients": q["odh_patients"],
            "link_rate": q["link_rate"],
        }
    ]
    for m in METHODS:
        rows.append(
            {
                "scope": m,
                "links": q["links_by_method"][m],
                "odh_patients": q["odh_patients"],
                "link_rate": q["links_by_method"][m] / q["odh_patients"] if q["odh_patients"] else float("nan"),
            }
        )
    df = pd.DataFrame(rows)
    for col in ("true_positives", "precision", "recall", "f1"):
        df[col] = float("nan")
    if q.get("truth_available"):
        for i, scope in enumerate(["all", *METHODS]):
            src = q["overall"] if scope == "all" else q["by_method"][scope]
            for col in ("true_positives", "precision", "recall", "f1"):
                df.loc[i, col] = src[col]
    return df
