"""The HTTP API on loopback: `chalice.local` with API Gateway's answers where no route matches.

``chalice.local`` runs the app faithfully, but what it does around the app
does not match this API as deployed (with its gateway responses):

* an unknown path answers 403 "Missing Authentication Token", or with a
  bearer token a SigV4 complaint that echoes the whole token back; here it
  is 404 ``{"Code": "NotFoundError", "Message": …}``, the app's error shape,
  and nothing from the request but its method and path is repeated;
* a method ``http.server`` has no ``do_*`` for (``TRACE``, ``FOO``) answers
  a 501 HTML page; here it is 405 ``{"Code": "MethodNotAllowedError", …}``,
  as the app itself answers a known path's unsupported method;
* every request is logged twice (the app's line and an access line); here
  the app's line only, and one line for the requests the app never sees.

Two conveniences stand in for what a browser expects around a real app:
``/favicon.ico`` answers 204, and a browser following a link of this
origin's pages to an unknown path (a message's ``url`` such as
``/releases/2.14.0``, which belongs to the web app that embeds the inbox)
gets a small page saying so, instead of an error. Only such a link: the
browser says so in ``Sec-Fetch-Site: same-origin``. A path typed into the
address bar (``none``), or a typo such as ``/inbox``, is a 404 — for a
browser an HTML page naming the real ones.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import logging
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from chalice.config import Config
from chalice.local import ChaliceRequestHandler, LocalDevServer, RouteMatcher, create_local_server

from infra.local.lambdas.endpoint import MAX_PAYLOAD

logger = logging.getLogger("inapp.local.http")

ERROR_CODES = {400: "BadRequestError", 404: "NotFoundError", 405: "MethodNotAllowedError"}
APP_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{path} — your app</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem">
<h1>Your app's page: <code>{path}</code></h1>
<p>The message linked here. A path like this belongs to the web app that embeds the inbox;
the local stack has no such app, so it shows this page instead.</p>
<p><a href="/">Back to the inbox</a></p>
</body></html>
"""
NO_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Not found: {path}</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem">
<h1>No page at <code>{path}</code></h1>
<p>The inbox is at <a href="/">/</a>, the admin console at <a href="/admin">/admin</a>.</p>
</body></html>
"""


def _answer_bytes(body: str | bytes) -> int:
    """The body's size inside a proxy answer: a JSON string, or base64 when binary."""
    if isinstance(body, bytes):
        return len(base64.b64encode(body))
    return len(json.dumps(body))


class LocalApiHandler(ChaliceRequestHandler):
    """Chalice's request handler, with API Gateway's answers when no route matches."""

    routes: RouteMatcher
    methods: dict[str, set[str]]

    def _generic_handle(self) -> None:
        try:
            route = self.routes.match_route(self.path).route
        except ValueError:
            self._no_route()
            return
        if self.command == "HEAD" and "HEAD" not in self.methods[route]:
            self._method_not_allowed()  # Chalice's 405 would come with a body, which HEAD must not have
            return
        super()._generic_handle()

    # http.server dispatches on these names; the base class bound them to its own `_generic_handle`.
    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle  # noqa: N815

    def _send_http_response(self, code: int, headers: Any, body: str | bytes | None) -> None:
        """Lambda's 6 MB cap on what a function answers, which chalice.local does not have: API Gateway then says 502."""
        if body is not None and _answer_bytes(body) > MAX_PAYLOAD:  # Lambda's cap holds for answers too
            logger.error("the function's answer is over Lambda's 6 MB: 502", extra={"path": urlsplit(self.path).path})
            code, headers, body = 502, {"Content-Type": "application/json"}, json.dumps({"message": "Internal server error"})
        super()._send_http_response(code, headers, body)

    def _no_route(self) -> None:
        started = time.perf_counter()
        path = urlsplit(self.path).path  # never the query: it may hold a token
        if path == "/favicon.ico":
            status = self._reply(HTTPStatus.NO_CONTENT, b"", "image/x-icon")
        elif self.command == "GET" and "text/html" in (self.headers.get("Accept") or ""):
            followed = self.headers.get("Sec-Fetch-Site") == "same-origin"  # a link on one of this origin's pages
            code, page = (HTTPStatus.OK, APP_PAGE) if followed else (HTTPStatus.NOT_FOUND, NO_PAGE)
            status = self._reply(code, page.format(path=html.escape(path)).encode(), "text/html; charset=utf-8")
        else:
            status = self._reply_error(404, f"path: no route for {self.command} {path}")
        self._log(path, status, started)

    def _method_not_allowed(self) -> None:
        started = time.perf_counter()
        self._log(urlsplit(self.path).path, self._reply_error(405, self._not_allowed()), started)

    def _not_allowed(self) -> str:
        """The app's own wording for a 405 (`chalicelib.api.edge` rewrites Chalice's to it)."""
        return f"method: {self.command} is not allowed here"

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """`http.server`'s own errors (unknown method, malformed request line) as JSON, never HTML."""
        started = time.perf_counter()
        if code == HTTPStatus.NOT_IMPLEMENTED:
            code, message = 405, self._not_allowed()
        self.close_connection = True
        self._reply_error(code, message or HTTPStatus(code).phrase)
        if self.command:  # empty when the request line itself was unreadable
            self._log(urlsplit(self.path).path, code, started)

    def _reply_error(self, status: int, message: str) -> int:
        body = json.dumps({"Code": ERROR_CODES.get(status, "BadRequestError"), "Message": message}).encode()
        allow = self._allowed_methods() if status == 405 else None
        return self._reply(status, body, "application/json", {"Allow": allow} if allow else None)

    def _allowed_methods(self) -> str | None:
        """What a 405 must list (RFC 9110): the methods the path's route has."""
        try:
            route = self.routes.match_route(self.path).route
        except ValueError:
            return None
        return ", ".join(sorted(self.methods[route]))

    def _reply(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> int:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        return status

    def _log(self, path: str, status: int, started: float) -> None:
        duration = round((time.perf_counter() - started) * 1000, 1)
        logger.info("request", extra={"method": self.command, "path": path, "status": status, "duration_ms": duration})

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the app logs one line per request (`chalicelib.api.edge`), and `_log` the rest."""


class RoutesElsewhere:
    """The app as `chalice.local` sees it (routes, CORS, binary types), whose calls run somewhere else.

    `chalice.local` turns each request into API Gateway's proxy event and calls the app with it; here that call
    goes to ``invoke`` (a runtime process, `infra.local.lambdas.pool`), as API Gateway hands it to Lambda.
    """

    def __init__(self, app: Any, invoke: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        self._app = app
        self._invoke = invoke

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return self._invoke(event)


def local_api_server(
    app: Any, config: Config, port: int, invoke: Callable[[dict[str, Any]], dict[str, Any]] | None = None
) -> LocalDevServer:
    """`chalice.local`'s server for ``app`` on loopback, answering through `LocalApiHandler`.

    With ``invoke``, each request's event is run by it (a runtime process) instead of by ``app`` in this one.
    """
    server = create_local_server(app, config, "127.0.0.1", port)
    handler = type(
        "AppApiHandler",
        (LocalApiHandler,),
        {"routes": RouteMatcher(list(app.routes)), "methods": {path: set(entry) for path, entry in app.routes.items()}},
    )
    runs = app if invoke is None else RoutesElsewhere(app, invoke)
    server.server.RequestHandlerClass = functools.partial(handler, app_object=runs, config=config)
    return server
