# lotluca: lines of therapy of advanced NSCLC from French real-world data (ODH + SNDS).
# simulate -> extract -> link -> merge -> lines -> evaluate -> effectiveness -> figures, report.
# Logic lives in the library scripts/lotluca/; rules only wire files to it.
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config.yaml"


validate(config, "scripts/lotluca/data/config.schema.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/shards_common.smk"
include: "workflow/rules/shards.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/extract.smk"
include: "workflow/rules/link.smk"
include: "workflow/rules/lines.smk"
include: "workflow/rules/learned.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/effectiveness.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/concomitant.smk"


rule all:
    default_target: True
    input:
        study_targets(),
