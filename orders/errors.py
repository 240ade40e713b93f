"""The hub's one error type: an HTTP status and a detail, raised by the hub, answered by the app."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class HubError(Exception):
    """An answer other than success: HTTP status and detail (a text, or FastAPI-style field errors)."""

    def __init__(self, status: int, detail: str | list[dict[str, Any]]) -> None:
        super().__init__(str(detail))
        self.status = status
        self.detail = detail


def field_error(loc: Sequence[str | int], msg: str, kind: str) -> dict[str, Any]:
    return {"loc": ["body", *loc], "msg": msg, "type": kind}
