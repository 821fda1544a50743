"""The per-user request limit of the ``/me`` routes: 429 with Retry-After past it, per user, never on admin routes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api, TokenFactory

ALLOWED = "http://localhost:3000"  # the dev stage's INAPP_CORS_ORIGINS


class FrozenClock:
    """Wall-clock seconds for the request limit, moved only by the test."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def limited(api: Api, monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    """The default limit (20 a second, a burst of 100) on, its clock frozen: every request comes "at once"."""
    from chalicelib import service

    monkeypatch.delenv("INAPP_USER_RATE")
    monkeypatch.delenv("INAPP_USER_BURST", raising=False)
    service.reset()
    clock = FrozenClock()
    limiter = service.get_request_limiter()
    assert limiter is not None and (limiter.limit.rate, limiter.limit.burst) == (20, 100)
    limiter.clock = clock
    return clock


LIMITED = "rate: at most 20 requests a second per user (a burst of 100); retry after 1 s"


def test_a_user_past_the_burst_gets_429_with_retry_after_and_other_users_do_not(
    api: Api, limited: FrozenClock, token: TokenFactory
) -> None:
    alice, bob = token("alice"), token("bob")
    statuses = [api.call("GET", "/me/preferences", token=alice).status_code for _ in range(100)]
    assert statuses == [200] * 100
    refused = api.call("GET", "/me/unread-count", token=alice)
    assert (refused.status_code, refused.json_body) == (429, {"Code": "TooManyRequestsError", "Message": LIMITED})
    assert refused.headers["Retry-After"] == "1"
    read = api.call("PATCH", "/me/messages/01M87B7Z864SRYNJTHXHH51G00", token=alice, json_body={"status": "read"})
    assert read.status_code == 429
    assert api.call("GET", "/me/preferences", token=bob).status_code == 200


def test_admin_routes_keep_the_stages_throttling_only(api: Api, limited: FrozenClock, token: TokenFactory) -> None:
    admin = token("ops", admin=True)
    assert [api.call("GET", "/channels", token=admin).status_code for _ in range(150)] == [200] * 150
    assert [api.call("GET", "/me/preferences", token=admin).status_code for _ in range(101)] == [200] * 100 + [429]
    assert api.call("GET", "/channels", token=admin).status_code == 200


def test_after_retry_after_the_user_gets_200_again(api: Api, limited: FrozenClock, token: TokenFactory) -> None:
    alice = token("alice")
    for _ in range(100):
        api.call("GET", "/me/preferences", token=alice)
    refused = api.call("GET", "/me/preferences", token=alice)
    assert refused.status_code == 429
    limited.now += int(refused.headers["Retry-After"])  # 20 more tokens in a second
    assert [api.call("GET", "/me/preferences", token=alice).status_code for _ in range(21)] == [200] * 20 + [429]


def test_a_page_of_another_origin_can_read_retry_after(api: Api, limited: FrozenClock, token: TokenFactory) -> None:
    alice = token("alice")
    for _ in range(100):
        api.call("GET", "/me/preferences", token=alice)
    refused = api.call("GET", "/me/preferences", token=alice, headers={"Origin": ALLOWED})
    assert refused.status_code == 429
    assert refused.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert refused.headers["Access-Control-Expose-Headers"] == "Retry-After"


def test_a_bad_token_is_401_before_any_limit(api: Api, limited: FrozenClock) -> None:
    """No verified ``sub``, nothing to count: a flood of forged tokens never fills anyone's bucket."""
    assert [api.call("GET", "/me/preferences", token="forged").status_code for _ in range(3)] == [401] * 3


def test_every_user_route_takes_from_the_limit_and_no_admin_route_does() -> None:
    """Each handler of a ``/me`` route names its caller with ``api.user`` (principal + limit); the others never do."""
    import ast
    from pathlib import Path

    tree = ast.parse((Path(__file__).resolve().parents[3] / "app.py").read_text())
    user_routes, other_routes = 0, 0
    for function in (node for node in tree.body if isinstance(node, ast.FunctionDef)):
        paths = [
            d.args[0].value
            for d in function.decorator_list
            if isinstance(d, ast.Call) and d.args and isinstance(d.args[0], ast.Constant)
        ]
        if not paths or not str(paths[0]).startswith("/"):
            continue
        called = {n.func.attr for n in ast.walk(function) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
        if str(paths[0]).startswith("/me/"):
            user_routes += 1
            assert "user" in called and "principal" not in called, function.name
        else:
            other_routes += 1
            assert "user" not in called, function.name
    assert user_routes >= 11 and other_routes >= 10


BULK_ROUTES = [("/me/messages/read", {}), ("/me/messages/seen", {}), ("/me/messages/archive", {"channel": "news"})]


@pytest.mark.parametrize(("path", "body"), BULK_ROUTES)
def test_a_bulk_change_while_another_of_the_users_runs_is_429_and_changes_nothing(
    api: Api, token: TokenFactory, channel: str, send: Any, path: str, body: dict[str, str]
) -> None:
    """Two bulk runs of one user side by side would add their paces up (two tabs, or a client that ignores
    Retry-After): the second waits, the page and the JS client wait it out; other users are not held."""
    from chalicelib import service

    send(["alice", "bob"], title="one", channel=channel)
    alice = token("alice")
    with service.get_bulk_leases().hold("bulk#alice"):  # alice's other bulk change, still running
        refused = api.call("POST", path, token=alice, json_body=body)
        assert refused.status_code == 429, refused.json_body
        assert refused.json_body["Message"].startswith("bulk: one bulk change at a time per user")
        assert refused.headers["Retry-After"] == "2"  # soon: a run takes seconds, not the lease's 30
        assert api.call("POST", path, token=token("bob"), json_body=body).json_body == {"updated": 1, "more": False}
        bad = api.call("POST", path, token=alice, json_body={"channel": 7})
        assert bad.status_code == 400  # bad input is named before any lease
    # the refused one changed nothing: the same change now still finds its message to change
    assert api.call("POST", path, token=alice, json_body=body).json_body == {"updated": 1, "more": False}


def test_every_bulk_route_runs_alone_per_user() -> None:
    """Each bulk change handler (``inbox.mark_all_*``, ``inbox.archive_all``) runs inside ``api.one_bulk_at_a_time``."""
    import ast
    from pathlib import Path

    tree = ast.parse((Path(__file__).resolve().parents[3] / "app.py").read_text())
    bulk = {"mark_all_read", "mark_all_seen", "archive_all"}
    checked = 0
    for function in (node for node in tree.body if isinstance(node, ast.FunctionDef)):
        for with_node in (n for n in ast.walk(function) if isinstance(n, ast.With)):
            leased = any(isinstance(i.context_expr, ast.Call) and getattr(i.context_expr.func, "attr", "") ==
                         "one_bulk_at_a_time" for i in with_node.items)  # fmt: skip
            calls = {n.func.attr for n in ast.walk(with_node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
            checked += leased and bool(calls & bulk)
        called = {n.func.attr for n in ast.walk(function) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
        assert not (called & bulk) or "one_bulk_at_a_time" in called, function.name
    assert checked == 3
