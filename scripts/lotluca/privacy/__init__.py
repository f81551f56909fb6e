"""Disclosure control for everything leaving the secure platform (BRIEF section 5, "Privacy").

Two rules, applied by every stage that writes under `results/export/`:

- small-cell suppression ("secret statistique"): no count between 1 and `min_cell - 1` (default 1-9)
  in any exported table or Kaplan-Meier at-risk row (`suppress_counts`, checked again by
  `assert_exportable` just before writing);
- pseudonymised ids: patient-level tables (only ever under `results/private/`) carry a keyed-hash
  study pseudonym, never a source identifier (`pseudonymise`).
"""

from lotluca.privacy.pseudonym import pseudonym_key, pseudonymise
from lotluca.privacy.suppress import (
    SmallCellError,
    assert_exportable,
    coarsen_value,
    suppress_counts,
    write_export,
)

__all__ = [
    "SmallCellError",
    "assert_exportable",
    "coarsen_value",
    "pseudonym_key",
    "pseudonymise",
    "suppress_counts",
    "write_export",
]
