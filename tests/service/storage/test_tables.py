"""chalicelib.storage.tables: every model bound to its table, with the client settings delivery needs."""

from __future__ import annotations

from chalicelib.realtime.delivery import POST_WORKERS
from chalicelib.storage import dynamo as storage


def test_every_table_client_keeps_a_connection_per_fan_out_thread(tables: None) -> None:
    """botocore keeps 10 connections by default; the other 54 threads would each open (and TLS-negotiate) their own."""
    clients = storage.botocore_clients()
    assert len(clients) >= 8
    assert all(client.meta.config.max_pool_connections >= POST_WORKERS for client in clients)
