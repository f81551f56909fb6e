"""Run a rule's step: the function named exactly after the rule in `lotluca.<stage>.steps`.

Every rule of the workflow runs `scripts/step.py`, which calls `run_rule(snakemake)`: the library's
logging goes to the rule's log file, the step function gets the rule's named inputs and outputs and its
params as keyword arguments (plus `threads` when it takes them), and a LotlucaError becomes a clear
one-paragraph message (no traceback) and a non-zero exit.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

from lotluca.errors import LotlucaError

# stages in pipeline order: a rule belongs to the stage its name is or starts with ("<stage>_...")
STAGES = (
    "simulate",
    "extract",
    "identify",
    "link",
    "merge",
    "learned",
    "lines",
    "evaluate",
    "effectiveness",
    "concomitant",
    "figures",
    "robustness",
    "challenge",
)


def configure_logging(log_file: str | None = None, level: int = logging.INFO) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="w", encoding="utf-8"))
    logging.basicConfig(
        level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s", handlers=handlers, force=True
    )


def stage_of(rule: str) -> str:
    """The stage of `rule`: the stage name it is, or that prefixes it followed by an underscore."""
    matches = [s for s in STAGES if rule == s or rule.startswith(s + "_")]
    if not matches:
        raise LookupError(f"rule {rule!r} belongs to no stage (rule names start with one of {STAGES})")
    return max(matches, key=len)


def step_function(rule: str) -> Callable:
    """`lotluca.<stage>.steps.<rule>`."""
    module = importlib.import_module(f"lotluca.{stage_of(rule)}.steps")
    return getattr(module, rule)


def _named(files) -> dict:
    """Named inputs / outputs of a Snakemake job: name -> path, or name -> list of paths."""
    return {name: (str(v) if isinstance(v, str) else [str(p) for p in v]) for name, v in files.items()}


def run_rule(smk) -> None:
    configure_logging(smk.log[0] if len(smk.log) else None)
    log = logging.getLogger(f"lotluca.step.{smk.rule}")
    func = step_function(smk.rule)
    kwargs = dict(smk.params.items())
    if "threads" in inspect.signature(func).parameters:
        kwargs["threads"] = smk.threads
    start = time.perf_counter()
    try:
        func(_named(smk.input), _named(smk.output), **kwargs)
    except LotlucaError as exc:
        log.error("%s", exc)
        sys.exit(f"lotluca {smk.rule}: {exc}")
    log.info("rule %s done in %.1f s", smk.rule, time.perf_counter() - start)
