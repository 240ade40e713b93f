"""Real receivers for alert deliveries in tests: an SMTP server (aiosmtpd) and a webhook server."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from shopfloor.auth.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Mailbox:
    messages: list[tuple[list[str], Message]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(content)))
        return "250 OK"


@contextmanager
def smtp_server(port: int | None = None) -> Iterator[tuple[int, Mailbox]]:
    mailbox = Mailbox()
    port = port or free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, mailbox
    finally:
        controller.stop()


@dataclass
class WebhookInbox:
    secret: bytes
    # Answer 503 to this many requests first, to exercise the sender's retries.
    fail_first: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    rejected: int = 0
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    # While set, every request waits for it to be cleared before it is answered (a receiver that hangs).
    hold: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    waiting: int = 0  # requests being held right now


@contextmanager
def webhook_server(inbox: WebhookInbox) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if inbox.hold.is_set():
                inbox.waiting += 1
                inbox.released.wait(60)
                inbox.waiting -= 1
            with inbox.lock:
                inbox.requests += 1
                if inbox.requests <= inbox.fail_first:
                    self._answer(503)
                    return
                timestamp = int(self.headers.get(TIMESTAMP_HEADER, "0"))
                signature = self.headers.get(SIGNATURE_HEADER, "")
                if not verify(inbox.secret, timestamp, body, signature, now=int(time.time())):
                    inbox.rejected += 1
                    self._answer(401)
                    return
                inbox.received.append(json.loads(body))
            self._answer(204)

        def _answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/alerts"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
