"""The template refuses the auth parameters the code would refuse, naming the setting.

CloudFormation checks a template's ``Rules`` before it creates or changes
anything, so a missing setting fails ``aws cloudformation deploy`` with its
name instead of every function's first start. Here the rules are evaluated
offline, for each documented auth mode and each mistake, in the template
``make package`` writes and in what the SAM transform makes of it; and the
same parameters, passed to the functions as the template's ``Globals`` say,
are given to ``load_settings`` and ``load_auth_settings``: both must accept or refuse alike.
"""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest

from chalicelib.core.config import load_auth_settings, load_settings
from chalicelib.core.errors import ConfigurationError
from tests import packaging

JWKS = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool/.well-known/jwks.json"
ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool"
# name → (parameters, the parameter the template must refuse them for, or None)
CASES: dict[str, tuple[dict[str, str], str | None]] = {
    "hs256": ({}, None),
    "cognito-access-tokens": ({"JwksUrl": JWKS, "JwtIssuer": ISSUER, "RolesClaim": "cognito:groups"}, None),
    "cognito-id-tokens": ({"JwksUrl": JWKS, "JwtIssuer": ISSUER, "JwtAudience": "client-1"}, None),
    "jwks-without-issuer": ({"JwksUrl": JWKS}, "JwtIssuer"),
    "jwks-with-audience-without-issuer": ({"JwksUrl": JWKS, "JwtAudience": "client-1"}, "JwtIssuer"),
}


def evaluate(expression: Any, values: dict[str, str]) -> Any:
    """A rule's condition or assertion, with the functions CloudFormation allows in Rules that this template uses."""
    if not isinstance(expression, dict):
        return expression
    ((function, argument),) = expression.items()
    if function == "Ref":
        return values[argument]
    arguments = [evaluate(a, values) for a in argument]
    if function == "Fn::Equals":
        return arguments[0] == arguments[1]
    if function == "Fn::Not":
        return not arguments[0]
    if function == "Fn::And":
        return all(arguments)
    if function == "Fn::Or":
        return any(arguments)
    raise AssertionError(f"no evaluator for {function}")


def parameter_values(template: dict[str, Any], given: dict[str, str]) -> dict[str, str]:
    """Every parameter's value as CloudFormation sees it, its AllowedPattern checked as CloudFormation does."""
    values = {name: str(given.get(name, spec.get("Default", ""))) for name, spec in template["Parameters"].items()}
    for name, spec in template["Parameters"].items():
        if "AllowedPattern" in spec:
            assert re.fullmatch(spec["AllowedPattern"], values[name]), (name, values[name])
    return values


def refusals(template: dict[str, Any], given: dict[str, str]) -> list[str]:
    """The AssertDescription of every rule assertion that fails, as a deploy would report them."""
    values = parameter_values(template, given)
    failed = []
    for rule in template.get("Rules", {}).values():
        if evaluate(rule.get("RuleCondition", True), values):
            failed += [a["AssertDescription"] for a in rule["Assertions"] if not evaluate(a["Assert"], values)]
    return failed


@pytest.fixture(scope="module", params=["sam.yaml", "transformed"])
def template(request: pytest.FixtureRequest) -> dict[str, Any]:
    return packaging.template() if request.param == "sam.yaml" else packaging.transformed()


def variable_of(parameter: str) -> str:
    """The environment variable the template's Globals pass ``parameter`` in."""
    variables = packaging.template()["Globals"]["Function"]["Environment"]["Variables"]
    (name,) = [name for name, value in variables.items() if value == {"Ref": parameter}]
    return str(name)


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_template_refuses_exactly_the_missing_settings_naming_them(template: dict[str, Any], case: str) -> None:
    given, missing = CASES[case]
    failed = refusals(template, given)
    if missing is None:
        assert failed == []
    else:
        (message,) = failed
        assert message.startswith(f"{missing} ({variable_of(missing)}) is required")


def test_the_descriptions_say_what_is_required() -> None:
    parameters = packaging.template()["Parameters"]
    assert "Requires JwtIssuer" in parameters["JwksUrl"]["Description"]
    assert "required with JwksUrl" in parameters["JwtIssuer"]["Description"]
    assert "optional" in parameters["JwtAudience"]["Description"]
    assert "client_id" in parameters["JwtAudience"]["Description"]
    assert "cognito:groups" in parameters["RolesClaim"]["Description"]


def _function_environment(given: dict[str, str]) -> dict[str, str]:
    """The auth variables each function gets: the template's Globals, with its parameters' values."""
    template = packaging.template()
    values = parameter_values(template, given)
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    return {
        name: values[value["Ref"]]
        for name, value in variables.items()
        if isinstance(value, dict) and value.get("Ref") in template["Parameters"]
        and name not in ("INAPP_CORS_ORIGINS", "INAPP_RETENTION_DAYS", "POWERTOOLS_METRICS_NAMESPACE")
    }  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_code_accepts_and_refuses_what_the_template_does(aws: None, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    given, missing = CASES[case]
    environment = _function_environment(given)
    boto3.client("ssm").put_parameter(
        Name=environment["INAPP_SECRET_PARAMETER"], Type="SecureString", Value="s" * 32, Overwrite=True
    )
    monkeypatch.delenv("INAPP_JWT_SECRET")  # the template never sets it: the secret comes from SSM
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    if missing is None:
        load_settings()
        load_auth_settings()
    else:
        with pytest.raises(ConfigurationError, match=variable_of(missing)):
            load_settings()
            load_auth_settings()


def test_the_deploy_docs_say_what_the_template_requires() -> None:
    text = (packaging.ROOT / "docs" / "deploy.md").read_text()
    cognito = " ".join(text[text.index("**Cognito") : text.index("**Tear down**")].split())
    assert "`JwtIssuer=" in cognito and "The issuer is required with a JWKS URL" in cognito
    assert "`JwtAudience=APP_CLIENT_ID` is optional" in cognito and "`client_id`" in cognito
    assert "`RolesClaim=cognito:groups`" in cognito and "roles claim only" in cognito
