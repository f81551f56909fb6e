# Shared wiring: table lists and input paths derived from the validated config. No study logic here.
SNDS_TABLES = [
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
    "T_MCOaaFH",
]
ODH_TABLES = [
    "odh_patients",
    "odh_administrations",
    "odh_stays",
    "odh_prescriptions",
]
FMT = config["inputs"]["format"]

if config["simulate"]["enabled"] and FMT == "sas7bdat":
    raise ValueError(
        "config.yaml: inputs.format is sas7bdat but simulate.enabled is true; "
        "the simulator writes parquet or csv (set inputs.format accordingly)."
    )


def snds_input_files():
    return [f"{config['inputs']['snds_dir']}/{t}.{FMT}" for t in SNDS_TABLES]


def odh_input_files():
    return [f"{config['inputs']['odh_dir']}/{t}.{FMT}" for t in ODH_TABLES]


def evaluated_algorithms():
    """Rule presets (lines.algorithms) plus the learned model `xgboost` when learned.enabled."""
    algorithms = list(config.get("lines", {}).get("algorithms", []))
    if config.get("learned", {}).get("enabled", False):
        algorithms.append("xgboost")
    return algorithms


def effectiveness_line_sources():
    """(algorithm, scenario) of every algorithm's lines compared with the gold standard."""
    algorithms = evaluated_algorithms()
    scenarios = list(config.get("scenarios", []))
    return [(a, s) for s in scenarios for a in algorithms]


def effectiveness_line_files():
    return [f"results/lines/{s}/{a}.parquet" for a, s in effectiveness_line_sources()]


def figure_targets():
    """Every figure (PNG + PDF) and table (CSV + Markdown) of the paper (rules in figures.smk)."""
    figs = [
        "results/export/figures/fig1_cohort_flow",
        "results/export/figures/fig2_accuracy",
        "results/export/figures/fig3_pathways",
        "results/export/figures/fig4_kaplan_meier",
        "results/private/figures/fig5_swimmer",
        "results/export/figures/fig6_bias_forest",
    ]
    tabs = ["table1_baseline", "table2_accuracy", "table3_medians"]
    if config["simulate"]["enabled"]:
        tabs.append("table4_calibration")
    return [f"{f}.{ext}" for f in figs for ext in ("png", "pdf")] + [
        f"results/export/tables/{t}.{ext}" for t in tabs for ext in ("csv", "md")
    ]


def study_targets():
    """Final outputs of the study; each stage adds its own."""
    targets = []
    if config["simulate"]["enabled"]:
        targets.append("results/simulated/calibration.csv")
    targets += expand("results/extract/{source}/accounting.csv", source=["snds", "odh"])
    targets += ["results/linkage/linkage_quality.csv"]
    targets += expand(
        "results/merged/{scenario}/{table}.parquet",
        scenario=config["scenarios"],
        table=["persons", "exposures", "chemo_sessions"],
    )
    targets += expand(
        "results/lines/{scenario}/{algorithm}.parquet",
        scenario=config["scenarios"],
        algorithm=config["lines"]["algorithms"],
    )
    targets += expand(
        "results/evaluation/{name}",
        name=[
            "metrics.csv",
            "metrics.parquet",
            "summary.json",
            "README_table.md",
        ],
    )
    targets.append("results/private/evaluation/per_patient.parquet")
    if config.get("learned", {}).get("enabled", False):
        targets += expand(
            "results/learned/{scenario}/{name}",
            scenario=config["scenarios"],
            name=["model.json", "model_card.md"],
        )
    targets += expand(
        "results/export/effectiveness/{name}.csv",
        name=["km_summary", "km_curves", "at_risk", "logrank", "cox"],
    )
    targets += expand(
        "results/export/bias/{name}",
        name=["bias.csv", "bias.parquet", "bias_summary.csv"],
    )
    targets += figure_targets()  # paper figures and tables (figures.smk)
    if config.get("concomitant", {}).get("enabled", True):  # concomitant.smk
        targets += [
            "results/export/concomitant/concomitant_hr.csv",
            "results/export/figures/concomitant_forest.png",
        ]
    return targets
