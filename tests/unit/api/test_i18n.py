"""The message catalogues of the element (``static/i18n-<locale>.js``) and of the admin console
(``static/i18n-admin-<locale>.js``): every locale has exactly en's keys, the same placeholders in each text, and
en has every key the element's (or the console's) files ask for and no other."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chalicelib.api.pages import CONTENT_TYPES, LOCALES, STATIC, openapi_document
from tests.e2e import catalogue

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def test_the_locales_are_the_ones_offered() -> None:
    assert LOCALES == ("en", "nl", "de", "fr", "es", "zh-CN", "ja")
    i18n = (STATIC / "i18n.js").read_text(encoding="utf-8")
    for locale in LOCALES:
        assert f'from "./i18n-{locale}.js";' in i18n


@pytest.mark.parametrize("of", ["", "admin"])
@pytest.mark.parametrize("locale", LOCALES)
def test_every_locale_has_exactly_ens_keys_and_placeholders(locale: str, of: str) -> None:
    en, own = catalogue("en", of), catalogue(locale, of)
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


def test_the_admin_catalogue_holds_every_key_the_console_asks_for_and_no_other() -> None:
    """Keys in t("…"), t.plural("…") (its .one and .other), withNode("…"), the page's data-i18n attributes, the
    sign-in's keys in page.js, and a status of every send log entry the API describes (t(`status.${…}`))."""
    asked: set[str] = set()
    for name in ["admin.html", "admin.js", "admin-compose.js", "admin-log.js", "admin-words.js", "page.js"]:
        source = (STATIC / name).read_text(encoding="utf-8")
        asked |= set(re.findall(r'\b(?:t|withNode)\("([a-zA-Z]+\.[a-zA-Z.]+|signout)"', source))
        asked |= set(re.findall(r'data-i18n(?:-[a-z-]+)?="([^"]+)"', source))
        asked |= set(re.findall(r'"(signin\.[a-zA-Z]+)"', source))
        for key in re.findall(r'\bt\.plural\("([a-zA-Z.]+)"', source):
            asked |= {f"{key}.one", f"{key}.other"}
    statuses = openapi_document()["components"]["schemas"]["SendLogEntry"]["properties"]["status"]["enum"]
    asked |= {f"status.{status}" for status in statuses}
    assert asked == set(catalogue("en", "admin"))


def test_the_console_offers_the_elements_locales() -> None:
    words = (STATIC / "admin-words.js").read_text(encoding="utf-8")
    for locale in LOCALES:
        assert f'from "./i18n-admin-{locale}.js";' in words
        assert f"i18n-admin-{locale}.js" in CONTENT_TYPES


@pytest.mark.parametrize("name", [f"i18n{of}-{locale}.js" for of in ("", "-admin") for locale in LOCALES])
def test_no_catalogue_repeats_a_key(name: str) -> None:
    keys = re.findall(r'^\s*"([^"]+)":', Path(STATIC / name).read_text(encoding="utf-8"), re.M)
    assert len(keys) == len(set(keys)), name
