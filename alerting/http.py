"""One way to make HTTP sessions: a descriptive User-Agent, timeouts, and retries with
backoff (urllib3's `Retry`) on connection errors, 429 and 5xx for idempotent requests."""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from alerting import __version__

USER_AGENT = f"firefox-telemetry-alerting/{__version__} (+https://github.com/mozilla)"
TIMEOUT = (10, 60)  # connect, read (seconds)


def make_session(retries: int = 4, backoff: float = 1.0) -> requests.Session:
    """A session that retries idempotent requests; POSTs are never retried blindly."""
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session
