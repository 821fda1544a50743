"""Wiring only: each handler unpacks its event and calls one chalicelib function."""

from __future__ import annotations

import os
from typing import Any

from chalice.app import Chalice, DynamoDBEvent, Response, SQSEvent, WebsocketEvent

from chalicelib import api, audience, channels, inbox, sending, storage
from chalicelib.core import logs, metrics
from chalicelib.realtime import STREAM_BATCH_SIZE, STREAM_BATCH_WINDOW_SECONDS
from chalicelib.service import (
    get_audience_worker,
    get_bulk_leases,
    get_cursors,
    get_delivery,
    get_request_limiter,
    get_services,
    get_wake_scheduler,
    get_websocket_routes,
    get_work_queue,
)

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
api.use_settings(lambda: get_services().settings)
api.use_request_limit(get_request_limiter, get_bulk_leases)  # the /me routes' per-user limit (api.user), one bulk at a time
app.register_middleware(api.http_middleware, "http")
app.register_middleware(metrics.middleware, "all")  # one EMF flush per invocation, any handler


@app.route("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.route("/")
def inbox_page() -> Response:
    return api.missing_slash(app.current_request) or api.index_page()


@app.route("/inapp-inbox.js")
def element_module() -> Response:
    return api.element_module(get_services().settings.ws_client_url)


@app.route("/admin")
def admin_page() -> Response:
    return api.extra_slash(app.current_request) or api.admin_page()


@app.route("/static/{name}")
@api.handles_errors
def static_file(name: str) -> Response:
    return api.static_file(name)


@app.route("/openapi.json")
def openapi() -> dict[str, Any]:
    return api.openapi_document()


@app.route("/channels", methods=["POST"])
@api.handles_errors
def create_channel() -> Response:
    caller = api.admin(app.current_request)
    new = api.tenancy.new_channel(caller, api.body(app.current_request, api.new_channel))
    return api.respond(channels.create_channel(new), 201)


@app.route("/channels", methods=["GET"])
@api.handles_errors
def list_channels() -> dict[str, Any]:
    caller = api.admin(app.current_request)
    page = api.params(app.current_request, api.page)
    return channels.list_channels(caller.user_id, page, get_cursors(), caller.tenant)


@app.route("/channels/{name}", methods=["GET"])
@api.handles_errors
def get_channel(name: str) -> dict[str, Any]:
    caller = api.admin(app.current_request)
    return storage.channel_json(channels.get_channel(caller.channel(name)))


@app.route("/channels/{name}", methods=["PATCH"])
@api.handles_errors
def update_channel(name: str) -> dict[str, Any]:
    caller = api.admin(app.current_request)
    return channels.update_channel(caller.channel(name), api.body(app.current_request, api.channel_changes))


@app.route("/channels/{name}", methods=["DELETE"])
@api.handles_errors
def delete_channel(name: str) -> Response:
    caller = api.admin(app.current_request)
    channels.delete_channel(caller.channel(name), get_work_queue())
    return api.no_content()


@app.route("/channels/{name}/subscribers", methods=["POST"])
@api.handles_errors
def change_subscribers(name: str) -> dict[str, int]:
    caller = api.admin(app.current_request)
    changes = api.tenancy.subscriber_changes(caller, api.body(app.current_request, api.subscriber_changes))
    return audience.change_subscribers(caller.channel(name), changes)


@app.route("/channels/{name}/subscribers", methods=["GET"])
@api.handles_errors
def list_subscribers(name: str) -> dict[str, Any]:
    caller = api.admin(app.current_request)
    page = api.params(app.current_request, api.page)
    return audience.list_subscribers(caller.user_id, caller.channel(name), page, get_cursors())


@app.route("/messages", methods=["POST"])
@api.handles_errors
def send_message() -> Response:
    caller = api.admin(app.current_request)
    command = api.tenancy.send_command(caller.tenant, api.send_command(app.current_request))
    sent = get_services().sender.send(command, scope=f"user:{caller.user_id}", sender=caller.user_id)
    return api.respond(sent, 202)


@app.route("/messages/preview", methods=["POST"])
@api.handles_errors
def preview_message() -> dict[str, Any]:
    caller = api.admin(app.current_request)
    request = api.tenancy.send_request(caller.tenant, api.body(app.current_request, api.send_request))
    return sending.preview_send(request, get_services().settings.retention)


@app.route("/messages", methods=["GET"])
@api.handles_errors
def send_log_page() -> dict[str, Any]:
    caller = api.admin(app.current_request)
    query = api.tenancy.send_log_query(caller, api.params(app.current_request, api.send_log_query))
    return sending.list_sends(caller.user_id, query, get_cursors())


@app.route("/messages/{send_id}", methods=["GET"])
@api.handles_errors
def send_log_entry(send_id: str) -> dict[str, Any]:
    caller = api.admin(app.current_request)
    return sending.get_send(send_id, caller.tenant)


@app.route("/me/channels", methods=["GET"])
@api.handles_errors
def my_channels() -> dict[str, Any]:
    caller = api.user(app.current_request)
    query = api.params(app.current_request, api.channel_query)
    return inbox.list_my_channels(caller.user_id, query, get_cursors(), get_services().settings.retention)


@app.route("/me/messages", methods=["GET"])
@api.handles_errors
def my_messages() -> dict[str, Any]:
    caller = api.user(app.current_request)
    return inbox.list_messages(caller.user_id, api.params(app.current_request, api.message_query), get_cursors())


@app.route("/me/messages/{message_id}", methods=["GET"])
@api.handles_errors
def my_message(message_id: str) -> dict[str, Any]:
    caller = api.user(app.current_request)
    return storage.message_json(inbox.find_message(caller.user_id, message_id))


@app.route("/me/messages/{message_id}", methods=["PATCH"])
@api.handles_errors
def change_message(message_id: str) -> dict[str, Any]:
    caller = api.user(app.current_request)
    change = api.body(app.current_request, api.message_change)
    return inbox.change_message(caller.user_id, message_id, change, get_wake_scheduler())


@app.route("/me/messages/{message_id}", methods=["DELETE"])
@api.handles_errors
def delete_message(message_id: str) -> Response:
    inbox.delete_message(api.user(app.current_request).user_id, message_id, get_wake_scheduler())
    return api.no_content()


@app.route("/me/messages/read", methods=["POST"])
@api.handles_errors
def mark_all_read() -> dict[str, int | bool]:
    caller = api.user(app.current_request)
    scope, limit = api.body(app.current_request, api.read_all), get_services().settings.bulk_limit
    with api.one_bulk_at_a_time(caller):
        return inbox.mark_all_read(caller.user_id, scope, limit)


@app.route("/me/messages/seen", methods=["POST"])
@api.handles_errors
def mark_all_seen() -> dict[str, int | bool]:
    caller = api.user(app.current_request)
    scope, limit = api.body(app.current_request, api.read_all), get_services().settings.bulk_limit
    with api.one_bulk_at_a_time(caller):
        return inbox.mark_all_seen(caller.user_id, scope, limit)


@app.route("/me/messages/archive", methods=["POST"])
@api.handles_errors
def archive_all() -> dict[str, int | bool]:
    caller = api.user(app.current_request)
    scope, limit = api.body(app.current_request, api.archive_all), get_services().settings.bulk_limit
    with api.one_bulk_at_a_time(caller):
        return inbox.archive_all(caller.user_id, scope, limit)


@app.route("/me/preferences", methods=["GET"])
@api.handles_errors
def my_preferences() -> dict[str, Any]:
    return inbox.get_preferences(api.user(app.current_request).user_id)


@app.route("/me/preferences/channels/{name}", methods=["PUT"])
@api.handles_errors
def mute_channel(name: str) -> dict[str, Any]:
    caller = api.user(app.current_request)
    return inbox.set_mute(caller.user_id, api.body(app.current_request, lambda b: api.mute_change(name, b)))


@app.route("/me/unread-count", methods=["GET"])
@api.handles_errors
def unread_count() -> dict[str, Any]:
    caller = api.user(app.current_request)
    return inbox.unread_count(caller.user_id, get_services().settings.retention)


@app.lambda_function(name="send")
def send(event: Any, context: Any) -> Any:
    services = get_services()
    request_id = getattr(context, "aws_request_id", None)
    return api.handle_send_event(services.sender, event, request_id, tenants_on=services.settings.tenant_claim is not None)


@app.lambda_function(name="wake")
def wake(event: Any, context: Any) -> Any:
    """A snoozed message's wake-up, invoked by its one-time schedule (`chalicelib.inbox.snooze`)."""
    get_services()  # binds the tables
    return inbox.handle_wake_event(event)


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
    starting_position="TRIM_HORIZON",
)
def deliver(event: DynamoDBEvent) -> dict[str, Any]:
    return get_delivery().handle_event(event.to_dict())


@app.on_sqs_message(queue_arn=FANOUT_QUEUE_ARN, batch_size=1)
def fan_out(event: SQSEvent) -> dict[str, Any]:
    return get_audience_worker().handle(event.to_dict()["Records"])


def _preflight(**_path_params: str) -> Response:
    return api.cors_preflight(app.current_request, app.routes)


for _path in list(app.routes):
    app.route(_path, methods=["OPTIONS"])(_preflight)
