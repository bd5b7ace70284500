"""A real SMTP server for the tests: aiosmtpd on a free loopback port, keeping what it got.

    with smtp_server() as server:
        app.config.update(server.config)   # MAIL_SERVER and MAIL_PORT
        ...
        server.messages  # email.message.EmailMessage objects, in arrival order

`server.refuse[address] = "550 ..."` answers RCPT for that address with the reply;
`server.data_reply = "451 ..."` answers every DATA with it until set back to None.
"""

from __future__ import annotations

import contextlib
import email
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    """A loopback port nothing listens on (just now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Envelope:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    peer: Any  # the client's (host, port): one per connection

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.content, policy=policy.default)


@dataclass
class Handler:
    """aiosmtpd handler: collects envelopes, answers with errors on demand."""

    envelopes: list[Envelope] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    data_reply: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if reply := self.refuse.get(address):
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.data_reply:
            return self.data_reply
        with self.lock:
            self.envelopes.append(
                Envelope(
                    envelope.mail_from, list(envelope.rcpt_tos), envelope.content, session.peer
                )
            )
        return "250 Message accepted for delivery"


@dataclass
class Server:
    host: str
    port: int
    handler: Handler

    @property
    def config(self) -> dict[str, Any]:
        return {"MAIL_SERVER": self.host, "MAIL_PORT": self.port}

    @property
    def envelopes(self) -> list[Envelope]:
        with self.handler.lock:
            return list(self.handler.envelopes)

    @property
    def messages(self) -> list[EmailMessage]:
        return [e.message for e in self.envelopes]

    @property
    def refuse(self) -> dict[str, str]:
        return self.handler.refuse

    @property
    def data_reply(self) -> str | None:
        return self.handler.data_reply

    @data_reply.setter
    def data_reply(self, value: str | None) -> None:
        self.handler.data_reply = value


@contextlib.contextmanager
def smtp_server(
    port: int | None = None, host: str = "127.0.0.1", **kwargs: Any
) -> Iterator[Server]:
    """Run aiosmtpd on the port (a free one by default) until the block ends. Other keyword
    arguments go to aiosmtpd (ssl_context, tls_context, require_starttls, authenticator …)."""
    handler = Handler()
    controller = Controller(handler, hostname=host, port=port or free_port(), **kwargs)
    controller.start()
    try:
        yield Server(host, controller.port, handler)
    finally:
        controller.stop()
