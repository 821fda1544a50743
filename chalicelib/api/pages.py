"""The browser pages (the inbox and the admin console) and their static files, served by the app itself.

The same pages are served locally and from API Gateway. The inbox learns the
WebSocket URL from a meta tag, and a strict Content-Security-Policy allows
scripts and styles from this origin only.
"""

from __future__ import annotations

import functools
import html
import json
from pathlib import Path
from typing import Any

from chalice.app import Response

from chalicelib.core.errors import NotFoundError

STATIC = Path(__file__).parent / "static"
CONTENT_TYPES = {
    "inbox-client.js": "text/javascript; charset=utf-8",
    "inbox.js": "text/javascript; charset=utf-8",
    "inbox-toasts.js": "text/javascript; charset=utf-8",
    "inbox-message.js": "text/javascript; charset=utf-8",
    "inbox-undo.js": "text/javascript; charset=utf-8",
    "inbox.css": "text/css; charset=utf-8",
    "page.js": "text/javascript; charset=utf-8",
    "admin.js": "text/javascript; charset=utf-8",
    "admin-compose.js": "text/javascript; charset=utf-8",
    "admin-log.js": "text/javascript; charset=utf-8",
    "admin.css": "text/css; charset=utf-8",
}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@functools.lru_cache(maxsize=8)
def _read(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def _html(page: str) -> Response:
    return Response(body=page, status_code=200, headers={"Content-Type": "text/html; charset=utf-8", **SECURITY_HEADERS})


def index_page(ws_client_url: str | None) -> Response:
    return _html(_read("index.html").replace("{{WS_URL}}", html.escape(ws_client_url or "", quote=True)))


def admin_page() -> Response:
    """The admin console; it signs in like the inbox and needs no WebSocket URL."""
    return _html(_read("admin.html"))


def static_file(name: str) -> Response:
    if name not in CONTENT_TYPES:
        raise NotFoundError(f"name: file '{name}' not found")
    headers: dict[str, str | list[str]] = {"Content-Type": CONTENT_TYPES[name], "Cache-Control": "no-cache"}
    headers.update(SECURITY_HEADERS)
    return Response(body=_read(name), status_code=200, headers=headers)


@functools.lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3 description of this API (``chalicelib/api/openapi.yaml``).

    The deployment zip carries it as ``openapi.json`` (`infra.deploy.bundle`), so
    that the functions need no YAML parser; a checkout reads the YAML as written.
    """
    packaged = Path(__file__).parent / "openapi.json"
    if packaged.exists():
        document: dict[str, Any] = json.loads(packaged.read_text(encoding="utf-8"))
        return document
    import yaml  # a development dependency: never in the zip

    with open(Path(__file__).parent / "openapi.yaml", encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    return document
