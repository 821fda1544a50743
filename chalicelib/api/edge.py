"""The HTTP edge: auth, bodies, CORS, request logs, and the one place where
domain errors become Chalice's HTTP errors."""

from __future__ import annotations

import functools
import logging
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from chalice import app as chalice

from chalicelib.core import errors, logs
from chalicelib.core.auth import Principal, bearer_token, verify_token
from chalicelib.core.config import Settings, get_auth_settings, get_settings
from chalicelib.core.json_text import parse_json_object

if TYPE_CHECKING:
    from chalicelib.sending import SendCommand

Request = chalice.Request

logger = logging.getLogger("chalicelib.api.edge")
F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

HTTP_ERRORS: dict[type[errors.InboxError], type[chalice.ChaliceViewError]] = {
    errors.ValidationError: chalice.BadRequestError,
    errors.UnauthorizedError: chalice.UnauthorizedError,
    errors.ForbiddenError: chalice.ForbiddenError,
    errors.NotFoundError: chalice.NotFoundError,
    errors.ConflictError: chalice.ConflictError,
    errors.BusyError: chalice.TooManyRequestsError,
    errors.RateLimitedError: chalice.TooManyRequestsError,  # answered with its Retry-After: too_many_requests
}
# Chalice answers these itself, before any view runs, with messages that name no field: said field first.
CHALICE_OWN = {
    405: ("Unsupported method: ", "method: {} is not allowed here"),
    415: ("Unsupported media type: ", "Content-Type: must be application/json, not {}"),
}
ALLOWED_HEADERS = "Authorization,Content-Type,Idempotency-Key"
PREFLIGHT_MAX_AGE = "600"
# Where the edge reads the settings: the composition root (app.py) points it at the
# per-container services, so that the first authenticated request also binds the models.
_settings: Callable[[], Settings] = get_settings


def use_settings(provider: Callable[[], Settings]) -> None:
    """Wire the edge to the container's settings (called once, by app.py)."""
    global _settings
    _settings = provider


def _present(request: Request | None) -> Request:
    if request is None:  # Chalice sets it for every HTTP call; None means a wiring bug
        raise RuntimeError("no current request")
    return request


def handles_errors(view: F) -> F:
    """Turn domain errors raised by ``view`` into Chalice's error responses."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except errors.RateLimitedError as error:
            return too_many_requests(error)
        except errors.InboxError as error:
            raise HTTP_ERRORS[type(error)](str(error)) from None
        except errors.ConfigurationError as error:
            # The deployment is broken, not the request: a 500 that names the setting (and an alarm).
            logger.error("configuration", extra={"reason": str(error)})
            raise chalice.ChaliceViewError(str(error)) from None
        except Exception as error:
            code = _busy_storage(error)
            if code is None:
                raise  # a bug, not the weather: let it be a 500 and show in the logs
            logger.warning("storage busy", extra={"code": code})
            raise chalice.TooManyRequestsError("storage: busy; retry shortly") from None

    return wrapper  # type: ignore[return-value]


def _busy_storage(error: Exception) -> str | None:
    """The error's code when it is a busy table's (worth a retry later), else None.

    Only storage raises PynamoDB's errors, so when storage was never loaded
    the error is not one: nothing is imported on the way to a 500.
    """
    dynamo = sys.modules.get("chalicelib.storage.dynamo")
    if dynamo is None or not isinstance(error, dynamo.StorageError) or not dynamo.is_busy(error):
        return None
    return str(getattr(error, "cause_response_code", None))


def principal(request: Request | None) -> Principal:
    """The verified caller; binds its id to the logs."""
    _settings()  # binds the models before the first authenticated call
    caller = verify_token(bearer_token(_present(request).headers), get_auth_settings())
    logs.bind(user_id=caller.user_id)
    return caller


def too_many_requests(error: errors.RateLimitedError) -> chalice.Response:
    """429 in Chalice's error shape, with ``Retry-After`` (readable by pages of other origins too)."""
    headers: dict[str, str | list[str]] = {"Retry-After": str(error.retry_after), "Access-Control-Expose-Headers": "Retry-After"}
    body = {"Code": "TooManyRequestsError", "Message": str(error)}
    return chalice.Response(body=body, status_code=429, headers=headers)


def admin(request: Request | None) -> Principal:
    caller = principal(request)
    caller.require_admin()
    return caller


def json_body(request: Request | None) -> dict[str, Any]:
    return parse_json_object(_present(request).raw_body)


def body(request: Request | None, parse: Callable[[dict[str, Any]], T]) -> T:
    """The request's JSON body, parsed into the route's typed input."""
    return parse(json_body(request))


def params(request: Request | None, parse: Callable[[Mapping[str, str]], T]) -> T:
    """The request's query string, parsed into the route's typed input."""
    return parse(dict(_present(request).query_params or {}))


def send_command(request: Request | None) -> SendCommand:
    """``POST /messages``: the body and its ``Idempotency-Key`` header."""
    from chalicelib.api import send_body  # here, not at import: the send's checks load with a container's first send

    return send_body.send_command(json_body(request), header(request, "Idempotency-Key"))


def header(request: Request | None, name: str) -> str | None:
    value = _present(request).headers.get(name.lower())
    return None if value is None else str(value)


def _path(request: Request | None) -> str:
    """The path as the client sent it (API Gateway's request context; locally always ``/``)."""
    return str((_present(request).context or {}).get("path") or "/")


def missing_slash(request: Request | None) -> chalice.Response | None:
    """``…/api`` → ``…/api/``: without the slash the page's relative URLs resolve to the host root.

    API Gateway routes ``/api`` and ``/api/`` to the same resource; only the
    request context's ``path`` tells them apart (locally it is always ``/``).
    """
    path = _path(request)
    if path.endswith("/"):
        return None
    return chalice.Response(body="", status_code=308, headers={"Location": f"{path}/"})


def extra_slash(request: Request | None) -> chalice.Response | None:
    """``…/admin/`` → ``…/admin``: with the slash the page's relative URLs would resolve under ``admin/``."""
    path = _path(request)
    if path == "/" or not path.endswith("/"):
        return None
    return chalice.Response(body="", status_code=308, headers={"Location": path.rstrip("/")})


def respond(body: Any, status: int) -> chalice.Response:
    return chalice.Response(body=body, status_code=status)


def no_content() -> chalice.Response:
    return chalice.Response(body="", status_code=204)


def allowed_origin(origin: str | None, allowed: tuple[str, ...]) -> str | None:
    """The Access-Control-Allow-Origin value for ``origin``, or None to send none.

    ``*`` is only ever answered as ``*``: no credentials are allowed with it.
    """
    if "*" in allowed:
        return "*"
    return origin if origin and origin in allowed else None


def _cors_origin(request: Request) -> str | None:
    return allowed_origin(request.headers.get("origin"), _settings().cors_origins)


def allowed_methods(routes: Mapping[str, Mapping[str, Any]]) -> str:
    """Every method a route of the app answers (Chalice's ``app.routes``: path → method → route).

    Read from the routes rather than written out, so that no route's method
    is missing from the preflight (a page of another origin could not send it).
    """
    return ",".join(sorted({method for methods in routes.values() for method in methods}))


def cors_preflight(request: Request | None, routes: Mapping[str, Mapping[str, Any]]) -> chalice.Response:
    """Answer a browser's preflight for any configured origin, allowing every method of ``routes``."""
    headers: dict[str, str | list[str]] = {"Vary": "Origin"}
    origin = _cors_origin(_present(request))
    if origin:
        headers.update(
            {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": allowed_methods(routes),
                "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
            }
        )
    return chalice.Response(body="", status_code=204, headers=headers)


def http_middleware(event: Request, get_response: Callable[[Request], chalice.Response]) -> chalice.Response:
    """Per request: bind ids to the logs, add CORS headers, log one summary line."""
    context = event.context or {}
    logs.clear()
    logs.bind(request_id=str(context.get("requestId") or uuid.uuid4()))
    started = time.perf_counter()
    response = get_response(event)
    _field_first(response)
    origin = _cors_origin(event)
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    logger.info(
        "request",
        extra={
            "method": event.method,
            "path": context.get("resourcePath"),
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return response


def _field_first(response: chalice.Response) -> None:
    """Chalice's own 405 and 415 messages, rewritten to start with the field they are about."""
    own = CHALICE_OWN.get(response.status_code)
    message = response.body.get("Message") if isinstance(response.body, dict) else None
    if own and isinstance(message, str) and message.startswith(own[0]):
        response.body["Message"] = own[1].format(message.removeprefix(own[0]))
