# Shared wiring, included first by the Snakefile. The artefact layout (scripts/lotluca/data/layout.yaml, the one
# place where paths are declared), the table and algorithm lists, and the targets of the study.
# No study logic here: every rule runs scripts/step.py, which calls lotluca.<stage>.steps.<rule>.
import os
import sys

sys.path.insert(0, os.path.join(workflow.basedir, "scripts"))
import lotluca.layout as layout_file
from lotluca.extract.tables import table_files
from lotluca.steps import (
    STAGES,
)  # stages in pipeline order (also the report's categories)

LAYOUT = layout_file.layout()
STEP = "../../scripts/step.py"
N_SHARDS = config["shards"]
SHARDS = list(range(N_SHARDS))
FMT = config["inputs"]["format"]
SIMULATED = config["simulate"]["enabled"]
SOURCES = ["snds", "odh"]
SOURCE_TABLES = {
    "snds": [
        "IR_BEN_R",
        "KI_CCI_R",
        "ER_PRS_F",
        "ER_PHA_F",
        "ER_UCD_F",
        "ER_ETE_F",
        "T_MCOaaB",
        "T_MCOaaC",
        "T_MCOaaD",
        "T_MCOaaMED",
        "T_MCOaaMEDATU",
        "T_MCOaaFH",
        "T_MCOaaCSTC",
        "T_MCOaaFHSTC",
        "IR_PHA_R",
        "NU_UCD_R",
        "IR_IMB_R",
    ],
    "odh": ["odh_patients", "odh_administrations", "odh_stays", "odh_prescriptions"],
}
EXTRACTED = ["persons", "exposures", "chemo_sessions", "stays", "rejects"]
EXTRACT_FILES = [f"{t}.parquet" for t in EXTRACTED] + [
    "accounting.csv",
    "unknown_codes.csv",
]
MERGED = ["persons", "exposures", "chemo_sessions"]
TRUTH = [
    "linkage_truth",
    "clinical_truth",
    "concomitant_truth",
    "persons_truth",
    "lines_truth",
    "changes_truth",
    "gold_agreement",
    "identification_truth",
]
CHALLENGE_TABLES = [
    "persons",
    "exposures",
    "chemo_sessions",
    "stays",
]  # docs/challenge.md
SCENARIOS = list(config["scenarios"])
PRESETS = list(config["lines"]["algorithms"])
TRAINED = [config["learned"]["algorithm"]] if config["learned"]["enabled"] else []
PLUGINS = [
    p for p in config["lines"].get("plugins", {}) if p not in PRESETS
]  # docs/plugins.md
ALGORITHMS = PRESETS + PLUGINS + TRAINED
PAIRS = [
    [s, a] for s in SCENARIOS for a in ALGORITHMS
]  # evaluated (scenario, algorithm)
SOURCES_OF_LINES = [[a, s] for s in SCENARIOS for a in ALGORITHMS]  # effectiveness
FIG_SCENARIO = config["figures"]["scenario"]

if not SIMULATED:
    for key in ("snds_dir", "odh_dir", "gold_lines"):
        if not config["inputs"][key]:
            raise ValueError(
                f"config.yaml: simulate.enabled is false but inputs.{key} is empty; "
                "name the real extract's folders and gold standard (docs/real-extracts.md)."
            )
if SIMULATED and FMT == "sas7bdat":
    raise ValueError(
        "config.yaml: inputs.format is sas7bdat but simulate.enabled is true; "
        "the simulator writes parquet or csv (set inputs.format accordingly)."
    )


def path(key, **fields):
    """The layout path of `key` ("stage.artefact"): given fields and the config constants filled, other
    {fields} left as wildcards."""
    node = LAYOUT
    for part in key.split("."):
        node = node[part]
    known = {"n_shards": N_SHARDS, "fmt": FMT, **fields}
    for name, value in known.items():
        node = node.replace(f"{{{name}}}", str(value))
    return node


def paths(key, **lists):
    """Every path of `key` over the given value lists (other wildcards kept)."""
    return expand(path(key), **lists, allow_missing=True)


def log_file(rule, *wildcards):
    """Log file of a rule instance, one per value of its wildcards."""
    return _per_rule("logs", rule, wildcards)


def bench_file(rule, *wildcards):
    return _per_rule("benchmarks", rule, wildcards)


def _per_rule(key, rule, wildcards):
    instance = "_".join(f"{{{w}}}" for w in wildcards) or "all"
    return LAYOUT[key].replace("{rule}", rule).replace("{instance}", instance)


def gold_lines():
    """The chart-abstracted gold standard: the simulator's, or inputs.gold_lines on real data."""
    return layout_file.study_input(config, "gold_lines")


def linkage_truth():
    """The linkage truth when one is known (simulated, or inputs.linkage_truth): 0 or 1 file."""
    return [f for f in [layout_file.study_input(config, "linkage_truth")] if f]


def raw_tables(source):
    """The user's raw tables of `source` (real extracts): the files of its folder named after a table
    (yearly PMSI tables T_MCO19B, ... too), and the paths of required tables without a file.
    """
    folder = config["inputs"][f"{source}_dir"]
    return table_files(folder, source, SOURCE_TABLES[source], FMT)


def extract_inputs(wc):
    """Raw tables of one shard of the extraction: the simulator's shard, the user's files (1 shard) or
    the folder of their split by person (rule extract_split)."""
    tables = SOURCE_TABLES[wc.source]
    if SIMULATED:
        return paths(f"simulate.shard_{wc.source}", table=tables, shard=wc.shard)
    if N_SHARDS == 1:
        return raw_tables(wc.source)
    return [path("extract.split", source=wc.source, shard=wc.shard)]


def merged_input(table):
    """Input of a per-shard step: the scenario's merged table (1 shard) or its shard."""
    if N_SHARDS == 1:
        return path("merge.table", table=table)
    return path("merge.shard", table=table)


def lines_files(scenario):
    """Every algorithm's lines of `scenario`, in ALGORITHMS order."""
    return paths("lines.lines", scenario=scenario, algorithm=ALGORITHMS)


def effectiveness_lines():
    return [path("lines.lines", algorithm=a, scenario=s) for a, s in SOURCES_OF_LINES]


def category(stage):
    """Report category of a stage: its place in the pipeline and its name."""
    return f"{STAGES.index(stage) + 1}. {stage}"


def study_targets():
    """Final outputs of the study."""
    targets = [path("simulate.calibration")] if SIMULATED else []
    targets += paths("extract.table", source=SOURCES, name="accounting.csv")
    targets.append(path("identify.identified"))
    targets += [path("identify.quality")] if SIMULATED else []
    targets.append(path("link.quality"))
    targets += paths("merge.table", scenario=SCENARIOS, table=MERGED)
    targets += paths("lines.lines", scenario=SCENARIOS, algorithm=ALGORITHMS)
    targets += paths("learned.card", scenario=SCENARIOS, algorithm=TRAINED)
    targets += [
        path(f"evaluate.{k}")
        for k in ("metrics_csv", "summary", "readme_table", "per_patient")
    ]
    targets += paths(
        "effectiveness.table",
        name=["km_summary", "km_curves", "at_risk", "logrank", "cox"],
    )
    targets += [path(f"effectiveness.bias_{k}") for k in ("csv", "parquet", "summary")]
    targets += paths(
        "effectiveness.table", name=["comparative", "balance", "comparative_km"]
    )
    targets += [path("effectiveness.love_plot", ext="png"), path("effectiveness.grow")]
    targets += figure_targets()
    if config["concomitant"]["enabled"]:
        targets += [path("concomitant.table"), path("concomitant.figure", ext="png")]
    if SIMULATED and config["robustness"]["enabled"]:
        targets += [path("robustness.csv"), path("robustness.figure", ext="png")]
    if config["challenge"]["enabled"]:
        targets += [path("challenge.bundle"), path("challenge.reidentification")]
    return targets


FIGURES = {
    "cohort": "fig1_cohort_flow",
    "accuracy": "fig2_accuracy",
    "pathways": "fig3_pathways",
    "km": "fig4_kaplan_meier",
    "swimmer": "fig5_swimmer",
    "bias": "fig6_bias_forest",
}
TABLES = {
    "baseline": "table1_baseline",
    "accuracy": "table2_accuracy",
    "medians": "table3_medians",
    "calibration": "table4_calibration",
}
PRIVATE_FIGURES = ["swimmer"]  # person-level: in the private folder, never exported


def figure_file(kind, ext):
    key = "figures.private_figure" if kind in PRIVATE_FIGURES else "figures.figure"
    return path(key, name=FIGURES[kind], ext=ext)


def table_file(kind, ext):
    return path("figures.table", name=TABLES[kind], ext=ext)


def figure_targets():
    """Every figure (PNG + PDF) and table (CSV + Markdown) of the paper."""
    tables = [t for t in TABLES if SIMULATED or t != "calibration"]
    return [figure_file(k, e) for k in FIGURES for e in ("png", "pdf")] + [
        table_file(k, e) for k in tables for e in ("csv", "md")
    ]


PRIVATE_REPORT = config["privacy"][
    "private_report"
]  # patient-level items in the report


def figure_outputs(kind, title):
    """Named outputs of a figure rule: the PNG (a report item, unless person-level and privacy.private_report
    is false: the default report holds only exportable items) and the PDF."""
    png = figure_file(kind, "png")
    if kind not in PRIVATE_FIGURES or PRIVATE_REPORT:
        png = report(
            png,
            caption=f"../report/{FIGURES[kind]}.rst",
            category=category("figures"),
            subcategory=title,
        )
    return {"png": png, "pdf": figure_file(kind, "pdf")}


def table_outputs(kind, title):
    """Named outputs of a table rule: the CSV (a report item) and the Markdown."""
    return {
        "csv": report(
            table_file(kind, "csv"),
            caption=f"../report/{TABLES[kind]}.rst",
            category=category("figures"),
            subcategory=title,
        ),
        "md": table_file(kind, "md"),
    }
