"""Map a detection to mozilla-central nightlies and pushes, and build the links owners use.

The nightly list comes from hg's `json-firefoxreleases` (newest first). FOG build ids are
truncated to the hour (`YYYYMMDDHH`), so builds are matched at that precision. The embedded
default has no hg access: it uses deterministic sample builds derived from the data's build
ids, and every push range built from them is marked `sample`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

import requests

from alerting.alerts.model import PushRange
from alerting.data import buildids
from alerting.errors import UserError
from alerting.http import TIMEOUT, make_session

log = logging.getLogger(__name__)

_REVISION = re.compile("[0-9a-f]{40}")  # a mozilla-central changeset, as hg writes it
HG_PLATFORMS = {"Windows": "win64", "Linux": "linux64", "Darwin": "mac"}
TREEHERDER = "https://treeherder.mozilla.org/jobs"
GLAM = "https://glam.telemetry.mozilla.org"
# Without a previous nightly the pushlog shows the days before the build: a nightly built in
# the small hours holds the pushes of the day(s) before it.
DAYS_BEFORE_BUILD = 2
# Why a new alert has no push range (the detail of its `push range unknown` history event,
# which the bug quotes): both are looked for again on later runs.
NOT_LISTED = "hg's list of nightly builds did not have this build"


def unreachable(hg_url: str) -> str:
    """The reason for an unknown push range when hg's list of nightlies could not be read."""
    host = urlsplit(hg_url).netloc or hg_url
    return f"the list of nightly builds could not be read from {host}"


@dataclass(frozen=True)
class Build:
    node: str
    buildid: str  # 14 digits for hg builds
    platform: str
    sample: bool = False


def parse_firefoxreleases(payload: object) -> list[Build]:
    """Nightly builds from a `json-firefoxreleases` body (other channels are skipped); a
    ValueError saying what is wrong with a body of another shape."""
    return _nightlies(payload)[0]


def _nightlies(payload: object) -> tuple[list[Build], list[str]]:
    """The nightly builds of a body, and what is wrong with each nightly entry left out (a
    node that is no revision, a buildid that is no build time): one such entry must not
    become the build a push range starts from."""
    if not isinstance(payload, dict):
        raise ValueError(f"the answer is {_kind(payload)}, not an object with `builds`")
    if "builds" not in payload:
        raise ValueError("the answer has no `builds`")
    if not isinstance(payload["builds"], list):
        raise ValueError(f"`builds` is {_kind(payload['builds'])}, not a list of builds")
    entries = [
        entry
        for entry in payload["builds"]
        if isinstance(entry, dict) and entry.get("channel", "nightly") == "nightly"
    ]
    ids = [str(entry.get("buildid", "")) for entry in entries]
    _, _, real = buildids.build_times([b if b.isascii() and b.isdigit() else "" for b in ids])
    builds, left_out = [], []
    for entry, buildid, ok in zip(entries, ids, real.tolist(), strict=True):
        node = str(entry.get("node", ""))
        if _REVISION.fullmatch(node) and ok and len(buildid) in (10, 14):
            builds.append(Build(node=node, buildid=buildid, platform=str(entry.get("platform"))))
        else:
            left_out.append(f"node {node[:40]!r}, buildid {buildid[:20]!r}")
    return builds, left_out


def fetch_nightly_builds(base_url: str, session: requests.Session | None = None) -> list[Build]:
    session = session or make_session()
    url = f"{base_url.rstrip('/')}/json-firefoxreleases"
    try:
        response = session.get(url, timeout=TIMEOUT)
        response.raise_for_status()
    except (requests.RequestException, ValueError) as error:
        raise UserError(f"could not read nightly builds from {url}: {error}") from None
    try:
        builds, left_out = _nightlies(json.loads(response.content))
    except RecursionError:
        problem = "the answer is JSON nested too deeply to read"
    except UnicodeDecodeError:
        problem = "the answer is not UTF-8 text"
    except json.JSONDecodeError as error:
        problem = f"the answer is not JSON ({error})"
    except ValueError as error:
        problem = str(error)
    else:
        if left_out:
            log.warning(
                "%s: %d nightly entries left out, their node is no 40-hex revision or their "
                "buildid no build time (first: %s)",
                url,
                len(left_out),
                left_out[0],
            )
        return builds
    raise UserError(f"could not read nightly builds from {url}: {problem}")


def _kind(value: object) -> str:
    """What a JSON value is, in words."""
    if value is None:
        return "null"
    names = {bool: "true or false", dict: "an object", list: "a list", str: "a string"}
    return next((n for t, n in names.items() if isinstance(value, t)), "a number")


def sample_builds(build_ids: Iterable[str]) -> list[Build]:
    """Stand-in nightlies for the embedded sample data: one per data build id, with a node
    derived from it. Never real revisions: push ranges built from them say `sample`."""
    builds = []
    for build_id in sorted(set(build_ids)):
        digits = (build_id + "0000")[:14]
        node = hashlib.sha1(f"sample-build:{digits}".encode(), usedforsecurity=False).hexdigest()
        builds.extend(Build(node, digits, p, sample=True) for p in HG_PLATFORMS.values())
    return builds


def _matches(hg_buildid: str, data_build_id: str) -> bool:
    return hg_buildid[: len(data_build_id)] == data_build_id[:14]


def push_range(builds: list[Build], build_id: str, platform: str) -> PushRange:
    """The previous, detection and next nightly around `build_id` on the series' platform
    (any platform for Android/All: Fenix and the all-OS view share mozilla-central)."""
    hg_platform = HG_PLATFORMS.get(platform)
    candidates = [b for b in builds if hg_platform is None or b.platform == hg_platform]
    if not candidates and hg_platform is not None:
        candidates = list(builds)
    by_id: dict[str, Build] = {}
    for build in sorted(candidates, key=lambda b: (b.buildid, b.platform)):
        by_id.setdefault(build.buildid, build)
    ordered = [by_id[k] for k in sorted(by_id)]
    index = next((i for i, b in enumerate(ordered) if _matches(b.buildid, build_id)), None)
    if index is None:
        return PushRange(build=build_id)
    this = ordered[index]
    previous = ordered[index - 1] if index > 0 else None
    following = ordered[index + 1] if index + 1 < len(ordered) else None
    return PushRange(
        previous_build=previous.buildid if previous else "",
        build=this.buildid,
        next_build=following.buildid if following else "",
        from_rev=previous.node if previous else "",
        to_rev=this.node,
        sample=this.sample,
    )


def links(
    push: PushRange, hg_url: str, app: str, metric: str, platform: str, label: str
) -> dict[str, str]:
    """Treeherder (push and range), pushlog and GLAM links for one alert. The pushlog spans
    the pushes between the nightlies, or without a previous nightly the days before the build
    up to its own day."""
    found: dict[str, str] = {}
    if push.to_rev:
        found["treeherder"] = _url(TREEHERDER, repo="mozilla-central", revision=push.to_rev)
    if push.from_rev and push.to_rev:
        found["treeherder_range"] = _url(
            TREEHERDER, repo="mozilla-central", fromchange=push.from_rev, tochange=push.to_rev
        )
    if push.build:
        if push.previous_build:
            start = _date(push.previous_build)
        else:
            start = _date(push.build) - dt.timedelta(days=DAYS_BEFORE_BUILD)
        end = _date(push.build) + dt.timedelta(days=1)  # the pushlog's end date is exclusive
        found["pushlog"] = _url(
            f"{hg_url.rstrip('/')}/pushloghtml",
            startdate=start.isoformat(),
            enddate=end.isoformat(),
        )
    glam_os = "*" if platform == "All" else platform
    query = {"normalizationType": "non_normalized", "os": glam_os}
    if label:
        query["aggKey"] = label
    found["glam"] = _url(
        f"{GLAM}/{quote(app, safe='')}/probe/{quote(metric, safe='')}/explore", **query
    )
    return found


def _date(build_id: str) -> dt.date:
    return dt.date(int(build_id[:4]), int(build_id[4:6]), int(build_id[6:8]))


def _url(base: str, **query: str) -> str:
    """`base` (its variable path parts already quoted) with every query value percent-encoded."""
    return f"{base}?{urlencode(query)}"
