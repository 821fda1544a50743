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

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core import lazy

if TYPE_CHECKING:
    from chalicelib.api import tenancy as tenancy
    from chalicelib.api.edge import admin as admin
    from chalicelib.api.edge import body as body
    from chalicelib.api.edge import cors_preflight as cors_preflight
    from chalicelib.api.edge import extra_slash as extra_slash
    from chalicelib.api.edge import handles_errors as handles_errors
    from chalicelib.api.edge import http_middleware as http_middleware
    from chalicelib.api.edge import missing_slash as missing_slash
    from chalicelib.api.edge import no_content as no_content
    from chalicelib.api.edge import params as params
    from chalicelib.api.edge import principal as principal
    from chalicelib.api.edge import respond as respond
    from chalicelib.api.edge import send_command as send_command
    from chalicelib.api.edge import use_settings as use_settings
    from chalicelib.api.lambda_event import handle_send_event as handle_send_event
    from chalicelib.api.pages import admin_page as admin_page
    from chalicelib.api.pages import element_module as element_module
    from chalicelib.api.pages import index_page as index_page
    from chalicelib.api.pages import openapi_document as openapi_document
    from chalicelib.api.pages import static_file as static_file
    from chalicelib.api.parsing import archive_all as archive_all
    from chalicelib.api.parsing import channel_changes as channel_changes
    from chalicelib.api.parsing import channel_query as channel_query
    from chalicelib.api.parsing import message_change as message_change
    from chalicelib.api.parsing import message_query as message_query
    from chalicelib.api.parsing import mute_change as mute_change
    from chalicelib.api.parsing import new_channel as new_channel
    from chalicelib.api.parsing import page as page
    from chalicelib.api.parsing import read_all as read_all
    from chalicelib.api.parsing import send_log_query as send_log_query
    from chalicelib.api.parsing import subscriber_changes as subscriber_changes
    from chalicelib.api.request_limit import one_bulk_at_a_time as one_bulk_at_a_time
    from chalicelib.api.request_limit import use_request_limit as use_request_limit
    from chalicelib.api.request_limit import user as user
    from chalicelib.api.send_body import send_request as send_request

if not TYPE_CHECKING:
    __getattr__, __dir__, __all__ = lazy.exports(
        __name__,
        {
            "edge": (
                "admin",
                "body",
                "cors_preflight",
                "extra_slash",
                "handles_errors",
                "http_middleware",
                "missing_slash",
                "no_content",
                "params",
                "principal",
                "respond",
                "send_command",
                "use_settings",
            ),
            "lambda_event": ("handle_send_event",),
            "pages": ("admin_page", "element_module", "index_page", "openapi_document", "static_file"),
            "parsing": (
                "archive_all",
                "channel_changes",
                "channel_query",
                "message_change",
                "message_query",
                "mute_change",
                "new_channel",
                "page",
                "read_all",
                "send_log_query",
                "subscriber_changes",
            ),
            "request_limit": ("one_bulk_at_a_time", "use_request_limit", "user"),
            "send_body": ("send_request",),
        },
        modules=("tenancy",),
    )
