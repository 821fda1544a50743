"""Wiring only: each handler unpacks its event and calls one chalicelib function."""

from __future__ import annotations

import os
from typing import Any

from chalice.app import Chalice, DynamoDBEvent, Response, SQSEvent, WebsocketEvent

from chalicelib.api import edge as http
from chalicelib.api import pages as web
from chalicelib.api import parsing
from chalicelib.api.lambda_event import handle_send_event
from chalicelib.audience import subscribers
from chalicelib.channels import registry as channels
from chalicelib.core import logs, metrics
from chalicelib.inbox import preferences
from chalicelib.inbox import queries as inbox
from chalicelib.inbox import states as message_states
from chalicelib.realtime.delivery import STREAM_BATCH_SIZE, STREAM_BATCH_WINDOW_SECONDS
from chalicelib.sending import preview, send_log
from chalicelib.service import get_delivery, get_fanout, get_services, get_websocket_routes, get_work_queue
from chalicelib.storage import shapes as views

# `chalice package` needs an ARN here; the merged template replaces it with
# Fn::GetAtt [InboxTable, StreamArn] (infra/), the local stack calls the handler directly.
INBOX_STREAM_ARN = os.environ.get(
    "INAPP_INBOX_STREAM_ARN", "arn:aws:dynamodb:us-east-1:000000000000:table/inbox/stream/replaced-by-template"
)
# Likewise for the fan-out queue: Fn::GetAtt [FanOutQueue, Arn] in the template; locally infra/local polls it.
FANOUT_QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:inapp-fanout-replaced-by-template"

app = Chalice(app_name="inapp", configure_logs=False)  # logs.configure attaches the one JSON handler
app.experimental_feature_flags.update(["WEBSOCKETS"])
logs.configure()
app.register_middleware(http.http_middleware, "http")
app.register_middleware(metrics.middleware, "all")  # one EMF flush per invocation, any handler


@app.route("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.route("/")
def inbox_page() -> Response:
    return http.missing_slash(app.current_request) or web.index_page(get_services().settings.ws_client_url)


@app.route("/admin")
def admin_page() -> Response:
    return http.extra_slash(app.current_request) or web.admin_page()


@app.route("/static/{name}")
@http.handles_errors
def static_file(name: str) -> Response:
    return web.static_file(name)


@app.route("/openapi.json")
def openapi() -> dict[str, Any]:
    return http.openapi_document()


@app.route("/channels", methods=["POST"])
@http.handles_errors
def create_channel() -> Response:
    http.admin(app.current_request)
    return http.respond(channels.create_channel(http.body(app.current_request, parsing.new_channel)), 201)


@app.route("/channels", methods=["GET"])
@http.handles_errors
def list_channels() -> dict[str, Any]:
    caller = http.admin(app.current_request)
    return channels.list_channels(caller.user_id, http.params(app.current_request, parsing.page), get_services().cursors)


@app.route("/channels/{name}", methods=["GET"])
@http.handles_errors
def get_channel(name: str) -> dict[str, Any]:
    http.admin(app.current_request)
    return views.channel_json(channels.get_channel(name))


@app.route("/channels/{name}", methods=["PATCH"])
@http.handles_errors
def update_channel(name: str) -> dict[str, Any]:
    http.admin(app.current_request)
    return channels.update_channel(name, http.body(app.current_request, parsing.channel_changes))


@app.route("/channels/{name}", methods=["DELETE"])
@http.handles_errors
def delete_channel(name: str) -> Response:
    http.admin(app.current_request)
    channels.delete_channel(name, get_work_queue())
    return http.no_content()


@app.route("/channels/{name}/subscribers", methods=["POST"])
@http.handles_errors
def change_subscribers(name: str) -> dict[str, int]:
    http.admin(app.current_request)
    return subscribers.change(name, http.body(app.current_request, parsing.subscriber_changes))


@app.route("/channels/{name}/subscribers", methods=["GET"])
@http.handles_errors
def list_subscribers(name: str) -> dict[str, Any]:
    caller = http.admin(app.current_request)
    page = http.params(app.current_request, parsing.page)
    return subscribers.list_subscribers(caller.user_id, name, page, get_services().cursors)


@app.route("/messages", methods=["POST"])
@http.handles_errors
def send_message() -> Response:
    caller = http.admin(app.current_request)
    command = http.send_command(app.current_request)
    sent = get_services().sender.send(command, scope=f"user:{caller.user_id}", sender=caller.user_id)
    return http.respond(sent, 202)


@app.route("/messages/preview", methods=["POST"])
@http.handles_errors
def preview_message() -> dict[str, Any]:
    http.admin(app.current_request)
    return preview.preview_send(http.body(app.current_request, parsing.send_request))


@app.route("/messages", methods=["GET"])
@http.handles_errors
def send_log_page() -> dict[str, Any]:
    caller = http.admin(app.current_request)
    return send_log.list_sends(caller.user_id, http.params(app.current_request, parsing.send_log_query), get_services().cursors)


@app.route("/messages/{send_id}", methods=["GET"])
@http.handles_errors
def send_log_entry(send_id: str) -> dict[str, Any]:
    http.admin(app.current_request)
    return send_log.get_send(send_id)


@app.route("/me/channels", methods=["GET"])
@http.handles_errors
def my_channels() -> dict[str, Any]:
    caller = http.principal(app.current_request)
    return inbox.list_my_channels(caller.user_id, http.params(app.current_request, parsing.channel_query), get_services().cursors)


@app.route("/me/messages", methods=["GET"])
@http.handles_errors
def my_messages() -> dict[str, Any]:
    caller = http.principal(app.current_request)
    return inbox.list_messages(caller.user_id, http.params(app.current_request, parsing.message_query), get_services().cursors)


@app.route("/me/messages/{message_id}", methods=["GET"])
@http.handles_errors
def my_message(message_id: str) -> dict[str, Any]:
    caller = http.principal(app.current_request)
    return views.message_json(inbox.find_message(caller.user_id, message_id))


@app.route("/me/messages/{message_id}", methods=["PATCH"])
@http.handles_errors
def change_message(message_id: str) -> dict[str, Any]:
    caller = http.principal(app.current_request)
    return message_states.change_message(caller.user_id, message_id, http.body(app.current_request, parsing.message_change))


@app.route("/me/messages/{message_id}", methods=["DELETE"])
@http.handles_errors
def delete_message(message_id: str) -> Response:
    message_states.delete_message(http.principal(app.current_request).user_id, message_id)
    return http.no_content()


@app.route("/me/messages/read", methods=["POST"])
@http.handles_errors
def mark_all_read() -> dict[str, int]:
    caller = http.principal(app.current_request)
    return message_states.mark_all_read(caller.user_id, http.body(app.current_request, parsing.read_all))


@app.route("/me/messages/seen", methods=["POST"])
@http.handles_errors
def mark_all_seen() -> dict[str, int]:
    caller = http.principal(app.current_request)
    return message_states.mark_all_seen(caller.user_id, http.body(app.current_request, parsing.read_all))


@app.route("/me/messages/archive", methods=["POST"])
@http.handles_errors
def archive_all() -> dict[str, int]:
    caller = http.principal(app.current_request)
    return message_states.archive_all(caller.user_id, http.body(app.current_request, parsing.archive_all))


@app.route("/me/preferences", methods=["GET"])
@http.handles_errors
def my_preferences() -> dict[str, Any]:
    return preferences.get_preferences(http.principal(app.current_request).user_id)


@app.route("/me/preferences/channels/{name}", methods=["PUT"])
@http.handles_errors
def mute_channel(name: str) -> dict[str, Any]:
    caller = http.principal(app.current_request)
    return preferences.set_mute(caller.user_id, http.body(app.current_request, lambda b: parsing.mute_change(name, b)))


@app.route("/me/unread-count", methods=["GET"])
@http.handles_errors
def unread_count() -> dict[str, Any]:
    caller = http.principal(app.current_request)
    return inbox.unread_count(caller.user_id)


@app.lambda_function(name="send")
def send(event: Any, context: Any) -> Any:
    return handle_send_event(get_services().sender, event)


@app.on_ws_connect()
def ws_connect(event: WebsocketEvent) -> dict[str, Any]:
    return get_websocket_routes().connect(event.to_dict())


@app.on_ws_message()
def ws_message(event: WebsocketEvent) -> dict[str, Any]:
    return get_websocket_routes().message(event.connection_id, event.to_dict().get("body"))


@app.on_ws_disconnect()
def ws_disconnect(event: WebsocketEvent) -> dict[str, Any]:
    return get_websocket_routes().disconnect(event.connection_id)


@app.on_dynamodb_record(
    stream_arn=INBOX_STREAM_ARN,
    batch_size=STREAM_BATCH_SIZE,
    maximum_batching_window_in_seconds=STREAM_BATCH_WINDOW_SECONDS,
    starting_position="LATEST",
)
def deliver(event: DynamoDBEvent) -> dict[str, Any]:
    return get_delivery().handle(event.to_dict()["Records"]).response()


@app.on_sqs_message(queue_arn=FANOUT_QUEUE_ARN, batch_size=1)
def fan_out(event: SQSEvent) -> dict[str, Any]:
    return get_fanout().handle(event.to_dict()["Records"])


def _preflight(**_path_params: str) -> Response:
    return http.cors_preflight(app.current_request)


for _path in list(app.routes):
    app.route(_path, methods=["OPTIONS"])(_preflight)
