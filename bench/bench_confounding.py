"""Confounding by indication in the whole generator (docs/simulate.md, "Confounding by indication").

Usage: python bench/bench_confounding.py [--patients 30000] [--seeds 11]
Simulates in memory with `simulate.confounding` on, takes the first-line carboplatin- vs cisplatin-
pemetrexed lines of the truth with their rwTTNT (next line start or death, censored at the study end)
and prints one JSON line per (seed, adjustment set, method): the hazard ratio and its 95% CI next to the
true HR (`carboplatin_hr`). Adjustment sets: the true confounders (ECOG, Charlson, age, year), the
ECOG an analysis of the data has (where the centre recorded it, age, year), and that ECOG with the SNDS
proxies (`lotluca.effectiveness.proxies`: Charlson index and prior stays from the PMSI diagnoses the
simulator rendered, extracted by `lotluca.extract.diagnoses`; the SNDS person from the simulation's ids)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import numpy as np  # noqa: E402

from lotluca.effectiveness.comparative import compare  # noqa: E402
from lotluca.simulate import regimens as R  # noqa: E402
from lotluca.simulate import sim_settings, simulate  # noqa: E402
from lotluca.simulate.cohort import to_days  # noqa: E402

SETS = {
    "true_confounders": (["charlson", "age"], ["ecog", "year"]),
    "data_proxy": (["age"], ["ecog_proxy", "year"]),
    "data_proxies_snds": (["age", "charlson_proxy", "prior_stays"], ["ecog_proxy", "year"]),
}


def snds_proxies(r: dict, f, s):
    """Charlson index and prior stays of each line from the extracted diagnoses of the simulated SNDS."""
    import tempfile

    import pandas as pd
    import pyarrow.parquet as pq

    from lotluca.config import default_config
    from lotluca.effectiveness.proxies import line_proxies
    from lotluca.effectiveness.settings import ComparativeSettings
    from lotluca.extract.common import ExtractSettings
    from lotluca.extract.diagnoses import extract_diagnoses

    cfg = default_config()
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for name in ("IR_BEN_R", "T_MCOaaB", "T_MCOaaC", "T_MCOaaD"):
            pq.write_table(r["snds"][name], Path(tmp) / f"{name}.parquet")
            files.append(Path(tmp) / f"{name}.parquet")
        diag = extract_diagnoses(files, ExtractSettings.for_study(cfg["study"], cfg["extract"]))[0].to_pandas()
    lines = pd.DataFrame(
        {
            "person_id": r["_persons"]["ben_idt_ano"].to_numpy()[f["pid"].to_numpy()],
            "start_date": pd.to_datetime(np.datetime64("1970-01-01") + f["start"].to_numpy().astype("timedelta64[D]")),
        },
        index=f.index,
    )
    settings = ComparativeSettings.from_config(cfg["effectiveness"]["comparative"])
    return line_proxies(lines, diag, None, settings)


def first_lines(patients: int, seed: int):
    s = sim_settings({"patients": patients, "block_size": 5000, "confounding": {"enabled": True}})
    r = simulate(s, seed)
    P, L, death = r["_persons"], r["_lines"].sort_values(["pid", "line_number"]), r["_death"]
    end = to_days(s.end_date)
    L["next"] = L.groupby("pid")["start"].shift(-1)
    f = L[(L["line_number"] == 1) & L["regimen"].isin([R.INDEX["carbo_pem"], R.INDEX["cis_pem"]])].copy()
    d = death[f["pid"].to_numpy()]
    ev = np.fmin(f["next"].to_numpy(float), np.where(d < end, d, np.nan))
    f["event"] = np.isfinite(ev).astype(int)
    f["months"] = (np.where(np.isfinite(ev), ev, end) - f["start"].to_numpy()) / 30.4375
    f = f[f["months"] > 0]
    f["treatment"] = (f["regimen"] == R.INDEX["carbo_pem"]).astype(int)
    for c in ("ecog", "charlson", "ecog_recorded", "age"):
        f[c] = P[c].to_numpy()[f["pid"]]
    f["ecog_proxy"] = f["ecog"].where(f["ecog_recorded"])
    f["year"] = (f["start"] // 365.25 + 1970).astype(int).clip(upper=2019).astype(str)
    f["person_id"] = f["pid"].astype(str)
    prox = snds_proxies(r, f, s)
    f["charlson_proxy"], f["prior_stays"] = prox["charlson"].astype(float), prox["prior_stays"].astype(float)
    return f, s.confounding.carboplatin_hr


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--patients", type=int, default=30000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[11])
    a = ap.parse_args(argv)
    for seed in a.seeds:
        t0 = time.perf_counter()
        f, truth = first_lines(a.patients, seed)
        for name, (num, cat) in SETS.items():
            for r in compare(f, num, cat, 0.05)[0]:
                out = {"seed": seed, "adjustment": name, "method": r["method"], "lines": len(f)}
                out |= {k: round(r[k], 3) for k in ("estimate", "ci_low", "ci_high")} | {"true_hr": truth}
                print(json.dumps(out))
        print(json.dumps({"seed": seed, "seconds": round(time.perf_counter() - t0, 1)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
