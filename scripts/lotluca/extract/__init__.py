"""Extraction of SNDS and ODH extracts into the canonical persons, exposures, chemo_sessions and stays tables
(docs/extract.md).

Modules, one job each: `readers` (files -> typed frames), `drug_matching` (codes and labels -> drug
reference), `accounting` (every raw row used, filtered by a named rule, or rejected), `common`
(shared mechanics and settings), `snds` and `odh` (the cleaning rules of each source), `pipeline`
(find files, extract, write outputs), `split` (raw tables -> patient shards), `gather` (shards ->
the cohort's files), `steps` (the workflow's rules), `cli` (`lotluca extract`).
"""
