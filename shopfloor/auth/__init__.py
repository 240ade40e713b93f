"""One token-and-role scheme for every HTTP service: roles and scopes, hashed API tokens, HMAC request
signing, and the FastAPI dependencies routers declare (``dependencies=[Depends(require(Role.PLANNER))]``)."""

from shopfloor.auth.deps import AUTH_RESPONSES, CurrentPrincipal, authenticated, install, require
from shopfloor.auth.roles import Principal, Role, Scope
from shopfloor.auth.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, signed_headers, verify
from shopfloor.auth.tokens import (
    DbTokenStore,
    StaticTokenStore,
    TokenStore,
    create_token,
    hash_token,
    list_tokens,
    revoke_token,
)

__all__ = [
    "AUTH_RESPONSES",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "CurrentPrincipal",
    "DbTokenStore",
    "Principal",
    "Role",
    "Scope",
    "StaticTokenStore",
    "TokenStore",
    "authenticated",
    "create_token",
    "hash_token",
    "install",
    "list_tokens",
    "require",
    "revoke_token",
    "sign",
    "signed_headers",
    "verify",
]
