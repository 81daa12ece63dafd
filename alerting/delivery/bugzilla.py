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
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from alerting.alerts.ids import whiteboard_marker
from alerting.errors import UserError
from alerting.http import REQUEST_DEADLINE, TIMEOUT, DeadlineExceeded, make_session

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
STATUS_FIELDS = ("id", "status", "resolution", "dupe_of", "last_change_time", "flags")
LOOPBACK = ("localhost", "127.0.0.1", "::1")


class BugzillaError(Exception):
    """A failed Bugzilla request; `status` is None when no HTTP answer arrived."""

    def __init__(self, message: str, status: int | None = None, code: int | None = None):
        super().__init__(message)
        self.status = status
        self.code = code

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
        try:
            data = response.json()
        except ValueError:
            data = None
        if isinstance(data, dict) and data.get("error"):
            code = data.get("code")
            message = self._scrub(str(data.get("message", "")))
            hint = " (check BUGZILLA_API_KEY)" if status == 401 and code in AUTH_CODES else ""
            raise BugzillaError(
                f"{what}: HTTP {status}, error {code}: {message}{hint}", status, code
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

    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, "[redacted]") if self._secret else text

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
        bugs = answer_bugs(self._request("GET", "/rest/bug", params=params), "Bugzilla search")
        return sorted(
            (b for b in bugs if marker in str(b.get("whiteboard", ""))), key=lambda b: b["id"]
        )

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
        if not isinstance(found, list) or not all(isinstance(c, dict) for c in found):
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
        found = data.get("bugs", {})
        found = found.get(str(int(bug_id)), []) if isinstance(found, dict) else None
        if not isinstance(found, list) or not all(isinstance(a, dict) for a in found):
            raise BugzillaError(f"Bugzilla GET {path}: malformed answer {_brief(data)}")
        return found


def answer_id(value: object, what: str) -> int:
    """The positive integer id an answer must carry; anything else is that request's error."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BugzillaError(f"{what}: the answer has no id (got {_brief(value)})")
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or not 0 < int(text) < 2**63:
        raise BugzillaError(f"{what}: the answer's id is not a bug number: {_brief(value)}")
    return int(text)


def answer_bugs(data: dict, what: str) -> list[dict]:
    """The `bugs` list of an answer, each bug an object with an integer `id`."""
    bugs = data.get("bugs", [])
    if not isinstance(bugs, list) or not all(isinstance(bug, dict) for bug in bugs):
        raise BugzillaError(f"{what}: `bugs` is not a list of bugs: {_brief(bugs)}")
    return [{**bug, "id": answer_id(bug.get("id"), what)} for bug in bugs]


def _brief(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class FiledBug:
    id: int
    adopted: bool  # found by its marker instead of created by this call
    product: str
    component: str


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
    existing = client.search_whiteboard(marker, fields=("product", "component"))
    if existing:
        bug = existing[0]
        product = bug.get("product", request["product"])
        component = bug.get("component", request["component"])
        return FiledBug(int(bug["id"]), True, product, component)
    request = dict(request)
    while True:
        try:
            bug_id = client.create_bug(request)
            return FiledBug(bug_id, False, request["product"], request["component"])
        except BugzillaError as error:
            wanted = (request["product"], request["component"])
            if error.invalid_product and fallback and wanted != fallback:
                log.warning("%s; filing in %s :: %s instead", error, *fallback)
                request["product"], request["component"] = fallback
                continue
            raise unclear_write(
                error, f"the bug may have been created; {marker} is searched for"
            ) from None


def unclear_write(error: BugzillaError, outcome: str) -> BugzillaError:
    """`error` of a write, saying when the write may have happened anyway (no answer or a
    server error): it is not sent again in this run, and the next run looks for it first."""
    if not error.transient or error.status == 429:  # refused: nothing was written
        return error
    message = f"{error} ({outcome} before trying again on the next run)"
    return BugzillaError(message, error.status, error.code)
