"""Alerts and their state: ids, classification, grouping, and the JSON files under `state/`.

Layout of `state/` (one file per alert or summary so a day's changes are small diffs):

- `state/alerts/<alert id>.json`      one alert, its whole life (see `model.Alert`)
- `state/summaries/<summary id>.json` alerts whose detection pushes lie within a day
- `state/outbox/bugs/<alert id>.json` a Bugzilla create request drafted in outbox mode
- `state/outbox/emails/<date>/<recipient>.eml`  a digest email drafted in outbox mode
- `state/probes/<probe>.json`         when each monitored series was first seen (lookback)
"""
