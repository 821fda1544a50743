"""chalicelib.service: the per-container objects, built once on first use, and a missing setting named."""

from __future__ import annotations

import pytest

from chalicelib import service
from chalicelib.core.errors import ConfigurationError
from infra.local.lambdas.queue_poller import Queues
from tests.standin import ManagementStandIn


def test_each_getter_builds_once_until_reset(standin: ManagementStandIn) -> None:
    first = service.get_services()
    assert service.get_services() is first and service.get_delivery() is service.get_delivery()
    service.reset()
    assert service.get_services() is not first


def test_the_work_queue_names_its_missing_setting(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INAPP_FANOUT_QUEUE_URL", raising=False)
    service.reset()
    with pytest.raises(ConfigurationError, match="INAPP_FANOUT_QUEUE_URL"):
        service.get_work_queue()


def test_the_audience_worker_uses_the_configured_queue(queues: Queues) -> None:
    worker = service.get_audience_worker()
    assert service.get_work_queue().url == queues.url
    assert worker is service.get_audience_worker()
