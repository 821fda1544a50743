"""An identity provider's key set on loopback, and the tokens it signs (Cognito's shapes)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://issuer.example"
CLIENT_ID = "inbox-client"


class JwksServer:
    """Serves one RSA key's JWKS document at ``url``, counting the fetches."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        document = json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()
        served = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                served.hits += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(document)

            def log_message(self, *args: Any) -> None:
                return

        self.hits = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/.well-known/jwks.json"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def signed(key: rsa.RSAPrivateKey, claims: dict[str, Any]) -> str:
    """``claims`` (None values dropped) signed RS256 under the key set's ``kid``."""
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm="RS256", headers={"kid": "k1"})


def id_token(key: rsa.RSAPrivateKey, **overrides: Any) -> str:
    """A Cognito ID token: the app client in ``aud``, groups in ``cognito:groups``."""
    claims = {"sub": "oidc-user", "exp": int(time.time()) + 600, "iss": ISSUER, "aud": CLIENT_ID, "cognito:groups": ["admin"]}
    return signed(key, {**claims, "token_use": "id", **overrides})


def access_token(key: rsa.RSAPrivateKey, **overrides: Any) -> str:
    """What a single-page app holds: ``token_use: access``, the app client in ``client_id``, no ``aud``."""
    claims = {
        "sub": "spa-user",
        "exp": int(time.time()) + 600,
        "iss": ISSUER,
        "token_use": "access",
        "client_id": CLIENT_ID,
        "scope": "aws.cognito.signin.user.admin",
    }
    return signed(key, {**claims, **overrides})
