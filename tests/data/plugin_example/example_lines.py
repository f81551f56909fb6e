"""An example plug-in line algorithm living outside the lotluca package (docs/plugins.md).

A new line starts at the first exposure and after every pause of more than GAP_DAYS days without
treatment; the line's regimen is the set of ingredients given in its first WINDOW_DAYS days. No
maintenance phases. Uses pandas and pyarrow only: the interface needs nothing from lotluca.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

GAP_DAYS = 120
WINDOW_DAYS = 28


def build_lines(exposures: pa.Table, chemo_sessions: pa.Table | None, persons: pa.Table | None) -> pd.DataFrame:
    """Lines of the persons of `exposures` (lines contract columns; the others are filled by lotluca)."""
    ex = exposures.select(["person_id", "date", "end_date", "ingredient"]).to_pandas(date_as_object=False)
    ex = ex.dropna(subset=["date", "ingredient"]).sort_values(["person_id", "date"], kind="stable")
    ex["end_date"] = ex["end_date"].fillna(ex["date"])
    last_end = ex.groupby("person_id")["end_date"].transform(lambda s: s.cummax().shift())
    new_line = last_end.isna() | ((ex["date"] - last_end).dt.days > GAP_DAYS)
    ex["line_number"] = new_line.astype(int).groupby(ex["person_id"]).cumsum()
    key = ["person_id", "line_number"]
    ex["line_start"] = ex.groupby(key)["date"].transform("min")
    early = ex[(ex["date"] - ex["line_start"]).dt.days <= WINDOW_DAYS]
    regimen = early.groupby(key)["ingredient"].agg(lambda s: "+".join(sorted(set(s)))).rename("regimen")
    span = ex.groupby(key).agg(start_date=("date", "min"), end_date=("end_date", "max"))
    lines = span.join(regimen).reset_index()
    lines["is_maintenance"] = False
    lines["end_reason"] = "gap"
    return lines
