"""The edges: where requests come in and answers go out.

`edge` authenticates HTTP callers, reads bodies and maps domain errors to
HTTP statuses in one place; `parsing` and `send_body` turn bodies and
query strings into the domain's typed requests (a bad field is a 400
naming it, before anything changes); `lambda_event` unwraps the ``send``
Lambda's events; `pages` serves the inbox, the admin console and their
static files; `request_limit` holds each user to their requests a second
on the ``/me`` routes; `tenancy` scopes a parsed input to the caller's tenant.
Nothing here touches storage beyond what the domain does.
"""

from chalicelib.api import tenancy
from chalicelib.api.edge import (
    admin,
    body,
    cors_preflight,
    extra_slash,
    handles_errors,
    http_middleware,
    missing_slash,
    no_content,
    params,
    principal,
    respond,
    send_command,
    use_settings,
)
from chalicelib.api.lambda_event import handle_send_event
from chalicelib.api.pages import admin_page, element_module, index_page, openapi_document, static_file
from chalicelib.api.parsing import (
    archive_all,
    channel_changes,
    channel_query,
    message_change,
    message_query,
    mute_change,
    new_channel,
    page,
    read_all,
    send_log_query,
    subscriber_changes,
)
from chalicelib.api.request_limit import one_bulk_at_a_time, use_request_limit, user
from chalicelib.api.send_body import send_request

__all__ = [
    "admin",
    "admin_page",
    "archive_all",
    "body",
    "channel_changes",
    "channel_query",
    "cors_preflight",
    "element_module",
    "extra_slash",
    "handle_send_event",
    "handles_errors",
    "http_middleware",
    "index_page",
    "message_change",
    "message_query",
    "missing_slash",
    "mute_change",
    "new_channel",
    "no_content",
    "one_bulk_at_a_time",
    "openapi_document",
    "page",
    "params",
    "principal",
    "read_all",
    "respond",
    "send_command",
    "send_log_query",
    "send_request",
    "static_file",
    "subscriber_changes",
    "tenancy",
    "use_request_limit",
    "use_settings",
    "user",
]
