"""Wiring only: each handler unpacks its event and calls one chalicelib function."""

from __future__ import annotations

from typing import Any

from chalice.app import Chalice, Response

from chalicelib import channels, http, inbox, logs
from chalicelib.sending import handle_send_event, send_body
from chalicelib.service import get_services

app = Chalice(app_name="inapp")
logs.configure()
app.register_middleware(http.http_middleware, "http")


@app.route("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.route("/openapi.json")
def openapi() -> dict[str, Any]:
    return http.openapi_document()


@app.route("/channels", methods=["POST"])
@http.handles_errors
def create_channel() -> Response:
    http.admin(app.current_request)
    return http.respond(channels.create_channel(http.json_body(app.current_request)), 201)


@app.route("/channels", methods=["GET"])
@http.handles_errors
def list_channels() -> dict[str, Any]:
    caller = http.admin(app.current_request)
    return channels.list_channels(caller.user_id, http.query(app.current_request), get_services().cursors)


@app.route("/channels/{name}", methods=["GET"])
@http.handles_errors
def get_channel(name: str) -> dict[str, Any]:
    http.admin(app.current_request)
    return channels.to_json(channels.get_channel(name))


@app.route("/channels/{name}", methods=["PATCH"])
@http.handles_errors
def update_channel(name: str) -> dict[str, Any]:
    http.admin(app.current_request)
    return channels.update_channel(name, http.json_body(app.current_request))


@app.route("/channels/{name}", methods=["DELETE"])
@http.handles_errors
def delete_channel(name: str) -> Response:
    http.admin(app.current_request)
    channels.delete_channel(name)
    return http.no_content()


@app.route("/messages", methods=["POST"])
@http.handles_errors
def send_message() -> Response:
    caller = http.admin(app.current_request)
    key = http.header(app.current_request, "Idempotency-Key")
    body = http.json_body(app.current_request)
    return http.respond(send_body(get_services().sender, body, scope=f"user:{caller.user_id}", key=key), 202)


@app.route("/me/channels", methods=["GET"])
@http.handles_errors
def my_channels() -> dict[str, Any]:
    caller = http.principal(app.current_request)
    return inbox.list_my_channels(caller.user_id, http.query(app.current_request), get_services().cursors)


@app.route("/me/messages", methods=["GET"])
@http.handles_errors
def my_messages() -> dict[str, Any]:
    caller = http.principal(app.current_request)
    return inbox.list_messages(caller.user_id, http.query(app.current_request), get_services().cursors)


@app.route("/me/messages/{message_id}", methods=["GET"])
@http.handles_errors
def my_message(message_id: str) -> dict[str, Any]:
    caller = http.principal(app.current_request)
    return inbox.message_json(inbox.get_message(caller.user_id, message_id))


@app.route("/me/messages/{message_id}", methods=["PATCH"])
@http.handles_errors
def set_message_status(message_id: str) -> dict[str, Any]:
    caller = http.principal(app.current_request)
    return inbox.set_status(caller.user_id, message_id, http.json_body(app.current_request))


@app.route("/me/messages/read", methods=["POST"])
@http.handles_errors
def mark_all_read() -> dict[str, int]:
    caller = http.principal(app.current_request)
    return inbox.mark_all_read(caller.user_id, http.json_body(app.current_request))


@app.route("/me/unread-count", methods=["GET"])
@http.handles_errors
def unread_count() -> dict[str, Any]:
    caller = http.principal(app.current_request)
    return inbox.unread_count(caller.user_id)


@app.lambda_function(name="send")
def send(event: Any, context: Any) -> Any:
    return handle_send_event(get_services().sender, event)


def _preflight(**_path_params: str) -> Response:
    return http.cors_preflight(app.current_request)


for _path in list(app.routes):
    app.route(_path, methods=["OPTIONS"])(_preflight)
