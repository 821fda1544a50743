"""Signature V4 for the requests fan-out makes: ``POST /{stage}/@connections/{id}`` with a JSON body (and, rarely,
``DELETE`` of the same path to close a connection).

botocore's ``SigV4Auth`` is general: per request it builds an ``AWSRequest``,
re-parses the URL, sorts and trims every header, and derives the signing key
with four HMACs. For this single request shape (one method, one host, the
same four headers) almost all of that is constant. `PostSigner` builds the
canonical request and string to sign directly, derives the signing key once
per (UTC day, secret key) — the key depends only on those, the region and
the service — and reuses the constant header parts; per post it is two
SHA-256 hashes and one HMAC.

What it produces is byte-for-byte what ``SigV4Auth.add_auth`` produces for
the same request, credentials and time (``tests/unit/realtime/test_sigv4.py`` checks it,
with and without a session token). Credentials stay botocore's: each call
takes ``get_frozen_credentials()``, so a refreshed role session is used as
soon as botocore has it, and a changed secret derives a new key.

Example::

    signer = PostSigner("https://abc.execute-api.eu-west-1.amazonaws.com", "eu-west-1", credentials)
    headers = signer.headers("/prod/@connections/Ab3%3D", b'{"type":"ping"}')
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

from botocore.utils import normalize_url_path

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "execute-api"
CONTENT_TYPE = "application/json"


def host_header(endpoint: str) -> str:
    """The Host value botocore signs: lowercase host, port only when not the scheme's default."""
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != {"http": 80, "https": 443}.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


class PostSigner:
    """Signs ``POST`` requests with a JSON body (or ``DELETE`` ones) to one host, for ``execute-api`` in one region."""

    def __init__(
        self,
        endpoint: str,
        region: str,
        credentials: Any,
        *,
        service: str = SERVICE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._host = host_header(endpoint)
        self._region = region
        self._service = service
        self._credentials = credentials
        self._clock = clock
        self._lock = threading.Lock()
        self._key: tuple[str, str, bytes] = ("", "", b"")  # (day, secret, signing key)
        self._stamp: tuple[int, str] = (-1, "")  # (epoch second, X-Amz-Date)

    def _timestamp(self) -> str:
        second = int(self._clock())
        cached_second, stamp = self._stamp
        if second != cached_second:
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second))
            self._stamp = (second, stamp)
        return stamp

    def _signing_key(self, day: str, secret: str) -> bytes:
        cached_day, cached_secret, key = self._key
        if day == cached_day and secret == cached_secret:
            return key
        with self._lock:
            key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret}".encode(), day), self._region), self._service), "aws4_request")
            self._key = (day, secret, key)
        return key

    def headers(self, path: str, body: bytes, method: str = "POST") -> dict[str, str]:
        """The headers to send with ``method path`` and ``body``: Content-Type, dates, token and Authorization."""
        frozen = self._credentials.get_frozen_credentials()
        stamp = self._timestamp()
        day = stamp[:8]
        headers = {"Content-Type": CONTENT_TYPE, "X-Amz-Date": stamp}
        canonical_headers = f"content-type:{CONTENT_TYPE}\nhost:{self._host}\nx-amz-date:{stamp}\n"
        signed = "content-type;host;x-amz-date"
        if frozen.token:
            headers["X-Amz-Security-Token"] = frozen.token
            canonical_headers += f"x-amz-security-token:{' '.join(frozen.token.split())}\n"
            signed += ";x-amz-security-token"
        canonical_path = quote(normalize_url_path(path), safe="/~")
        payload_hash = hashlib.sha256(body).hexdigest()
        canonical_request = f"{method}\n{canonical_path}\n\n{canonical_headers}\n{signed}\n{payload_hash}"
        scope = f"{day}/{self._region}/{self._service}/aws4_request"
        request_hash = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
        string_to_sign = f"{ALGORITHM}\n{stamp}\n{scope}\n{request_hash}"
        key = self._signing_key(day, frozen.secret_key)
        signature = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
        headers["Authorization"] = (
            f"{ALGORITHM} Credential={frozen.access_key}/{scope}, SignedHeaders={signed}, Signature={signature}"
        )
        return headers
