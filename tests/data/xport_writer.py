"""A minimal SAS transport (XPORT v5) writer, to build `.xpt` fixtures that `pandas.read_sas` reads.

Record layout from SAS's "Record layout of a SAS version 5 or 6 data set in SAS transport (XPORT)
format" (TS-140): 80-byte header cards, 140-byte NAMESTR records, numbers as 8-byte IBM-370 floats,
characters blank-padded. Python has no SAS writer; this one covers what the extraction tests need:
numeric columns (dates as SAS day counts since 1960-01-01, the way SAS stores them) and text columns.
"""

from __future__ import annotations

import datetime as dt
import struct
from pathlib import Path

import numpy as np
import pandas as pd

STAMP = "23NOV26:12:00:00"
SAS_EPOCH = dt.date(1960, 1, 1)


def ibm_float(x: float) -> bytes:
    """IEEE double -> 8-byte IBM-370 hexadecimal float; NaN -> SAS missing value '.'."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return b"." + b"\x00" * 7
    if x == 0:
        return b"\x00" * 8
    sign = 0x80 if x < 0 else 0
    m, e = abs(float(x)), 0
    while m >= 1:
        m /= 16
        e += 1
    while m < 1 / 16:
        m *= 16
        e -= 1
    mant = int(round(m * 2**56))
    if mant >= 2**56:
        mant >>= 4
        e += 1
    return bytes([sign | (e + 64)]) + mant.to_bytes(7, "big")


def _card(text: str) -> bytes:
    assert len(text) <= 80, text
    return text.ljust(80).encode("ascii")


def _pad80(b: bytes) -> bytes:
    return b + b" " * (-len(b) % 80)


def write_xpt(df: pd.DataFrame, path: Path, name: str = "DATA", encoding: str = "latin-1") -> None:
    """Write `df`: numeric columns as doubles, dates (datetime.date / datetime64) as SAS day numbers,
    anything else as text (width = longest value, at least 8)."""
    cols = []
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_datetime64_any_dtype(s) or s.map(lambda v: isinstance(v, dt.date)).any():
            days = pd.to_datetime(s).map(lambda v: np.nan if pd.isna(v) else float((v.date() - SAS_EPOCH).days))
            cols.append((c, "num", 8, days.tolist()))
        elif pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            cols.append((c, "num", 8, s.astype("float64").tolist()))
        else:
            vals = [None if pd.isna(v) else str(v) for v in s]
            width = max([8] + [len(v.encode(encoding)) for v in vals if v is not None])
            cols.append((c, "char", width, vals))
    out = [
        _card("HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!000000000000000000000000000000"),
        _card("SAS     SAS     SASLIB  9.4     Linux   " + " " * 24 + STAMP),
        _card(STAMP),
        _card("HEADER RECORD*******MEMBER  HEADER RECORD!!!!!!!000000000000000001600000000140"),
        _card("HEADER RECORD*******DSCRPTR HEADER RECORD!!!!!!!000000000000000000000000000000"),
        _card("SAS     " + name[:8].ljust(8) + "SASDATA 9.4     Linux   " + " " * 24 + STAMP),
        _card(STAMP + " " * 16 + " " * 40 + "DATA    "),
        _card(f"HEADER RECORD*******NAMESTR HEADER RECORD!!!!!!!000000{len(cols):04d}" + "0" * 20),
    ]
    names, pos = b"", 0
    for i, (c, kind, width, _) in enumerate(cols):
        names += struct.pack(
            ">hhhh8s40s8shhh2s8shhl52s",
            1 if kind == "num" else 2, 0, width, i + 1, c[:8].upper().ljust(8).encode("ascii"), c[:40].ljust(40).encode("ascii"),
            b" " * 8, 0, 0, 0, b"  ", b" " * 8, 0, 0, pos, b"\x00" * 52,
        )  # fmt: skip
        pos += width
    out.append(_pad80(names))
    out.append(_card("HEADER RECORD*******OBS     HEADER RECORD!!!!!!!000000000000000000000000000000"))
    rows = bytearray()
    for r in range(len(df)):
        for _, kind, width, vals in cols:
            v = vals[r]
            if kind == "num":
                rows += ibm_float(v)
            else:
                rows += ("" if v is None else v).encode(encoding).ljust(width)
    out.append(_pad80(bytes(rows)))
    Path(path).write_bytes(b"".join(out))
