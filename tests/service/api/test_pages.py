"""The pages' addresses: the inbox at the stage root with its trailing slash, the admin console without one."""

from __future__ import annotations

from chalice.app import Request


def _request(resource: str, path: str) -> Request:
    context = {"httpMethod": "GET", "resourcePath": resource, "path": path}
    return Request(
        {
            "headers": {},
            "multiValueQueryStringParameters": None,
            "pathParameters": None,
            "requestContext": context,
            "body": None,
            "isBase64Encoded": False,
            "stageVariables": None,
        }
    )


def test_the_page_without_its_trailing_slash_redirects_to_it() -> None:
    """Deployed, ``…/api`` and ``…/api/`` reach the same route; relative URLs only work from the second."""
    from chalicelib.api.edge import missing_slash

    redirect = missing_slash(_request("/", "/api"))
    assert redirect is not None and (redirect.status_code, redirect.headers["Location"]) == (308, "/api/")
    assert missing_slash(_request("/", "/api/")) is None and missing_slash(_request("/", "/")) is None


def test_the_admin_page_with_a_trailing_slash_redirects_without_it() -> None:
    """``…/api/admin/`` would load ``…/api/admin/static/admin.js``, which does not exist."""
    from chalicelib.api.edge import extra_slash

    redirect = extra_slash(_request("/admin", "/api/admin/"))
    assert redirect is not None and (redirect.status_code, redirect.headers["Location"]) == (308, "/api/admin")
    assert extra_slash(_request("/admin", "/api/admin")) is None and extra_slash(_request("/admin", "/admin")) is None
