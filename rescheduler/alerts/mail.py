"""Alert e-mail over SMTP with the standard library."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage


def send_mail(
    host: str,
    port: int,
    sender: str,
    recipients: list[str],
    subject: str,
    text: str,
    *,
    timeout_s: float = 10.0,
    headers: dict[str, str] | None = None,
) -> None:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    with smtplib.SMTP(host, port, timeout=timeout_s) as smtp:
        smtp.send_message(message)
