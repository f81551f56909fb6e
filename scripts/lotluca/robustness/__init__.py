"""Robustness grid: every line algorithm scored on small cohorts simulated outside the tuned ranges
(docs/robustness.md)."""
