"""Change detection on daily histogram series.

A step technique runs one sequence (`step_technique.py`), in the order the modules read best:
`days.py` (the usable days, spike days, far-off days, weekday pattern), the technique's
per-day features (`cdf_squared.py`, `quantile_steps.py`), `window_scores.py` (every start
against the weeks before it, in the series' own noise), `confirmation.py` (the days walked in
order, as the daily run sees them), `change_checks.py` (what a start must show besides its
score) and `detections.py` (what the pipeline gets, as `model.py` defines it). `technique.py`
says what a technique is, `registry.py` names them and checks their arguments, `fleet.py`
runs one over many series and `commands.py` is `alerting detect`.
"""
