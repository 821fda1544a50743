"""The tenant edge: a parsed input, rewritten into the names its tenant's items are stored under.

The parsers check what the caller sent (a channel name, user ids of 1 to 128
characters); these functions then scope it to the caller's tenant
(`chalicelib.core.tenants`), so the domain below stores and finds only that
tenant's items. With tenants off (tenant None) each returns its input as it is.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from chalicelib.core import tenants
from chalicelib.core.errors import ValidationError

if TYPE_CHECKING:
    from chalicelib.audience import SubscriberChanges
    from chalicelib.channels import NewChannel
    from chalicelib.core.auth import Principal
    from chalicelib.sending import SendCommand, SendLogQuery, SendRequest

TENANT_FIELD = "tenant"
NOT_ON = "is not accepted: tenants are off (INAPP_TENANT_CLAIM is not set)"


def new_channel(caller: Principal, new: NewChannel) -> NewChannel:
    return new if caller.tenant is None else dataclasses.replace(new, name=caller.channel(new.name))


def subscriber_changes(caller: Principal, changes: SubscriberChanges) -> SubscriberChanges:
    if caller.tenant is None:
        return changes
    add, remove = tenants.scoped_all(caller.tenant, changes.add), tenants.scoped_all(caller.tenant, changes.remove)
    return dataclasses.replace(changes, add=add, remove=remove)


def send_log_query(caller: Principal, query: SendLogQuery) -> SendLogQuery:
    if caller.tenant is None:
        return query
    channel = None if query.channel is None else caller.channel(query.channel)
    return dataclasses.replace(query, channel=channel, tenant=caller.tenant)


def send_request(tenant: str | None, request: SendRequest) -> SendRequest:
    """A send of ``tenant``: its channel and receivers are that tenant's."""
    if tenant is None:
        return request
    receivers = tenants.scoped_all(tenant, request.receivers)
    return dataclasses.replace(request, channel=tenants.scoped(tenant, request.channel), receivers=receivers)


def send_command(tenant: str | None, command: SendCommand) -> SendCommand:
    return command if tenant is None else dataclasses.replace(command, request=send_request(tenant, command.request))


def event_tenant(event: dict[str, object], tenants_on: bool) -> str | None:
    """The ``send`` Lambda's ``tenant`` (taken out of ``event``): required with tenants on, refused with them off.

    Refused rather than ignored when off: a caller who thinks it writes into one tenant must not write into
    the deployment's only one unawares.
    """
    if TENANT_FIELD not in event:
        if tenants_on:
            raise ValidationError(TENANT_FIELD, "is required: tenants are on (INAPP_TENANT_CLAIM is set)")
        return None
    value = event.pop(TENANT_FIELD)
    if not tenants_on:
        raise ValidationError(TENANT_FIELD, NOT_ON)
    if not isinstance(value, str) or not tenants.TENANT.fullmatch(value):
        raise ValidationError(TENANT_FIELD, tenants.TENANT_RULE)
    return value
