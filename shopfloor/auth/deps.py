"""FastAPI dependencies of the one token-and-role scheme: routers declare their roles, handlers get a principal.

    router = APIRouter(dependencies=[Depends(require(Role.PLANNER, Role.MANAGER))])

    @router.get("/plan")
    def plan(principal: CurrentPrincipal) -> ...

The app puts its :class:`~shopfloor.auth.tokens.TokenStore` on ``app.state.tokens`` (see :func:`install`).
A token comes as ``Authorization: Bearer <token>``, or, for what a browser cannot set headers on (a kiosk
URL, an EventSource), as the ``token`` query parameter or the ``shopfloor_token`` cookie. No token or an
unknown one is 401; a token without the role is 403.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Final

from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shopfloor.auth.roles import Principal, Role
from shopfloor.auth.tokens import TokenStore

TOKEN_COOKIE: Final = "shopfloor_token"
TOKEN_QUERY: Final = "token"

_bearer = HTTPBearer(auto_error=False, description="An API token (`shopfloor auth token create`).")

# What every protected route may answer besides its own statuses, for the OpenAPI.
AUTH_RESPONSES: Final[dict[int | str, dict[str, str]]] = {
    401: {"description": "No token, or a token that is unknown or revoked."},
    403: {"description": "The token lacks the role this route requires."},
}


def install(app: FastAPI, tokens: TokenStore) -> None:
    """Give ``app`` the token store its routes authenticate against."""
    app.state.tokens = tokens


def token_of(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str | None:
    if credentials is not None and credentials.scheme.lower() == "bearer":
        return credentials.credentials
    return request.query_params.get(TOKEN_QUERY) or request.cookies.get(TOKEN_COOKIE)


def authenticated(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """The caller, or 401."""
    token = token_of(request, credentials)
    store: TokenStore | None = getattr(request.app.state, "tokens", None)
    if store is None:
        raise RuntimeError("the app has no token store: call shopfloor.auth.install(app, tokens)")
    principal = store.authenticate(token) if token else None
    if principal is None:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="missing or invalid token" if token is None else "invalid or revoked token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticated)]


def require(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency that lets through a principal with any of ``roles`` (or admin), else 403."""
    allowed = frozenset(roles)
    if not allowed:
        raise ValueError("require() needs at least one role")
    names = ", ".join(sorted(allowed))

    def check_role(principal: CurrentPrincipal) -> Principal:
        if not principal.has_any(allowed):
            raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail=f"requires one of the roles: {names}")
        return principal

    return check_role
