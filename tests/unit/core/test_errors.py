"""chalicelib.core.errors: a validation error's message starts with its field; every domain error is an InboxError."""

from __future__ import annotations

from chalicelib.api.edge import HTTP_ERRORS
from chalicelib.core import errors


def test_a_validation_error_names_its_field_first() -> None:
    error = errors.ValidationError("messages[1].title", "is required")
    assert (str(error), error.field) == ("messages[1].title: is required", "messages[1].title")


def test_every_domain_error_has_its_http_status() -> None:
    domain = {cls for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, errors.InboxError)}
    assert domain - {errors.InboxError} == set(HTTP_ERRORS)
    assert not issubclass(errors.ConfigurationError, errors.InboxError)  # a deployment bug: a 500, never a 4xx
