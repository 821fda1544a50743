"""A web app of another origin that embeds ``<inapp-inbox>``: the host pages of ``tests/browser/hosts/``.

They are docs/browser.md's examples as written (``tests/unit/test_docs.py`` holds them to it). Served
here, on a second loopback port, three things of a real app change: the element's address
(``https://inbox.example.com/api``) becomes the local stack's, ``/vendor/…`` (React, Vue) comes from the
pages' ``node_modules`` (``npm ci`` at ``make install``), and ``/inbox-token`` — the app's backend handing
its signed-in user a token — answers one for ``user``.
"""

from __future__ import annotations

import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from chalicelib.core.auth import issue_token

HOSTS = Path(__file__).resolve().parent / "browser" / "hosts"
EXAMPLE_API = "https://inbox.example.com/api"
VENDOR = {
    "react.production.min.js": "react/umd/react.production.min.js",
    "react-dom.production.min.js": "react-dom/umd/react-dom.production.min.js",
    "vue.global.prod.js": "vue/dist/vue.global.prod.js",
}
FRAMEWORKS = {"plain": (), "react": ("react.production.min.js", "react-dom.production.min.js"), "vue": ("vue.global.prod.js",)}


def vendored(page: str) -> bool:
    """Whether a host page's framework is installed (npm was there at ``make install``)."""
    return all((HOSTS / "node_modules" / VENDOR[name]).exists() for name in FRAMEWORKS[page])


class ForeignHost:
    """The host pages on ``http://127.0.0.1:<port>`` (``origin``), serving from construction to ``stop()``."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.api = EXAMPLE_API  # the stack's URL once it runs: what the pages' element address becomes
        self.user = "host-user"  # whom /inbox-token signs in
        host = self

        class Handler(_Handler):
            served = host

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="foreign-host", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Handler(BaseHTTPRequestHandler):
    served: ForeignHost

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        name = path.rsplit("/", 1)[-1]
        if path == "/inbox-token":
            self._reply(issue_token(self.served.user, self.served.secret).encode(), "text/plain; charset=utf-8")
        elif path.startswith("/vendor/") and name in VENDOR and (HOSTS / "node_modules" / VENDOR[name]).exists():
            self._reply((HOSTS / "node_modules" / VENDOR[name]).read_bytes(), "text/javascript; charset=utf-8")
        elif path.endswith(".html") and path.removesuffix(".html").lstrip("/") in FRAMEWORKS:
            page = (HOSTS / name).read_text(encoding="utf-8").replace(EXAMPLE_API, self.served.api)
            self._reply(page.encode(), "text/html; charset=utf-8")
        else:
            self._reply(b"not found", "text/plain", HTTPStatus.NOT_FOUND)

    def _reply(self, body: bytes, content_type: str, status: HTTPStatus = HTTPStatus.OK) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read the pages, not an access log."""
