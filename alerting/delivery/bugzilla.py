"""Bugzilla REST client, and filing a bug exactly once.

Only reads (GET) are retried by urllib3: a write that timed out or lost its connection may
already have happened, so retrying it blindly would duplicate a bug or a comment. Creating a
bug searches for the alert's whiteboard marker first, and a create whose outcome is unclear is
never sent again in the same run (`file_bug`): Bugzilla's search can lag behind its writes.

The API key lives only in the session's headers: never in a URL (redirects are refused, so it
is never sent elsewhere), a message, a repr or state/.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from alerting.alerts.ids import MAX_BUG_ID, whiteboard_marker
from alerting.errors import UserError
from alerting.http import REQUEST_DEADLINE, TIMEOUT, DeadlineExceeded, make_session
from alerting.settings import redact

__all__ = [
    "BugzillaClient",
    "BugzillaError",
    "FiledBug",
    "file_bug",
    "unclear_write",
    "whiteboard_marker",
]

log = logging.getLogger(__name__)

# Bugzilla WebService error codes meaning "this product or component cannot take the bug":
# 51 no such object (component), 105 component errors, 106 product unknown, closed or denied.
INVALID_PRODUCT_CODES = frozenset({51, 105, 106})
# 401s that mean the key itself is bad (every further request fails the same way).
AUTH_CODES = frozenset({300, 301, 305, 306, 307, 410})
MAX_TARGET = 4096  # bytes of request target per GET; Bugzilla answers 414 past about 8 KiB
ALERT_MARKER = re.compile(r"\[telemetry-alert:[^\]\s]+\]")  # as `whiteboard_marker` writes
MAX_NAME = 256  # characters of a product or component name kept from an answer
STATUS_FIELDS = ("id", "status", "resolution", "dupe_of", "last_change_time", "flags")
LOOPBACK = ("localhost", "127.0.0.1", "::1")


class BugzillaError(Exception):
    """A failed Bugzilla request; `status` is None when no HTTP answer arrived."""

    def __init__(self, message: str, status: int | None = None, code: int | None = None):
        super().__init__(message)
        self.status = status
        self.code = error_code(code)

    @property
    def transient(self) -> bool:
        """Worth trying again later: no answer, a server error or rate limiting."""
        return self.status is None or self.status == 429 or self.status >= 500

    @property
    def stops_step(self) -> bool:
        """Every further request would fail the same way (bad key, or blocked for an hour)."""
        return self.status == 429 or (self.status == 401 and self.code not in (102, 106))

    @property
    def invalid_product(self) -> bool:
        return self.code in INVALID_PRODUCT_CODES


def check_url(url: str) -> str:
    """The key travels in a header: refuse plain http except to this machine."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url.rstrip("/")
    if parts.scheme == "http" and parts.hostname in LOOPBACK:
        return url.rstrip("/")
    raise UserError(
        f"Bugzilla URL {url!r} must be https:// (set [bugzilla] url or ALERTING_BUGZILLA_URL)"
    )


def bug_url(base_url: str, bug_id: int) -> str:
    """The page of one bug, as people open it."""
    return f"{base_url.rstrip('/')}/show_bug.cgi?id={int(bug_id)}"


class BugzillaClient:
    """The REST subset the alerts need, on one session with the key in its headers."""

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        retries: int = 4,
        backoff: float = 1.0,
        timeout: tuple[float, float] = TIMEOUT,
        batch_size: int = 200,
        max_target: int = MAX_TARGET,
        deadline: float = REQUEST_DEADLINE,
    ):
        self.url = check_url(url)
        self.backoff = backoff
        self.timeout = timeout
        self.batch_size = max(1, batch_size)
        self.max_target = max_target
        self._secret = api_key
        self._session = make_session(retries=retries, backoff=backoff, deadline=deadline)
        for adapter in self._session.adapters.values():
            # Reads only; no hour-long sleep on Bugzilla's 429 (its block lasts an hour).
            adapter.max_retries = adapter.max_retries.new(
                allowed_methods=frozenset({"GET"}), respect_retry_after_header=False
            )
        self._session.headers["Accept"] = "application/json"
        if api_key:
            self._session.headers["X-BUGZILLA-API-KEY"] = api_key

    def __repr__(self) -> str:
        return f"BugzillaClient(url={self.url!r})"

    def close(self) -> None:
        self._session.close()

    def bug_url(self, bug_id: int) -> str:
        return bug_url(self.url, bug_id)

    # -- transport -------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, *, params: dict | None = None, body: dict | None = None
    ) -> dict:
        what = f"Bugzilla {method} {path}"
        try:
            response = self._session.request(
                method,
                self.url + path,
                params=params,
                json=body,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except DeadlineExceeded as error:
            raise BugzillaError(f"{what}: {error}") from None
        except requests.exceptions.Timeout:
            raise BugzillaError(f"{what}: no answer within {self.timeout[1]:g} s") from None
        except requests.exceptions.RetryError:
            raise BugzillaError(f"{what}: still failing after retries", 503) from None
        except requests.exceptions.RequestException as error:
            reason = type(error).__name__
            raise BugzillaError(f"{what}: connection failed ({reason})") from None
        return self._decode(what, response)

    def _decode(self, what: str, response: requests.Response) -> dict:
        status = response.status_code
        if status == 429:
            raise BugzillaError(
                f"{what}: HTTP 429 rate limited (Bugzilla blocks the client for about an hour)",
                429,
            )
        if status == 414:
            raise BugzillaError(f"{what}: HTTP 414 request target too long", 414)
        if 300 <= status < 400:
            raise BugzillaError(f"{what}: HTTP {status} redirect refused", status)
        data = self._json(response)
        if isinstance(data, dict) and data.get("error"):
            code = error_code(data.get("code"))
            message = str(data.get("message", ""))
            shown = code if code is not None else _brief(data.get("code"), 20)
            hint = " (check BUGZILLA_API_KEY)" if status == 401 and code in AUTH_CODES else ""
            raise BugzillaError(
                f"{what}: HTTP {status}, error {shown}: {message}{hint}", status, code
            )
        if status == 401:
            raise BugzillaError(f"{what}: HTTP 401 not authorized (check BUGZILLA_API_KEY)", 401)
        if status == 404:
            raise BugzillaError(f"{what}: HTTP 404 not found", 404)
        if status >= 400:
            raise BugzillaError(f"{what}: HTTP {status}", status)
        if not isinstance(data, dict):
            raise BugzillaError(f"{what}: HTTP {status} without a JSON object", status)
        return data

    def _json(self, response: requests.Response) -> object:
        """The answer's JSON, None when it is not JSON (or nested too deeply to read). The
        key is scrubbed from the text first, so no quote of the answer can carry it."""
        text = redact(response.content.decode("utf-8", errors="replace"), [self._secret])
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            return None

    # -- bugs ------------------------------------------------------------------------------

    def create_bug(self, request: dict) -> int:
        """One attempt; use `file_bug` to create exactly once."""
        data = self._request("POST", "/rest/bug", body=request)
        return answer_id(data.get("id"), "Bugzilla POST /rest/bug")

    def search_whiteboard(self, marker: str, fields: Iterable[str] = ("id",)) -> list[dict]:
        """Bugs, open or closed, whose whiteboard contains `marker`."""
        params = {
            "f1": "status_whiteboard",
            "o1": "substring",
            "v1": marker,
            "include_fields": ",".join(dict.fromkeys(("id", "whiteboard", *fields))),
        }
        what = "Bugzilla search"
        bugs = answer_bugs(self._request("GET", "/rest/bug", params=params), what)
        for bug in bugs:  # without its whiteboard, a bug cannot be told to carry the marker
            if not isinstance(bug.get("whiteboard"), str):
                raise BugzillaError(f"{what}: bug {bug['id']} listed without its whiteboard")
        found = {b["id"]: b for b in reversed(bugs) if marker in b["whiteboard"]}
        return [found[bug_id] for bug_id in sorted(found)]

    def get_bugs(self, ids: Iterable[int], fields: Iterable[str] = STATUS_FIELDS) -> list[dict]:
        """Bugs by id, in batches that keep each request target under `max_target` bytes."""
        include = ",".join(dict.fromkeys(("id", *fields)))
        found: list[dict] = []
        for batch in self._batches(sorted(set(ids)), budget=self.max_target - len(include) - 64):
            params = {"id": ",".join(map(str, batch)), "include_fields": include}
            data = self._request("GET", "/rest/bug", params=params)
            found.extend(answer_bugs(data, "Bugzilla GET /rest/bug"))
        return found

    def _batches(self, ids: list[int], budget: int) -> Iterator[list[int]]:
        batch: list[int] = []
        size = 0
        for bug_id in ids:
            cost = len(str(bug_id)) + 3  # the comma is sent as %2C
            if batch and (len(batch) >= self.batch_size or size + cost > budget):
                yield batch
                batch, size = [], 0
            batch.append(bug_id)
            size += cost
        if batch:
            yield batch

    def update_bug(self, bug_id: int, changes: dict) -> dict:
        """`PUT /rest/bug/{id}`: e.g. see_also add, a comment, flags."""
        data = self._request("PUT", f"/rest/bug/{int(bug_id)}", body=changes)
        bugs = data.get("bugs") or [{}]
        if not isinstance(bugs, list) or not isinstance(bugs[0], dict):
            raise BugzillaError(
                f"Bugzilla PUT /rest/bug/{int(bug_id)}: malformed answer {_brief(data)}"
            )
        return bugs[0]

    def add_comment(self, bug_id: int, markdown: str) -> int:
        body = {"comment": markdown, "is_markdown": True}
        path = f"/rest/bug/{int(bug_id)}/comment"
        data = self._request("POST", path, body=body)
        return answer_id(data.get("id"), f"Bugzilla POST {path}")

    def comments(self, bug_id: int) -> list[dict]:
        """`GET /rest/bug/{id}/comment`: the bug's comments, oldest first (id and text)."""
        params = {"include_fields": "id,text"}
        path = f"/rest/bug/{int(bug_id)}/comment"
        data = self._request("GET", path, params=params)
        # A missing list is an error, not "no comments": that would post the comment again.
        found = data.get("bugs")
        found = found.get(str(int(bug_id))) if isinstance(found, dict) else None
        found = found.get("comments") if isinstance(found, dict) else None
        # A comment without its text could not be told to carry a marker.
        if not _objects_with(found, "text"):
            raise BugzillaError(f"Bugzilla GET {path}: malformed answer {_brief(data)}")
        return [{**c, "id": answer_id(c.get("id"), f"Bugzilla GET {path}")} for c in found]

    def add_attachment(
        self, bug_id: int, png: bytes, file_name: str, summary: str, comment: str = ""
    ) -> int:
        body = {
            "ids": [int(bug_id)],
            "data": base64.b64encode(png).decode("ascii"),
            "content_type": "image/png",
            "file_name": file_name,
            "summary": summary,
        }
        if comment:
            body["comment"] = comment
            body["is_markdown"] = True
        path = f"/rest/bug/{int(bug_id)}/attachment"
        ids = self._request("POST", path, body=body).get("ids")
        return answer_id(ids[0] if isinstance(ids, list) and ids else None, f"Bugzilla POST {path}")

    def attachments(self, bug_id: int) -> list[dict]:
        params = {"include_fields": "id,file_name,content_type,is_obsolete"}
        path = f"/rest/bug/{int(bug_id)}/attachment"
        data = self._request("GET", path, params=params)
        # A missing list, or a file without its name, is an error, not "no plot attached yet".
        found = data.get("bugs")
        found = found.get(str(int(bug_id))) if isinstance(found, dict) else None
        if not _objects_with(found, "file_name"):
            raise BugzillaError(f"Bugzilla GET {path}: malformed answer {_brief(data)}")
        return [{**a, "id": answer_id(a.get("id"), f"Bugzilla GET {path}")} for a in found]


def answer_id(value: object, what: str) -> int:
    """The positive integer id an answer must carry; anything else is that request's error."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BugzillaError(f"{what}: the answer has no id (got {_brief(value)})")
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or not 0 < int(text) <= MAX_BUG_ID:
        raise BugzillaError(f"{what}: the answer's id is not a bug number: {_brief(value)}")
    return int(text)


def error_code(value: object) -> int | None:
    """The WebService error code of an error answer; None unless it is an integer."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def answer_bugs(data: dict, what: str) -> list[dict]:
    """The `bugs` list of an answer, each bug an object with an integer `id`. A missing list
    is an error, not "no bugs": that would file or post again what may exist."""
    if "bugs" not in data:
        raise BugzillaError(f"{what}: the answer has no `bugs` list: {_brief(data)}")
    bugs = data["bugs"]
    if not isinstance(bugs, list) or not all(isinstance(bug, dict) for bug in bugs):
        raise BugzillaError(f"{what}: `bugs` is not a list of bugs: {_brief(bugs)}")
    return [{**bug, "id": answer_id(bug.get("id"), what)} for bug in bugs]


def _objects_with(items: object, field: str) -> bool:
    """Whether `items` is a list of objects that each have the text `field`."""
    return isinstance(items, list) and all(
        isinstance(item, dict) and isinstance(item.get(field), str) for item in items
    )


def _brief(value: object, limit: int = 80) -> str:
    try:
        text = repr(value)
    except RecursionError:
        return "(a value nested too deeply to show)"
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class FiledBug:
    id: int
    adopted: bool  # found by its marker instead of created by this call
    product: str
    component: str
    note: str = ""  # what the search found that was not taken as the alert's bug


def file_bug(
    client: BugzillaClient,
    request: dict,
    marker: str,
    *,
    fallback: tuple[str, str] | None = None,
) -> FiledBug:
    """Create the bug for `request` unless one carrying `marker` exists.

    A create that failed without a clear rejection may still have created the bug (the answer
    can be lost after the server committed it, or the server may still be working on it), and
    Bugzilla's search reads a copy of its database that can lag behind: a search right after
    proves nothing. So such a create is not sent again here; the error is raised, the alert
    stays pending and the next run searches for `marker` first. (Connections that failed
    before the request was sent are retried by the session.) `fallback` (product, component)
    replaces a product/component Bugzilla rejects, which created nothing.
    """
    if marker not in request.get("whiteboard", ""):
        raise ValueError(f"the create request does not carry its marker {marker}")
    existing = client.search_whiteboard(marker, fields=("product", "component", "summary"))
    own = [b for b in existing if alert_markers(b["whiteboard"]) == {marker}]
    if own:
        return _adopted(own[0], request)
    note = _check_shared(existing, request, marker)
    request = dict(request)
    while True:
        try:
            bug_id = client.create_bug(request)
            return FiledBug(bug_id, False, request["product"], request["component"], note)
        except BugzillaError as error:
            wanted = (request["product"], request["component"])
            if error.invalid_product and fallback and wanted != fallback:
                log.warning("%s; filing in %s :: %s instead", error, *fallback)
                request["product"], request["component"] = fallback
                continue
            raise unclear_write(
                error, f"the bug may have been created; {marker} is searched for"
            ) from None


def alert_markers(whiteboard: str) -> set[str]:
    """The alert markers a whiteboard carries (people may add other tags beside them)."""
    return set(ALERT_MARKER.findall(whiteboard))


def _adopted(bug: dict, request: dict) -> FiledBug:
    """The alert's own bug, found by its marker. Its product and component are taken when
    they are plain names, else the request's: state/ must not hold what the answer made up."""
    product, component = bug.get("product"), bug.get("component")
    if _plain_name(product) and _plain_name(component):
        return FiledBug(bug["id"], True, product, component)
    note = (
        f"bug {bug['id']} was listed with product {_brief(product, 40)} and component"
        f" {_brief(component, 40)}; the request's are recorded"
    )
    return FiledBug(bug["id"], True, request["product"], request["component"], note)


def _plain_name(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_NAME and value.isprintable()


def _check_shared(bugs: list[dict], request: dict, marker: str) -> str:
    """Bugs that carry `marker` beside other alerts' markers (a person's tracking bug, say)
    are not the alert's own bug and are not adopted. One that still has the summary this
    alert's bug is filed with may be its own bug with markers added by hand: no bug is filed
    beside it, the alert waits for a person to decide. Returns what to report of the others."""
    shared = [b for b in bugs if marker in alert_markers(b["whiteboard"])]
    if not shared:
        return ""
    ids = ", ".join(f"bug {b['id']}" for b in shared)
    ids += " carry" if len(shared) > 1 else " carries"
    if any(b.get("summary") == request.get("summary") for b in shared):
        raise BugzillaError(
            f"{ids} {marker} beside other alerts' markers and this alert's bug summary:"
            f" it may be this alert's bug, so none is filed; remove the other markers from its"
            f" whiteboard to adopt it, or {marker} to file a new bug"
        )
    return f"{ids} {marker} beside other alerts' markers: not taken as this alert's bug"


def unclear_write(error: BugzillaError, outcome: str) -> BugzillaError:
    """`error` of a write, saying when the write may have happened anyway (no answer, a
    server error, a redirect, or a success that could not be read): it is not sent again in
    this run, and the next run looks for it first. Only a 4xx refusal wrote nothing."""
    if error.status is not None and 400 <= error.status < 500:
        return error
    message = f"{error} ({outcome} before trying again on the next run)"
    return BugzillaError(message, error.status, error.code)
