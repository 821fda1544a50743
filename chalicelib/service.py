"""The per-container objects the handlers share, built lazily on first use."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import timedelta

from chalicelib.config import Settings, get_settings
from chalicelib.cursors import CursorCodec
from chalicelib.models import bind_models
from chalicelib.sending import Sender


@dataclass(frozen=True)
class Services:
    settings: Settings
    cursors: CursorCodec
    sender: Sender


@functools.lru_cache(maxsize=1)
def get_services() -> Services:
    """Settings read, models bound, helpers built — once per container."""
    settings = get_settings()
    bind_models(settings)
    return Services(
        settings=settings,
        cursors=CursorCodec(settings.cursor_secret),
        sender=Sender(timedelta(days=settings.retention_days)),
    )


def reset() -> None:
    """Forget everything built from the environment (tests change it)."""
    get_services.cache_clear()
    get_settings.cache_clear()
