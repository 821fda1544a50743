"""The inbox page's address: served at the stage root, with its trailing slash."""

from __future__ import annotations


def test_the_page_without_its_trailing_slash_redirects_to_it() -> None:
    """Deployed, ``…/api`` and ``…/api/`` reach the same route; relative URLs only work from the second."""
    from chalice.app import Request

    from chalicelib.http import missing_slash

    def request(path: str) -> Request:
        context = {"httpMethod": "GET", "resourcePath": "/", "path": path}
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

    redirect = missing_slash(request("/api"))
    assert redirect is not None and (redirect.status_code, redirect.headers["Location"]) == (308, "/api/")
    assert missing_slash(request("/api/")) is None and missing_slash(request("/")) is None
