"""The learned line algorithm: an xgboost classifier of treatment days trained on the gold standard, as an
estimator (`LearnedLines`: fit, predict, save, load; docs/learned.md).

`candidates` (treatment days and their gold labels), `features` (vectorised features, the rule engine's
own decisions included), `model` (settings, grouped-by-person CV on the train split, threshold, final
model), `build_lines` (lines from predicted boundaries), `estimator` (`LearnedLines`, one model file),
`model_card` (Markdown), `steps` (the rules learned_fit and learned_card), `cli` (`lotluca learn`).
"""

from lotluca.learned.estimator import LearnedLines
from lotluca.learned.model import LearnedSettings

__all__ = ["LearnedLines", "LearnedSettings"]
