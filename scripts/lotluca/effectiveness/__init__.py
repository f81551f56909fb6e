"""Real-world effectiveness from lines of therapy (rwTTNT, rwTTD, rwOS; KM, log-rank, Cox) and the
bias that line-reconstruction errors put on them (gold lines vs each algorithm's lines).

Modules: `settings` (the `effectiveness` config block), `endpoints` (per-line endpoints), `km`
(Kaplan-Meier, log-rank), `cox` (first-line Cox model), `bias` (paired patient bootstrap of gold vs
algorithm), `analysis` (endpoints of every lines source, the suppressed export and bias tables),
`steps` (the rules `effectiveness` and `effectiveness_bias`), `cli`. See docs/effectiveness.md.
"""

from lotluca.effectiveness.bias import bias_ranking, bias_table
from lotluca.effectiveness.cox import cox_table, fit_cox
from lotluca.effectiveness.endpoints import DAYS_PER_MONTH, ENDPOINTS, compute_endpoints, endpoints_long
from lotluca.effectiveness.km import km_median, km_tables, logrank_tables

__all__ = [
    "DAYS_PER_MONTH",
    "ENDPOINTS",
    "bias_ranking",
    "bias_table",
    "compute_endpoints",
    "cox_table",
    "endpoints_long",
    "fit_cox",
    "km_median",
    "km_tables",
    "logrank_tables",
]
