"""Mail: captured to the outbox without SMTP; sent through a real SMTP server with it."""

import email
import socketserver
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from elearn.accounts import services as accounts
from elearn.core.models import OutboxMail
from elearn.core.services import send_mail
from elearn.extensions import db


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough of RFC 5321 to accept one message (no TLS)."""

    def handle(self):
        self.wfile.write(b"220 test ESMTP\r\n")
        data_mode, lines = False, []
        while line := self.rfile.readline():
            if data_mode:
                if line == b".\r\n":
                    self.server.messages.append(b"".join(lines).decode())
                    data_mode = False
                    self.wfile.write(b"250 queued\r\n")
                else:
                    lines.append(line)
                continue
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.wfile.write(b"250 test\r\n")
            elif verb == b"DATA":
                data_mode = True
                self.wfile.write(b"354 go on\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            elif self.server.refuse and verb == b"RCPT":
                self.wfile.write(b"550 no such mailbox\r\n")
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.messages, server.refuse = [], False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_without_smtp_mail_is_captured(app, world):
    with app.test_request_context():
        send_mail(
            "a@example.vn",
            "password_reset",
            person=world.learner,
            link="http://x/y",
            valid_for=timedelta(hours=1),
        )
    db.session.commit()
    mail = db.session.scalar(select(OutboxMail))
    assert mail.status == "captured"
    assert "http://x/y" in mail.body


def test_with_smtp_mail_is_sent_and_recorded(make_app, world, smtp_server):
    app = make_app(
        MAIL_SMTP_HOST="127.0.0.1",
        MAIL_SMTP_PORT=smtp_server.server_address[1],
        MAIL_SMTP_STARTTLS=False,
    )
    with app.test_request_context():
        accounts.request_password_reset("learner", "http://elearn.test")
        db.session.commit()
        status = db.session.scalar(select(OutboxMail.status))
    assert status == "sent"
    (raw,) = smtp_server.messages
    message = email.message_from_string(raw)
    assert message["To"] == world.learner.email
    assert "http://elearn.test/reset/" in message.get_payload(decode=True).decode()


def test_a_refused_mail_is_kept_as_failed(make_app, world, smtp_server):
    smtp_server.refuse = True
    app = make_app(
        MAIL_SMTP_HOST="127.0.0.1",
        MAIL_SMTP_PORT=smtp_server.server_address[1],
        MAIL_SMTP_STARTTLS=False,
    )
    with app.test_request_context():
        accounts.request_password_reset("learner", "http://elearn.test")
        db.session.commit()
        status, error = db.session.execute(select(OutboxMail.status, OutboxMail.error)).one()
    assert status == "failed"
    assert "no such mailbox" in error


def test_admin_reads_the_outbox(as_user, world, client):
    client.post("/forgot", data={"identifier": "learner"})
    admin = as_user("admin")
    listing = admin.get("/admin/outbox").get_data(as_text=True)
    assert world.learner.email in listing
    mail = db.session.scalar(select(OutboxMail))
    assert "/reset/" in admin.get(f"/admin/outbox/{mail.id}").get_data(as_text=True)
