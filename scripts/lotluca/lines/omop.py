"""Export of lines as OMOP CDM v5.4 EPISODE and EPISODE_EVENT tables (OHDSI oncology conventions).

One EPISODE per line row: episode_concept_id = 32531 "Treatment Regimen", episode_number = line number,
episode_type_concept_id = 32545 "Episode algorithmically derived", episode_object_concept_id = 0 (the
regimen is not mapped to a HemOnc concept; its name is in episode_source_value, e.g.
"carboplatin+pemetrexed"). A maintenance phase is its own EPISODE with the same episode_number and
episode_parent_id = the episode of its induction phase; its source value ends with " [maintenance]".
EPISODE_EVENT links each episode to the DRUG_EXPOSURE rows it groups (episode_event_field_concept_id
1147094 = drug_exposure.drug_exposure_id): event_id is the exposures' `drug_exposure_id` column when
present, else the 1-based row number of the exposure in the input table.
Person ids: kept as integers when every id is numeric, else replaced by 1-based codes in sorted id
order, returned in a third table `person_map` (person_id, person_source_value).
Concept ids are the OMOP standard vocabulary's (Episode and Type Concept domains); check them against
your vocabulary release before loading.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

TREATMENT_REGIMEN = 32531
EPISODE_ALGORITHMIC = 32545
DRUG_EXPOSURE_ID_FIELD = 1147094

EPISODE = pa.schema(
    [
        ("episode_id", pa.int64()),
        ("person_id", pa.int64()),
        ("episode_concept_id", pa.int32()),
        ("episode_start_date", pa.date32()),
        ("episode_start_datetime", pa.timestamp("s")),
        ("episode_end_date", pa.date32()),
        ("episode_end_datetime", pa.timestamp("s")),
        ("episode_parent_id", pa.int64()),
        ("episode_number", pa.int32()),
        ("episode_object_concept_id", pa.int32()),
        ("episode_type_concept_id", pa.int32()),
        ("episode_source_value", pa.string()),
        ("episode_source_concept_id", pa.int32()),
    ]
)
EPISODE_EVENT = pa.schema(
    [
        ("episode_id", pa.int64()),
        ("event_id", pa.int64()),
        ("episode_event_field_concept_id", pa.int32()),
    ]
)
PERSON_MAP = pa.schema([("person_id", pa.int64()), ("person_source_value", pa.string())])


def _person_ids(ids: pa.Array) -> tuple[np.ndarray, pa.Table]:
    s = ids.cast(pa.string())
    numeric = pc.all(pc.match_substring_regex(s, r"^\d{1,18}$")).as_py()
    uniq = pc.unique(s)
    uniq = uniq.take(pc.sort_indices(uniq))
    if numeric or len(s) == 0:
        out = s.cast(pa.int64()).to_numpy(zero_copy_only=False) if len(s) else np.zeros(0, np.int64)
        mapping = pa.table({"person_id": uniq.cast(pa.int64()), "person_source_value": uniq}, schema=PERSON_MAP)
        return out, mapping
    code = pc.index_in(s, value_set=uniq).to_numpy(zero_copy_only=False).astype(np.int64) + 1
    mapping = pa.table(
        {"person_id": np.arange(1, len(uniq) + 1, dtype=np.int64), "person_source_value": uniq}, schema=PERSON_MAP
    )
    return code, mapping


def to_omop(
    lines: pa.Table, assignment: np.ndarray | None = None, exposures: pa.Table | None = None
) -> dict[str, pa.Table]:
    """{"episode", "episode_event", "person_map"} from a lines table (rows in the engine's order).

    `assignment` (from `reconstruct_with_assignment`) gives, for each exposure row, the index of its line
    row (-1 when unused); without it EPISODE_EVENT is empty.
    """
    n = lines.num_rows
    episode_id = np.arange(1, n + 1, dtype=np.int64)
    person, mapping = _person_ids(lines.column("person_id").combine_chunks())
    line_no = lines.column("line_number").to_numpy(zero_copy_only=False).astype(np.int32)
    maint = lines.column("is_maintenance").to_numpy(zero_copy_only=False).astype(bool)
    # parent of a maintenance row: the induction row of the same person and line, emitted just before it
    parent = np.full(n, -1, dtype=np.int64)
    i = np.flatnonzero(maint[1:]) + 1
    ok = ~maint[i - 1] & (line_no[i - 1] == line_no[i]) & (person[i - 1] == person[i])
    parent[i[ok]] = episode_id[i[ok] - 1]
    source = pc.if_else(
        lines.column("is_maintenance"),
        pc.binary_join_element_wise(lines.column("regimen"), pa.scalar(" [maintenance]"), ""),
        lines.column("regimen"),
    )
    start = lines.column("start_date").combine_chunks()
    end = lines.column("end_date").combine_chunks()
    episode = pa.table(
        {
            "episode_id": episode_id,
            "person_id": person,
            "episode_concept_id": pa.array(np.full(n, TREATMENT_REGIMEN, np.int32)),
            "episode_start_date": start,
            "episode_start_datetime": start.cast(pa.timestamp("s")),
            "episode_end_date": end,
            "episode_end_datetime": end.cast(pa.timestamp("s")),
            "episode_parent_id": pa.array(parent, mask=parent < 0),
            "episode_number": line_no,
            "episode_object_concept_id": pa.array(np.zeros(n, np.int32)),
            "episode_type_concept_id": pa.array(np.full(n, EPISODE_ALGORITHMIC, np.int32)),
            "episode_source_value": source,
            "episode_source_concept_id": pa.array(np.zeros(n, np.int32)),
        },
        schema=EPISODE,
    )
    if assignment is None:
        events = EPISODE_EVENT.empty_table()
    else:
        assignment = np.asarray(assignment)
        used = np.flatnonzero(assignment >= 0)
        if exposures is not None and "drug_exposure_id" in exposures.column_names:
            ev = exposures.column("drug_exposure_id").cast(pa.int64()).to_numpy(zero_copy_only=False)[used]
        else:
            ev = used.astype(np.int64) + 1
        events = pa.table(
            {
                "episode_id": episode_id[assignment[used]],
                "event_id": ev,
                "episode_event_field_concept_id": pa.array(np.full(len(used), DRUG_EXPOSURE_ID_FIELD, np.int32)),
            },
            schema=EPISODE_EVENT,
        )
        order = pc.sort_indices(events, sort_keys=[("episode_id", "ascending"), ("event_id", "ascending")])
        events = events.take(order)
    return {"episode": episode, "episode_event": events, "person_map": mapping}
