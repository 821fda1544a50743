"""openapi.yaml describes every Chalice route and is what /openapi.json serves."""

from __future__ import annotations

from openapi_spec_validator import validate

from chalicelib.api.pages import openapi_document
from tests.conftest import Api


def test_document_is_valid_openapi_3() -> None:
    validate(openapi_document())


def test_every_chalice_route_and_method_is_described() -> None:
    from app import app

    paths = openapi_document()["paths"]
    described = {(path, method.upper()) for path, item in paths.items() for method in item if method != "parameters"}
    routes = {(path, method) for path, methods in app.routes.items() for method in methods if method != "OPTIONS"}
    assert routes - described == set()
    assert described - routes == set()


def test_served_at_openapi_json(api: Api) -> None:
    response = api.call("GET", "/openapi.json")
    assert response.status_code == 200
    assert response.json_body == openapi_document()


def test_inbox_page_and_static_files(api: Api) -> None:
    page = api.call("GET", "/")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert '<script type="module" src="static/inbox-page.js">' in page.body.decode()
    for name, kind in (
        ("inbox-client.js", "text/javascript"),
        ("inbox-element.js", "text/javascript"),
        ("inbox-page.js", "text/javascript"),
        ("i18n-zh-CN.js", "text/javascript"),
        ("page.css", "text/css"),
        ("page.js", "text/javascript"),
    ):
        response = api.call("GET", f"/static/{name}")
        assert response.status_code == 200 and response.headers["Content-Type"].startswith(kind)
    missing = api.call("GET", "/static/app.py")
    assert (missing.status_code, missing.json_body["Message"]) == (404, "name: file 'app.py' not found")


def test_the_static_names_it_lists_are_exactly_the_files_served() -> None:
    from chalicelib.api.pages import CONTENT_TYPES, STATIC

    (name,) = [p for p in openapi_document()["paths"]["/static/{name}"]["get"]["parameters"] if p["name"] == "name"]
    assert sorted(name["schema"]["enum"]) == sorted(CONTENT_TYPES)
    assert all((STATIC / file).is_file() for file in CONTENT_TYPES)
