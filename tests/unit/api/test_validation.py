"""chalicelib.api.validation: each field rule, its limit, and the field it names."""

from __future__ import annotations

import pytest

from chalicelib.api import validation as v
from chalicelib.core.errors import ValidationError


def test_channel_names_follow_the_documented_pattern() -> None:
    assert v.channel_name("deploys_2-x") == "deploys_2-x"
    for bad in ("Deploys", "-x", "", "a" * 65, 7):
        with pytest.raises(ValidationError, match=r"^name: must"):
            v.channel_name(bad)


@pytest.mark.parametrize(("raw", "expected"), [(None, v.DEFAULT_LIMIT), ("1", 1), ("100", 100)])
def test_a_limit_is_a_plain_integer_in_range(raw: str | None, expected: int) -> None:
    assert v.limit({} if raw is None else {"limit": raw}) == expected


@pytest.mark.parametrize("raw", ["0", "101", "²", "1.5", "-1", " 3"])
def test_any_other_limit_is_refused(raw: str) -> None:
    with pytest.raises(ValidationError, match=r"^limit: must be an integer from 1 to 100$"):
        v.limit({"limit": raw})


def test_user_ids_keep_the_first_of_each_and_name_the_bad_one() -> None:
    assert v.user_ids(["b", "a", "b"], "add") == ["b", "a"]
    with pytest.raises(ValidationError, match=r"^add\[1\]: must be a user id of 1 to 128 characters, not beginning with ~$"):
        v.user_ids(["a", ""], "add")


def test_text_names_its_bounds() -> None:
    with pytest.raises(ValidationError, match=r"^title: must be 1 to 100 characters$"):
        v.channel_title("")
    with pytest.raises(ValidationError, match=r"^description: must be at most 1000 characters$"):
        v.description("x" * 1001)
    with pytest.raises(ValidationError, match=r"^muted: must be true or false$"):
        v.boolean("true", "muted")
