"""User-facing errors: each names the file, the column and the rows at fault and what was expected.

The command line and the workflow steps print these messages as they are (no traceback): they are the
user interface for bad input.
"""

from __future__ import annotations

from collections.abc import Iterable


class LotlucaError(Exception):
    """Base class of every error meant to be read by a user."""

    def __reduce__(self):  # the same error, message and attributes, after a trip through pickle (a worker process)
        return _restore, (type(self), self.args, self.__dict__)


def _restore(cls, args: tuple, attributes: dict) -> LotlucaError:
    error = Exception.__new__(cls)
    error.args = args
    error.__dict__.update(attributes)
    return error


class InputError(LotlucaError, ValueError):
    """Structurally bad input: a missing column, a wrong type, unparseable dates, an empty table..."""

    def __init__(
        self, file, problem: str, column: str | None = None, rows: Iterable | None = None, expected: str | None = None
    ):
        self.file, self.problem, self.column, self.expected = str(file), problem, column, expected
        self.rows = list(rows)[:10] if rows is not None else None
        parts = [f"{self.file}: {problem}"]
        if column is not None:
            parts.append(f"column {column!r}")
        if self.rows:
            parts.append(
                f"rows {', '.join(map(str, self.rows))}" + (" ..." if rows is not None and len(list(rows)) > 10 else "")
            )
        if expected:
            parts.append(f"expected {expected}")
        super().__init__("; ".join(parts))


class ConfigError(LotlucaError, ValueError):
    """A study configuration that the schema or a stage's settings reject (the key and why)."""
