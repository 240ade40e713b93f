"""The rescheduler's capable-to-promise over HTTP (``POST /ctp``), with a token of the core scheme."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from shopfloor.events import Model, UtcDatetime


class CtpUnavailableError(RuntimeError):
    """No answer to use: the rescheduler is not configured, unreachable, has no plan, or refused."""


class Promise(Model):
    completion: UtcDatetime
    plan_id: str
    reserve_eligible: bool
    bottleneck: dict[str, Any]


class CtpClient:
    def __init__(self, url: str | None, token: str, timeout_s: float, transport: httpx.BaseTransport | None = None):
        self._url = url.rstrip("/") if url else None
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._timeout_s = timeout_s
        self._transport = transport

    @property
    def configured(self) -> bool:
        return self._url is not None

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if self._url is None:
            raise CtpUnavailableError("no rescheduler configured (SHOPFLOOR_ORDERS_RESCHEDULER_URL)")
        try:
            # A client per call: promises are rare (impact reports, what-ifs) and nothing is left open.
            with httpx.Client(timeout=self._timeout_s, headers=self._headers, transport=self._transport) as client:
                response = client.post(f"{self._url}{path}", json=body)
        except httpx.HTTPError as exc:
            raise CtpUnavailableError(f"rescheduler unreachable: {exc}") from None
        if response.status_code != 200:
            raise CtpUnavailableError(f"rescheduler answered {response.status_code}: {response.text[:300]}")
        answer: dict[str, Any] = response.json()
        return answer

    def promise(
        self,
        product_id: str,
        quantity: int,
        customer_id: str,
        *,
        rush: bool = False,
        margin_pct: float | None = None,
        material_ready: datetime | None = None,
    ) -> Promise:
        body: dict[str, Any] = {
            "product_id": product_id,
            "quantity": quantity,
            "customer_id": customer_id,
            "rush": rush,
            "margin_pct": margin_pct,
        }
        if material_ready is not None:
            body["material_ready"] = material_ready.isoformat()
        answer = self.post("/ctp", body)
        return Promise.model_validate(
            {k: answer[k] for k in ("completion", "plan_id", "reserve_eligible", "bottleneck")}
        )
