"""Token verification, in one place for HTTP routes and the WebSocket.

HS256 with ``INAPP_JWT_SECRET`` (local/dev), or RS256/ES256 keys from
``INAPP_JWKS_URL`` (Cognito or any OIDC provider) with issuer and audience
checks. ``exp`` and ``sub`` are required; ``alg: none`` is never accepted.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.core.errors import ForbiddenError, UnauthorizedError

if TYPE_CHECKING:
    import jwt

    from chalicelib.core.config import Settings

# PyJWT is imported where tokens are handled, not at module import: with
# cryptography installed it costs ~110 ms, and the send and stream functions
# never verify a token.

ADMIN_ROLE = "admin"
COGNITO_GROUPS_CLAIM = "cognito:groups"
JWKS_ALGORITHMS = ["RS256", "ES256"]
MAX_USER_ID = 128


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's subject and whether it holds the admin role."""

    user_id: str
    is_admin: bool

    def require_admin(self) -> None:
        if not self.is_admin:
            raise ForbiddenError("this operation needs the admin role")


@functools.lru_cache(maxsize=4)
def _jwks_client(url: str) -> jwt.PyJWKClient:
    import jwt

    # PyJWKClient caches the key set and refetches on an unknown kid.
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=5)


def _roles(claims: dict[str, Any], roles_claim: str) -> set[str]:
    roles: set[str] = set()
    for claim in (roles_claim, COGNITO_GROUPS_CLAIM):
        value = claims.get(claim)
        if isinstance(value, str):
            roles.update(value.replace(",", " ").split())
        elif isinstance(value, list):
            roles.update(v for v in value if isinstance(v, str))
    return roles


def _decode(token: str, settings: Settings) -> dict[str, Any]:
    import jwt

    options: Any = {"require": ["exp", "sub"]}
    if settings.jwks_url:  # load_settings guarantees an issuer and an audience with a JWKS
        key = _jwks_client(settings.jwks_url).get_signing_key_from_jwt(token).key
        jwks_options: Any = {"require": ["exp", "sub", "iss", "aud"]}
        return jwt.decode(
            token,
            key,
            algorithms=JWKS_ALGORITHMS,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            options=jwks_options,
        )
    assert settings.jwt_secret is not None  # load_settings guarantees one of the two
    return jwt.decode(token, settings.jwt_secret, algorithms=["HS256"], options=options)


def verify_token(token: str | None, settings: Settings) -> Principal:
    """Check a raw JWT and return its principal, or raise UnauthorizedError."""
    if not token:
        raise UnauthorizedError("a bearer token is required")
    import jwt

    try:
        claims = _decode(token, settings)
    except jwt.ExpiredSignatureError:
        raise UnauthorizedError("the token has expired") from None
    except (jwt.PyJWTError, ValueError):
        raise UnauthorizedError("the token is invalid") from None
    user_id = claims.get("sub")
    if not isinstance(user_id, str) or not 1 <= len(user_id) <= MAX_USER_ID:
        raise UnauthorizedError("the token's sub must be a user id of 1 to 128 characters")
    return Principal(user_id=user_id, is_admin=ADMIN_ROLE in _roles(claims, settings.roles_claim))


def bearer_token(headers: dict[str, str] | Any) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, if any."""
    value = headers.get("authorization") or ""
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def issue_token(user_id: str, secret: str, *, admin: bool = False, lifetime_seconds: int = 86400, now: int | None = None) -> str:
    """An HS256 token for local use and tests (the cloud uses Cognito/OIDC)."""
    import jwt

    issued = int(time.time()) if now is None else now
    claims: dict[str, Any] = {"sub": user_id, "iat": issued, "exp": issued + lifetime_seconds}
    if admin:
        claims["roles"] = [ADMIN_ROLE]
    return jwt.encode(claims, secret, algorithm="HS256")
