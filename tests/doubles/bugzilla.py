"""A Bugzilla speaking the REST subset the alerts use, on a loopback port.

Bug records are built from a real BMO record (tests/fixtures/bugzilla/), errors have
Bugzilla's shapes (`{"error": true, "code", "message", "documentation"}` with its HTTP
statuses, 414 as plain text, 429 as HTML), and faults can be queued per route: a server
error or rate limit, a hang past the client's timeout, or a connection reset, each before or
after the bug was created. `created` counts bugs created through the API. Comments are
kept in Bugzilla's shape and listed by `GET /rest/bug/{id}/comment`. `lag()` makes searches
and comment lists read a replica that misses what is written after it, as BMO's can, until
`catch_up()`.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import socket
import struct
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).parent.parent / "fixtures" / "bugzilla"
TEMPLATE = FIXTURES / "libmozdata__rest_bug__search_resolution=FIXED.json"
API_KEY = "double-api-key-7f3c9a1e5b2d"
DOCS = "https://bmo.readthedocs.io/en/latest/api/"
MAX_TARGET = 8192
RATE_LIMITED_HTML = (
    "<!DOCTYPE html><html><head><title>429 Too Many Requests</title></head><body>"
    "<h1>Too Many Requests</h1><p>You have been rate limited.</p></body></html>"
)
PRODUCTS = {
    "Toolkit": {"Telemetry", "General"},
    "Core": {"Networking", "Networking: HTTP", "Graphics", "DOM: Core & HTML"},
    "Firefox": {"General"},
}


@dataclass
class Fault:
    method: str
    path: str  # exact path, or a prefix ending in "/"
    # 500 | 503 | 429 | 500-after-create | hang | hang-after-create | reset | reset-after-create
    # | trickle (an answer one byte at a time) | bugs-not-a-list | created-without-id
    # | comments-of-no-bug (a comment list without the bug asked for) | empty-object (200 {})
    # | without:FIELD (the answer with FIELD left out of every object) | deep-json
    # | error-code-object (an error whose code is an object) | echo-key (the request's key
    # quoted in a malformed answer) | 303-after-create | html-after-create | truncated-after-create
    kind: str
    times: int = 1


class BugzillaError(Exception):
    def __init__(self, status: int, code: int, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class BugzillaDouble:
    def __init__(self, api_key: str = API_KEY, hang_seconds: float = 5.0):
        self.api_key = api_key
        self.hang_seconds = hang_seconds
        self.trickle_seconds = 0.5
        self.bugs: dict[int, dict] = {}
        self.comments: dict[int, list[dict]] = {}
        self.attachments: dict[int, list[dict]] = {}
        self.created = 0  # bugs created through POST /rest/bug
        self.log: list[tuple[str, str]] = []  # (method, target) of every request
        self.faults: list[Fault] = []
        self.now = "2025-01-01T00:00:00Z"
        self.lock = threading.Lock()
        self.release = threading.Event()
        self._next_bug = 1_900_001
        self._next_item = 17_000_001
        self._template = json.loads(TEMPLATE.read_text())["bugs"][0]
        self._server: ThreadingHTTPServer | None = None
        self.replica: set[int] | None = None  # bug and comment ids searches see while lagging

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> BugzillaDouble:
        handler = type("Handler", (_Handler,), {"double": self})
        self._server = _QuietServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- test controls -----------------------------------------------------------------

    def fail(self, method: str, path: str, kind: str, times: int = 1) -> None:
        self.faults.append(Fault(method, path, kind, times))

    def load(self, bugs: list[dict]) -> None:
        """Existing bugs (e.g. real records from a fixture)."""
        for bug in bugs:
            self.bugs[int(bug["id"])] = copy.deepcopy(bug)

    def set_state(self, bug_id: int, resolution: str, dupe_of: int | None = None) -> None:
        """What a person does in Bugzilla: resolve ("" reopens) or mark a duplicate."""
        with self.lock:
            bug = self.bugs[bug_id]
            bug["resolution"] = resolution
            bug["status"] = "RESOLVED" if resolution else "REOPENED"
            bug["is_open"] = not resolution
            bug["dupe_of"] = dupe_of if resolution == "DUPLICATE" else None
            bug["last_change_time"] = self.now

    def lag(self) -> None:
        """From now on searches and comment lists miss new bugs and comments."""
        with self.lock:
            comments = {c["id"] for listed in self.comments.values() for c in listed}
            self.replica = set(self.bugs) | comments

    def catch_up(self) -> None:
        self.replica = None

    def visible(self, item_id: int) -> bool:
        return self.replica is None or item_id in self.replica

    def with_marker(self, marker: str) -> list[dict]:
        return [b for b in self.bugs.values() if marker in b["whiteboard"]]

    # -- behaviour ---------------------------------------------------------------------

    def take_fault(self, method: str, path: str) -> str:
        with self.lock:
            for fault in self.faults:
                matches = path == fault.path or (
                    fault.path.endswith("/") and path.startswith(fault.path)
                )
                if fault.method == method and matches and fault.times > 0:
                    fault.times -= 1
                    return fault.kind
        return ""

    def create(self, body: dict) -> int:
        for name in ("product", "component", "summary", "type"):
            if not body.get(name):
                raise BugzillaError(
                    400,
                    50,
                    f"The function requires a {name} argument, and that argument was not set.",
                )
        product, component = body["product"], body["component"]
        if product not in PRODUCTS:
            raise BugzillaError(
                401,
                106,
                f"Sorry, either the product '{product}' does not exist or you aren't "
                "authorized to enter a bug into it.",
            )
        if component not in PRODUCTS[product]:
            raise BugzillaError(
                404, 51, f"There is no component named '{component}' in the '{product}' product."
            )
        with self.lock:
            bug_id = self._next_bug
            self._next_bug += 1
            bug = copy.deepcopy(self._template)
            bug.update(
                id=bug_id,
                product=product,
                component=component,
                summary=body["summary"],
                type=body["type"],
                severity=body.get("severity", "--"),
                priority=body.get("priority", "--"),
                keywords=sorted(body.get("keywords", [])),
                whiteboard=body.get("whiteboard", ""),
                cc=list(body.get("cc", [])),
                status="NEW",
                resolution="",
                is_open=True,
                dupe_of=None,
                duplicates=[],
                see_also=list(body.get("see_also", [])),
                flags=[self._flag(f) for f in body.get("flags", [])],
                creation_time=self.now,
                last_change_time=self.now,
                cf_last_resolved=None,
                comment_count=1,
            )
            self.bugs[bug_id] = bug
            self._comment(bug_id, body.get("description", ""))
            self.created += 1
        return bug_id

    def _comment(self, bug_id: int, text: str) -> dict:
        """A comment in Bugzilla's shape (`GET /rest/bug/{id}/comment`); `count` 0 is the
        description."""
        existing = self.comments.setdefault(bug_id, [])
        comment = {
            "id": self._item(),
            "bug_id": bug_id,
            "attachment_id": None,
            "count": len(existing),
            "text": text,
            "raw_text": text,
            "author": "telemetry-alerts@mozilla.com",
            "creator": "telemetry-alerts@mozilla.com",
            "time": self.now,
            "creation_time": self.now,
            "is_private": False,
            "is_markdown": True,
            "tags": [],
        }
        existing.append(comment)
        return comment

    def _item(self) -> int:
        self._next_item += 1
        return self._next_item

    def _flag(self, flag: dict) -> dict:
        return {
            "id": self._item(),
            "name": flag["name"],
            "type_id": 800,
            "status": flag["status"],
            "requestee": flag.get("requestee", ""),
            "setter": "telemetry-alerts@mozilla.com",
            "creation_date": self.now,
            "modification_date": self.now,
        }

    def bug(self, bug_id: int) -> dict:
        if bug_id not in self.bugs:
            raise BugzillaError(404, 101, f"Bug #{bug_id} does not exist.")
        return self.bugs[bug_id]

    def update(self, bug_id: int, body: dict) -> dict:
        with self.lock:
            bug = self.bug(bug_id)
            changes: dict = {}
            see_also = body.get("see_also", {})
            added = [u for u in see_also.get("add", []) if u not in bug["see_also"]]
            if added:
                bug["see_also"].extend(added)
                changes["see_also"] = {"added": ", ".join(added), "removed": ""}
            if "comment" in body:
                self._comment(bug_id, body["comment"]["body"])
                bug["comment_count"] += 1
            for flag in body.get("flags", []):
                bug["flags"].append(self._flag(flag))
                changes["flagtypes.name"] = {"added": f"{flag['name']}{flag['status']}"}
            for name in ("status", "resolution", "dupe_of"):
                if name in body:
                    changes[name] = {"added": str(body[name]), "removed": str(bug.get(name))}
                    bug[name] = body[name]
            if changes or "comment" in body:
                bug["last_change_time"] = self.now
            return {"id": bug_id, "alias": None, "last_change_time": self.now, "changes": changes}

    def search(self, query: dict[str, list[str]]) -> dict:
        bugs = list(self.bugs.values())
        if "id" in query:
            wanted = {int(i) for i in ",".join(query["id"]).split(",") if i}
            bugs = [b for b in bugs if b["id"] in wanted]
        if query.get("f1") == ["status_whiteboard"] and query.get("o1") == ["substring"]:
            bugs = [b for b in bugs if query["v1"][0] in b["whiteboard"] and self.visible(b["id"])]
        fields = ",".join(query.get("include_fields", [])).split(",")
        shown = [_only(b, fields) for b in sorted(bugs, key=lambda b: b["id"])]
        return {"bugs": shown, "faults": []} if "id" in query else {"bugs": shown}


# Answers of the shape no Bugzilla sends, by fault kind: (status, body, content type).
ODD_ANSWERS = {
    "empty-object": (200, b"{}", "application/json"),
    "deep-json": (200, b'{"bugs": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", "application/json"),
    "error-code-object": (400, b'{"error": true, "code": {"n": 1}, "message": "odd"}', "text/json"),
    "303": (303, b"", "text/html"),
    "html": (200, b"<html>ok</html>", "text/html"),
    "truncated": (201, b'{"id": ', "application/json"),
}


def _without(data: object, field: str) -> object:
    """`data` with `field` left out of every object in it."""
    if isinstance(data, dict):
        return {k: _without(v, field) for k, v in data.items() if k != field}
    if isinstance(data, list):
        return [_without(v, field) for v in data]
    return data


def _only(bug: dict, fields: list[str]) -> dict:
    fields = [f for f in fields if f]
    return {k: copy.deepcopy(v) for k, v in bug.items() if not fields or k in fields}


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # resets and timeouts are what the tests inject


class _Handler(BaseHTTPRequestHandler):
    double: BugzillaDouble

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def _serve(self, method: str) -> None:
        double = self.double
        double.log.append((method, self.path))
        if len(self.path) > MAX_TARGET:
            return self._send(414, b"Request-URI Too Long\n", "text/plain")
        target = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        fault = double.take_fault(method, target.path)
        if fault in ("500", "503"):
            return self._error(int(fault), 32000, "Internal Error")
        if fault == "429":
            return self._send(429, RATE_LIMITED_HTML.encode(), "text/html; charset=utf-8")
        if fault == "reset":
            return self._reset()
        if fault == "hang":
            double.release.wait(double.hang_seconds)
            return self._reset()
        if fault == "trickle":
            return self._trickle(json.dumps({"bugs": []}).encode())
        if fault == "bugs-not-a-list":
            return self._send(200, b'{"bugs": "notalist"}', "application/json; charset=UTF-8")
        if fault == "comments-of-no-bug":
            return self._send(200, b'{"bugs": {}, "comments": {}}', "application/json")
        if fault == "created-without-id":
            return self._send(201, b'{"ok": true}', "application/json; charset=UTF-8")
        if fault in ODD_ANSWERS:
            return self._send(*ODD_ANSWERS[fault])
        if fault == "echo-key":
            echo = {"bugs": {"headers": {"X-Bugzilla-Api-Key": self.headers["X-BUGZILLA-API-KEY"]}}}
            return self._send(200, json.dumps(echo).encode(), "application/json")
        key = self.headers.get("X-BUGZILLA-API-KEY")
        if key is not None and key != double.api_key:
            return self._error(
                401,
                306,
                "The API key you specified is invalid. Please check that you typed it correctly.",
            )
        if key is None and method != "GET":
            return self._error(401, 410, "You must log in before using this part of Bugzilla.")
        try:
            body = json.loads(raw) if raw else {}
            status, data = self._route(method, target.path, parse_qs(target.query), body)
        except BugzillaError as error:
            return self._error(error.status, error.code, error.message)
        except (ValueError, KeyError, TypeError) as error:
            return self._error(400, 32000, f"Invalid request: {error}")
        if fault == "500-after-create":
            return self._error(500, 32000, "Internal Error")
        if fault == "reset-after-create":
            return self._reset()
        if fault == "hang-after-create":
            double.release.wait(double.hang_seconds)
        if fault.endswith("-after-create") and fault[: -len("-after-create")] in ODD_ANSWERS:
            return self._send(*ODD_ANSWERS[fault[: -len("-after-create")]])
        if fault.startswith("without:"):
            data = _without(data, fault.removeprefix("without:"))
        self._send(status, json.dumps(data).encode(), "application/json; charset=UTF-8")

    def _route(self, method: str, path: str, query: dict, body: dict) -> tuple[int, dict]:
        double = self.double
        parts = path.strip("/").split("/")
        if parts[:2] != ["rest", "bug"]:
            raise BugzillaError(
                404, 32614, f"A REST API resource was not found for '{method} {path}'."
            )
        if len(parts) == 2 and method == "GET":
            return 200, double.search(query)
        if len(parts) == 2 and method == "POST":
            return 201, {"id": double.create(body)}
        bug_id = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 0
        if len(parts) == 3 and method == "GET":
            return 200, {"bugs": [_only(double.bug(bug_id), [])], "faults": []}
        if len(parts) == 3 and method == "PUT":
            return 200, {"bugs": [double.update(bug_id, body)]}
        if parts[3:] == ["comment"] and method == "POST":
            double.update(bug_id, {"comment": {"body": body["comment"]}})
            return 201, {"id": double.comments[bug_id][-1]["id"]}
        if parts[3:] == ["comment"] and method == "GET":
            double.bug(bug_id)
            fields = ",".join(query.get("include_fields", [])).split(",")
            listed = [c for c in double.comments.get(bug_id, []) if double.visible(c["id"])]
            shown = [_only(c, fields) for c in listed]
            return 200, {"bugs": {str(bug_id): {"comments": shown}}, "comments": {}}
        if parts[3:] == ["attachment"] and method == "POST":
            data = base64.b64decode(body["data"], validate=True)
            with double.lock:
                double.bug(bug_id)
                attachment = {
                    "id": double._item(),
                    "file_name": body["file_name"],
                    "summary": body["summary"],
                    "content_type": body["content_type"],
                    "is_obsolete": 0,
                    "data": data,
                }
                double.attachments.setdefault(bug_id, []).append(attachment)
                double.bugs[bug_id]["last_change_time"] = double.now
            return 201, {"ids": [attachment["id"]]}
        if parts[3:] == ["attachment"] and method == "GET":
            double.bug(bug_id)
            fields = ",".join(query.get("include_fields", [])).split(",")
            shown = [
                _only({k: v for k, v in a.items() if k != "data"}, fields)
                for a in double.attachments.get(bug_id, [])
            ]
            return 200, {"bugs": {str(bug_id): shown}, "attachments": {}}
        raise BugzillaError(404, 32614, f"A REST API resource was not found for '{method} {path}'.")

    def _error(self, status: int, code: int, message: str) -> None:
        data = {"error": True, "code": code, "message": message, "documentation": DOCS}
        self._send(status, json.dumps(data).encode(), "application/json; charset=UTF-8")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _trickle(self, body: bytes) -> None:
        """A 200 whose body arrives one byte per `trickle_seconds`: every read is quick, the
        answer never ends in useful time."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for byte in body:
            if self.double.release.wait(self.double.trickle_seconds):
                return
            self.wfile.write(bytes([byte]))
            self.wfile.flush()

    def _reset(self) -> None:
        """Drop the connection with a TCP reset, sending nothing back."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
