# lotluca: lines of therapy of advanced NSCLC from French real-world data (ODH + SNDS).
# simulate -> extract -> link -> merge -> learned / lines -> evaluate -> effectiveness -> concomitant ->
# figures, report. Rules only wire files to lotluca.<stage>.steps.<rule> (docs/architecture.md); every
# artefact path is declared in scripts/lotluca/data/layout.yaml.
import os

from snakemake.utils import min_version, validate

min_version("9.0")


# the simulator's knobs, then the study config (which wins); --configfile adds the user's on top
if os.path.exists("config/simulate.yaml"):

    configfile: "config/simulate.yaml"


configfile: "config.yaml"


validate(config, "scripts/lotluca/data/config.schema.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


wildcard_constraints:
    shard=r"\d+",
    source="|".join(SOURCES),
    scenario="|".join(SCENARIOS),
    algorithm="|".join(ALGORITHMS),


include: "workflow/rules/simulate.smk"
include: "workflow/rules/extract.smk"
include: "workflow/rules/identify.smk"
include: "workflow/rules/link.smk"
include: "workflow/rules/merge.smk"
include: "workflow/rules/learned.smk"
include: "workflow/rules/lines.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/effectiveness.smk"
include: "workflow/rules/concomitant.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/robustness.smk"
include: "workflow/rules/challenge.smk"


localrules:
    all,
    lines_gather,


rule all:
    default_target: True
    input:
        study_targets(),
