"""ODH <-> SNDS record linkage: each ODH patient to at most one SNDS person (docs/link.md).

Deterministic linkage first (`deterministic`), then probabilistic linkage of the rest with Splink
(`probabilistic`), one-to-one resolution (`resolve`), quality against a known truth (`quality`);
`inputs` reads and checks the canonical tables, `pipeline` runs the whole stage from files, `steps`
is the workflow's `link` rule, `cli` is `lotluca link`, `synthetic` draws canonical inputs for tests
and benchmarks. The merged tables of each scenario are the next stage (`lotluca.merge`).
"""
