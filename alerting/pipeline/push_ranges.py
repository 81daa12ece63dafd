"""Step 3, map pushes: the nightly builds around each change, as a push range."""

from __future__ import annotations

from alerting.alerts import pushes
from alerting.alerts.describe import range_follows
from alerting.pipeline.context import Context
from alerting.pipeline.findings import Candidate
from alerting.steplog import StepLog


def map_pushes(ctx: Context, found: list[Candidate], step: StepLog) -> None:
    """Push ranges for new detections, and another try for alerts whose nightly was not
    known (or hg not reachable) on an earlier run."""
    unmapped = [
        a for a in (ctx.alerts[k] for k in sorted(ctx.alerts)) if range_follows(a.push_range)
    ]
    if not found and (ctx.sample_builds or not unmapped):
        return
    if ctx.sample_builds:
        build_ids = {b for f in found for b in f.series.build_ids if b}
        builds = pushes.sample_builds(build_ids)
        step.notes.append("embedded default: sample builds, not real mozilla-central pushes")
    else:
        try:
            builds = pushes.fetch_nightly_builds(ctx.settings.hg.url)
        except Exception as error:
            step.errors.append(f"nightly builds unavailable, push ranges left empty: {error}")
            for item in found:
                item.push_unknown = pushes.unreachable(ctx.settings.hg.url)
            return
    for item in found:
        item.push_range = pushes.push_range(builds, item.detection.build_id, item.platform)
        step.add("mapped" if item.push_range.to_rev else "no nightly found")
        if not item.push_range.to_rev:
            item.push_unknown = pushes.NOT_LISTED
    if ctx.sample_builds:
        return
    for alert in unmapped:
        push = pushes.push_range(builds, alert.build_id, alert.platform)
        if push.to_rev:
            alert.push_range = push
            alert.links.update(
                pushes.links(
                    push, ctx.settings.hg.url, alert.app, alert.metric, alert.platform, alert.label
                )
            )
            alert.record(ctx.run_date, "push range", f"{push.from_rev[:12]}..{push.to_rev[:12]}")
            ctx.guarded(step, ctx.store.save_alert)(alert)
            step.add("mapped later")
