"""Paper figures and tables (matplotlib, Agg backend; docs/figures.md): one module per figure or table family.

- `style`: shared look (labels, regimen-class colours), `save_figure` (PNG at the configured dpi + PDF).
- `cohort`: Fig 1, cohort flow (counts from the stage outputs, small counts suppressed).
- `accuracy`: Fig 2 (line F1 and full-sequence match with CIs, algorithm x scenario), Table 2, and
  `best_algorithm` (the algorithm shown next to gold in Figs 3-5 and Table 3).
- `pathways`: Fig 3, Sankey-style 1L -> 2L -> 3L flows by regimen class, gold next to the best algorithm.
- `km`: Fig 4, Kaplan-Meier rwTTNT / rwOS by line, gold vs algorithm, at-risk tables under the axes.
- `swimmer`: Fig 5, swimmer plot of seeded random test persons (gold lines above, predicted below).
- `forest`: Fig 6, forest plot of the bias of effectiveness estimates (median differences, HR ratios).
- `tables`: Tables 1-4 (baseline characteristics, accuracy, medians, calibration) as CSV + Markdown.
- `settings`: the `figures` config block (`FiguresSettings`).
- `steps`: one step function per rule (`figures_cohort`, ..., `figures_table_calibration`): read the
  inputs, choose the best algorithm, call the above, write.

Every plotting function takes DataFrames and the output paths and returns the figure; every table
function takes DataFrames and returns a DataFrame (small counts suppressed with `lotluca.privacy`).
"""
