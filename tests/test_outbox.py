"""The mail outbox: enqueueing, building safe e-mail, sending over a real SMTP server
(aiosmtpd on a loopback port), retries, dead letters and the admin page.

Time is a parameter: tests pass `now` to the sender instead of waiting for a backoff.
"""

from __future__ import annotations

import hashlib
import ssl
from datetime import date, timedelta

import pytest
import trustme
from aiosmtpd.smtp import AuthResult
from sqlalchemy import func, select

from contracts.audit.models import AuditEvent
from contracts.db import Session, utcnow
from jobs import outbox
from jobs.models import OutboxMessage, OutboxStatus
from jobs.smtp import InvalidMessage, build_message, clean_header_text
from tests.smtp_server import free_port, smtp_server

TO = "eier@asker.kommune.no"
DOMAIN = "demo.kommune.no"  # of the default MAIL_FROM


@pytest.fixture
def smtp(app, monkeypatch):
    """A running SMTP server the app sends to."""
    monkeypatch.setitem(app.config, "MAIL_TIMEOUT", 5)
    with smtp_server() as server:
        for key, value in server.config.items():
            monkeypatch.setitem(app.config, key, value)
        yield server


def enqueue(key: str = "reminder:1", **fields) -> OutboxMessage:
    values = {
        "to_address": TO,
        "subject": "Påminnelse: opsjonsfrist for Brøyting",
        "body_text": "Hei!\n\nOpsjonsfristen for avtale 2026-17 er 1. juni.\n",
    } | fields
    return outbox.enqueue(key=key, **values)


def reload(message: OutboxMessage) -> OutboxMessage:
    Session.expire_all()
    return Session.get(OutboxMessage, message.id)


def _raw(**fields) -> OutboxMessage:
    """A row written without enqueue (by older code, or by hand): the sender checks it too."""
    key = fields.pop("key", "raw:1")
    message = OutboxMessage(
        key=key,
        to_address=fields.pop("to_address", TO),
        subject=fields.pop("subject", "Emne"),
        body_text="Tekst",
        message_id=outbox.message_id_for(key, DOMAIN),
        **fields,
    )
    Session.add(message)
    Session.flush()
    return message


# --- enqueue -------------------------------------------------------------------------------


def test_enqueue_twice_gives_one_row_unchanged(db):
    first = enqueue(subject="Første")
    second = enqueue(subject="Andre", body_text="Annen tekst")
    assert second.id == first.id
    assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 1
    assert reload(first).subject == "Første"
    assert outbox.find("reminder:1").id == first.id


def test_enqueue_survives_a_concurrent_insert_of_the_same_key(db, monkeypatch):
    """The other transaction inserted the key after this one looked: the unique key refuses
    ours inside a savepoint, theirs is returned and our transaction goes on."""
    theirs = enqueue(subject="Deres")
    looked = []

    def not_there_yet(key):
        looked.append(key)
        return None if len(looked) == 1 else real_by_key(key)

    real_by_key = outbox._by_key
    monkeypatch.setattr(outbox, "_by_key", not_there_yet)
    ours = enqueue(subject="Vår")
    assert ours.id == theirs.id and ours.subject == "Deres"
    assert len(looked) == 2
    other = enqueue(key="reminder:2")  # the transaction is still usable
    db.commit()
    assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 2
    assert other.id != theirs.id


def test_message_id_is_derived_from_the_key(db):
    message = enqueue(key="digest:eier@asker.kommune.no:2026-03-02")
    digest = hashlib.sha256(b"digest:eier@asker.kommune.no:2026-03-02").hexdigest()[:32]
    assert message.message_id == f"<{digest}@{DOMAIN}>"
    assert message.status == OutboxStatus.PENDING and message.attempts == 0


def test_a_long_key_is_stored_as_its_hash(db):
    key = "digest:" + "x" * 300
    message = enqueue(key=key)
    assert len(message.key) <= 250 and message.key.startswith("sha256:")
    assert enqueue(key=key).id == message.id
    assert outbox.find(key).id == message.id


def test_message_id_domain_comes_from_mail_from_with_a_display_name(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_FROM", "Kontraktsregisteret <post@Asker.Kommune.no>")
    assert enqueue().message_id.endswith("@asker.kommune.no>")


# --- building the e-mail -------------------------------------------------------------------


def test_subject_loses_control_characters_and_line_breaks():
    dirty = "Avtale\r\nBcc: x@evil.no\x00\x1b[31m\u2028Rød\u202eetsil\ttekst"
    assert clean_header_text(dirty) == "Avtale Bcc: x@evil.no [31m Rød etsil tekst"
    assert len(clean_header_text("ø" * 400)) == 300


@pytest.mark.parametrize(
    "address",
    [
        "eier@asker.kommune.no\r\nBcc: angriper@evil.no",
        "eier@asker.kommune.no\nangriper@evil.no",
        "eier@asker.kommune.no, angriper@evil.no",
        "eier@asker.kommune.no;angriper@evil.no",
        "Eier <eier@asker.kommune.no>",
        "ikke-en-adresse",
        "",
    ],
)
def test_build_refuses_anything_but_one_bare_address(address):
    with pytest.raises(InvalidMessage):
        build_message(
            mail_from=f"kontrakt@{DOMAIN}",
            to_address=address,
            subject="Emne",
            body_text="Tekst",
            body_html=None,
            message_id=f"<{'a' * 32}@{DOMAIN}>",
            date=utcnow(),
        )


def test_build_sends_international_domains_in_ascii():
    email, recipient = build_message(
        mail_from=f"kontrakt@{DOMAIN}",
        to_address="post@bærum.kommune.no",
        subject="Emne",
        body_text="Tekst",
        body_html=None,
        message_id=f"<{'a' * 32}@{DOMAIN}>",
        date=utcnow(),
    )
    assert recipient == "post@xn--brum-voa.kommune.no"
    assert email["To"] == recipient


def test_enqueue_with_an_injected_address_gives_a_dead_message(db, smtp):
    message = enqueue(to_address="eier@asker.kommune.no\r\nBcc: angriper@evil.no")
    assert message.status == OutboxStatus.DEAD
    assert "angriper@evil.no" in message.last_error  # the error names the address
    assert outbox.send_due(utcnow()) == {"sent": 0, "retry": 0, "dead": 0}
    assert smtp.envelopes == []


# --- sending -------------------------------------------------------------------------------


def test_a_message_arrives_with_the_right_headers_and_both_parts(db, smtp):
    key = "digest:eier@asker.kommune.no:2026-03-02"
    message = enqueue(
        key=key,
        body_html="<p>Hei!</p><p>Opsjonsfristen er <strong>1. juni</strong>.</p>",
        due_date=date(2026, 6, 1),
    )
    assert outbox.send_due(utcnow()) == {"sent": 1, "retry": 0, "dead": 0}

    [envelope] = smtp.envelopes
    assert envelope.mail_from == f"kontraktsregister@{DOMAIN}"
    assert envelope.rcpt_tos == [TO]
    received = envelope.message
    assert received["From"] == f"kontraktsregister@{DOMAIN}"
    assert received["To"] == TO
    assert received["Subject"] == "Påminnelse: opsjonsfrist for Brøyting"
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    assert received["Message-ID"] == f"<{digest}@{DOMAIN}>"
    assert received["Date"].datetime.tzinfo is not None
    assert received.get_content_type() == "multipart/alternative"
    assert "Opsjonsfristen for avtale 2026-17" in received.get_body(("plain",)).get_content()
    assert "<strong>1. juni</strong>" in received.get_body(("html",)).get_content()
    assert envelope.content.isascii()  # non-ASCII is encoded, 8BITMIME is not assumed

    sent = reload(message)
    assert sent.status == OutboxStatus.SENT and sent.sent_at is not None
    assert sent.attempts == 1 and sent.claimed_until is None and sent.last_error is None
    assert outbox.send_due(utcnow()) == {"sent": 0, "retry": 0, "dead": 0}
    assert len(smtp.envelopes) == 1


def test_plain_text_only_message_is_not_multipart(db, smtp):
    enqueue()
    outbox.send_due(utcnow())
    [received] = smtp.messages
    assert received.get_content_type() == "text/plain"
    assert received.get_content_charset() == "utf-8"


def test_a_header_injected_in_the_subject_adds_no_header_and_no_recipient(db, smtp):
    enqueue(subject="Brøyting\r\nBcc: angriper@evil.no")
    # Also a row that skipped enqueue's cleaning: the sender cleans again.
    _raw(subject="Renhold\r\nBcc: angriper@evil.no\r\n\r\nNy tekst")
    assert outbox.send_due(utcnow())["sent"] == 2
    for envelope in smtp.envelopes:
        assert envelope.rcpt_tos == [TO]
        received = envelope.message
        assert received["Bcc"] is None
        assert len(received.get_all("Subject")) == 1
        assert "\n" not in received["Subject"] and "\r" not in received["Subject"]
    assert [m["Subject"] for m in smtp.messages] == [
        "Brøyting Bcc: angriper@evil.no",
        "Renhold Bcc: angriper@evil.no Ny tekst",
    ]


def test_an_injected_address_is_dead_when_sent(db, smtp):
    message = _raw(to_address="eier@asker.kommune.no,\r\nangriper@evil.no")
    assert outbox.send_due(utcnow()) == {"sent": 0, "retry": 0, "dead": 1}
    assert smtp.envelopes == []
    dead = reload(message)
    assert dead.status == OutboxStatus.DEAD and "angriper@evil.no" in dead.last_error


def test_a_permanent_refusal_is_dead_at_once(db, smtp):
    smtp.refuse[TO] = "550 5.1.1 No such mailbox"
    message = enqueue()
    other = enqueue(key="reminder:2", to_address="leder@asker.kommune.no")
    assert outbox.send_due(utcnow()) == {"sent": 1, "retry": 0, "dead": 1}
    dead = reload(message)
    assert dead.status == OutboxStatus.DEAD and dead.attempts == 1
    assert dead.last_error.startswith("550")
    assert reload(other).status == OutboxStatus.SENT  # the same connection goes on
    assert [e.rcpt_tos for e in smtp.envelopes] == [["leder@asker.kommune.no"]]


def test_a_permanent_refusal_of_the_data_is_dead(db, smtp):
    smtp.data_reply = "554 5.6.0 Message refused"
    message = enqueue()
    assert outbox.send_due(utcnow()) == {"sent": 0, "retry": 0, "dead": 1}
    assert reload(message).last_error.startswith("554")


def test_a_temporary_refusal_is_retried_after_a_backoff(db, smtp):
    smtp.refuse[TO] = "451 4.7.1 Greylisted, try again later"
    message = enqueue()
    now = utcnow()
    assert outbox.send_due(now) == {"sent": 0, "retry": 1, "dead": 0}
    waiting = reload(message)
    assert waiting.status == OutboxStatus.PENDING and waiting.attempts == 1
    assert waiting.last_error.startswith("451")
    assert now + timedelta(seconds=47) <= waiting.next_attempt_at <= now + timedelta(seconds=73)

    del smtp.refuse[TO]
    assert outbox.send_due(now + timedelta(seconds=30)) == {"sent": 0, "retry": 0, "dead": 0}
    assert outbox.send_due(now + timedelta(minutes=2)) == {"sent": 1, "retry": 0, "dead": 0}
    assert len(smtp.envelopes) == 1
    assert reload(message).attempts == 2


def test_server_down_then_up_delivers_everything_once_in_order_of_due_date(app, db, monkeypatch):
    port = free_port()  # nothing listens here yet: connection refused
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    for n, due in enumerate([date(2026, 5, 1), None, date(2026, 3, 10), date(2026, 4, 1)]):
        enqueue(key=f"k{n}", subject=f"Frist {due}", due_date=due)
    now = utcnow()
    assert outbox.send_due(now) == {"sent": 0, "retry": 4, "dead": 0}
    rows = db.scalars(select(OutboxMessage)).all()
    assert {(m.status, m.attempts) for m in rows} == {(OutboxStatus.PENDING, 1)}
    assert all(f"127.0.0.1:{port}" in m.last_error for m in rows)  # names the server
    assert all(m.next_attempt_at > now for m in rows)

    with smtp_server(port=port) as server:
        assert outbox.send_due(now) == {"sent": 0, "retry": 0, "dead": 0}  # still waiting
        later = now + timedelta(minutes=5)
        assert outbox.send_due(later) == {"sent": 4, "retry": 0, "dead": 0}
        assert outbox.send_due(later) == {"sent": 0, "retry": 0, "dead": 0}
        assert [m["Subject"] for m in server.messages] == [
            "Frist 2026-03-10",
            "Frist 2026-04-01",
            "Frist 2026-05-01",
            "Frist None",
        ]
        assert len({e.peer for e in server.envelopes}) == 1  # over one connection


def test_after_the_last_attempt_a_message_is_dead(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())
    monkeypatch.setitem(app.config, "MAIL_MAX_ATTEMPTS", 3)
    message = enqueue()
    now = utcnow()
    assert outbox.send_due(now)["retry"] == 1
    assert outbox.send_due(now + timedelta(hours=1))["retry"] == 1
    assert reload(message).attempts == 2
    assert outbox.send_due(now + timedelta(hours=2)) == {"sent": 0, "retry": 0, "dead": 1}
    dead = reload(message)
    assert dead.status == OutboxStatus.DEAD and dead.attempts == 3
    assert "3" in dead.last_error and f"127.0.0.1:{app.config['MAIL_PORT']}" in dead.last_error


def test_a_wrong_mail_from_sends_nothing_and_kills_nothing(app, db, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_FROM", "")
    message = enqueue()
    assert outbox.send_due(utcnow()) == {"sent": 0, "retry": 0, "dead": 0}
    waiting = reload(message)
    assert waiting.status == OutboxStatus.PENDING and waiting.attempts == 0
    assert smtp.envelopes == []


def test_backoff_doubles_with_jitter_up_to_six_hours():
    for attempts, minutes in [(1, 1), (2, 2), (3, 4), (8, 128)]:
        delay = outbox.backoff(attempts).total_seconds()
        assert minutes * 60 * 0.8 <= delay <= minutes * 60 * 1.2
    assert outbox.backoff(40) <= timedelta(hours=6) * 1.2
    assert len({outbox.backoff(3) for _ in range(20)}) > 1


def test_a_server_that_hangs_up_gets_a_new_connection(db, smtp):
    smtp.data_reply = "421 4.3.2 Shutting down"
    first = enqueue(key="a", due_date=date(2026, 3, 1))
    outbox.send_due(utcnow(), limit=1)
    assert reload(first).status == OutboxStatus.PENDING
    smtp.data_reply = None
    enqueue(key="b", due_date=date(2026, 3, 2))
    enqueue(key="c", due_date=date(2026, 3, 3))
    assert outbox.send_due(utcnow() + timedelta(minutes=5)) == {"sent": 3, "retry": 0, "dead": 0}


def test_a_claim_of_a_sender_that_stopped_is_taken_over(db, smtp):
    now = utcnow()
    message = enqueue()
    message.status = OutboxStatus.SENDING
    message.claimed_until = now + timedelta(minutes=5)
    message.attempts = 1
    db.flush()
    assert outbox.send_due(now)["sent"] == 0  # still claimed
    assert outbox.send_due(now + timedelta(minutes=6))["sent"] == 1
    assert reload(message).attempts == 2
    assert len(smtp.envelopes) == 1


def test_a_message_whose_sender_stopped_too_often_is_dead(app, db, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_MAX_ATTEMPTS", 2)
    now = utcnow()
    message = _raw(status=OutboxStatus.SENDING, claimed_until=now, attempts=2)
    assert outbox.send_due(now + timedelta(minutes=1)) == {"sent": 0, "retry": 0, "dead": 1}
    assert reload(message).status == OutboxStatus.DEAD
    assert smtp.envelopes == []


def test_a_long_batch_renews_its_claim(db, smtp, monkeypatch):
    monkeypatch.setattr(outbox, "CLAIM_LEASE", timedelta(0))  # renew before every message
    for n in range(3):
        enqueue(key=f"k{n}")
    assert outbox.send_due(utcnow())["sent"] == 3
    assert len(smtp.envelopes) == 3


def test_limit_leaves_the_rest_for_the_next_run(db, smtp):
    for n in range(5):
        enqueue(key=f"k{n}", due_date=date(2026, 3, 1) + timedelta(days=n))
    assert outbox.send_due(utcnow(), limit=2)["sent"] == 2
    assert outbox.send_due(utcnow(), limit=10)["sent"] == 3
    assert len({m["Message-ID"] for m in smtp.messages}) == 5


def test_without_a_mail_server_nothing_is_sent_and_the_page_lists_the_message(
    app, db, login_as, monkeypatch
):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    message = enqueue()
    assert outbox.send_due(utcnow()) == {"sent": 0, "retry": 0, "dead": 0}
    waiting = reload(message)
    assert waiting.status == OutboxStatus.PENDING and waiting.attempts == 0
    admin = login_as("admin")
    page = admin.get("/admin/outbox")
    assert page.status_code == 200
    assert 'id="mail-not-configured"' in page.text
    assert f'data-message-id="{message.id}"' in page.text
    assert 'id="count-pending" data-count="1"' in page.text
    detail = admin.get(f"/admin/outbox/{message.id}")
    assert "Opsjonsfristen for avtale 2026-17" in detail.text


# --- TLS and login ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """A certificate for 127.0.0.1 from a test CA, and the CA's file to trust."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return server_context, ca_file


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = (auth_data.login, auth_data.password) == (b"robot", b"hemmelig")
    return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_starttls_or_ssl_with_login(app, db, monkeypatch, tls, mode):
    server_context, ca_file = tls
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # the system CAs plus the test CA
    options = (
        {"tls_context": server_context, "require_starttls": True}
        if mode == "starttls"
        # aiosmtpd does not count implicit TLS as TLS for AUTH; the connection is TLS anyway.
        else {"ssl_context": server_context, "auth_require_tls": False}
    )
    with smtp_server(authenticator=_authenticator, auth_required=True, **options) as server:
        for key, value in server.config.items():
            monkeypatch.setitem(app.config, key, value)
        monkeypatch.setitem(app.config, "MAIL_USE_TLS", mode == "starttls")
        monkeypatch.setitem(app.config, "MAIL_USE_SSL", mode == "ssl")
        monkeypatch.setitem(app.config, "MAIL_USERNAME", "robot")
        monkeypatch.setitem(app.config, "MAIL_PASSWORD", "feil")
        message = enqueue()
        assert outbox.send_due(utcnow())["retry"] == 1
        assert "535" in reload(message).last_error

        monkeypatch.setitem(app.config, "MAIL_PASSWORD", "hemmelig")
        assert outbox.send_due(utcnow() + timedelta(minutes=5))["sent"] == 1
        assert len(server.envelopes) == 1


def test_an_untrusted_certificate_is_refused(app, db, monkeypatch, tls):
    server_context, _ca_file = tls
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with smtp_server(tls_context=server_context, require_starttls=True) as server:
        for key, value in server.config.items():
            monkeypatch.setitem(app.config, key, value)
        monkeypatch.setitem(app.config, "MAIL_USE_TLS", True)
        message = enqueue()
        assert outbox.send_due(utcnow())["retry"] == 1
        assert "CERTIFICATE_VERIFY_FAILED" in reload(message).last_error
        assert server.envelopes == []


# --- the admin page ------------------------------------------------------------------------


def test_the_list_counts_and_filters_by_status(app, db, login_as):
    sent = enqueue(key="a", subject="Sendt melding")
    sent.status = OutboxStatus.SENT
    sent.sent_at = utcnow()
    dead = enqueue(key="b", subject="Død melding")
    dead.status, dead.last_error = OutboxStatus.DEAD, "550 No such mailbox"
    pending = enqueue(key="c", subject="Ventende melding")
    db.flush()
    admin = login_as("admin")
    page = admin.get("/admin/outbox").text
    for message in (sent, dead, pending):
        assert f'data-message-id="{message.id}"' in page
    for status, count in [("pending", 1), ("sending", 0), ("sent", 1), ("dead", 1)]:
        assert f'id="count-{status}" data-count="{count}"' in page
    only_dead = admin.get("/admin/outbox?status=dead").text
    assert f'data-message-id="{dead.id}"' in only_dead
    assert f'data-message-id="{pending.id}"' not in only_dead
    assert "550 No such mailbox" in only_dead
    everything = admin.get("/admin/outbox?status=nonsense").text
    assert 'data-total="3"' in everything


def test_the_html_body_is_shown_escaped_in_a_sandbox(app, db, login_as):
    html = '<p onclick="steal()">Hei</p><script>alert("x")</script>'
    message = enqueue(body_html=html)
    page = login_as("auditor").get(f"/admin/outbox/{message.id}").text
    assert "<script>alert" not in page
    assert 'onclick="steal()"' not in page
    assert '<iframe id="body-html" sandbox=""' in page
    assert 'srcdoc="&lt;p onclick=&#34;steal()&#34;&gt;Hei&lt;/p&gt;&lt;script&gt;' in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</pre>" in page


def test_admin_resends_a_dead_message_and_it_is_audited(app, db, login_as, smtp):
    smtp.refuse[TO] = "550 No such mailbox"
    message = enqueue()
    outbox.send_due(utcnow())
    assert reload(message).status == OutboxStatus.DEAD
    smtp.refuse.clear()

    admin = login_as("admin")
    response = admin.post(f"/admin/outbox/{message.id}/resend")
    assert response.status_code == 302
    again = reload(message)
    assert again.status == OutboxStatus.PENDING and again.attempts == 0
    assert again.last_error is None
    event = db.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert (event.action, event.entity_type, event.entity_id) == ("resend", "outbox", message.id)
    assert event.actor_id == admin.user.id
    assert event.before["status"] == "dead" and event.after["status"] == "pending"

    assert outbox.send_due(utcnow())["sent"] == 1
    assert len(smtp.envelopes) == 1


def test_a_sent_message_can_be_sent_again(app, db, login_as, smtp):
    message = enqueue()
    outbox.send_due(utcnow())
    assert login_as("admin").post(f"/admin/outbox/{message.id}/resend").status_code == 302
    outbox.send_due(utcnow())
    assert [m["Message-ID"] for m in smtp.messages] == [message.message_id] * 2


def test_a_waiting_message_is_not_resent(app, db, login_as):
    message = enqueue()
    before = db.scalar(select(func.count()).select_from(AuditEvent))
    response = login_as("admin").post(f"/admin/outbox/{message.id}/resend")
    assert response.status_code == 302
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == before


@pytest.mark.parametrize("role", ["auditor", "owner", "procurement"])
def test_only_admins_resend(app, db, login_as, role):
    message = enqueue()
    message.status = OutboxStatus.DEAD
    db.flush()
    response = login_as(role).post(f"/admin/outbox/{message.id}/resend")
    assert response.status_code == 403
    assert reload(message).status == OutboxStatus.DEAD


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("auditor", 200), ("owner", 403)])
def test_who_reads_the_outbox(app, db, login_as, role, status):
    message = enqueue()
    client = login_as(role)
    assert client.get("/admin/outbox").status_code == status
    assert client.get(f"/admin/outbox/{message.id}").status_code == status


def test_unknown_message_is_404(login_as):
    admin = login_as("admin")
    assert admin.get("/admin/outbox/999999").status_code == 404
    assert admin.post("/admin/outbox/999999/resend").status_code == 404
