"""API tokens: random secrets shown once, stored only as SHA-256 hashes, compared in constant time.

A token reads ``sft_<token id>_<secret>``. The id finds the row; the hash of the whole token is compared
with :func:`hmac.compare_digest`, so neither the lookup nor the comparison leaks how much of a guess was
right. The secret has 256 bits, so a fast hash is enough (a slow password hash protects low-entropy
passwords, not random tokens). Stores: :class:`DbTokenStore` (table ``api_token``, managed by
``shopfloor auth``) and :class:`StaticTokenStore` (tests, single-process tools).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from psycopg_pool import ConnectionPool

from shopfloor.auth.roles import Principal, Role, Scope
from shopfloor.db.pool import Connection

_TOKEN = re.compile(r"^sft_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh ``(token_id, token)``; only the hash of ``token`` is ever stored."""
    token_id = secrets.token_hex(6)
    return token_id, f"sft_{token_id}_{secrets.token_urlsafe(32)}"


def token_id_of(token: str) -> str | None:
    """The id part of a well-formed token, else ``None`` (no lookup is made for junk)."""
    match = _TOKEN.match(token)
    return match.group(1) if match else None


@dataclass(frozen=True, slots=True)
class StoredToken:
    token_id: str
    token_hash: str
    principal: Principal


def check(stored: StoredToken | None, token: str) -> Principal | None:
    """The principal when ``token`` hashes to the stored hash (constant-time), else ``None``."""
    if stored is None:
        # Compare anyway so a miss and a wrong secret take the same time.
        hmac.compare_digest(hash_token(token), "0" * 64)
        return None
    return stored.principal if hmac.compare_digest(hash_token(token), stored.token_hash) else None


class TokenStore(Protocol):
    def authenticate(self, token: str) -> Principal | None: ...


class StaticTokenStore:
    """Tokens held in memory: tests and tools that mint their own."""

    def __init__(self) -> None:
        self._by_id: dict[str, StoredToken] = {}

    def add(self, name: str, roles: Iterable[Role], scope: Scope | None = None) -> str:
        token_id, token = new_token()
        principal = Principal(name, frozenset(roles), scope or Scope(), token_id)
        self._by_id[token_id] = StoredToken(token_id, hash_token(token), principal)
        return token

    def authenticate(self, token: str) -> Principal | None:
        token_id = token_id_of(token)
        return check(self._by_id.get(token_id) if token_id else None, token)


_COLUMNS = "token_id, token_hash, name, roles, customer_id, supplier_id, line"


def _stored(row: tuple[object, ...]) -> StoredToken:
    token_id, token_hash, name, roles, customer_id, supplier_id, line = row
    if not isinstance(roles, list):
        raise TypeError(f"api_token.roles must be text[], got {type(roles).__name__}")
    scope = Scope(customer_id=_opt(customer_id), supplier_id=_opt(supplier_id), line=_opt(line))
    return StoredToken(
        str(token_id), str(token_hash), Principal(str(name), frozenset(Role(r) for r in roles), scope, str(token_id))
    )


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def create_token(conn: Connection, name: str, roles: Iterable[Role], scope: Scope | None = None) -> str:
    """Store a new token's hash for ``name`` and return the token itself: it is shown this once."""
    scope = scope or Scope()
    token_id, token = new_token()
    conn.execute(
        "INSERT INTO api_token (token_id, token_hash, name, roles, customer_id, supplier_id, line)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (
            token_id,
            hash_token(token),
            name,
            sorted(str(r) for r in roles),
            scope.customer_id,
            scope.supplier_id,
            scope.line,
        ),
    )
    return token


def revoke_token(conn: Connection, token_id: str) -> bool:
    cur = conn.execute(
        "UPDATE api_token SET revoked_at = now() WHERE token_id = %s AND revoked_at IS NULL", (token_id,)
    )
    return cur.rowcount == 1


def list_tokens(conn: Connection) -> list[tuple[StoredToken, bool]]:
    """Every token with whether it is revoked (the hashes are not secret but are not shown either)."""
    rows = conn.execute(f"SELECT {_COLUMNS}, revoked_at IS NOT NULL FROM api_token ORDER BY name, token_id")
    return [(_stored(row[:7]), bool(row[7])) for row in rows.fetchall()]


class DbTokenStore:
    """Tokens in ``api_token``; answers are cached briefly so a busy page does not query per request.

    A revocation takes effect within ``cache_s``.
    """

    def __init__(
        self,
        pool: ConnectionPool[Connection],
        *,
        cache_s: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pool = pool
        self._cache_s = cache_s
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, StoredToken | None]] = {}
        self._lock = threading.Lock()

    def _lookup(self, token_id: str) -> StoredToken | None:
        now = self._monotonic()
        with self._lock:
            hit = self._cache.get(token_id)
        if hit is not None and now - hit[0] < self._cache_s:
            return hit[1]
        with self._pool.connection() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM api_token WHERE token_id = %s AND revoked_at IS NULL", (token_id,)
            ).fetchone()
        stored = _stored(row) if row else None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[token_id] = (now, stored)
        return stored

    def authenticate(self, token: str) -> Principal | None:
        token_id = token_id_of(token)
        return check(self._lookup(token_id) if token_id else None, token)
