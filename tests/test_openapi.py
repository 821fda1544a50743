"""openapi.yaml describes every Chalice route and is what /openapi.json serves."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate

from chalicelib.http import openapi_document


def test_document_is_valid_openapi_3() -> None:
    validate(openapi_document())


def test_every_chalice_route_and_method_is_described() -> None:
    from app import app

    paths = openapi_document()["paths"]
    described = {(path, method.upper()) for path, item in paths.items() for method in item if method != "parameters"}
    routes = {(path, method) for path, methods in app.routes.items() for method in methods if method != "OPTIONS"}
    assert routes - described == set()
    assert described - routes == set()


def test_served_at_openapi_json(api: Any) -> None:
    response = api.call("GET", "/openapi.json")
    assert response.status_code == 200
    assert response.json_body == openapi_document()
