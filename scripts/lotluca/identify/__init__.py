"""Identification of incident advanced NSCLC patients and their advanced-diagnosis date from the SNDS alone
(rules: `rules`; settings: `settings`; quality against the simulated truth: `quality`). docs/identify.md.
"""
