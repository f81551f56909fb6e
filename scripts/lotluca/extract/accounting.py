"""Row accounting of an extraction: every raw row read ends as used, filtered by a named rule, or rejected.

A `Ledger` holds one `Tracker` per raw table. A tracker gives each data row (by its 0-based row number
`_row`) exactly one outcome; marking a row twice is a bug and raises. At the end every row must have
an outcome (`Ledger.check`), so rows read = rows used + rows rejected + rows filtered, per table.
Rejected rows also go to the `rejects` table (table, row_key, rule, detail); filtered rows are only
counted (they are removed by a documented cleaning rule, e.g. `dpn_qlf_71`).
`row_key` is the 1-based data row of the file ("row 12"), which the user can find in any format.
When the file read is one patient shard of a larger file (`lotluca.extract.split`), the tracker is
given the row numbers of its rows in the whole file (`labels`, strictly increasing): `_row` values,
row keys and messages then name the rows of the user's file, identical for any number of shards.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from lotluca import contracts

USED, FILTERED, REJECTED = 1, 2, 3
OUTCOME_NAMES = {USED: "used", FILTERED: "filtered", REJECTED: "rejected"}


class AccountingError(RuntimeError):
    """A row was given two outcomes or none: a bug in the extraction, never a user error."""


class Tracker:
    def __init__(self, table: str, n: int, labels: np.ndarray | None = None):
        self.table, self.n = table, n
        self.outcome = np.zeros(n, dtype=np.int8)
        self.rule = np.empty(n, dtype=object)
        self._rejects: list[pd.DataFrame] = []
        self.labels = None
        if labels is not None:
            labels = np.asarray(labels, dtype=np.int64)
            if labels.shape != (n,) or (n > 1 and not (np.diff(labels) > 0).all()) or (n and labels[0] < 0):
                raise AccountingError(f"{table}: row numbers must be {n} strictly increasing values >= 0")
            self.labels = labels

    def row_numbers(self) -> np.ndarray:
        """The `_row` value of each position: the 0-based row of the (whole) file."""
        return np.arange(self.n, dtype=np.int64) if self.labels is None else self.labels

    def positions(self, rows) -> np.ndarray:
        """Positions (0..n-1) of `_row` values."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.labels is None:
            return rows
        pos = np.searchsorted(self.labels, rows)
        bad = pos >= self.n
        bad[~bad] = self.labels[pos[~bad]] != rows[~bad]
        if bad.any():
            raise AccountingError(f"{self.table}: row {rows[bad][0] + 1} is not a row of this table")
        return pos

    def _mark(self, rows, outcome: int, rule: str | np.ndarray | None) -> None:
        rows = self.positions(rows)
        if rows.size == 0:
            return
        if rows.size > 1 and np.bincount(rows, minlength=self.n).max() > 1:
            raise AccountingError(f"{self.table}: the same row marked twice in one call")
        already = self.outcome[rows] != 0
        if already.any():
            r = rows[already][0]
            raise AccountingError(
                f"{self.table}: row {self.row_numbers()[r] + 1} already "
                f"{OUTCOME_NAMES[int(self.outcome[r])]} ({self.rule[r]})"
            )
        self.outcome[rows] = outcome
        self.rule[rows] = rule

    def use(self, rows) -> None:
        self._mark(rows, USED, None)

    def filter(self, rows, rule: str) -> None:
        self._mark(rows, FILTERED, rule)

    def reject(self, rows, rule, detail=None) -> None:
        """Reject `rows` with `rule` (a name, or one per row) and optional detail (text, or one per row)."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return
        rules = np.broadcast_to(np.asarray(rule, dtype=object), rows.shape)
        self._mark(rows, REJECTED, rules)
        details = np.broadcast_to(np.asarray(detail if detail is not None else "", dtype=object), rows.shape)
        self._rejects.append(pd.DataFrame({"row": rows, "rule": rules, "detail": details}))

    def pending(self) -> np.ndarray:
        """`_row` values of the rows without an outcome."""
        return self.row_numbers()[np.flatnonzero(self.outcome == 0)]

    def rejects(self) -> pd.DataFrame:
        if not self._rejects:
            return pd.DataFrame({"table": [], "row_key": [], "rule": [], "detail": []}, dtype=object)
        df = pd.concat(self._rejects, ignore_index=True).sort_values("row", kind="stable")
        return pd.DataFrame(
            {
                "table": self.table,
                "row_key": "row " + (df["row"] + 1).astype(str),
                "rule": df["rule"].astype(str),
                "detail": df["detail"].astype(str),
            }
        )

    def summary(self) -> pd.DataFrame:
        parts = [{"table": self.table, "outcome": "read", "rule": "", "rows": self.n}]
        for code in (USED, FILTERED, REJECTED):
            mask = self.outcome == code
            if code == USED:
                parts.append({"table": self.table, "outcome": "used", "rule": "", "rows": int(mask.sum())})
                continue
            rules = pd.Series(self.rule[mask], dtype=object).value_counts()
            for rule in sorted(rules.index):
                parts.append(
                    {"table": self.table, "outcome": OUTCOME_NAMES[code], "rule": rule, "rows": int(rules[rule])}
                )
        return pd.DataFrame(parts)


class MergedTracker:
    """The outcomes of one table extracted in chunks (`Ledger.merge`): counts and rejects of every chunk's
    tracker, with the summary and rejects a single tracker of the whole table would give."""

    def __init__(self, table: str):
        self.table, self.n, self.used = table, 0, 0
        self.rules: dict[int, dict[str, int]] = {FILTERED: {}, REJECTED: {}}
        self._rejects: list[pd.DataFrame] = []

    def add(self, tracker: Tracker) -> None:
        self.n += tracker.n
        self.used += int((tracker.outcome == USED).sum())
        for code, counts in self.rules.items():
            for rule, k in pd.Series(tracker.rule[tracker.outcome == code], dtype=object).value_counts().items():
                counts[rule] = counts.get(rule, 0) + int(k)
        self._rejects += tracker._rejects

    def pending(self) -> np.ndarray:
        return np.zeros(0, dtype=np.int64)  # every chunk was checked before its merge

    rejects = Tracker.rejects

    def summary(self) -> pd.DataFrame:
        parts = [
            {"table": self.table, "outcome": "read", "rule": "", "rows": self.n},
            {"table": self.table, "outcome": "used", "rule": "", "rows": self.used},
        ]
        for code, counts in self.rules.items():
            parts += [
                {"table": self.table, "outcome": OUTCOME_NAMES[code], "rule": r, "rows": counts[r]}
                for r in sorted(counts)
            ]
        return pd.DataFrame(parts)


class Ledger:
    """The trackers of one extraction (one source), in the order the tables were read."""

    def merge(self, chunk: Ledger) -> None:
        """Add the (checked) trackers of one chunk of the extraction (the same tables, other rows)."""
        chunk.check()
        for table, tracker in chunk.trackers.items():
            self.trackers.setdefault(table, MergedTracker(table)).add(tracker)

    def __init__(self, source: str):
        self.source = source
        self.trackers: dict[str, Tracker] = {}

    def adopt(self, other: Ledger) -> None:
        """Take the trackers of another ledger of the same extraction (other tables: one worker's family)."""
        for table, tracker in other.trackers.items():
            if table in self.trackers:
                raise AccountingError(f"table {table} tracked twice")
            self.trackers[table] = tracker

    def track(self, table: str, n: int, labels: np.ndarray | None = None) -> Tracker:
        if table in self.trackers:
            raise AccountingError(f"table {table} tracked twice")
        self.trackers[table] = Tracker(table, n, labels)
        return self.trackers[table]

    def check(self) -> None:
        for t in self.trackers.values():
            left = t.pending()
            if left.size:
                raise AccountingError(
                    f"{self.source}/{t.table}: {left.size} rows have no outcome (first: row {left[0] + 1})"
                )

    def summary(self) -> pd.DataFrame:
        """Long accounting table: source, table, outcome (read | used | filtered | rejected), rule, rows."""
        frames = [t.summary() for t in self.trackers.values()]
        df = (
            pd.concat(frames, ignore_index=True)
            if frames
            else pd.DataFrame(columns=["table", "outcome", "rule", "rows"])
        )
        df.insert(0, "source", self.source)
        return df

    def rejects(self) -> pa.Table:
        frames = [t.rejects() for t in self.trackers.values()]
        df = pd.concat(frames, ignore_index=True) if frames else Tracker("", 0).rejects()
        return contracts.conform(pa.Table.from_pandas(df, preserve_index=False), contracts.REJECTS, "rejects")


def balance(summary: pd.DataFrame) -> pd.DataFrame:
    """Per table: read, used, filtered, rejected and whether read = used + filtered + rejected."""
    wide = summary.groupby(["table", "outcome"], sort=False)["rows"].sum().unstack(fill_value=0)
    for col in ("read", "used", "filtered", "rejected"):
        if col not in wide:
            wide[col] = 0
    wide = wide[["read", "used", "filtered", "rejected"]]
    wide["balanced"] = wide["read"] == wide["used"] + wide["filtered"] + wide["rejected"]
    return wide.reset_index()


def format_summary(summary: pd.DataFrame) -> str:
    """Human-readable accounting: one line per table, then one line per named rule."""
    lines = []
    for _, r in balance(summary).iterrows():
        lines.append(
            f"{r['table']:<20} read {r['read']:>10}  used {r['used']:>10}  filtered {r['filtered']:>9}  rejected {r['rejected']:>9}"
        )
        sub = summary[(summary["table"] == r["table"]) & summary["outcome"].isin(["filtered", "rejected"])]
        for _, s in sub.iterrows():
            lines.append(f"    {s['outcome']:<8} {s['rule']:<40} {s['rows']:>10}")
    return "\n".join(lines)
