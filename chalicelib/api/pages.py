"""The browser pages (the inbox and the admin console), the ``<inapp-inbox>`` element and their static files.

The same files are served locally and from API Gateway. The element's module
(``/inapp-inbox.js``) carries the WebSocket URL as the default of its ``ws``
attribute; the inbox page is a thin host of the element. A strict
Content-Security-Policy allows scripts and styles from this origin only (the
element styles itself with a constructed stylesheet, which it allows).

Other origins' pages load the element too: module scripts are fetched in CORS
mode, so every script answers ``Access-Control-Allow-Origin: *`` — they are
the same public files for everyone and carry no credentials.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from chalice.app import Response

from chalicelib.core.errors import NotFoundError

STATIC = Path(__file__).parent / "static"
ELEMENT_MODULE = Path(__file__).parent / "inapp-inbox.js"  # served at /inapp-inbox.js: its imports are static/…
SCRIPT = "text/javascript; charset=utf-8"
LOCALES = ("en", "nl", "de", "fr", "es", "zh-CN", "ja")
CONTENT_TYPES = {
    **dict.fromkeys(
        [
            "inbox-client.js",
            "inbox-element.js",
            "inbox-view.js",
            "inbox-channels.js",
            "inbox-messages.js",
            "inbox-message.js",
            "inbox-toasts.js",
            "inbox-undo.js",
            "inbox-popover.js",
            "inbox-snooze.js",
            "inbox-tags.js",
            "inbox-wiring.js",
            "inbox-template.js",
            "inbox-styles.js",
            "inbox-page.js",
            "dom.js",
            "i18n.js",
            *(f"i18n-{locale}.js" for locale in LOCALES),
            "page.js",
            "admin.js",
            "admin-compose.js",
            "admin-log.js",
            "admin-words.js",
            *(f"i18n-admin-{locale}.js" for locale in LOCALES),
        ],
        SCRIPT,
    ),
    "page.css": "text/css; charset=utf-8",
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
ANY_ORIGIN = {"Access-Control-Allow-Origin": "*"}  # for scripts: a page of any origin may load the element


@functools.lru_cache(maxsize=8)
def _read(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def _html(page: str) -> Response:
    return Response(body=page, status_code=200, headers={"Content-Type": "text/html; charset=utf-8", **SECURITY_HEADERS})


def index_page() -> Response:
    """The inbox page: sign-in around the element (which learns the WebSocket URL from its module)."""
    return _html(_read("index.html"))


def element_module(ws_client_url: str | None) -> Response:
    """``/inapp-inbox.js``: the element's entry module, the WebSocket URL filled in as a JavaScript string."""
    source = ELEMENT_MODULE.read_text(encoding="utf-8")
    body = source.replace('"{{WS_URL}}"', json.dumps(ws_client_url or ""))
    return Response(body=body, status_code=200, headers=_file_headers(SCRIPT))


def admin_page() -> Response:
    """The admin console; it signs in like the inbox and needs no WebSocket URL."""
    return _html(_read("admin.html"))


def static_file(name: str) -> Response:
    if name not in CONTENT_TYPES:
        raise NotFoundError(f"name: file '{name}' not found")
    return Response(body=_read(name), status_code=200, headers=_file_headers(CONTENT_TYPES[name]))


def _file_headers(content_type: str) -> dict[str, str | list[str]]:
    headers: dict[str, str | list[str]] = {"Content-Type": content_type, "Cache-Control": "no-cache", **SECURITY_HEADERS}
    if content_type == SCRIPT:
        headers.update(ANY_ORIGIN)
    return headers


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
