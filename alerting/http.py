"""One way to make HTTP sessions: a descriptive User-Agent, timeouts, retries with backoff
(urllib3's `Retry`) on connection errors, 429 and 5xx for idempotent requests, and deadlines.

Connect and read timeouts bound each wait, not a whole answer: a server that sends one byte
every few seconds never trips them. So every request also has a total deadline (retries and
the body included), and a run step can set a deadline that all its requests share
(`step_deadline`). When one passes, the request's socket is shut down, which ends any read
at once, and the caller gets `DeadlineExceeded` (a `requests` timeout). The waits between
retries (backoff, a server's Retry-After) end by the deadline too: a wait past it ends the
request at once instead of sleeping.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import InvalidHeader
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from alerting import __version__

USER_AGENT = f"firefox-telemetry-alerting/{__version__} (+https://github.com/mozilla)"
TIMEOUT = (10, 60)  # connect, read (seconds)
REQUEST_DEADLINE = 120.0  # seconds for one request, retries and the whole answer included
# Seconds for all the requests of one run step: the five steps that talk to servers fit in the
# daily workflow's hour with room for reading the data.
STEP_DEADLINE = 600.0
MAX_RETRY_AFTER = 64  # characters; an HTTP date takes 29


class DeadlineExceeded(requests.exceptions.Timeout):
    """A request, or the step it belongs to, ran out of time."""


class _Watch:
    """The sockets one exchange with a server uses until `end` (monotonic seconds); `expire`
    shuts them down. `reason` says why it ended early, if it did."""

    def __init__(self, end: float = float("inf")) -> None:
        self.sockets: list[socket.socket] = []
        self.expired = False
        self.end = end
        self.reason = ""
        self.lock = threading.Lock()

    def add(self, sock: socket.socket) -> None:
        with self.lock:
            self.sockets.append(sock)
            if self.expired:
                _shutdown(sock)

    def expire(self) -> None:
        with self.lock:
            self.expired = True
            for sock in self.sockets:
                _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


_WATCH: ContextVar[_Watch | None] = ContextVar("alerting_http_watch", default=None)
_STEP_END: ContextVar[float | None] = ContextVar("alerting_http_step_end", default=None)


class _Watched:
    """A connection that hands its socket to the current request's watch before waiting for
    the answer (pooled connections too, whose socket was opened by an earlier request)."""

    sock: socket.socket | None

    def getresponse(self, *args, **kwargs):
        watch = _WATCH.get()
        if watch is not None and self.sock is not None:
            watch.add(self.sock)
        return super().getresponse(*args, **kwargs)  # type: ignore[misc]


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = type("WatchedHTTPConnection", (_Watched, HTTPConnection), {})


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = type("WatchedHTTPSConnection", (_Watched, HTTPSConnection), {})


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


class DeadlineSession(requests.Session):
    """A session whose every request ends by its deadline, however the server answers."""

    def __init__(self, deadline: float = REQUEST_DEADLINE) -> None:
        super().__init__()
        self.deadline = deadline

    def request(self, method, url, **kwargs):  # type: ignore[override]
        if kwargs.get("stream"):
            raise ValueError("a deadline session reads whole answers; streaming is not supported")
        remaining = time_left(self.deadline)
        timeout = kwargs.get("timeout") or TIMEOUT
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        kwargs["timeout"] = (min(connect, remaining), min(read, remaining))
        with sockets_deadline(remaining) as watch:
            token = _WATCH.set(watch)
            try:
                # Not streamed, so the whole body is read here, under the watch.
                response = super().request(method, url, **kwargs)
            except requests.RequestException:
                if watch.expired:
                    raise DeadlineExceeded(_late(watch, remaining)) from None
                raise
            finally:
                _WATCH.reset(token)
        if watch.expired:  # cut short: headers or a body without a length may look complete
            raise DeadlineExceeded(_late(watch, remaining))
        return response


def _late(watch: _Watch, seconds: float) -> str:
    return watch.reason or f"no complete answer within {seconds:.3g} s"


class _DeadlineRetry(Retry):
    """urllib3's retries, whose waits between attempts (backoff, or a server's Retry-After of
    up to hours) end by the request's deadline: no socket is open then for it to shut down.

    urllib3 retries errors that are neither connecting nor reading (a TLS error after the
    request went out, say) whatever the method; a POST that may have reached the server is
    not sent again here."""

    def increment(self, method=None, url=None, *args, **kwargs):  # type: ignore[override]
        if method is not None and not self._is_method_retryable(method) and self.other != 0:
            return Retry.increment(self.new(other=0), method, url, *args, **kwargs)
        return super().increment(method, url, *args, **kwargs)

    def parse_retry_after(self, retry_after: str) -> float:
        """A Retry-After too long to be a number of seconds or a date, or a date no calendar
        holds (year 99999), is as malformed as any other bad value (a number of thousands of
        digits cannot even be converted)."""
        text = retry_after.strip()
        if len(text) > MAX_RETRY_AFTER:
            raise InvalidHeader(
                f"Invalid Retry-After header: {text[:20]}... ({len(text)} characters)"
            )
        try:
            return super().parse_retry_after(retry_after)
        except (ValueError, OverflowError):
            raise InvalidHeader(f"Invalid Retry-After header: {text}") from None

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        watch = _WATCH.get()
        if watch is None:
            return super().sleep(response)
        wait = (
            self.get_retry_after(response) if response and self.respect_retry_after_header else None
        )
        asked = wait is not None
        wait = self.get_backoff_time() if wait is None else wait
        if wait >= watch.end - time.monotonic():
            source = f"the server asked to wait {wait:.3g} s" if asked else f"{wait:.3g} s backoff"
            watch.reason = f"no time left to retry ({source}, past the deadline)"
            watch.expire()
            # Becomes a ConnectionError in requests; DeadlineSession reports the reason.
            raise DeadlineExceeded(watch.reason)
        if wait > 0:
            time.sleep(wait)


def time_left(deadline: float) -> float:
    """Seconds one exchange with a server may take: its own deadline, cut to what is left of
    its step's."""
    now = time.monotonic()
    end = now + deadline
    step_end = _STEP_END.get()
    if step_end is not None:
        if step_end <= now:
            raise DeadlineExceeded("this step's time for network requests is used up")
        end = min(end, step_end)
    return end - now


@contextlib.contextmanager
def sockets_deadline(seconds: float) -> Iterator[_Watch]:
    """Sockets added to the watch are shut down once `seconds` pass, which ends any wait on
    them at once (a per-read timeout never trips on a server sending a byte at a time)."""
    watch = _Watch(time.monotonic() + seconds)
    timer = threading.Timer(seconds, watch.expire)
    timer.daemon = True
    timer.start()
    try:
        yield watch
    finally:
        timer.cancel()


@contextlib.contextmanager
def step_deadline(seconds: float = STEP_DEADLINE) -> Iterator[None]:
    """All requests made inside share `seconds`; the first one past it fails at once."""
    token = _STEP_END.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _STEP_END.reset(token)


def make_session(
    retries: int = 4, backoff: float = 1.0, deadline: float = REQUEST_DEADLINE
) -> DeadlineSession:
    """A session that retries idempotent requests; POSTs are never retried blindly."""
    retry = _DeadlineRetry(
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
    session = DeadlineSession(deadline)
    adapter = _Adapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session
