"""Business metrics as CloudWatch embedded metric format (EMF), through Powertools Metrics.

Handlers call ``add(name, value, unit)`` as things happen and the
``middleware`` (registered for every event type) calls ``flush()`` once per
invocation: one JSON line on stdout per flush, which CloudWatch Logs turns
into metrics. No API call, no extra latency, nothing to grant.

Why a module of our own in front of Powertools:

* **Cold start.** Importing Powertools costs ~45 ms (its package imports its
  logger and tracer too). ``add`` only buffers; Powertools is imported on
  the first ``flush`` that has something to publish, never by ``import app``.
* **One list of names.** ``add`` refuses a name that is not in
  ``METRIC_NAMES``; the template's alarms and dashboard are tested against
  the same constants, so an alarm cannot watch a metric nobody emits.
* **Threads.** Delivery posts from a thread pool; the buffer takes a lock
  (Powertools' own metric set is a plain dict).

Every metric carries one dimension, ``service`` (``SERVICE``): an alarm must
name exactly that dimension set to see the metric. The namespace is
Powertools' ``POWERTOOLS_METRICS_NAMESPACE`` (the template sets it from its
``MetricsNamespace`` parameter), ``DEFAULT_NAMESPACE`` otherwise.
``POWERTOOLS_METRICS_DISABLED=true`` (or ``POWERTOOLS_DEV=true``) turns
publishing off, as in Powertools.

Example::

    metrics.add(metrics.FRAMES_POSTED, report.posts)
    metrics.add(metrics.DELIVERY_LAG, 840.0, "Milliseconds")
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any, Literal

Unit = Literal["Count", "Milliseconds"]

NAMESPACE_VARIABLE = "POWERTOOLS_METRICS_NAMESPACE"
DEFAULT_NAMESPACE = "InApp"
SERVICE = "inapp"
DIMENSIONS = {"service": SERVICE}

# Sending (POST /messages and the send Lambda).
SENDS = "Sends"  # sends stored (replays of an Idempotency-Key excluded)
RECIPIENTS_STORED = "RecipientsStored"  # inbox items written by those sends
# Delivery (the stream handler).
FRAMES_POSTED = "FramesPosted"  # posts API Gateway accepted (200)
CONNECTIONS_GONE = "ConnectionsGone"  # 410: connection forgotten
POSTS_THROTTLED = "PostsThrottled"  # 429/5xx answers that were retried
POSTS_FAILED = "PostsFailed"  # posts still failing after the retries
FRAMES_DROPPED = "FramesDropped"  # 413: frame too large, dropped
BATCH_ITEM_FAILURES = "BatchItemFailures"  # records handed back to Lambda to retry
DELIVERY_LAG = "DeliveryLag"  # ms from the stream record's creation to the post
# Audience fan-out (chunks of subscribers).
FANOUT_RECIPIENTS = "FanOutRecipients"  # recipients stored by a chunk (progress)
FANOUT_CHUNKS = "FanOutChunks"  # chunks completed
FANOUT_FAILURES = "FanOutFailures"  # chunks that failed (retried by their queue)

METRIC_NAMES = frozenset(
    {
        SENDS,
        RECIPIENTS_STORED,
        FRAMES_POSTED,
        CONNECTIONS_GONE,
        POSTS_THROTTLED,
        POSTS_FAILED,
        FRAMES_DROPPED,
        BATCH_ITEM_FAILURES,
        DELIVERY_LAG,
        FANOUT_RECIPIENTS,
        FANOUT_CHUNKS,
        FANOUT_FAILURES,
    }
)

_lock = threading.Lock()
_buffer: dict[str, tuple[Unit, list[float]]] = {}


def add(name: str, value: float = 1, unit: Unit = "Count") -> None:
    """Record one value of a metric for this invocation (cheap: no import, no I/O)."""
    if name not in METRIC_NAMES:
        raise ValueError(f"unknown metric {name!r}: add it to chalicelib.core.metrics.METRIC_NAMES")
    with _lock:
        recorded_unit, values = _buffer.setdefault(name, (unit, []))
        if recorded_unit != unit:
            raise ValueError(f"metric {name!r} is recorded in {recorded_unit}, not {unit}")
        values.append(float(value))


def _take() -> dict[str, tuple[Unit, list[float]]]:
    with _lock:
        taken = dict(_buffer)
        _buffer.clear()
    return taken


def namespace() -> str:
    return os.environ.get(NAMESPACE_VARIABLE, "").strip() or DEFAULT_NAMESPACE


def flush() -> None:
    """Print what was recorded since the last flush as EMF, then forget it."""
    pending = _take()
    if not pending:
        return  # nothing to say: no Powertools import, no empty-metrics warning
    from aws_lambda_powertools.metrics.functions import is_metrics_disabled

    if is_metrics_disabled():
        return
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

    provider = AmazonCloudWatchEMFProvider(namespace=namespace(), service=SERVICE)
    for name, (unit, values) in pending.items():
        for value in values:
            provider.add_metric(name=name, unit=unit, value=value)  # prints by itself at 100 values of one metric
    if provider.metric_set:
        provider.flush_metrics()


def middleware(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Chalice middleware (``app.register_middleware(metrics.middleware, "all")``): flush after every invocation."""
    try:
        return get_response(event)
    finally:
        flush()
