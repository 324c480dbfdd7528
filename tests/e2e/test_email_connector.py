"""The e-mail connector against local fake IMAP and SMTP servers: the desk's poller reads the
mailbox through imap-tools and its outbox sends through smtplib, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from socialdesk.adapters.connectors.email.fake import FakeMailServer
from socialdesk.adapters.db import tables as t
from socialdesk.domain.text import MAX_TEXT_BYTES
from socialdesk.services.delivery import DeliveryReport, deliver_due
from socialdesk.services.polling import PollReport, poll_due
from tests.e2e.conftest import Api

ADDRESS = "support@acme.example"
CUSTOMER = "dana@customer.example"


@pytest.fixture
def fake_mail() -> Iterator[FakeMailServer]:
    with FakeMailServer(address=ADDRESS) as fake:
        yield fake


class MailDesk:
    """A desk with one e-mail channel on a fake mail server, and what the tests do with it."""

    def __init__(self, api: Api, fake: FakeMailServer, **settings: str) -> None:
        self.api, self.fake = api, fake
        r = api.post(
            "/api/v1/channels",
            json={"platform": "email", "name": fake.address, "settings": fake.settings(**settings)},
        )
        assert r.status_code == 201, r.text
        self.channel_id: int = r.json()["id"]

    def poll(self, **advance: float) -> PollReport:
        desk = self.api.desk
        if advance:
            desk.clock.advance(**advance)  # type: ignore[attr-defined]
        return poll_due(desk.uow, desk.connectors, now=desk.clock.now(), policy=desk.policy)

    def send_outbox(self, **advance: float) -> DeliveryReport:
        desk = self.api.desk
        if advance:
            desk.clock.advance(**advance)  # type: ignore[attr-defined]
        return deliver_due(desk.uow, desk.connectors, now=desk.clock.now())

    def messages(self) -> list[Any]:
        with self.api.desk.engine.connect() as conn:
            return list(
                conn.execute(
                    select(t.messages)
                    .where(t.messages.c.channel_id == self.channel_id)
                    .order_by(t.messages.c.id)
                )
            )

    def reply(self, conversation_id: int, text: str, **extra: Any) -> dict[str, Any]:
        r = self.api.post(
            f"/api/v1/conversations/{conversation_id}/reply", json={"text": text, **extra}
        )
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return body

    def shown(self, conversation_id: int, message_id: int) -> dict[str, Any]:
        body = self.api.get(f"/api/v1/conversations/{conversation_id}").json()
        found: dict[str, Any] = next(m for m in body["messages"] if m["id"] == message_id)
        return found

    def health(self) -> dict[str, Any]:
        health: dict[str, Any] = self.api.get(f"/api/v1/channels/{self.channel_id}").json()[
            "health"
        ]
        return health


@pytest.fixture
def mail(api: Api, fake_mail: FakeMailServer) -> MailDesk:
    return MailDesk(api, fake_mail)


def our_message_id(key: str) -> str:
    return f"{hashlib.sha256(key.encode()).hexdigest()[:32]}@acme.example"


# -- reading the mailbox ------------------------------------------------------------------------


def test_new_mail_becomes_messages_once_and_is_never_fetched_again(mail: MailDesk) -> None:
    first = mail.fake.deliver(cc="Sam <sam@customer.example>")
    second = mail.fake.deliver(
        sender="Lee <Lee@Other.example>", subject="Invoice", text="Where is my invoice?"
    )
    report = mail.poll()
    assert (report.polled, report.messages, report.failed) == (1, 2, 0)
    one, two = mail.messages()
    assert (one.external_id, two.external_id) == (first, second)
    assert (one.kind, one.visibility, one.direction) == ("email", "private", "inbound")
    assert one.text == "Hello, my order 4411 never arrived. Can you help?"
    assert one.subject == "Order 4411 never arrived"
    assert one.meta["from"] == f"Dana Quinn <{CUSTOMER}>"
    assert one.meta["cc"] == ["Sam <sam@customer.example>"]
    assert one.conversation_id != two.conversation_id
    with mail.api.desk.engine.connect() as conn:
        identities = {
            r.external_id: r.display_name
            for r in conn.execute(select(t.identities).where(t.identities.c.platform == "email"))
        }
        raw = conn.execute(select(t.raw_events).where(t.raw_events.c.id == one.raw_event_id)).one()
    assert identities == {CUSTOMER: "Dana Quinn", "lee@other.example": "Lee"}
    assert ["Message-ID", f"<{first}>"] in raw.payload["headers"]
    assert raw.payload["uid"] == 1
    assert mail.fake.flags(1) == set()  # read-only: the mailbox still shows it unread
    assert "EXAMINE" in mail.fake.commands
    assert "SELECT" not in mail.fake.commands

    assert mail.poll().polled == 0  # not due yet
    again = mail.poll(seconds=61)
    assert (again.polled, again.messages, again.failed) == (1, 0, 0)
    assert mail.fake.fetched_uids() == [1, 2]  # the UIDs were remembered: nothing fetched again

    mail.fake.deliver(text="One more thing")
    assert mail.poll(seconds=61).messages == 1
    assert mail.fake.fetched_uids() == [1, 2, 3]
    assert len(mail.messages()) == 3


def test_a_new_uidvalidity_reads_the_folder_again_without_duplicates(mail: MailDesk) -> None:
    mail.fake.deliver()
    mail.fake.deliver(text="Second")
    assert mail.poll().messages == 2
    validity = mail.fake.change_uidvalidity()
    mail.fake.deliver(text="Third, after the mailbox was rebuilt")
    report = mail.poll(seconds=61)
    assert (report.messages, report.failed) == (1, 0)
    assert [m.text for m in mail.messages()][-1] == "Third, after the mailbox was rebuilt"
    assert len(mail.messages()) == 3
    assert mail.fake.fetched_uids() == [1, 2, 1, 2, 3]
    with mail.api.desk.engine.connect() as conn:
        cursor = conn.execute(
            select(t.channel_polls.c.cursor).where(t.channel_polls.c.channel_id == mail.channel_id)
        ).scalar_one()
    assert cursor == {"uidvalidity": validity, "last_uid": 3}
    assert mail.poll(seconds=61).messages == 0
    assert mail.fake.fetched_uids() == [1, 2, 1, 2, 3]


def test_mail_without_message_id_is_kept_once_across_a_uidvalidity_change(mail: MailDesk) -> None:
    mail.fake.deliver(message_id=None, text="No id here")
    assert mail.poll().messages == 1
    (message,) = mail.messages()
    assert message.external_id.startswith("sha256:")
    mail.fake.change_uidvalidity()
    assert mail.poll(seconds=61).messages == 0
    assert len(mail.messages()) == 1


def test_a_customers_follow_up_threads_into_the_same_conversation(mail: MailDesk) -> None:
    first = mail.fake.deliver()
    mail.poll()
    mail.fake.deliver(
        subject="Re: Order 4411 never arrived",
        text="Any news?",
        in_reply_to=first,
        references=[first],
    )
    assert mail.poll(seconds=61).messages == 1
    one, two = mail.messages()
    assert two.conversation_id == one.conversation_id
    assert (two.in_reply_to, two.references) == (first, [first])


def test_html_only_mail_becomes_readable_text(mail: MailDesk) -> None:
    html = (
        "<html><head><title>Newsletter</title><style>p {color: red}</style></head><body>"
        "<script>document.write('stolen cookies')</script>"
        "<p>Hello&nbsp;team,</p><p>my order is &lt;late&gt; &amp; the box was <b>broken</b>."
        "<br>Photo: <a href='https://img.customer.example/1.jpg'>here</a></p>"
        "<ul><li>Order 4411</li><li>Order 4412</li></ul></body></html>"
    )
    mail.fake.deliver(text=None, html=html)
    mail.poll()
    (message,) = mail.messages()
    assert message.text == (
        "Hello team,\n\nmy order is <late> & the box was broken.\n"
        "Photo: here (https://img.customer.example/1.jpg)\n\n- Order 4411\n- Order 4412"
    )
    assert "stolen" not in message.text
    assert "color" not in message.text


def test_auto_replies_and_our_own_mail_are_skipped(mail: MailDesk) -> None:
    mail.fake.deliver(subject="Out of office", headers={"Auto-Submitted": "auto-replied"})
    mail.fake.deliver(subject="Weekly deals", headers={"Precedence": "bulk"})
    mail.fake.deliver(subject="Away", headers={"X-Autoreply": "yes"})
    mail.fake.deliver(
        sender="Mail Delivery System <MAILER-DAEMON@mx.customer.example>",
        subject="Undelivered Mail Returned to Sender",
    )
    mail.fake.deliver(sender=f"Acme Support <{ADDRESS}>", subject="Re: your order")  # our echo
    kept = mail.fake.deliver(
        subject="A person wrote this", headers={"Auto-Submitted": "no"}, text="Please call me"
    )
    report = mail.poll()
    assert (report.messages, report.failed) == (1, 0)
    (message,) = mail.messages()
    assert message.external_id == kept
    assert mail.poll(seconds=61).messages == 0
    assert mail.fake.fetched_uids() == [1, 2, 3, 4, 5, 6]  # skipped, not read again


def test_a_mail_over_64_kib_is_cut_with_a_marker_not_lost(mail: MailDesk) -> None:
    body = "".join(f"Line {i}: the parcel never arrived, été ☕\n" for i in range(3000))
    assert len(body.encode()) > 2 * MAX_TEXT_BYTES
    mail.fake.deliver(text=body)
    report = mail.poll()
    assert (report.messages, report.failed) == (1, 0)
    (message,) = mail.messages()
    assert len(message.text.encode()) <= MAX_TEXT_BYTES
    assert message.text.startswith("Line 0: the parcel never arrived, été ☕\nLine 1:")
    assert "cut by the desk" in message.text
    assert "UID 1" in message.text
    assert message.meta["cut"] is True
    assert message.meta["original_bytes"] > 2 * MAX_TEXT_BYTES


def test_a_wrong_imap_password_shows_in_the_channels_health(api: Api) -> None:
    with FakeMailServer(address=ADDRESS) as fake:
        mail = MailDesk(api, fake, imap_password="not-the-password")
        report = mail.poll()
        assert (report.polled, report.failed) == (1, 1)
        health = mail.health()
        assert "login refused" in health["poll_error"]
        assert "AUTHENTICATIONFAILED" in health["poll_error"]
        assert "not-the-password" not in health["poll_error"]
        assert health["consecutive_poll_errors"] == 1
        assert fake.logins == [(ADDRESS, False)]
        r = api.request(
            "PATCH",
            f"/api/v1/channels/{mail.channel_id}",
            json={"settings": {"imap_password": fake.imap_password}},
        )
        assert r.status_code == 200, r.text
        fake.deliver()
        assert mail.poll(minutes=5).messages == 1
        assert mail.health()["poll_error"] is None


def test_an_unreachable_imap_server_is_a_poll_error(api: Api) -> None:
    with FakeMailServer(address=ADDRESS) as fake:
        settings = fake.settings()
    mail = MailDesk.__new__(MailDesk)
    mail.api = api
    r = api.post(
        "/api/v1/channels",
        json={"platform": "email", "name": ADDRESS, "settings": settings},
    )
    assert r.status_code == 201, r.text
    mail.channel_id = r.json()["id"]
    assert mail.poll().failed == 1
    assert "cannot connect: connection refused" in mail.health()["poll_error"]


# -- replying -----------------------------------------------------------------------------------


def _customer_mail(mail: MailDesk) -> tuple[int, str]:
    first = mail.fake.deliver()
    mail.poll()
    message = mail.messages()[-1]
    return message.conversation_id, first


def test_an_agent_reply_is_mailed_in_the_thread_and_the_answer_joins(mail: MailDesk) -> None:
    conversation_id, first = _customer_mail(mail)
    reply = mail.reply(conversation_id, "Sorry, Dana! Checking now.", idempotency_key="mail-key-1")
    report = mail.send_outbox()
    assert (report.sent, report.failed) == (1, 0)
    (sent,) = mail.fake.sent
    ours = our_message_id("mail-key-1")
    assert sent.mail_from == ADDRESS
    assert sent.rcpt_tos == (CUSTOMER,)
    assert sent.header("To") == CUSTOMER
    assert sent.header("From") == ADDRESS
    assert sent.header("Subject") == "Re: Order 4411 never arrived"
    assert sent.header("In-Reply-To") == f"<{first}>"
    assert sent.header("References") == f"<{first}>"
    assert sent.header("Message-ID") == f"<{ours}>"
    assert sent.text.strip() == "Sorry, Dana! Checking now."
    shown = mail.shown(conversation_id, reply["id"])
    assert shown["delivery"]["state"] == "sent"
    assert shown["delivery"]["platform_message_id"] == ours
    assert mail.send_outbox(seconds=60).total == 0
    assert len(mail.fake.sent) == 1

    mail.fake.deliver(
        subject="Re: Re: Order 4411 never arrived", text="Thank you!", in_reply_to=ours
    )
    assert mail.poll(seconds=61).messages == 1
    answer = mail.messages()[-1]
    assert answer.conversation_id == conversation_id
    assert answer.text == "Thank you!"


def test_a_temporary_smtp_failure_is_retried_and_sent_once(mail: MailDesk) -> None:
    conversation_id, _ = _customer_mail(mail)
    mail.fake.fail_smtp(451, "4.7.1 Greylisted, try again in a minute")
    reply = mail.reply(conversation_id, "We are on it")
    first = mail.send_outbox()
    assert (first.sent, first.retrying) == (0, 1)
    shown = mail.shown(conversation_id, reply["id"])["delivery"]
    assert shown["state"] == "queued"
    assert "451 4.7.1 Greylisted" in shown["last_error"]
    assert mail.fake.sent == []
    assert mail.send_outbox(minutes=30).sent == 1
    assert len(mail.fake.sent) == 1
    assert mail.shown(conversation_id, reply["id"])["delivery"]["state"] == "sent"


def test_a_permanent_smtp_refusal_fails_at_once_with_the_servers_words(mail: MailDesk) -> None:
    conversation_id, _ = _customer_mail(mail)
    mail.fake.fail_smtp(550, "5.1.1 <dana@customer.example>: Recipient address rejected")
    reply = mail.reply(conversation_id, "Hello")
    assert mail.send_outbox().failed == 1
    delivery = mail.shown(conversation_id, reply["id"])["delivery"]
    assert delivery["state"] == "failed"
    assert delivery["attempts"] == 1
    assert "550 5.1.1 <dana@customer.example>: Recipient address rejected" in delivery["last_error"]
    assert mail.fake.sent == []


def test_a_refused_recipient_fails_the_reply(mail: MailDesk) -> None:
    conversation_id, _ = _customer_mail(mail)
    mail.fake.fail_smtp(550, "5.1.1 No such user", stage="rcpt")
    reply = mail.reply(conversation_id, "Hello")
    assert mail.send_outbox().failed == 1
    error = mail.shown(conversation_id, reply["id"])["delivery"]["last_error"]
    assert "recipient dana@customer.example was refused: 550 5.1.1 No such user" in error


def test_a_lost_answer_after_data_is_found_in_the_sent_folder_not_sent_twice(api: Api) -> None:
    with FakeMailServer(
        address=ADDRESS,
        smtp_username="smtp-user",
        smtp_password="smtp-pass",
        sent_folder="Sent",
    ) as fake:
        mail = MailDesk(api, fake)
        conversation_id, _ = _customer_mail(mail)
        fake.fail_smtp(stage="disconnect")  # taken and filed in Sent; the answer never arrives
        reply = mail.reply(conversation_id, "Refund on its way", idempotency_key="mail-key-2")
        first = mail.send_outbox()
        assert first.retrying == 1
        assert (
            "may have been delivered"
            in mail.shown(conversation_id, reply["id"])["delivery"]["last_error"]
        )
        assert len(fake.sent) == 1
        assert fake.sent[0].login == "smtp-user"
        report = mail.send_outbox(minutes=30)
        assert (report.sent, report.reconciled) == (1, 1)
        assert len(fake.sent) == 1
        delivery = mail.shown(conversation_id, reply["id"])["delivery"]
        assert delivery["platform_message_id"] == our_message_id("mail-key-2")


def test_without_a_sent_folder_a_resend_carries_the_same_message_id(mail: MailDesk) -> None:
    conversation_id, _ = _customer_mail(mail)
    mail.fake.fail_smtp(stage="disconnect")
    mail.reply(conversation_id, "Refund on its way", idempotency_key="mail-key-3")
    assert mail.send_outbox().retrying == 1
    assert mail.send_outbox(minutes=30).sent == 1
    first, second = mail.fake.sent
    assert first.header("Message-ID") == second.header("Message-ID")
    assert first.header("Message-ID") == f"<{our_message_id('mail-key-3')}>"


def test_a_server_that_requires_login_refuses_a_channel_without_one(api: Api) -> None:
    with FakeMailServer(
        address=ADDRESS,
        smtp_username="smtp-user",
        smtp_password="smtp-pass",
    ) as fake:
        mail = MailDesk(api, fake, smtp_username="", smtp_password="")
        conversation_id, _ = _customer_mail(mail)
        reply = mail.reply(conversation_id, "Hello")
        assert mail.send_outbox().failed == 1
        error = mail.shown(conversation_id, reply["id"])["delivery"]["last_error"]
        assert "530 5.7.0 Authentication required" in error
        assert fake.sent == []


def test_the_connector_is_discovered_with_its_settings(api: Api) -> None:
    found = {c["name"]: c for c in api.get("/api/v1/connectors").json()}
    email = found["email"]
    assert {"imap_host", "imap_password", "smtp_host", "from_address"} <= set(email["settings"])
    assert "poll" in email["features"]
    assert "send" in email["features"]
