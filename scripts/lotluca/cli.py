"""The `lotluca` command: one sub-command per study stage, usable without Snakemake.

Each stage module exposes `register(subparsers)`, adding its parser with `func` set to a callable
taking the parsed arguments and returning an exit code. A LotlucaError becomes a one-line message on
stderr and exit code 2 (never a traceback).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from lotluca import __version__
from lotluca.errors import LotlucaError
from lotluca.steps import configure_logging

# stage modules providing a sub-command, in the order of the study
STAGE_MODULES = [
    "lotluca.simulate.cli",
    "lotluca.extract.cli",
    "lotluca.drugs.cli",
    "lotluca.link.cli",
    "lotluca.merge.cli",
    "lotluca.lines.cli",
    "lotluca.learned.cli",
    "lotluca.evaluate.cli",
    "lotluca.effectiveness.cli",
    "lotluca.concomitant.cli",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lotluca", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"lotluca {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in STAGE_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(level=10 if args.verbose else 30)
    try:
        return int(args.func(args) or 0)
    except LotlucaError as exc:
        print(f"lotluca {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
