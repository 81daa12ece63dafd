"""Alerts and their state: ids, classification, grouping, and the JSON files under `state/`.

Layout of `state/` (one file per record so a day's changes are small diffs; `state/README.md`
describes every field, `schemas/` holds each record type's JSON Schema):

- `state/alerts/<alert id>.json`      one alert, its whole life (see `model.Alert`)
- `state/plots/<alert id>.json`       what the alert's plots draw, written once
- `state/summaries/<summary id>.json` alerts whose detection pushes lie within a day
- `state/probes/<probe>.json`         when each monitored series was first seen (lookback)
- `state/outbox/bugs/<alert id>.json` a Bugzilla create request drafted in outbox mode
- `state/outbox/emails/<date>/<recipient>.eml`  a digest email drafted in outbox mode
- `state/quarantine/...`              records the run could not use, kept for a person

Reading and writing go through `store.StateStore`; `check` is `alerting state check`.
"""
