"""Merge stage: the merged history (persons, exposures, chemotherapy sessions) of the study population
for each data-source scenario (`scenarios`), from the extracted ODH and SNDS tables and the links
(docs/merge.md). `steps` holds the workflow's `merge` and `merge_split` rules, `cli` is `lotluca merge`."""
