"""Taskcluster Notify's `POST /api/notify/v1/email` on a loopback port, checking Hawk
signatures with mohawk the way Taskcluster's auth service does (credentials by client id)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import mohawk
import mohawk.exc

CLIENT_ID = "project/telemetry-alerting/double"
ACCESS_TOKEN = "double-access-token-b81e44f0"


class NotifyDouble:
    def __init__(self, client_id: str = CLIENT_ID, access_token: str = ACCESS_TOKEN):
        self.credentials = {
            client_id: {"id": client_id, "key": access_token, "algorithm": "sha256"}
        }
        self.emails: list[dict] = []
        self.rejected = 0  # requests refused for a bad signature
        self.fail_next = 0  # answer this many requests with a 500 (without sending)
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self) -> NotifyDouble:
        handler = type("Handler", (_Handler,), {"double": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def root_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    double: NotifyDouble

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        double = self.double
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != "/api/notify/v1/email":
            return self._send(404, {"code": "ResourceNotFound", "message": "no such route"})
        try:
            mohawk.Receiver(
                double.credentials.__getitem__,
                self.headers.get("Authorization", ""),
                f"{double.root_url}{self.path}",
                "POST",
                content=body,
                content_type=self.headers.get("Content-Type", ""),
            )
        except (mohawk.exc.HawkFail, KeyError) as error:
            with double.lock:
                double.rejected += 1
            message = f"Hawk authentication failed: {type(error).__name__}"
            return self._send(401, {"code": "AuthenticationFailed", "message": message})
        with double.lock:
            if double.fail_next:
                double.fail_next -= 1
                return self._send(500, {"code": "InternalServerError", "message": "try later"})
            double.emails.append(json.loads(body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, status: int, data: dict) -> None:
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)
