"""Learned line-boundary model: an xgboost classifier of treatment days trained on the gold standard.

`candidates` (treatment days and their gold labels), `features` (vectorised features, the rule engine's
own decisions included), `model` (grouped-by-person CV on the train split, threshold, out-of-fold
predictions, final model), `build_lines` (lines from predicted boundaries), `model_card` (Markdown).
"""
