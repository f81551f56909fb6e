# robustness: every line algorithm (the learned model trained on the default cohort included) scored on
# small cohorts simulated with one simulator knob moved outside its default; one job per grid setting
# (robustness_point, run in parallel), gathered with its figure by `robustness`. docs/robustness.md
ROBUSTNESS = config["robustness"]
ROBUST_SETTINGS = ["default"] + [s["name"] for s in ROBUSTNESS["settings"]]
ROBUST_SETTINGS += (
    ["leave_one_centre_out"] if ROBUSTNESS["leave_one_centre_out"]["enabled"] else []
)  # the learned model refitted on all centres but one (lotluca.robustness.loco)


rule robustness_point:
    input:
        models=[
            path("learned.model", scenario=s, algorithm=a)
            for s in SCENARIOS
            for a in TRAINED
        ],
    output:
        table=temp(path("robustness.point")),
    log:
        log_file("robustness_point", "setting"),
    benchmark:
        bench_file("robustness_point", "setting")
    wildcard_constraints:
        setting="|".join(ROBUST_SETTINGS),
    conda:
        "../../envs/robustness.yaml"
    params:
        simulate=config["simulate"],
        study=config["study"],
        extract=config["extract"],
        merge=config["merge"],
        lines=config["lines"],
        evaluate=config["evaluate"],
        robustness=ROBUSTNESS,
        scenarios=SCENARIOS,
        learned=config["learned"],
        seed=config["seed"],
        setting="{setting}",
        trained=TRAINED,
    script:
        STEP


rule robustness:
    input:
        points=paths("robustness.point", setting=ROBUST_SETTINGS),
    output:
        csv=report(
            path("robustness.csv"),
            caption="../report/robustness_csv.rst",
            category=category("robustness"),
        ),
        png=report(
            path("robustness.figure", ext="png"),
            caption="../report/robustness_figure.rst",
            category=category("robustness"),
        ),
        pdf=path("robustness.figure", ext="pdf"),
    log:
        log_file("robustness"),
    conda:
        "../../envs/robustness.yaml"
    params:
        robustness=ROBUSTNESS,
        dpi=config["figures"]["dpi"],
    script:
        STEP
