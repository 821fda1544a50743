"""The stream mapping's settings: inside Lambda's limits, and read without the posting machinery."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import chalicelib.realtime
from chalicelib.realtime import stream_mapping

HOMES = ("budget", "closing", "connections", "delivery", "late", "pacing", "poster", "routes", "stream_mapping")


def test_the_batch_fits_lambdas_limits() -> None:
    assert 1 <= stream_mapping.STREAM_BATCH_SIZE <= 10_000
    assert 0 <= stream_mapping.STREAM_BATCH_WINDOW_SECONDS <= 300
    assert 0 <= stream_mapping.STREAM_MAX_RETRY_ATTEMPTS <= 10_000
    assert 60 <= stream_mapping.STREAM_MAX_RECORD_AGE_SECONDS <= 604_800


def test_importing_app_leaves_the_posting_machinery_unimported() -> None:
    modules = "import sys, app; print(sorted(m for m in sys.modules if m.startswith('chalicelib.realtime.')))"
    printed = subprocess.run([sys.executable, "-c", modules], check=True, capture_output=True, text=True).stdout
    assert printed.strip() == "['chalicelib.realtime.stream_mapping']"


@pytest.mark.parametrize("name", chalicelib.realtime.__all__)
def test_every_name_of_the_face_is_its_modules_own(name: str) -> None:
    found = getattr(chalicelib.realtime, name)
    owners = [home for home in HOMES if getattr(importlib.import_module(f"chalicelib.realtime.{home}"), name, None) is found]
    assert owners, f"chalicelib.realtime.{name} is no module's"


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'Nothing'"):
        chalicelib.realtime.Nothing  # noqa: B018
