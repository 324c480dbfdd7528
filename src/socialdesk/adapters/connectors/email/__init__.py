"""E-mail: a support mailbox read over IMAP (polled, read-only) and answered over SMTP.

Channel settings (see `EmailConnector.settings`): the IMAP server and account of the mailbox, the
SMTP server and account replies go out through, and the address they come from (by default the
channel's name when it is an address, e.g. `support@acme.example`). Passwords are channel
credentials: encrypted at rest, never logged, never put in an error message.

No webhooks: mail is polled (every minute unless the channel sets `poll_seconds`). The connector
only reads: it never marks mail as seen, moves or deletes it, so the mailbox can still be read by
people. Replies carry a Message-ID derived from the outbox's idempotency key, so a reply sent
again after a crash is recognisably the same mail (see `outbound`), and `find_sent` finds an
earlier attempt in the Sent folder when `imap_sent_folder` is set.

This module imports no test-only packages: discovery imports it in every process. The local fake
mail servers (aiosmtpd) are in `fake.py`, imported only by tests and demos.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx2

from socialdesk.adapters.connectors.base import BaseConnector
from socialdesk.adapters.connectors.email import imap, inbound, outbound
from socialdesk.domain.channels import Channel
from socialdesk.domain.connectors import Delivery, OutboundReply, SendResult
from socialdesk.domain.errors import InvalidInput
from socialdesk.domain.platforms import BUILTIN_PLATFORMS
from socialdesk.services.ports import SecretBox

IMAP_SECURITY = {"ssl": 993, "starttls": 143, "none": 143}
SMTP_SECURITY = {"starttls": 587, "ssl": 465, "none": 587}


class EmailConnector(BaseConnector):
    name = "email"
    platforms = (BUILTIN_PLATFORMS["email"],)
    features = frozenset({"poll", "send"})
    default_poll_seconds = 60
    settings: ClassVar[dict[str, str]] = {
        "imap_host": "the IMAP server of the support mailbox, e.g. imap.gmail.com or "
        "outlook.office365.com",
        "imap_port": "optional: the IMAP port; default 993 (143 with imap_security starttls or none)",
        "imap_security": "optional: ssl (TLS from the start, the default), starttls, or none "
        "(only on a trusted local network)",
        "imap_username": "the mailbox's login, usually its address; default: from_address",
        "imap_password": "the mailbox's password, or an app password where the provider asks for "
        "one (Gmail and Microsoft 365 with two-step sign-in)",
        "imap_folder": "optional: the folder new mail arrives in; default INBOX",
        "imap_sent_folder": "optional: the folder sent mail is kept in (e.g. Sent, or "
        '"[Gmail]/Sent Mail"): before sending a reply again after an unknown outcome, the desk '
        "looks there for it, so it is not sent twice",
        "smtp_host": "the SMTP server replies are sent through, e.g. smtp.gmail.com",
        "smtp_port": "optional: the SMTP port; default 587 (465 with smtp_security ssl)",
        "smtp_security": "optional: starttls (the default), ssl, or none (only on a trusted "
        "local network)",
        "smtp_username": "optional: the SMTP login (no login when unset); usually the address",
        "smtp_password": "optional: the SMTP password; default: imap_password",
        "from_address": "optional: the address replies come from; default: the channel's name "
        "when it is an address. Mail from it in the mailbox is our own and skipped",
        "from_name": "optional: the name shown with from_address, e.g. Acme Support",
    }

    # -- reading ---------------------------------------------------------------------------

    def poll(self, channel: Channel, cursor: dict[str, Any]) -> tuple[Delivery, dict[str, Any]]:
        """New mail since the cursor's UID, at most `imap.MAX_PER_POLL`; the rest next time."""
        assert channel.id is not None
        account = self.imap_account(channel)
        own = self._own_address(channel)
        validity = _int_or_none(cursor.get("uidvalidity"))
        last_uid = _int_or_none(cursor.get("last_uid")) or 0
        delivery = Delivery()
        with imap.session(account) as box:
            batch = imap.read_new(box, account, validity, last_uid)
            for mail in batch.mails:
                inbound.take(
                    delivery,
                    channel.id,
                    own,
                    mail,
                    folder=account.folder,
                    uidvalidity=batch.uidvalidity,
                )
        return delivery, {"uidvalidity": batch.uidvalidity, "last_uid": batch.last_uid}

    # -- sending ---------------------------------------------------------------------------

    def send(self, channel: Channel, reply: OutboundReply) -> SendResult:
        sender = self.from_address(channel)
        msg_id = outbound.message_id(reply.idempotency_key, sender)
        message = outbound.build(
            reply,
            from_address=sender,
            from_name=self.setting(channel, "from_name", "") or None,
            msg_id=msg_id,
        )
        answer = outbound.send(self.smtp_account(channel), message, sender, str(message["To"]))
        return SendResult(platform_message_id=msg_id, meta={"smtp_response": answer[:500]})

    def find_sent(self, channel: Channel, reply: OutboundReply) -> SendResult | None:
        """The earlier attempt, when the Sent folder (`imap_sent_folder`) holds a mail with the
        reply's Message-ID. Without that setting: None, and the reply is sent again; its
        Message-ID is the same as the first attempt's, so mail clients that drop duplicates by
        Message-ID show it once."""
        folder = channel.settings.get("imap_sent_folder")
        if not folder:
            return None
        msg_id = outbound.message_id(reply.idempotency_key, self.from_address(channel))
        account = self.imap_account(channel)
        with imap.session(account) as box:
            found = imap.find_message_id(box, account, str(folder), msg_id)
        return SendResult(platform_message_id=msg_id, meta={"found_in": folder}) if found else None

    # -- settings --------------------------------------------------------------------------

    def imap_account(self, channel: Channel) -> imap.ImapAccount:
        security = self._choice(channel, "imap_security", IMAP_SECURITY, "ssl")
        return imap.ImapAccount(
            host=self.setting(channel, "imap_host"),
            port=self._port(channel, "imap_port", IMAP_SECURITY[security]),
            security=security,
            username=self.setting(channel, "imap_username", self._own_address(channel)),
            password=self.setting(channel, "imap_password"),
            folder=self.setting(channel, "imap_folder", "INBOX"),
        )

    def smtp_account(self, channel: Channel) -> outbound.SmtpAccount:
        security = self._choice(channel, "smtp_security", SMTP_SECURITY, "starttls")
        username = self.setting(channel, "smtp_username", "") or None
        password = None
        if username:
            password = self.setting(channel, "smtp_password", "") or self.setting(
                channel, "imap_password"
            )
        return outbound.SmtpAccount(
            host=self.setting(channel, "smtp_host"),
            port=self._port(channel, "smtp_port", SMTP_SECURITY[security]),
            security=security,
            username=username,
            password=password,
        )

    def from_address(self, channel: Channel) -> str:
        address = self._own_address(channel)
        if address is None:
            raise InvalidInput(
                f"channel {channel.id} ({channel.name}) has no setting 'from_address' and its "
                "name is not an e-mail address. Set it with "
                f"`socialdesk channel set {channel.id} --setting from_address=…`",
                field="from_address",
            )
        return address

    def _own_address(self, channel: Channel) -> str | None:
        value = str(channel.settings.get("from_address") or channel.name).strip()
        return value.lower() if _looks_like_address(value) else None

    def _choice(self, channel: Channel, name: str, options: dict[str, int], default: str) -> str:
        value = self.setting(channel, name, default).strip().lower()
        if value not in options:
            raise InvalidInput(
                f"channel {channel.id} ({channel.name}): setting {name!r} is {value!r}; use one "
                f"of {', '.join(options)}",
                field=name,
            )
        return value

    def _port(self, channel: Channel, name: str, default: int) -> int:
        value = self.setting(channel, name, str(default)).strip()
        if not value.isdigit() or not 0 < int(value) < 65536:
            raise InvalidInput(
                f"channel {channel.id} ({channel.name}): setting {name!r} is {value!r}, not a "
                "port number",
                field=name,
            )
        return int(value)


def _looks_like_address(value: str) -> bool:
    local, at, domain = value.rpartition("@")
    return bool(at and local and "." in domain and not any(c.isspace() for c in value))


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def connector(secrets: SecretBox, client: httpx2.Client | None = None) -> EmailConnector:
    """Discovery's factory. `client` (HTTP) is unused: mail goes over IMAP and SMTP."""
    return EmailConnector(secrets, client)
