"""Domain errors. Each carries what went wrong; the HTTP edge maps the kind
to a status in one place (`chalicelib.api.edge`), the `send` Lambda raises them
as they are."""

from __future__ import annotations


class InboxError(Exception):
    """Base class of every error the service reports to a caller."""


class ValidationError(InboxError):
    """Bad input; the message always starts with the offending field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class UnauthorizedError(InboxError):
    """Missing, malformed, expired or wrongly signed token."""


class ForbiddenError(InboxError):
    """A valid token without the role the operation needs."""


class NotFoundError(InboxError):
    """The thing does not exist, or is not the caller's to see."""


class ConflictError(InboxError):
    """The request clashes with the current state (existing name, reused key)."""


class BusyError(InboxError):
    """Storage refused work for now; the caller should retry (same Idempotency-Key)."""


class RateLimitedError(InboxError):
    """The caller went past its request limit; ``retry_after`` is the whole seconds until the next one passes."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConfigurationError(RuntimeError):
    """A required setting is missing or malformed: the deployment is broken."""
