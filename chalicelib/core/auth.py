"""Token verification, in one place for HTTP routes and the WebSocket.

HS256 with ``INAPP_JWT_SECRET`` (local/dev), or RS256/ES256 keys from
``INAPP_JWKS_URL`` (Cognito or any OIDC provider) with the issuer checked
always and the audience when configured: an ID token's ``aud``, or a Cognito
access token's ``client_id`` (access tokens, what single-page apps send,
carry no ``aud``). ``exp`` and ``sub`` are required; ``alg: none`` is never
accepted. Admin comes from the configured roles claim only; with
``INAPP_TENANT_CLAIM`` set, the tenant from that claim (required).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeGuard

from chalicelib.core import tenants
from chalicelib.core.errors import ForbiddenError, UnauthorizedError

if TYPE_CHECKING:
    import jwt

    from chalicelib.core.config import AuthSettings

# PyJWT is imported where tokens are handled, not at module import: with
# cryptography installed it costs ~110 ms, and the send and stream functions
# never verify a token.

ADMIN_ROLE = "admin"
JWKS_ALGORITHMS = ["RS256", "ES256"]
MAX_USER_ID = 128
RESERVED = "~"  # the service's own items share the user-keyed tables under keys beginning so (``~c|<channel>``…)
USER_ID_RULE = f"must be a user id of 1 to {MAX_USER_ID} characters, not beginning with {RESERVED}"


def is_user_id(value: Any) -> TypeGuard[str]:
    """A user id as stored: 1 to 128 characters, not beginning with the reserved ``~``."""
    return isinstance(value, str) and 1 <= len(value) <= MAX_USER_ID and not value.startswith(RESERVED)


DEFAULT_TENANT_CLAIM = "tenant"  # what `issue_token` writes; deployments name theirs in INAPP_TENANT_CLAIM


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's subject, whether it holds the admin role, and when the token expires.

    With tenants on, ``user_id`` is the stored id ``<tenant>|<sub>`` (`chalicelib.core.tenants`), so
    everything keyed by it is the tenant's own; ``tenant`` is None with tenants off.
    """

    user_id: str
    is_admin: bool
    expires_at: int | None = None  # the token's ``exp``, epoch seconds: a WebSocket connection lives no longer
    tenant: str | None = None

    def channel(self, name: str) -> str:
        """The stored name of the caller's tenant's channel ``name`` (unchanged with tenants off)."""
        return tenants.scoped(self.tenant, name)

    def require_admin(self) -> None:
        if not self.is_admin:
            raise ForbiddenError("Authorization: this operation needs the admin role")


@functools.lru_cache(maxsize=4)
def _jwks_client(url: str) -> jwt.PyJWKClient:
    import jwt

    # PyJWKClient caches the key set and refetches on an unknown kid.
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=5)


def _roles(claims: dict[str, Any], roles_claim: str) -> set[str]:
    """The roles of the one configured claim: a JSON array of strings, or one string as one role."""
    value = claims.get(roles_claim)
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {v for v in value if isinstance(v, str)}
    return set()


def _audience_matches(claims: dict[str, Any], audience: str) -> bool:
    """An ID token names its client in ``aud``; a Cognito access token in ``client_id``."""
    if claims.get("token_use") == "access" and "aud" not in claims:
        return claims.get("client_id") == audience
    aud = claims.get("aud")
    return aud == audience or (isinstance(aud, list) and audience in aud)


def _decode(token: str, auth: AuthSettings) -> dict[str, Any]:
    import jwt

    if auth.jwks_url:  # load_auth_settings guarantees an issuer with a JWKS
        key = _jwks_client(auth.jwks_url).get_signing_key_from_jwt(token).key
        jwks_options: Any = {"require": ["exp", "sub", "iss"], "verify_aud": False}
        claims: dict[str, Any] = jwt.decode(token, key, algorithms=JWKS_ALGORITHMS, issuer=auth.jwt_issuer, options=jwks_options)
        if auth.jwt_audience is not None and not _audience_matches(claims, auth.jwt_audience):
            raise jwt.InvalidAudienceError("the token is for another client")
        return claims
    assert auth.jwt_secret is not None  # load_auth_settings guarantees one of the two
    options: Any = {"require": ["exp", "sub"]}
    return jwt.decode(token, auth.jwt_secret, algorithms=["HS256"], options=options)


def verify_token(token: str | None, auth: AuthSettings, field: str = "Authorization") -> Principal:
    """Check a raw JWT and return its principal, or raise UnauthorizedError naming ``field`` (where it came from)."""
    if not token:
        raise UnauthorizedError(f"{field}: a bearer token is required")
    import jwt

    try:
        claims = _decode(token, auth)
    except jwt.ExpiredSignatureError:
        raise UnauthorizedError(f"{field}: the token has expired") from None
    except (jwt.PyJWTError, ValueError):
        raise UnauthorizedError(f"{field}: the token is invalid") from None
    user_id = claims.get("sub")
    if not is_user_id(user_id):
        raise UnauthorizedError(f"{field}: the token's sub {USER_ID_RULE}")
    expires = claims.get("exp")  # required and checked by PyJWT: a number
    tenant = None if auth.tenant_claim is None else _tenant(claims, auth.tenant_claim, field)
    return Principal(
        user_id=tenants.scoped(tenant, user_id),
        is_admin=ADMIN_ROLE in _roles(claims, auth.roles_claim),
        expires_at=int(expires) if isinstance(expires, int | float) else None,
        tenant=tenant,
    )


def _tenant(claims: dict[str, Any], claim: str, field: str) -> str:
    """The caller's tenant, from the configured claim: required, and a tenant name (so it never holds ``|``)."""
    value = claims.get(claim)
    if value is None:
        raise UnauthorizedError(f"{field}: the token's {claim} claim (the tenant) is required")
    if not isinstance(value, str) or not tenants.TENANT.fullmatch(value):
        raise UnauthorizedError(f"{field}: the token's {claim} claim (the tenant) {tenants.TENANT_RULE}")
    return value


def bearer_token(headers: dict[str, str] | Any) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, if any."""
    value = headers.get("authorization") or ""
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def issue_token(
    user_id: str,
    secret: str,
    *,
    admin: bool = False,
    lifetime_seconds: int = 86400,
    now: int | None = None,
    tenant: str | None = None,
    tenant_claim: str = DEFAULT_TENANT_CLAIM,
) -> str:
    """An HS256 token for local use and tests (the cloud uses Cognito/OIDC); ``tenant`` goes in ``tenant_claim``."""
    import jwt

    issued = int(time.time()) if now is None else now
    claims: dict[str, Any] = {"sub": user_id, "iat": issued, "exp": issued + lifetime_seconds}
    if admin:
        claims["roles"] = [ADMIN_ROLE]
    if tenant is not None:
        claims[tenant_claim] = tenant
    return jwt.encode(claims, secret, algorithm="HS256")
