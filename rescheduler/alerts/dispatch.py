"""Delivering pending alerts: the bus, the signed webhook and e-mail; each outcome is recorded."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import httpx

from rescheduler.alerts.mail import send_mail
from rescheduler.alerts.messages import email_text, event_for, subject
from rescheduler.alerts.store import (
    Channel,
    PendingDelivery,
    failing_deliveries,
    pending_deliveries,
    record_delivery,
)
from rescheduler.alerts.webhook import post_signed
from rescheduler.settings import ReschedulerSettings
from shopfloor.db.pool import Connection
from shopfloor.events import AlertClearedEvent, AlertRaisedEvent, Audience, utcnow

log = logging.getLogger(__name__)

PublishAlert = Callable[[AlertRaisedEvent | AlertClearedEvent], None]
"""Puts an alert event on the bus and returns once the broker has it (raises otherwise)."""

ALERT_ID_HEADER = "X-Shopfloor-Alert-Id"


def channels_for(settings: ReschedulerSettings) -> dict[Audience, list[Channel]]:
    """Which channels each audience's alerts go to, from what is configured."""
    recipients = {
        Audience.SALES: settings.smtp_to_sales,
        Audience.PURCHASING: settings.smtp_to_purchasing,
        Audience.PLANNING: settings.smtp_to_planning,
    }
    out: dict[Audience, list[Channel]] = {}
    for audience, to in recipients.items():
        channels = [Channel.KAFKA]
        if settings.webhook_url:
            channels.append(Channel.WEBHOOK)
        if settings.smtp_host and to:
            channels.append(Channel.EMAIL)
        out[audience] = channels
    return out


class AlertDispatcher:
    def __init__(self, settings: ReschedulerSettings, publish: PublishAlert) -> None:
        self._settings = settings
        self._publish = publish
        self._http = httpx.Client(timeout=settings.webhook_timeout_s)
        # Deliveries undelivered after alert_failing_after attempts, as of the last round.
        self.failing = 0

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AlertDispatcher:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def deliver_pending(self, conn: Connection, now: datetime | None = None) -> tuple[int, int]:
        """Try every delivery that is due once; returns (delivered, failed). ``conn`` is not autocommit.

        A failed delivery is tried again after a pause that doubles up to ``alert_retry_max_s``, for as
        long as it takes; from ``alert_failing_after`` failures on, it is logged as an error, counted in
        :attr:`failing` (the service's ``shopfloor_rescheduler_alert_deliveries_failing`` gauge) and its
        alert's ``delivery_state`` is ``failing``.
        """
        s = self._settings
        now = now or utcnow()
        with conn.transaction():
            pending = pending_deliveries(conn, now)
        delivered = failed = 0
        for delivery in pending:
            error = ""
            try:
                self._send(delivery)
            except Exception as exc:  # any channel failure leaves the delivery pending for a later round
                error = f"{type(exc).__name__}: {exc}"
            with conn.transaction():
                outcome = record_delivery(
                    conn,
                    delivery,
                    now=now,
                    delivered=not error,
                    error=error,
                    retry_base_s=s.alert_retry_base_s,
                    retry_max_s=s.alert_retry_max_s,
                    failing_after=s.alert_failing_after,
                )
            if not error:
                delivered += 1
                continue
            failed += 1
            log.log(
                logging.ERROR if outcome.became_failing else logging.WARNING,
                "alert %s %s via %s failed (attempt %d%s): %s",
                delivery.alert.alert_id,
                delivery.transition,
                delivery.channel,
                outcome.attempt,
                ", now counted as failing; retried until delivered" if outcome.became_failing else "",
                error,
            )
        with conn.transaction():
            self.failing = failing_deliveries(conn, s.alert_failing_after)
        return delivered, failed

    def _send(self, delivery: PendingDelivery) -> None:
        alert, transition = delivery.alert, delivery.transition
        event = event_for(alert, transition)
        if delivery.channel is Channel.KAFKA:
            self._publish(event)
        elif delivery.channel is Channel.WEBHOOK:
            s = self._settings
            if not s.webhook_url:
                raise RuntimeError("webhook delivery pending but no webhook URL is configured")
            post_signed(
                self._http,
                s.webhook_url,
                s.webhook_secret.get_secret_value().encode(),
                event.to_json(),
                attempts=s.webhook_attempts,
                backoff_s=s.webhook_backoff_s,
            )
        else:
            s = self._settings
            to = {
                Audience.SALES: s.smtp_to_sales,
                Audience.PURCHASING: s.smtp_to_purchasing,
                Audience.PLANNING: s.smtp_to_planning,
            }[alert.audience]
            if not s.smtp_host or not to:
                raise RuntimeError(f"e-mail delivery pending but no SMTP host or recipients for {alert.audience}")
            send_mail(
                s.smtp_host,
                s.smtp_port,
                s.smtp_from,
                to,
                subject(alert, transition),
                email_text(alert, transition),
                timeout_s=s.smtp_timeout_s,
                headers={ALERT_ID_HEADER: alert.alert_id, "X-Shopfloor-Transition": transition.value},
            )
