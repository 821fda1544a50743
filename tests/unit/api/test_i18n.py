"""The element's message catalogues (``chalicelib/api/static/i18n-*.js``): every locale has exactly en's keys,
the same placeholders in each text, and every key the element's modules ask for."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chalicelib.api.pages import CONTENT_TYPES, LOCALES, STATIC
from tests.e2e import catalogue

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def test_the_locales_are_the_ones_offered() -> None:
    assert LOCALES == ("en", "nl", "de", "fr", "es", "zh-CN", "ja")
    i18n = (STATIC / "i18n.js").read_text(encoding="utf-8")
    for locale in LOCALES:
        assert f'from "./i18n-{locale}.js";' in i18n


@pytest.mark.parametrize("locale", LOCALES)
def test_every_locale_has_exactly_ens_keys_and_placeholders(locale: str) -> None:
    en, own = catalogue("en"), catalogue(locale)
    assert set(own) == set(en), f"missing {sorted(set(en) - set(own))}, extra {sorted(set(own) - set(en))}"
    for key, text in own.items():
        assert text.strip(), key
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(en[key])), key


def test_the_catalogue_holds_every_key_the_element_asks_for_and_no_other() -> None:
    """Literal keys in t("…") calls and in the element's key tables (tabs, empty lists, connection states)."""
    asked: set[str] = set()
    for name in CONTENT_TYPES:
        if name.startswith("inbox-") and name.endswith(".js") and name != "inbox-client.js":  # its words: frame types
            source = (STATIC / name).read_text(encoding="utf-8")
            asked |= set(re.findall(r'\bt\("([a-zA-Z]+\.[a-zA-Z]+)"', source))
            asked |= set(re.findall(r'"((?:tab|empty|connection|severity|message|bulk)\.[a-zA-Z]+)"', source))
    asked |= {"severity.high", "severity.critical"}  # t(`severity.${severity}`)
    assert asked == set(catalogue("en"))


def test_no_catalogue_repeats_a_key() -> None:
    for locale in LOCALES:
        keys = re.findall(r'^\s*"([^"]+)":', Path(STATIC / f"i18n-{locale}.js").read_text(encoding="utf-8"), re.M)
        assert len(keys) == len(set(keys)), locale
