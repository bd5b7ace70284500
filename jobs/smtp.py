"""E-mail on the wire: building a safe message from an outbox row and sending it over SMTP.

Headers are never built from raw user text: the subject loses every control and line-break
character, the recipient must be exactly one valid address, and the envelope recipient is
given to SMTP explicitly instead of being read back from the headers.
"""

from __future__ import annotations

import re
import smtplib
import ssl
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

SUBJECT_MAX = 300  # the outbox column's length
# Bidirectional overrides and isolates: invisible, and able to make a subject read backwards.
_BIDI = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_MESSAGE_ID = re.compile(r"<[0-9a-f]{32}@[A-Za-z0-9.-]{1,200}>")


class InvalidMessage(ValueError):
    """The message cannot be sent as it is (a bad address): sending it again will not help."""


@dataclass(frozen=True)
class DeliveryError(Exception):
    """Sending failed. Permanent failures are not retried; `connection` means the server
    could not be reached or used at all, so the rest of the batch need not try either."""

    reason: str
    permanent: bool = False
    connection: bool = False

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class SmtpSettings:
    """How to reach the mail server, from the app config's MAIL_ keys."""

    host: str
    port: int
    use_tls: bool
    use_ssl: bool
    username: str
    password: str
    timeout: float
    mail_from: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SmtpSettings:
        return cls(
            host=config.get("MAIL_SERVER") or "",
            port=int(config.get("MAIL_PORT") or (465 if config.get("MAIL_USE_SSL") else 25)),
            use_tls=bool(config.get("MAIL_USE_TLS")),
            use_ssl=bool(config.get("MAIL_USE_SSL")),
            username=config.get("MAIL_USERNAME") or "",
            password=config.get("MAIL_PASSWORD") or "",
            timeout=float(config.get("MAIL_TIMEOUT") or 20),
            mail_from=config.get("MAIL_FROM") or "",
        )

    @property
    def envelope_from(self) -> str:
        """The bare address of MAIL_FROM, for MAIL FROM."""
        return parseaddr(self.mail_from)[1]


def clean_header_text(text: str, max_length: int = SUBJECT_MAX) -> str:
    """One line of plain text: control characters, line and paragraph separators and bidi
    overrides become spaces, runs of white space one space, and the result is cut short."""
    chars = [
        " " if unicodedata.category(c) in {"Cc", "Zl", "Zp"} or c in _BIDI else c for c in text
    ]
    cleaned = " ".join("".join(chars).split())
    if len(cleaned) > max_length:
        cleaned = cleaned[: max_length - 1].rstrip() + "…"
    return cleaned


def domain_of(address: str) -> str:
    """The domain of an address such as MAIL_FROM ("Name <x@kommune.no>" too), lowercased."""
    domain = parseaddr(address)[1].rpartition("@")[2].strip().lower()
    return domain if re.fullmatch(r"[a-z0-9.-]{1,200}", domain) else "localhost"


def check_address(address: str) -> str:
    """The one recipient address as SMTP may use it (IDN domains in ASCII), or InvalidMessage."""
    if any(c in address for c in "\r\n,;<>\x00"):
        raise _refused(address, _("it must be exactly one address, without a name"))
    try:
        valid = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise _refused(address, str(error)) from None
    if not valid.ascii_email:
        raise _refused(address, _("the part before @ must be plain ASCII"))
    return valid.ascii_email


def _refused(address: str, reason: str) -> InvalidMessage:
    return InvalidMessage(
        _(
            "The recipient address %(address)s cannot be used: %(reason)s",
            address=repr(address),
            reason=reason,
        )
    )


def check_sender(mail_from: str) -> str:
    """The bare address of MAIL_FROM, or InvalidMessage when it cannot be used."""
    sender = parseaddr(mail_from)[1]
    if "@" not in sender or any(unicodedata.category(c) == "Cc" for c in mail_from):
        raise InvalidMessage(
            _("MAIL_FROM is not a usable address: %(value)s", value=repr(mail_from))
        )
    return sender


def build_message(
    *,
    mail_from: str,
    to_address: str,
    subject: str,
    body_text: str,
    body_html: str | None,
    message_id: str,
    date: datetime,
) -> tuple[EmailMessage, str]:
    """The e-mail (plain text, HTML alternative when given) and its one envelope recipient."""
    recipient = check_address(to_address)
    check_sender(mail_from)
    if not _MESSAGE_ID.fullmatch(message_id):
        raise InvalidMessage(_("The Message-ID %(value)s is malformed.", value=repr(message_id)))
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = mail_from
    message["To"] = recipient
    message["Subject"] = clean_header_text(subject)
    message["Date"] = format_datetime(date.astimezone(ZoneInfo("Europe/Oslo")))
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
    message.set_content(body_text, cte=_transfer_encoding(body_text))
    if body_html:
        message.add_alternative(body_html, subtype="html", cte=_transfer_encoding(body_html))
    return message, recipient


def _transfer_encoding(text: str) -> str:
    # Quoted-printable for anything but short ASCII lines: 8-bit bodies need the server's
    # 8BITMIME, and Norwegian text stays readable in the raw source.
    if text.isascii() and all(len(line) <= 998 for line in text.splitlines()):
        return "7bit"
    return "quoted-printable"


def tls_context() -> ssl.SSLContext:
    """The TLS settings for STARTTLS and SMTPS: the system's CAs, hostnames checked."""
    return ssl.create_default_context()


class Mailer:
    """One SMTP connection, opened on the first send and again after it broke."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        smtp: smtplib.SMTP | None = None
        try:
            if s.use_ssl:
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=tls_context())
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            smtp.ehlo()
            if s.use_tls and not s.use_ssl:
                smtp.starttls(context=tls_context())
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, s.password)
        except (smtplib.SMTPException, OSError) as error:
            if smtp is not None:
                _close_quietly(smtp)
            raise DeliveryError(
                _(
                    "Cannot use the mail server %(server)s: %(error)s",
                    server=f"{s.host}:{s.port}",
                    error=_describe(error),
                ),
                connection=True,
            ) from error
        return smtp

    def send(self, message: EmailMessage, recipient: str) -> None:
        """Send to the one recipient; DeliveryError says whether trying again may help."""
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            # The envelope is given explicitly: recipients are never read from the headers.
            self._smtp.send_message(
                message, from_addr=self.settings.envelope_from, to_addrs=[recipient]
            )
        except smtplib.SMTPRecipientsRefused as error:
            code, text = next(iter(error.recipients.values()))
            raise DeliveryError(_reply(code, text), permanent=_is_permanent(code)) from error
        except smtplib.SMTPResponseException as error:
            if error.smtp_code == 421 or not _is_permanent(error.smtp_code):
                # The server may be closing or busy; start afresh for the next message.
                self.close()
            raise DeliveryError(
                _reply(error.smtp_code, error.smtp_error), permanent=_is_permanent(error.smtp_code)
            ) from error
        except (smtplib.SMTPException, OSError) as error:
            self.close()
            raise DeliveryError(_("Sending failed: %(error)s", error=_describe(error))) from error

    def close(self) -> None:
        if self._smtp is not None:
            _close_quietly(self._smtp)
            self._smtp = None


def _is_permanent(code: int) -> bool:
    return 500 <= code < 600


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {clean_header_text(text, 400)}"


def _describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        return _reply(error.smtp_code, error.smtp_error)
    if isinstance(error, TimeoutError):  # socket.timeout too
        return _("timed out")
    return clean_header_text(f"{type(error).__name__}: {error}", 400)


def _close_quietly(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
