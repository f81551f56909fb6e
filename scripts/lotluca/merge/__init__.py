"""Merge stage: the merged history (persons, exposures, chemotherapy sessions) of the study population
for each data-source scenario (`scenarios`), from the extracted ODH and SNDS tables and the links."""
