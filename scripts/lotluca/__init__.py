"""lotluca: reconstruct lines of therapy of advanced NSCLC from French real-world data (ODH + SNDS).

Stages (one sub-package each): simulate (synthetic cohort), sources (extraction of SNDS/ODH extracts
into canonical tables), linkage (ODH <-> SNDS), lines (rule engine and presets), evaluation (scoring
against the gold standard), survival (effectiveness endpoints), figures, privacy (export rules).
Shared pieces: `contracts` (canonical table schemas), `snds_schema` (real SNDS column types),
`drugs` (the shipped drug reference and regimen naming), `io` (Parquet/CSV reading and writing).
"""

__version__ = "0.1.0"
