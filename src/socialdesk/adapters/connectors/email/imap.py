"""Reading the mailbox over IMAP with imap-tools: new mail by UID, read-only, in bounded batches.

The cursor is `{"uidvalidity": int, "last_uid": int}`. UIDs only grow within one UIDVALIDITY, so
"UIDs above last_uid" is exactly the new mail; when the server changes UIDVALIDITY (a rebuilt
mailbox, a migration) every old UID is meaningless, and reading starts over from 0: intake's
dedupe on Message-ID keeps what was already taken once. The folder is opened with EXAMINE and
bodies are fetched with BODY.PEEK[], so the desk never marks mail as read, moves or deletes it:
people reading the same mailbox in their mail client see it as it was.

Every failure (connection refused, TLS, timeout, login or folder refused) becomes a retryable
SendError whose message says which server and account and what the server answered; the poller
shows it as the channel's `health.poll_error`. Passwords never appear in it.
"""

from __future__ import annotations

import imaplib
import re
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import ImapToolsError, MailboxLoginError, UnexpectedCommandStatusError

from socialdesk.adapters.connectors.email.inbound import RawMailMessage
from socialdesk.domain.connectors import SendError

MAX_PER_POLL = 100  # mails read by one poll; the rest wait for the next (a backlog drains)
TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class ImapAccount:
    host: str
    port: int
    security: str  # ssl | starttls | none
    username: str
    password: str = field(repr=False)
    folder: str = "INBOX"
    timeout: float = TIMEOUT

    @property
    def where(self) -> str:
        return f"IMAP {self.host}:{self.port} ({self.username})"


@dataclass(slots=True)
class Batch:
    """What one poll read: the mails in UID order and where the next poll starts."""

    uidvalidity: int
    mails: list[RawMailMessage]
    last_uid: int


@contextmanager
def session(account: ImapAccount) -> Iterator[BaseMailBox]:
    """A logged-in mailbox (no folder selected yet), logged out and closed at the end whatever
    happens; IMAP, socket and TLS failures inside the block become SendErrors."""
    try:
        box = _connect(account)
    except (OSError, imaplib.IMAP4.error, ImapToolsError, ValueError) as exc:
        raise SendError(
            f"{account.where}: cannot connect: {_describe(exc, account)}", retryable=True
        ) from exc
    try:
        try:
            box.login(account.username, account.password, initial_folder=None)
        except MailboxLoginError as exc:
            raise SendError(
                f"{account.where}: login refused: {_server_words(exc, account)}. Check "
                "imap_username and imap_password (an app password where the provider asks for "
                "one)",
                retryable=True,
            ) from exc
        yield box
    except SendError:
        raise
    except TimeoutError as exc:
        raise SendError(f"{account.where}: no answer in time", retryable=True) from exc
    except (OSError, imaplib.IMAP4.error, ImapToolsError) as exc:
        raise SendError(f"{account.where}: {_describe(exc, account)}", retryable=True) from exc
    finally:
        _close(box)


def read_new(
    box: BaseMailBox, account: ImapAccount, uidvalidity: int | None, last_uid: int
) -> Batch:
    """Mail in the account's folder with a UID above `last_uid` (from 0 when the folder's
    UIDVALIDITY is not the cursor's), at most MAX_PER_POLL of them, oldest first."""
    validity = open_folder(box, account, account.folder)
    start = last_uid if validity == uidvalidity else 0
    # `UID n:*` also answers the newest message when its UID is below n (RFC 3501 6.4.8: the
    # range is read as *:n), so the answer is filtered, not trusted.
    found = sorted({int(u) for u in box.uids(f"UID {start + 1}:*", charset=None) if u.isdigit()})
    wanted = [u for u in found if u > start][:MAX_PER_POLL]
    mails: list[RawMailMessage] = []
    if wanted:
        for mail in box.fetch(uid_list=[str(u) for u in wanted], mark_seen=False, bulk=False):
            assert isinstance(mail, RawMailMessage)
            mails.append(mail)
    return Batch(validity, mails, wanted[-1] if wanted else start)


def find_message_id(box: BaseMailBox, account: ImapAccount, folder: str, message_id: str) -> bool:
    """Whether the folder holds a mail with this Message-ID (angle brackets not included)."""
    open_folder(box, account, folder)
    if not re.fullmatch(r"[\x21-\x7e]+", message_id) or '"' in message_id:
        return False
    return bool(box.uids(f'HEADER Message-ID "<{message_id}>"', charset=None))


def open_folder(box: BaseMailBox, account: ImapAccount, folder: str) -> int:
    """EXAMINE the folder (read-only) and return its UIDVALIDITY."""
    try:
        box.folder.set(folder, readonly=True)
    except UnexpectedCommandStatusError as exc:
        raise SendError(
            f"{account.where}: folder {folder!r} cannot be opened: {_server_words(exc, account)}",
            retryable=True,
        ) from exc
    box.email_message_class = RawMailMessage
    _, data = box.client.response("UIDVALIDITY")
    value = data[0] if data else None
    if value is None:  # not in the EXAMINE answer (RFC 3501 says it must be); ask for it
        return int(box.folder.status(folder, ["UIDVALIDITY"])["UIDVALIDITY"])
    return int(value.decode("ascii") if isinstance(value, bytes) else value)


def _connect(account: ImapAccount) -> BaseMailBox:
    if account.security == "ssl":
        return MailBox(
            account.host,
            account.port,
            timeout=account.timeout,
            ssl_context=ssl.create_default_context(),
        )
    if account.security == "starttls":
        return MailBoxStartTls(
            account.host,
            account.port,
            timeout=account.timeout,
            ssl_context=ssl.create_default_context(),
        )
    return MailBoxUnencrypted(account.host, account.port, timeout=account.timeout)


def _close(box: BaseMailBox) -> None:
    """LOGOUT, and close the socket even when the server is gone."""
    try:
        box.client.logout()
    except Exception:  # the connection may be broken already; close it anyway
        with suppress(Exception):
            box.client.shutdown()


def _server_words(exc: UnexpectedCommandStatusError, account: ImapAccount) -> str:
    """What the server said with its NO or BAD, as text."""
    data = exc.command_result[1] if len(exc.command_result) > 1 else None
    items = data if isinstance(data, list) else [data]
    words = " ".join(
        i.decode("utf-8", "replace") if isinstance(i, bytes) else str(i)
        for i in items
        if i is not None
    )
    return _scrub(words.strip() or f"{exc.command_result[0]}", account)


def _describe(exc: BaseException, account: ImapAccount) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the host and port right, and the server up?)"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, socket.gaierror):
        return f"the host name cannot be resolved ({exc.strerror})"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"the server's TLS certificate is not trusted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or exc}); check imap_security and imap_port"
    if isinstance(exc, UnexpectedCommandStatusError):
        return _server_words(exc, account)
    return _scrub(f"{type(exc).__name__}: {exc}", account)


def _scrub(text: str, account: ImapAccount) -> str:
    """Never let a password through in an error message, whatever a server or library echoes."""
    return text.replace(account.password, "********") if account.password else text
