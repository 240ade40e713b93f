"""Telling the departments about a change that waits for their sign-off: e-mail (SMTP) to each
department's addresses and one signed webhook per change. Run by the publisher loop, so a notice that
failed (mail server or receiver down) is tried again, and one that went out is marked and not repeated."""

from __future__ import annotations

import json
import logging
import smtplib
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage

import httpx

from orders.config import HubConfig
from orders.settings import OrdersSettings
from shopfloor.auth import signed_headers
from shopfloor.db.pool import Connection

log = logging.getLogger(__name__)


def summary(change_id: int, order_id: str, impact: dict[str, object], departments: list[str]) -> str:
    keys = (
        "changes", "work_orders_not_started", "work_orders_in_progress", "work_orders_done", "operations_to_replan",
        "projected_completion", "projection_note", "material_issued", "project_deliveries_at_risk",
        "amount_before", "amount_after", "amount_delta", "payment_terms_change", "payment_terms_reason",
    )  # fmt: skip
    lines = [f"Change {change_id} to order {order_id} waits for the sign-off of: {', '.join(departments)}.", ""]
    lines += [f"{k}: {json.dumps(impact.get(k), default=str)}" for k in keys]
    return "\n".join(lines)


class Notifier:
    def __init__(self, settings: OrdersSettings, config: HubConfig, now: Callable[[], float] = time.time) -> None:
        self._settings = settings
        self._emails = {d.department: d.email for d in config.change_signoff}
        self._client = httpx.Client(timeout=settings.webhook_timeout_s)
        self._now = now

    @property
    def configured(self) -> bool:
        return bool(self._settings.smtp_host or self._settings.change_webhook_url)

    def _mail(self, to: list[str], subject: str, text: str) -> None:
        s = self._settings
        assert s.smtp_host is not None
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = s.smtp_from, ", ".join(to), subject
        message.set_content(text)
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s) as smtp:
            smtp.send_message(message)

    def _webhook(self, body: bytes) -> None:
        s = self._settings
        assert s.change_webhook_url is not None
        headers = {"Content-Type": "application/json"}
        headers |= signed_headers(s.webhook_secret.get_secret_value().encode(), int(self._now()), body)
        response = self._client.post(s.change_webhook_url, content=body, headers=headers)
        if response.status_code >= 300:
            raise RuntimeError(f"change webhook answered {response.status_code}")

    def round(self, conn: Connection, at: Callable[[], datetime]) -> tuple[int, int]:
        """Notify every change with departments not told yet; returns (changes notified, failed)."""
        with conn.transaction():
            rows = conn.execute(
                "SELECT c.change_id, c.order_id, c.impact, s.department FROM order_change_signoff s "
                "JOIN order_change c USING (change_id) WHERE s.notified_at IS NULL AND c.status = 'pending' "
                "ORDER BY c.change_id, s.ordinal"
            ).fetchall()
        grouped: dict[int, tuple[str, dict[str, object], list[str]]] = {}
        pending: dict[int, list[str]] = defaultdict(list)
        for change_id, order_id, impact, department in rows:
            grouped[change_id] = (order_id, impact, [])
            pending[change_id].append(department)
        sent = failed = 0
        for change_id, (order_id, impact, _) in grouped.items():
            departments = pending[change_id]
            text = summary(change_id, order_id, impact, departments)
            try:
                if self._settings.smtp_host:
                    for department in departments:
                        if self._emails.get(department):
                            self._mail(self._emails[department], f"[{department}] sign-off: change to {order_id}", text)
                if self._settings.change_webhook_url:
                    body = {"change_id": change_id, "order_id": order_id, "departments": departments, "impact": impact}
                    self._webhook(json.dumps(body).encode())
            except (OSError, smtplib.SMTPException, httpx.HTTPError, RuntimeError) as exc:
                log.warning("notifying change %d failed: %s", change_id, exc)
                with conn.transaction():
                    conn.execute(
                        "UPDATE order_change_signoff SET notify_attempt = notify_attempt + 1, notify_error = %s "
                        "WHERE change_id = %s AND department = ANY(%s)",
                        (str(exc)[:500], change_id, departments),
                    )
                failed += 1
                continue
            with conn.transaction():
                conn.execute(
                    "UPDATE order_change_signoff SET notified_at = %s, notify_attempt = notify_attempt + 1, "
                    "notify_error = '' WHERE change_id = %s AND department = ANY(%s)",
                    (at(), change_id, departments),
                )
            sent += 1
        return sent, failed

    def close(self) -> None:
        self._client.close()
