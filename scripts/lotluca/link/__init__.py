"""ODH <-> SNDS record linkage and the merged exposure history of the study population.

Deterministic linkage first (`deterministic`), then probabilistic linkage of the rest with Splink
(`probabilistic`), one-to-one resolution (`resolve`), quality against a known truth (`quality`), the
per-scenario merged tables (`merge`); `pipeline` runs the whole stage from files, `cli` exposes it as
`lotluca link` / `lotluca merge`, `synthetic` draws canonical inputs for tests and benchmarks.
"""
