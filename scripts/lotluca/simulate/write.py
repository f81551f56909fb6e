"""Writing the simulated tables: Parquet through `lotluca.io.write_parquet` (deterministic) or CSV the way
real extracts look (";" separator, each SNDS date column in its `snds_schema.column_formats` format, SAS
datetimes such as 01JAN2020:00:00:00 upper-case). Same tables give byte-identical files."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from lotluca import snds_schema
from lotluca.io import PARQUET_OPTIONS, ROW_GROUP_SIZE, write_parquet


def _csv_ready(table: pa.Table, formats: dict[str, str]) -> pa.Table:
    cols = []
    for f in table.schema:
        col = table.column(f.name)
        if pa.types.is_date(f.type) or pa.types.is_timestamp(f.type):
            fmt = formats.get(f.name, "%Y-%m-%d")
            ts = col.cast(pa.timestamp("s")) if pa.types.is_date(f.type) else col
            txt = pc.strftime(ts, format=fmt)
            if "%b" in fmt:
                txt = pc.utf8_upper(txt)
            cols.append(txt)
        elif pa.types.is_boolean(f.type):
            cols.append(pc.if_else(col, "1", "0"))
        else:
            cols.append(col)
    return pa.Table.from_arrays(cols, names=table.column_names)


def write_table(table: pa.Table, path: Path, fmt: str, snds_table: str | None = None) -> None:
    if fmt == "parquet":
        write_parquet(table, path)
        return
    csv = TableAppender(path, fmt, snds_table)
    csv.append(table)
    csv.close()


class TableAppender:
    """One output file filled block after block: tables of one schema appended to a Parquet file (one row
    group per block at most ROW_GROUP_SIZE rows, the settings of `write_parquet`) or to a CSV file (";",
    an unquoted header once, as SAS / SNDS exports write it; each SNDS date column in its documented
    format). The file appears under its name when `close` is called."""

    def __init__(self, path: Path, fmt: str, snds_table: str | None = None):
        self.path, self.fmt = Path(path), fmt
        self.formats = snds_schema.column_formats(snds_table) if snds_table else {}
        self.tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        self.schema: pa.Schema | None = None
        self._writer = None
        self._fh = None

    def append(self, table: pa.Table) -> None:
        table = table.replace_schema_metadata(None)
        if self.schema is None:
            self.schema = table.schema
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.fmt == "parquet":
                self._writer = pq.ParquetWriter(self.tmp, self.schema, **PARQUET_OPTIONS)
            else:
                self._fh = open(self.tmp, "wb")  # noqa: SIM115 - closed in close()
                self._fh.write((";".join(table.column_names) + "\n").encode("utf-8"))
        elif not table.schema.equals(self.schema):
            table = table.cast(self.schema)
        if self._writer is not None:
            self._writer.write_table(table, row_group_size=ROW_GROUP_SIZE)
        elif table.num_rows:
            opts = pcsv.WriteOptions(include_header=False, delimiter=";", quoting_style="none", batch_size=1_000_000)
            pcsv.write_csv(_csv_ready(table, self.formats), self._fh, write_options=opts)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._fh is not None:
            self._fh.close()
        if self.schema is not None:
            self.tmp.replace(self.path)
