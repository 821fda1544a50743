"""The embedded DynamoDB (and DynamoDB Streams): moto's server on loopback."""

from __future__ import annotations

import logging
import socket
from typing import Any

from moto.server import ThreadedMotoServer

from infra.local import moto_patches


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class EmbeddedDynamoDB:
    """moto's server in this process, so its backend can be pruned."""

    def __init__(self, port: int = 0) -> None:
        moto_patches.apply()
        self.port = port or free_port()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._server.start()
        # moto's werkzeug logs every request at INFO.
        for name in ("werkzeug", "moto"):
            logging.getLogger(name).setLevel(logging.WARNING)

    def stop(self) -> None:
        self._server.stop()

    @staticmethod
    def prune_iterators(keep: set[str]) -> None:
        """moto stores every shard iterator it ever issued (~2.8 KiB each): drop all but ``keep``."""
        from moto.dynamodbstreams.models import dynamodbstreams_backends

        for account in list(dynamodbstreams_backends.keys()):
            for region in list(dynamodbstreams_backends[account].keys()):
                backend: Any = dynamodbstreams_backends[account][region]
                stale = [arn for arn in backend.shard_iterators if arn not in keep]
                for arn in stale:
                    backend.shard_iterators.pop(arn, None)
