"""What `bench.posts` measures ours against: the aws-samples delivery done the obvious way, and the poster before ours.

The baseline handler queries each record's user's connections, then posts
with botocore's ``apigatewaymanagementapi`` client one at a time; the
previous poster signed each request with botocore's ``SigV4Auth`` and sent
it through a ``PoolManager``.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any
from urllib.parse import quote

import boto3

BASELINE_TABLE = "baseline-connections"


def baseline_handler(records: list[dict[str, Any]], dynamodb: Any, api: Any) -> int:
    """What a competent first version looks like (aws-samples' chat app, per user).

    It posts the same two frames per connection as ours (the message, then the counts), but keeps
    no counts: ours also makes one UpdateItem per user, so the comparison is, if anything, unfair to ours.
    """
    posts = 0
    for record in records:
        if record["eventName"] != "INSERT":
            continue
        image = record["dynamodb"]["NewImage"]
        frame = json.dumps({"type": "message.created", "message": {"id": image["id"]["S"], "title": image["title"]["S"]}})
        counts = json.dumps({"type": "counts.updated", "counts": {"total": 1, "unseen": 1, "channels": {}}})
        found = dynamodb.query(
            TableName=BASELINE_TABLE,
            KeyConditionExpression="userId = :u",
            ExpressionAttributeValues={":u": image["userId"]},
        )
        for item in found["Items"]:
            try:
                for data in (frame, counts):
                    api.post_to_connection(ConnectionId=item["connectionId"]["S"], Data=data.encode())
                    posts += 1
            except api.exceptions.GoneException:
                dynamodb.delete_item(
                    TableName=BASELINE_TABLE, Key={"userId": image["userId"], "connectionId": item["connectionId"]}
                )
    return posts


def time_baseline(records: list[dict[str, Any]], endpoint: str) -> tuple[float, int]:
    dynamodb = boto3.client("dynamodb", endpoint_url=os.environ["INAPP_DYNAMODB_ENDPOINT"])
    api = boto3.client("apigatewaymanagementapi", endpoint_url=endpoint)
    started = time.perf_counter()
    posts = baseline_handler(records, dynamodb, api)
    return time.perf_counter() - started, posts


def http_client_post(endpoint: str, credentials: Any) -> Any:
    """Our signer on ``http.client``'s ``HTTPConnection.request`` (head and body in two writes, every header
    checked): the pool's way until 2026-12-07, the 'before' of the one-write exchange."""
    import http.client
    from urllib.parse import urlsplit

    from chalicelib.realtime.sigv4 import PostSigner

    parts = urlsplit(endpoint)
    signer = PostSigner(endpoint, "us-east-1", credentials)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)

    def post(connection_id: str, payload: bytes) -> None:
        path = f"{parts.path}/@connections/{quote(connection_id, safe='')}"
        connection.request("POST", path, payload, signer.headers(path, payload))
        response = connection.getresponse()
        response.read()
        assert response.status == 200

    return post


def sigv4auth_post(endpoint: str, credentials: Any) -> Any:
    """The previous poster's path (botocore ``SigV4Auth`` per request, a ``PoolManager``): the 'before' figure."""
    import urllib3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    pool = urllib3.PoolManager(num_pools=2, maxsize=4)

    def post(connection_id: str, payload: bytes) -> None:
        url = f"{endpoint}/@connections/{quote(connection_id, safe='')}"
        request = AWSRequest(method="POST", url=url, data=payload, headers={"Content-Type": "application/json"})
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", "us-east-1").add_auth(request)
        assert pool.request("POST", url, body=payload, headers=dict(request.headers.items()), retries=False).status == 200

    return post
