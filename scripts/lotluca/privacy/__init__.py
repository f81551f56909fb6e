"""Disclosure control for everything leaving the secure platform (docs/privacy.md).

Two rules, applied by every stage that writes an export table (the `export/` folder of the layout):

- small-cell suppression ("secret statistique"): no count between 1 and `min_cell - 1` (default 1-9)
  in any exported table or Kaplan-Meier at-risk row (`suppress_counts`, checked again by
  `assert_exportable` just before writing);
- pseudonymised ids: patient-level tables (only ever in the `private/` folder) carry a keyed-hash
  study pseudonym, never a source identifier (`pseudonymise`).

The config block `privacy` is `PrivacySettings`.
"""

from lotluca.privacy.pseudonym import pseudonym_key, pseudonymise
from lotluca.privacy.settings import PrivacySettings
from lotluca.privacy.suppress import (
    SmallCellError,
    assert_exportable,
    coarsen_value,
    suppress_counts,
    write_export,
)

__all__ = [
    "PrivacySettings",
    "SmallCellError",
    "assert_exportable",
    "coarsen_value",
    "pseudonym_key",
    "pseudonymise",
    "suppress_counts",
    "write_export",
]
