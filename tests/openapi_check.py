"""Validates every API response the tests see against ``chalicelib/api/openapi.yaml``."""

from __future__ import annotations

import re
from typing import Any

from openapi_schema_validator import OAS30Validator

from chalicelib.api.pages import openapi_document


class OpenApiChecker:
    """Finds the documented operation of a call and checks status and body."""

    def __init__(self) -> None:
        self.document = openapi_document()
        self._paths = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"), template) for template in self.document["paths"]
        ]
        self.seen: set[tuple[str, str, str]] = set()

    def template_for(self, path: str) -> str:
        bare = path.split("?", 1)[0]
        exact = [t for regex, t in self._paths if regex.match(bare) and "{" not in t]
        matches = exact or [t for regex, t in self._paths if regex.match(bare)]
        assert matches, f"{bare} is not described in openapi.yaml"
        return str(matches[0])

    def check(self, method: str, path: str, status: int, body: Any) -> None:
        template = self.template_for(path)
        operation = self.document["paths"][template].get(method.lower())
        assert operation is not None, f"{method} {template} is not described in openapi.yaml"
        response = operation["responses"].get(str(status))
        assert response is not None, f"{method} {template} answered {status}, not described in openapi.yaml"
        if "$ref" in response:
            response = self.document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        self.seen.add((method.upper(), template, str(status)))
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            return
        root = {**schema, "components": self.document["components"]}
        OAS30Validator(root).validate(body)
