"""A loopback hg.mozilla.org double serving recorded `json-firefoxreleases` bodies."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HgDouble:
    """Serves `/mozilla-central/json-firefoxreleases`; `failures` 5xx answers come first, with
    `retry_after` as their Retry-After header when set."""

    def __init__(self, payload: dict, failures: int = 0, retry_after: str = "") -> None:
        self.payload = payload
        self.failures = failures
        self.retry_after = retry_after
        self.requests: list[str] = []
        double = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                double.requests.append(self.path)
                if double.failures > 0:
                    double.failures -= 1
                    self._send(503, b"<html>busy</html>", "text/html", double.retry_after)
                elif self.path.split("?")[0] == "/mozilla-central/json-firefoxreleases":
                    self._send(200, json.dumps(double.payload).encode(), "application/json")
                else:
                    self._send(404, b'{"error": "not found"}', "application/json")

            def _send(self, status: int, body: bytes, kind: str, retry_after: str = "") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                if retry_after:
                    self.send_header("Retry-After", retry_after)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/mozilla-central"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HgDouble:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
