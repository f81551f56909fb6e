"""Glue for the thin step scripts run by Snakemake's `script:` directive.

`run_step(snakemake, func)` sends the library's logging to the rule's log file, runs `func(snakemake)`
and turns a LotlucaError into a clear one-paragraph message (no traceback) and a non-zero exit.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from lotluca.errors import LotlucaError


def configure_logging(log_file: str | None = None, level: int = logging.INFO) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="w", encoding="utf-8"))
    logging.basicConfig(
        level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s", handlers=handlers, force=True
    )


def run_step(smk, func) -> None:
    log_file = smk.log[0] if len(smk.log) else None
    configure_logging(log_file)
    log = logging.getLogger(f"lotluca.step.{smk.rule}")
    start = time.perf_counter()
    try:
        func(smk)
    except LotlucaError as exc:
        log.error("%s", exc)
        sys.exit(f"lotluca {smk.rule}: {exc}")
    log.info("rule %s done in %.1f s", smk.rule, time.perf_counter() - start)
