"""The pages' addresses (the inbox at the stage root with its trailing slash, the admin console without one),
and the ``<inapp-inbox>`` element's modules as a page of another origin loads them."""

from __future__ import annotations

import posixpath
import re

import pytest
from chalice.app import Request

from tests.conftest import Api


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


# --- the <inapp-inbox> element, for pages of any origin -------------------------------------------------


def test_the_element_module_defaults_ws_to_the_apis_websocket_url(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INAPP_WS_URL", 'wss://abc.execute-api.eu-west-1.amazonaws.com/api"/')
    response = api.call("GET", "/inapp-inbox.js")
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    source = response.body.decode()
    # A JavaScript string, whatever the setting holds (a quote cannot end it early).
    assert 'InappInbox.defaultWsUrl = "wss://abc.execute-api.eu-west-1.amazonaws.com/api\\"";' in source
    assert 'import { InappInbox } from "./static/inbox-element.js";' in source


def test_every_module_of_the_element_loads_from_another_origin(api: Api) -> None:
    """Module scripts load in CORS mode: the entry and everything it imports, directly or not, answer ``*``."""
    pending, loaded = ["/inapp-inbox.js"], set[str]()
    while pending:
        path = pending.pop()
        response = api.call("GET", path, headers={"Origin": "https://app.example"})
        assert response.status_code == 200, path
        assert response.headers["Access-Control-Allow-Origin"] == "*", path
        assert "Access-Control-Allow-Credentials" not in response.headers
        loaded.add(path)
        base = "/static/" if path.startswith("/static/") else "/"
        for target in re.findall(r'^(?:import|export)\b[^"]*"(\.{1,2}/[^"]+)"', response.body.decode(), re.M):
            resolved = posixpath.normpath(posixpath.join(base, target))
            if resolved not in loaded:
                pending.append(resolved)
    assert {"/static/inbox-client.js", "/static/i18n-ja.js", "/static/inbox-styles.js"} <= loaded


def test_a_configured_origin_gets_its_own_name_back_on_the_module(api: Api) -> None:
    response = api.call("GET", "/inapp-inbox.js", headers={"Origin": "http://localhost:3000"})  # the dev stage's
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert response.headers["Vary"] == "Origin"


def test_the_page_and_styles_are_not_opened_to_other_origins(api: Api) -> None:
    for path in ("/", "/static/page.css", "/admin"):
        response = api.call("GET", path, headers={"Origin": "https://app.example"})
        assert "Access-Control-Allow-Origin" not in response.headers, path
