"""Tenants: one scoped name per user and channel, derived once at the edge.

With ``INAPP_TENANT_CLAIM`` set, the verified token's tenant claim names the
caller's tenant, and the service stores ``<tenant>|<sub>`` as the user id and
``<tenant>|<name>`` as the channel name. A tenant matches ``TENANT`` (no
``|``), so the first ``|`` always ends it. Every item keyed by a user (the
inbox partition, counts, connections, Idempotency-Keys, cursors) or by a
channel (the channel, its subscribers, its sends) is then the tenant's own,
and nothing below the edge needs to know about tenants. Inside a user's inbox
the channel is stored plain: the partition is already the tenant's.

Without the setting the tenant is None and every function here returns its
input: a single-tenant deployment stores, reads and pays exactly what it did.

>>> scoped("acme", "news"), scoped(None, "news"), plain_channel("acme|news")
('acme|news', 'news', 'news')
>>> plain_user("acme|a|b", "acme"), plain_user("a|b", None)
('a|b', 'a|b')
"""

from __future__ import annotations

import re

SEPARATOR = "|"
TENANT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
TENANT_RULE = "must match ^[a-z0-9][a-z0-9_-]{0,63}$"


def scoped(tenant: str | None, name: str) -> str:
    """``name`` (a ``sub``, a channel name, a key scope) as stored for ``tenant``; unchanged without one."""
    return name if tenant is None else f"{tenant}{SEPARATOR}{name}"


def scoped_all(tenant: str | None, names: list[str]) -> list[str]:
    return names if tenant is None else [scoped(tenant, name) for name in names]


def channel_tenant(channel: str) -> str | None:
    """The tenant of a stored channel name (None for a plain one: a channel name never holds ``|``)."""
    tenant, separator, _ = channel.partition(SEPARATOR)
    return tenant if separator else None


def plain_channel(channel: str) -> str:
    """A stored channel name as its tenant's admins and users know it."""
    return channel.partition(SEPARATOR)[2] or channel


def plain_user(user_id: str, tenant: str | None) -> str:
    """A stored user id as its tenant knows it (the ``sub``): a ``sub`` may itself hold ``|``, so the tenant says
    what to remove."""
    return user_id if tenant is None else user_id.removeprefix(tenant + SEPARATOR)
