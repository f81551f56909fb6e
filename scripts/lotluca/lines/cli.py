"""The `lotluca lines` sub-command and the file-level helpers shared with the step functions (reading the
inputs, running an algorithm, writing lines as Parquet or CSV).

    lotluca lines --input FILE --input-format {exposures,merck} --algorithm NAME --output FILE.{csv,parquet}
                  [--output-format {lotluca,merck}] [--persons FILE] [--chemo-sessions FILE] [--config FILE]
                  [--set KEY=VALUE ...] [--omop-dir DIR]

`exposures` input: canonical exposures as Parquet or CSV (ISO dates); `merck`: the Merck reference CSV
(PATIENT_ID, MED_START, MED_END, MED_NAME). CSV output columns: person_id, line_number, start_date,
end_date (ISO), regimen, regimen_class, is_maintenance (true/false), end_reason, algorithm; with
`--output-format merck`, the reference's output columns (`lotluca.lines.merck.to_merck_lines`, CSV only).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import yaml

from lotluca.config import load_config
from lotluca.contracts import CHEMO_SESSIONS, EXPOSURES, LINES, PERSONS
from lotluca.errors import InputError
from lotluca.io import read_parquet, write_parquet
from lotluca.lines.algorithms import Algorithm, LineInputs
from lotluca.lines.engine import reconstruct_with_assignment
from lotluca.lines.merck import read_merck, to_merck_lines
from lotluca.lines.omop import to_omop
from lotluca.lines.params import LinesSettings, available_presets, load_params

log = logging.getLogger(__name__)


def read_table(path: str | Path, schema: pa.Schema | None = None) -> pa.Table:
    """A Parquet or CSV table; CSV columns named in `schema` are read with its types (dates ISO)."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    if path.suffix == ".parquet":
        return read_parquet(path)
    if path.suffix == ".csv":
        types = {f.name: f.type for f in schema} if schema is not None else None
        try:
            return pacsv.read_csv(
                path, convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True)
            )
        except pa.ArrowInvalid as exc:
            raise InputError(
                path, f"cannot read CSV: {exc}", expected="ISO dates (YYYY-MM-DD) and the canonical columns"
            ) from exc
    raise InputError(path, "unknown file type", expected=".parquet or .csv")


def write_lines(table: pa.Table, path: str | Path, output_format: str = "lotluca") -> None:
    """Lines as Parquet or CSV (lotluca columns), or as the Merck reference's output CSV (output_format "merck")."""
    path = Path(path)
    if output_format == "merck":
        if path.suffix != ".csv":
            raise InputError(path, "the merck output format is a CSV", expected=".csv")
        path.parent.mkdir(parents=True, exist_ok=True)
        to_merck_lines(table).to_csv(path, index=False)
    elif output_format != "lotluca":
        raise InputError("--output-format", f"unknown output format {output_format!r}", expected="lotluca or merck")
    elif path.suffix == ".parquet":
        write_parquet(table, path)
    elif path.suffix == ".csv":
        path.parent.mkdir(parents=True, exist_ok=True)
        pacsv.write_csv(table.select([f.name for f in LINES]), path, pacsv.WriteOptions(quoting_style="needed"))
    else:
        raise InputError(path, "unknown output file type", expected=".parquet or .csv")


def read_inputs(input_path, input_format: str = "exposures", persons_path=None, sessions_path=None) -> LineInputs:
    """The inputs of a line algorithm from files: exposures (canonical or Merck CSV), persons and chemo
    sessions (optional)."""
    if input_format == "merck":
        exposures = read_merck(input_path)
    elif input_format == "exposures":
        exposures = read_table(input_path, EXPOSURES)
    else:
        raise InputError("--input-format", f"unknown input format {input_format!r}", expected="exposures or merck")
    persons = read_table(persons_path, PERSONS) if persons_path else None
    sessions = read_table(sessions_path, CHEMO_SESSIONS) if sessions_path else None
    return LineInputs(exposures, sessions, persons, (str(input_path), str(persons_path), str(sessions_path)))


def run_algorithm(name: str, algorithm: Algorithm, inputs: LineInputs, output_path) -> pa.Table:
    """Lines of `algorithm` on `inputs`, written to output_path (logged with counts and time)."""
    t0 = time.perf_counter()
    lines = algorithm(inputs)
    write_lines(lines, output_path)
    log.info(
        "%s: %d exposure rows -> %d line rows (%s) in %.1f s",
        inputs.names[0],
        inputs.exposures.num_rows,
        lines.num_rows,
        name,
        time.perf_counter() - t0,
    )
    return lines


def run_lines(
    input_path,
    algorithm: str,
    output_path,
    input_format: str = "exposures",
    persons_path=None,
    sessions_path=None,
    overrides: dict | None = None,
    omop_dir=None,
    output_format: str = "lotluca",
) -> pa.Table:
    """Read the inputs, reconstruct the lines with the preset `algorithm` (+ overrides), write them; return them."""
    params = load_params(algorithm, overrides)
    inputs = read_inputs(input_path, input_format, persons_path, sessions_path)
    t0 = time.perf_counter()
    lines, assignment = reconstruct_with_assignment(
        inputs.exposures, inputs.persons, inputs.chemo_sessions, params, names=inputs.names
    )
    write_lines(lines, output_path, output_format)
    log.info(
        "%s: %d exposure rows -> %d line rows (%s) in %.1f s",
        inputs.names[0],
        inputs.exposures.num_rows,
        lines.num_rows,
        params.name,
        time.perf_counter() - t0,
    )
    if omop_dir:
        for name, table in to_omop(lines, assignment, inputs.exposures).items():
            write_parquet(table, Path(omop_dir) / f"{name}.parquet")
    return lines


def _parse_set(items) -> dict:
    out = {}
    for item in items or ():
        if "=" not in item:
            raise InputError("--set", f"{item!r} is not KEY=VALUE")
        key, value = item.split("=", 1)
        out[key.strip()] = yaml.safe_load(value)
    return out


def _main(args) -> int:
    overrides = {}
    if args.config:
        overrides = dict(LinesSettings.from_config(load_config(args.config)["lines"]).overrides.get(args.algorithm, {}))
    overrides.update(_parse_set(args.set))
    run_lines(
        args.input,
        args.algorithm,
        args.output,
        args.input_format,
        args.persons,
        args.chemo_sessions,
        overrides,
        args.omop_dir,
        args.output_format,
    )
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("lines", help="reconstruct lines of therapy", description=__doc__.split("\n\n")[0])
    p.add_argument("--input", required=True, help="exposures (.parquet/.csv) or a Merck-format CSV")
    p.add_argument("--input-format", choices=["exposures", "merck"], default="exposures")
    p.add_argument("--algorithm", default="lotluca", help=f"a preset ({', '.join(available_presets())}) or a YAML file")
    p.add_argument("--output", required=True, help="lines output, .csv or .parquet")
    p.add_argument(
        "--output-format",
        choices=["lotluca", "merck"],
        default="lotluca",
        help="lotluca: the lines contract; merck: the Merck reference's output_lot columns (CSV)",
    )
    p.add_argument("--persons", help="persons table (diagnosis_date, death_date, end_of_followup)")
    p.add_argument("--chemo-sessions", help="chemo_sessions table (28Z07Z sessions without a drug name)")
    p.add_argument("--config", help="study config.yaml: the algorithm's lines.overrides apply (before --set)")
    p.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="override a preset parameter (YAML value), repeatable"
    )
    p.add_argument(
        "--omop-dir", help="also write OMOP CDM v5.4 episode / episode_event / person_map Parquet files here"
    )
    p.set_defaults(func=_main)


__all__ = ["read_inputs", "read_table", "register", "run_algorithm", "run_lines", "write_lines"]
